/**
 * Issue 22: sign-in with an OpenID Connect provider, against a real provider (`oidc-provider` on loopback, its own
 * login and consent screens driven over HTTP), through regstack's real HTTP routes, on every backend:
 * sign-up by OIDC, signing in again, linking to a verified account by address, the refusals that keep an
 * unverified local account (or an address the provider does not vouch for) from being taken over, linking and
 * unlinking by the signed-in owner (never the last way in), MFA after an OIDC sign-in, disabled accounts, and the
 * identities going with a deleted account.
 */
import { randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { freePort } from '../harness/ferretdb.ts';
import { codeOf, outcome } from '../harness/outcomes.ts';
import { createVerifiedUser, startRegstack, type TestRegstack } from '../harness/regstack.ts';
import { error, rawClient } from '../http/http-client.ts';
import { Browser, signInAtProvider, startTestProvider, type TestProvider } from './oidc-provider.ts';

const PASSWORD = 'correct horse battery staple';

describeEachBackend('sign-in with an OpenID Connect provider (issue 22)', (ctx) => {
  let op: TestProvider;
  let t: TestRegstack;
  let base: string;
  let close: (() => Promise<void>) | undefined;
  const unique = randomBytes(4).toString('hex');
  const mail = (name: string) => `${name}-${unique}@example.com`;

  beforeAll(async () => {
    op = await startTestProvider();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const { issuer, clientId, clientSecret } = op.clientFor(base);
    t = await startRegstack(ctx.url, {
      baseUrl: base,
      enableOauth: true,
      enableAdminRouter: true,
      loginRateLimit: '1000/minute',
      oauthExchangeRateLimit: '1000/minute',
      oauth: {
        providers: { test: { issuer, clientId, clientSecret }, second: op.clientFor(base, { name: 'second' }) },
        autoLinkVerifiedEmails: true,
      },
    });
    const server = await t.regstack.listen({ port });
    close = () => server.close();
  });
  afterAll(async () => {
    await close?.();
    await t?.regstack.close();
    await op?.close();
  });

  /** Start → the provider's screens as `account` → regstack's callback; the URL regstack sent the browser to. */
  async function viaProvider(account: string, start = `${base}/oauth/test/start`): Promise<URL> {
    const browser = new Browser();
    const started = await browser.follow(start);
    const callback = await signInAtProvider(started.href, account);
    return browser.follow(callback);
  }

  async function exchange(account: string) {
    const back = await viaProvider(account);
    expect(back.searchParams.get('error')).toBeNull();
    const id = back.searchParams.get('id') ?? '';
    return t.regstack.createCaller().oauth.exchange({ id });
  }

  async function admins() {
    await t.regstack.bootstrapAdmin({ email: mail('admin'), password: PASSWORD });
    const admin = await t.regstack.createCaller().login({ email: mail('admin'), password: PASSWORD });
    if (admin.status !== 'authenticated') throw new Error('expected a session');
    return t.regstack.createCaller({ accessToken: admin.accessToken });
  }

  const signedIn = async (account: string) => {
    const result = await exchange(account);
    if (result.status !== 'authenticated') throw new Error(`expected a session, got ${result.status}`);
    return result;
  };

  it('sign-up by OIDC: a new identity makes a verified account, and the exchange answers a session like login', async () => {
    op.accounts.set(`new-${unique}`, { email: mail('new'), emailVerified: true, name: 'New Person' });
    const back = await viaProvider(`new-${unique}`);
    expect(`${back.origin}${back.pathname}`).toBe(`${base}/oauth-complete`);
    // Nothing but the one-time id in the URL: no token.
    expect([...back.searchParams.keys()]).toEqual(['id']);
    const result = await t.regstack.createCaller().oauth.exchange({ id: back.searchParams.get('id') ?? '' });
    expect(result.status).toBe('authenticated');
    if (result.status !== 'authenticated') return;
    expect(result.user).toMatchObject({ email: mail('new'), isVerified: true, fullName: 'New Person' });
    const me = await t.regstack.createCaller({ accessToken: result.accessToken }).account.me();
    expect(me.email).toBe(mail('new'));
    const providers = await t.regstack.createCaller({ accessToken: result.accessToken }).oauth.providers();
    expect(providers.providers).toEqual([
      { name: 'test', linked: true, email: mail('new') },
      { name: 'second', linked: false, email: null },
    ]);
  });

  it('signing in again with the same identity opens a session on the same account', async () => {
    op.accounts.set(`again-${unique}`, { email: mail('again'), emailVerified: true });
    const first = await signedIn(`again-${unique}`);
    // The address at the provider may change: the identity (issuer's `sub`) is what is matched.
    op.accounts.set(`again-${unique}`, { email: mail('again-renamed'), emailVerified: true });
    const second = await signedIn(`again-${unique}`);
    expect(second.user.id).toBe(first.user.id);
  });

  it('links to an existing verified account when the provider vouches for the address', async () => {
    await createVerifiedUser(t, mail('verified'), PASSWORD);
    const local = await t.regstack.createCaller().login({ email: mail('verified'), password: PASSWORD });
    if (local.status !== 'authenticated') throw new Error('expected a session');
    op.accounts.set(`verified-${unique}`, { email: mail('verified'), emailVerified: true });
    const result = await signedIn(`verified-${unique}`);
    expect(result.user.id).toBe(local.user.id);
  });

  it('refuses to attach an identity by address to a local account whose address is not verified', async () => {
    // A row for the address that nobody proved (as `require_verification=false` makes, or an administrator).
    await createVerifiedUser(t, mail('unverified'), PASSWORD);
    const local = await t.regstack.createCaller().login({ email: mail('unverified'), password: PASSWORD });
    if (local.status !== 'authenticated') throw new Error('expected a session');
    await (await admins()).admin.users.update({ id: local.user.id, isVerified: false });
    op.accounts.set(`squatter-${unique}`, { email: mail('unverified'), emailVerified: true });
    const back = await viaProvider(`squatter-${unique}`);
    expect(back.searchParams.get('error')).toBe('OAUTH_ACCOUNT_EXISTS');
    expect(back.searchParams.get('id')).toBeNull();
  });

  it('refuses an address the provider does not vouch for, for a new account and for a match', async () => {
    op.accounts.set(`unvouched-${unique}`, { email: mail('unvouched'), emailVerified: false });
    expect((await viaProvider(`unvouched-${unique}`)).searchParams.get('error')).toBe('OAUTH_EMAIL_NOT_VERIFIED');
    await createVerifiedUser(t, mail('victim'), PASSWORD);
    op.accounts.set(`attacker-${unique}`, { email: mail('victim'), emailVerified: false });
    expect((await viaProvider(`attacker-${unique}`)).searchParams.get('error')).toBe('OAUTH_EMAIL_NOT_VERIFIED');
    op.accounts.set(`nomail-${unique}`, {});
    expect((await viaProvider(`nomail-${unique}`)).searchParams.get('error')).toBe('OAUTH_EMAIL_MISSING');
  });

  it('the owner links a provider explicitly, and unlinks it; the last way in of a password-less account stays', async () => {
    await createVerifiedUser(t, mail('linker'), PASSWORD);
    const login = await t.regstack.createCaller().login({ email: mail('linker'), password: PASSWORD });
    if (login.status !== 'authenticated') throw new Error('expected a session');
    const owner = t.regstack.createCaller({ accessToken: login.accessToken });
    // The provider account has another address: only an explicit link by the signed-in owner joins them.
    op.accounts.set(`linker-${unique}`, { email: mail('linker-elsewhere'), emailVerified: true });
    const { authorizationUrl } = await owner.oauth.link.start({ provider: 'test', redirectTo: '/settings' });
    const back = await viaProvider(`linker-${unique}`, authorizationUrl);
    expect(`${back.origin}${back.pathname}`).toBe(`${base}/settings`);
    expect(back.searchParams.get('linked')).toBe('test');
    expect((await owner.oauth.providers()).providers[0]?.linked).toBe(true);
    expect((await signedIn(`linker-${unique}`)).user.id).toBe(login.user.id);
    expect(await codeOf(owner.oauth.unlink({ provider: 'nope' }))).toBe('OAUTH_NOT_LINKED');
    await expect(owner.oauth.unlink({ provider: 'test' })).resolves.toEqual({ status: 'unlinked' });
    expect((await owner.oauth.providers()).providers[0]?.linked).toBe(false);

    // An account made by OIDC has no password: its one identity cannot be unlinked.
    op.accounts.set(`only-${unique}`, { email: mail('only'), emailVerified: true });
    const only = await signedIn(`only-${unique}`);
    const onlyOwner = t.regstack.createCaller({ accessToken: only.accessToken });
    expect(await codeOf(onlyOwner.oauth.unlink({ provider: 'test' }))).toBe('OAUTH_LAST_SIGN_IN_METHOD');
  });

  it("two unlinks at once of a password-less account's two providers: one succeeds, one way in stays", async () => {
    for (let round = 0; round < 3; round++) {
      op.accounts.set(`two-ways-${round}-${unique}`, { email: mail(`two-ways-${round}`), emailVerified: true });
      const made = await signedIn(`two-ways-${round}-${unique}`);
      const owner = t.regstack.createCaller({ accessToken: made.accessToken });
      const { authorizationUrl } = await owner.oauth.link.start({ provider: 'second' });
      const linked = await viaProvider(`two-ways-${round}-${unique}`, authorizationUrl);
      expect(linked.searchParams.get('linked')).toBe('second');
      // Half through the router, half over HTTP with the same session.
      const api = rawClient(base, { authorization: `Bearer ${made.accessToken}` });
      const overHttp = async (provider: string) => {
        const res = await api.mutation('auth.oauth.unlink', { provider });
        return res.status === 200 ? 'ok' : String(error(res)?.data?.regstackCode);
      };
      const outcomes = await Promise.all(
        Array.from({ length: 6 }, (_, i) => {
          const provider = i % 2 === 0 ? 'test' : 'second';
          return i < 3 ? outcome(owner.oauth.unlink({ provider })) : overHttp(provider);
        }),
      );
      expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
      for (const refused of outcomes.filter((o) => o !== 'ok')) {
        expect(['OAUTH_LAST_SIGN_IN_METHOD', 'OAUTH_NOT_LINKED']).toContain(refused);
      }
      const left = (await owner.oauth.providers()).providers.filter((p) => p.linked);
      expect(left).toHaveLength(1);
    }
  });

  it('an identity linked to one account cannot be linked to another', async () => {
    op.accounts.set(`shared-${unique}`, { email: mail('shared'), emailVerified: true });
    await signedIn(`shared-${unique}`);
    await createVerifiedUser(t, mail('other'), PASSWORD);
    const login = await t.regstack.createCaller().login({ email: mail('other'), password: PASSWORD });
    if (login.status !== 'authenticated') throw new Error('expected a session');
    const other = t.regstack.createCaller({ accessToken: login.accessToken });
    const { authorizationUrl } = await other.oauth.link.start({ provider: 'test' });
    const back = await viaProvider(`shared-${unique}`, authorizationUrl);
    expect(back.searchParams.get('error')).toBe('OAUTH_IDENTITY_TAKEN');
  });

  it('a user with a second factor ends an OIDC sign-in in the MFA step, like a password login', async () => {
    await createVerifiedUser(t, mail('mfa'), PASSWORD);
    const login = await t.regstack.createCaller().login({ email: mail('mfa'), password: PASSWORD });
    if (login.status !== 'authenticated') throw new Error('expected a session');
    const owner = t.regstack.createCaller({ accessToken: login.accessToken });
    const enrolment = await owner.mfa.totp.start({ currentPassword: PASSWORD });
    const totp = new TOTP({ secret: Secret.fromBase32(enrolment.secret), digits: 6, period: 30 });
    await owner.mfa.totp.confirm({ code: totp.generate() });
    op.accounts.set(`mfa-${unique}`, { email: mail('mfa'), emailVerified: true });
    const result = await exchange(`mfa-${unique}`);
    expect(result.status).toBe('mfa_required');
    if (result.status !== 'mfa_required') return;
    expect(result).not.toHaveProperty('accessToken');
    // The next time step: the one the enrolment used is spent.
    const code = totp.generate({ timestamp: Date.now() + 30_000 });
    const confirmed = await t.regstack
      .createCaller()
      .mfa.confirmLogin({ mfaPendingToken: result.mfaPendingToken, method: 'totp', code });
    expect(confirmed.user.id).toBe(login.user.id);
  });

  it('a disabled account is refused; a deleted account takes its identities with it', async () => {
    op.accounts.set(`gone-${unique}`, { email: mail('gone'), emailVerified: true });
    const gone = await signedIn(`gone-${unique}`);
    const admin = await admins();
    await admin.admin.users.update({ id: gone.user.id, isActive: false });
    expect((await viaProvider(`gone-${unique}`)).searchParams.get('error')).toBe('OAUTH_ACCOUNT_UNAVAILABLE');
    await admin.admin.users.delete({ id: gone.user.id });
    // The identity went with the account: the same provider account now makes a new one.
    const again = await signedIn(`gone-${unique}`);
    expect(again.user.id).not.toBe(gone.user.id);
  });
});
