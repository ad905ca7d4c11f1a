/**
 * Re-authentication of an account without a password (issue 18 with issue 22; R43–R45), against a real OpenID Connect
 * provider, on every backend, through the router and over HTTP. An account made by an OIDC sign-in has no password to
 * type, so a sign-in of the session within `reauthentication_max_age_seconds` stands in for it: with one, it enrols
 * and disables second factors, regenerates recovery codes, changes its email, sets its first password and deletes
 * itself; past it, each of those — and linking or unlinking a provider — answers REAUTHENTICATION_REQUIRED and changes
 * nothing, until the owner signs in again. Under `require_mfa = "all"` such a user can leave the restricted session.
 * An account with a password must send it: leaving it out is REAUTHENTICATION_REQUIRED, counted toward no lockout.
 */
import { randomBytes } from 'node:crypto';
import { createRegstackClient } from '@regstack/client';
import { createManualClock } from '@regstack/server';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { freePort } from '../harness/ferretdb.ts';
import { codeOf, outcome } from '../harness/outcomes.ts';
import { createVerifiedUser, startRegstack, type TestRegstack } from '../harness/regstack.ts';
import { data, error, rawClient } from '../http/http-client.ts';
import { Browser, signInAtProvider, startTestProvider, type TestProvider } from './oidc-provider.ts';

const PASSWORD = 'correct horse battery staple';
const MAX_AGE_SECONDS = 600;

describeEachBackend('re-authentication of an account without a password (issue 18, R44)', (ctx) => {
  const clock = createManualClock();
  const sent: { to: string; body: string }[] = [];
  let op: TestProvider;
  let t: TestRegstack;
  let strict: TestRegstack;
  let base: string;
  let strictBase: string;
  const closers: Array<() => Promise<void>> = [];
  const unique = randomBytes(4).toString('hex');
  const mail = (name: string) => `${name}-${unique}@example.com`;

  beforeAll(async () => {
    op = await startTestProvider();
    const [port, strictPort] = [await freePort(), await freePort()];
    base = `http://127.0.0.1:${port}`;
    strictBase = `http://127.0.0.1:${strictPort}`;
    const common = {
      enableOauth: true,
      enableSms2fa: true,
      phoneStartRateLimit: 'none',
      loginRateLimit: '1000/minute',
      oauthExchangeRateLimit: '1000/minute',
      reauthenticationMaxAgeSeconds: MAX_AGE_SECONDS,
    } as const;
    t = await startRegstack(
      ctx.url,
      { ...common, baseUrl: base, oauth: { providers: { test: op.clientFor(base) } } },
      { clock, sms: { send: async (m) => void sent.push(m) } },
    );
    strict = await startRegstack(
      ctx.url,
      { ...common, baseUrl: strictBase, requireMfa: 'all', oauth: { providers: { test: op.clientFor(strictBase) } } },
      { clock },
    );
    for (const [instance, at] of [
      [t, port],
      [strict, strictPort],
    ] as const) {
      const server = await instance.regstack.listen({ port: at });
      closers.push(() => server.close());
    }
  });
  afterAll(async () => {
    for (const close of closers) await close();
    await t?.regstack.close();
    await strict?.regstack.close();
    await op?.close();
  });

  /** A sign-in with the provider as `account` at `site`: the session's access token. */
  async function signInWithProvider(account: string, instance = t, site = base): Promise<string> {
    const browser = new Browser();
    const started = await browser.follow(`${site}/oauth/test/start`);
    const back = await browser.follow(await signInAtProvider(started.href, account));
    const result = await instance.regstack.createCaller().oauth.exchange({ id: back.searchParams.get('id') ?? '' });
    if (result.status !== 'authenticated') throw new Error(`expected a session, got ${result.status}`);
    return result.accessToken;
  }
  /** A new account made by an OIDC sign-in (no password), signed in now. */
  async function oidcAccount(name: string, instance = t, site = base) {
    op.accounts.set(`${name}-${unique}`, { email: mail(name), emailVerified: true });
    const token = await signInWithProvider(`${name}-${unique}`, instance, site);
    return {
      token,
      owner: instance.regstack.createCaller({ accessToken: token }),
      api: rawClient(site, { authorization: `Bearer ${token}` }),
    };
  }
  const codeAt = (secret: string, offsetSteps = 0) =>
    new TOTP({ secret: Secret.fromBase32(secret) }).generate({
      timestamp: clock.now().getTime() + offsetSteps * 30_000,
    });
  const overHttp = async (res: Promise<{ status: number; body: unknown }>) => {
    const r = await res;
    return r.status === 200 ? 'ok' : `${r.status} ${String(error(r as never)?.data?.regstackCode)}`;
  };

  it('a recent sign-in stands in for the password: an authenticator app, recovery codes and SMS, without one', async () => {
    const { owner, api } = await oidcAccount('fresh');
    const info = await owner.account.reauthentication();
    expect(info).toMatchObject({ method: 'recent_sign_in', fresh: true, maxAgeSeconds: MAX_AGE_SECONDS });
    if (info.method !== 'recent_sign_in') return;
    expect(info.until.getTime()).toBe(clock.now().getTime() + MAX_AGE_SECONDS * 1000);
    // Over HTTP as well: the same answer, dates through the transformer.
    expect(data(await api.query('auth.account.reauthentication', undefined))).toMatchObject({
      method: 'recent_sign_in',
      fresh: true,
    });

    // A password sent for an account that has none is wrong, like any wrong password.
    expect(await codeOf(owner.mfa.totp.start({ currentPassword: PASSWORD }))).toBe('INVALID_CREDENTIALS');
    const enrolment = await owner.mfa.totp.start({});
    const confirmed = await owner.mfa.totp.confirm({ code: codeAt(enrolment.secret) });
    expect(confirmed.recoveryCodes).toHaveLength(10);
    // Enabling a factor ended the user's other sessions, not this one (R44). A new sign-in with the provider goes
    // through the second step, and the session it opens is a recent sign-in too. (A second later: this clock stands
    // still, and a sign-in at the very instant of the revocation would be covered by it.)
    clock.advance(1000);
    op.accounts.set(`fresh-${unique}`, { email: mail('fresh'), emailVerified: true });
    const browser = new Browser();
    const started = await browser.follow(`${base}/oauth/test/start`);
    const back = await browser.follow(await signInAtProvider(started.href, `fresh-${unique}`));
    const pending = await t.regstack.createCaller().oauth.exchange({ id: back.searchParams.get('id') ?? '' });
    if (pending.status !== 'mfa_required') throw new Error('expected the MFA step');
    const session = await t.regstack.createCaller().mfa.confirmLogin({
      mfaPendingToken: pending.mfaPendingToken,
      method: 'totp',
      code: codeAt(enrolment.secret, 1),
    });
    const signedIn = t.regstack.createCaller({ accessToken: session.accessToken });
    const fresh = rawClient(base, { authorization: `Bearer ${session.accessToken}` });
    // New recovery codes over HTTP, with no password in the body.
    const regenerated = await fresh.mutation('auth.mfa.recoveryCodes.regenerate', {});
    expect(regenerated.status).toBe(200);
    expect(data(regenerated).recoveryCodes).toHaveLength(10);
    // A phone.
    expect(await signedIn.mfa.sms.start({ phoneNumber: '+442079460142' })).toMatchObject({ status: 'code_sent' });
    expect(sent.at(-1)?.to).toBe('+442079460142');
    // A minute on (the code's time steps so far are spent; still a recent sign-in): the app off again.
    clock.advance(60_000);
    await expect(signedIn.mfa.totp.disable({ code: codeAt(enrolment.secret) })).resolves.toMatchObject({
      status: 'mfa_disabled',
    });
  });

  it('past reauthentication_max_age_seconds every sensitive change answers REAUTHENTICATION_REQUIRED, until a new sign-in', async () => {
    const { owner, api } = await oidcAccount('stale');
    const enrolment = await owner.mfa.totp.start({});
    clock.advance((MAX_AGE_SECONDS + 1) * 1000);
    expect(await owner.account.reauthentication()).toMatchObject({ method: 'recent_sign_in', fresh: false });
    // Started one at a time would change nothing either; all at once, none may slip through.
    const refused = [
      owner.mfa.totp.start({}),
      owner.mfa.totp.disable({ code: codeAt(enrolment.secret) }),
      owner.mfa.sms.start({ phoneNumber: '+442079460143' }),
      owner.mfa.sms.disable({}),
      owner.mfa.recoveryCodes.regenerate({}),
      owner.account.changeEmail({ newEmail: mail('stale-new') }),
      owner.account.changePassword({ newPassword: 'a brand new passphrase' }),
      owner.account.delete({}),
    ];
    expect(await Promise.all(refused.map(codeOf))).toEqual(refused.map(() => 'REAUTHENTICATION_REQUIRED'));
    // Nor may an old session link a provider of its holder's (to sign in with it and be recent) or unlink one.
    expect(await codeOf(owner.oauth.link.start({ provider: 'test' }))).toBe('REAUTHENTICATION_REQUIRED');
    expect(await codeOf(owner.oauth.unlink({ provider: 'test' }))).toBe('REAUTHENTICATION_REQUIRED');
    expect(await overHttp(api.mutation('auth.oauth.link.start', { provider: 'test' }))).toBe(
      '403 REAUTHENTICATION_REQUIRED',
    );
    // Over HTTP: 403 with the stable code.
    expect(await overHttp(api.mutation('auth.mfa.totp.start', {}))).toBe('403 REAUTHENTICATION_REQUIRED');
    expect(await overHttp(api.mutation('auth.account.delete', {}))).toBe('403 REAUTHENTICATION_REQUIRED');
    expect(await overHttp(api.mutation('auth.account.changeEmail', { newEmail: mail('stale-http') }))).toBe(
      '403 REAUTHENTICATION_REQUIRED',
    );
    // Nothing changed: the account is there, with no factor and its address.
    const me = await owner.account.me();
    expect(me).toMatchObject({ email: mail('stale'), isMfaEnabled: false });
    const renewed = t.regstack.createCaller({ accessToken: await signInWithProvider(`stale-${unique}`) });
    expect(await renewed.account.reauthentication()).toMatchObject({ fresh: true });
    expect((await renewed.oauth.link.start({ provider: 'test' })).authorizationUrl).toContain(
      '/oauth/test/start?link=',
    );
  });

  it('changePassword sets the first password of an OIDC-made account; from then on the password is the proof', async () => {
    const { owner } = await oidcAccount('setter');
    const changed = await owner.account.changePassword({ newPassword: 'my very first passphrase' });
    expect(changed.status).toBe('password_changed');
    const now = t.regstack.createCaller({ accessToken: changed.accessToken });
    expect(await now.account.reauthentication()).toEqual({ method: 'password' });
    const login = await t.regstack
      .createCaller()
      .login({ email: mail('setter'), password: 'my very first passphrase' });
    expect(login.status).toBe('authenticated');
    // The session is recent, but an account with a password must send it.
    expect(await codeOf(now.account.changeEmail({ newEmail: mail('setter-new') }))).toBe('REAUTHENTICATION_REQUIRED');
    expect(await codeOf(now.account.changePassword({ newPassword: 'another passphrase here' }))).toBe(
      'REAUTHENTICATION_REQUIRED',
    );
  });

  it('changeEmail and delete with a recent sign-in; the deleted account takes its identity with it', async () => {
    const { owner, api } = await oidcAccount('leaver');
    expect(await owner.account.changeEmail({ newEmail: mail('leaver-new') })).toMatchObject({
      status: 'confirmation_sent',
    });
    const deleted = await api.mutation('auth.account.delete', {});
    expect(deleted.status).toBe(200);
    expect(await codeOf(owner.account.me())).toBe('UNAUTHENTICATED');
  });

  it('an account with a password must send it: leaving it out is REAUTHENTICATION_REQUIRED and counts no try', async () => {
    await createVerifiedUser(t, mail('has-password'), PASSWORD);
    const login = await t.regstack.createCaller().login({ email: mail('has-password'), password: PASSWORD });
    if (login.status !== 'authenticated') throw new Error('expected a session');
    const owner = t.regstack.createCaller({ accessToken: login.accessToken });
    const api = rawClient(base, { authorization: `Bearer ${login.accessToken}` });
    expect(await owner.account.reauthentication()).toEqual({ method: 'password' });
    // More than the lockout threshold (5) of empty tries, half over HTTP: none of them counts.
    for (let i = 0; i < 4; i++) {
      expect(await codeOf(owner.mfa.totp.start({}))).toBe('REAUTHENTICATION_REQUIRED');
      expect(await overHttp(api.mutation('auth.account.delete', {}))).toBe('403 REAUTHENTICATION_REQUIRED');
    }
    expect(await outcome(owner.mfa.totp.start({ currentPassword: PASSWORD }))).toBe('ok');
    expect(await codeOf(owner.mfa.totp.start({ currentPassword: 'not my password at all' }))).toBe(
      'INVALID_CREDENTIALS',
    );
  });

  it('through @regstack/client: reauthentication() says a recent sign-in, and mfa.startTotp needs no password', async () => {
    op.accounts.set(`client-${unique}`, { email: mail('client'), emailVerified: true });
    const browser = new Browser();
    const started = await browser.follow(`${base}/oauth/test/start`);
    const landing = await browser.follow(await signInAtProvider(started.href, `client-${unique}`));
    const client = createRegstackClient({ url: `${base}/trpc` });
    expect((await client.completeOAuth({ url: landing.href })).status).toBe('authenticated');
    expect(await client.reauthentication()).toMatchObject({ method: 'recent_sign_in', fresh: true });
    const { secret } = await client.mfa.startTotp({});
    expect((await client.mfa.confirmTotp({ code: codeAt(secret) })).recoveryCodes).toHaveLength(10);
  });

  it('require_mfa = "all": an OIDC-made account enrols from its restricted session without a password', async () => {
    const { owner } = await oidcAccount('must-enrol', strict, strictBase);
    expect(await codeOf(owner.account.sessions())).toBe('MFA_ENROLMENT_REQUIRED');
    expect(await owner.account.reauthentication()).toMatchObject({ method: 'recent_sign_in', fresh: true });
    const enrolment = await owner.mfa.totp.start({});
    await owner.mfa.totp.confirm({ code: codeAt(enrolment.secret) });
    expect((await owner.mfa.status()).enabled).toBe(true);
  });
});
