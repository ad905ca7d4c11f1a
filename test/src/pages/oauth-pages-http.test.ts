/**
 * Issue 22, the pages' part, over real HTTP on every backend, against a real OpenID provider (`oidc-provider` on
 * loopback, its login and consent screens driven like a browser): the "Continue with …" links appear only when a
 * provider is configured; a sign-up by OIDC lands signed in on the account page, and so does signing in again;
 * a user with a second factor ends on `/mfa-confirm` and finishes there; "Connected accounts" links a provider
 * (through `link.start`'s own start URL) and unlinks it, refusing the last way in; a refused sign-in (an
 * unverified local account with the address) shows its message; and the login-CSRF attacks are refused: an
 * attacker's callback URL or completion address opened in the victim's browser signs nobody in, the card's forms
 * need their CSRF token, and `?error=` is never echoed.
 */
import { randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { freePort } from '../harness/ferretdb.ts';
import { createVerifiedUser, startRegstack, type TestRegstack } from '../harness/regstack.ts';
import { signInAtProvider, startTestProvider, type TestProvider } from '../oauth/oidc-provider.ts';
import { csrfOf, type PageResponse, pageAgent } from './page-agent.ts';

const PASSWORD = 'correct horse battery staple';
// Plain http on loopback: the cookies go without `__Host-` (page-session.ts).
const SESSION = 'regstack_session';
const BINDING = 'regstack_session_oauth';
const MFA_COOKIE = 'regstack_session_mfa';

type Agent = ReturnType<typeof pageAgent>;

/** The text of every `role="alert"` notice on a page. */
const alerts = (html: string) => [...html.matchAll(/role="alert"[^>]*><p>([^<]*)<\/p>/g)].map((m) => m[1]);
const notices = (html: string) => [...html.matchAll(/role="status"[^>]*><p>([^<]*)<\/p>/g)].map((m) => m[1]);
const decode = (text: string | undefined) => text?.replaceAll('&quot;', '"').replaceAll('&#39;', "'");

describeEachBackend('sign-in with a provider on the account pages, over HTTP (issue 22)', (ctx) => {
  let op: TestProvider;
  let t: TestRegstack;
  let plain: TestRegstack;
  let base: string;
  let plainUrl: string;
  let close: (() => Promise<void>) | undefined;
  let closePlain: (() => Promise<void>) | undefined;
  const unique = randomBytes(4).toString('hex');
  const mail = (name: string) => `${name}-${unique}@example.com`;

  beforeAll(async () => {
    op = await startTestProvider();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const test = op.clientFor(base);
    t = await startRegstack(ctx.url, {
      baseUrl: base,
      enableUiRouter: true,
      enableOauth: true,
      enableAdminRouter: true,
      loginRateLimit: '1000/minute',
      oauthExchangeRateLimit: '1000/minute',
      oauth: {
        // A preset too: its button says "Google" (its discovery happens only when a sign-in starts).
        providers: { test, google: { clientId: 'unused' } },
        autoLinkVerifiedEmails: true,
      },
    });
    const server = await t.regstack.listen({ port });
    close = () => server.close();
    // The same pages without a provider: `enable_oauth` on with none configured.
    plain = await startRegstack(ctx.url, { enableUiRouter: true, enableOauth: true });
    const plainServer = await plain.regstack.listen({ port: 0 });
    plainUrl = plainServer.url;
    closePlain = () => plainServer.close();
  });
  afterAll(async () => {
    await close?.();
    await closePlain?.();
    await t?.regstack.close();
    await plain?.regstack.close();
    await op?.close();
  });

  /** The page agent's path for an absolute URL on regstack. */
  const pathOf = (location: string | null) => {
    const url = new URL(location ?? '', base);
    expect(url.origin).toBe(base);
    return `${url.pathname}${url.search}`;
  };

  /** `start` (or a link ticket's URL) → the provider's screens as `account` → the callback; where it sent `agent`. */
  async function throughProvider(agent: Agent, account: string, start = '/oauth/test/start'): Promise<string> {
    const started = await agent.get(start);
    expect(started.status).toBe(302);
    const callback = await signInAtProvider(started.location ?? '', account);
    const back = await agent.get(`${callback.pathname}${callback.search}`);
    expect(back.status).toBe(302);
    return pathOf(back.location);
  }

  /** The whole sign-in through the pages: the completion page's answer. */
  async function signInWithProvider(agent: Agent, account: string, start?: string): Promise<PageResponse> {
    const completion = await throughProvider(agent, account, start);
    expect(completion).toMatch(/^\/account\/oauth-complete\?/);
    return agent.get(completion);
  }

  async function passwordSignIn(email: string): Promise<Agent> {
    const agent = pageAgent(base);
    const res = await agent.submit('/account/login', '/account/login', { email, password: PASSWORD });
    expect(res.location).toBe('/account/me');
    return agent;
  }

  async function postMe(agent: Agent, action: string, fields: Record<string, string>): Promise<PageResponse> {
    const page = await agent.get('/account/me');
    return agent.post(action, { csrf: csrfOf(page.html, action), ...fields });
  }

  it('the "Continue with" links are on the sign-in and sign-up pages only when a provider is configured', async () => {
    const agent = pageAgent(base);
    for (const path of ['/account/login', '/account/register']) {
      const page = await agent.get(path);
      expect(page.html, path).toContain(
        '<a class="rs-button rs-button-secondary" href="/oauth/test/start">Continue with test</a>',
      );
      expect(page.html, path).toContain('href="/oauth/google/start">Continue with Google</a>');
    }
    // With `?next=` the sign-in comes back to the completion page with it.
    const withNext = await agent.get('/account/login?next=%2Faccount%2Fme%3Ftab%3D1');
    const redirectTo = encodeURIComponent(`/account/oauth-complete?next=${encodeURIComponent('/account/me?tab=1')}`);
    expect(withNext.html).toContain(`href="/oauth/test/start?redirect_to=${redirectTo.replaceAll('&', '&amp;')}"`);

    const none = pageAgent(plainUrl);
    for (const path of ['/account/login', '/account/register']) {
      const page = await none.get(path);
      expect(page.status).toBe(200);
      expect(page.html, path).not.toContain('Continue with');
    }

    // Without `enable_oauth` the provider pages do not exist either.
    const off = await startRegstack(ctx.url, { enableUiRouter: true });
    const offServer = await off.regstack.listen({ port: 0 });
    try {
      const agent = pageAgent(offServer.url);
      expect((await agent.get('/account/oauth-complete?id=whatever-0123456789')).status).toBe(404);
      expect((await agent.post('/account/me/oauth/unlink', { provider: 'test' })).status).toBe(404);
      expect((await agent.get('/account/login')).html).not.toContain('Continue with');
    } finally {
      await offServer.close();
      await off.regstack.close();
    }
  });

  it('sign-up by OIDC lands signed in on the account page; signing in again opens the same account', async () => {
    op.accounts.set(`new-${unique}`, { email: mail('new'), emailVerified: true, name: 'New Person' });
    const agent = pageAgent(base);
    const done = await signInWithProvider(agent, `new-${unique}`);
    expect(done.status).toBe(303);
    expect(done.location).toBe('/account/me');
    expect(agent.jar.has(SESSION)).toBe(true);
    // The binding cookie stays to its lifetime (another tab may be signing in too).
    expect(agent.jar.has(BINDING)).toBe(true);
    const me = await agent.get('/account/me');
    expect(me.status).toBe(200);
    expect(me.html).toContain(mail('new'));
    expect(me.html).toContain('Connected accounts');
    expect(me.html).toMatch(/<span>test<\/span><span class="rs-badge">Linked<\/span>/);

    const again = pageAgent(base);
    const second = await signInWithProvider(again, `new-${unique}`);
    expect(second.location).toBe('/account/me');
    expect((await again.get('/account/me')).html).toContain(mail('new'));

    // `next` from the sign-in page comes along, and only as a path on this site.
    const third = pageAgent(base);
    const redirectTo = encodeURIComponent('/account/oauth-complete?next=%2Faccount%2Fme%3Ffrom%3Dnext');
    const completion = await throughProvider(third, `new-${unique}`, `/oauth/test/start?redirect_to=${redirectTo}`);
    expect((await third.get(completion)).location).toBe('/account/me?from=next');
  });

  it('a user with a second factor ends the OIDC sign-in on /mfa-confirm and finishes there', async () => {
    await createVerifiedUser(t, mail('mfa'), PASSWORD);
    const login = await t.regstack.createCaller().login({ email: mail('mfa'), password: PASSWORD });
    if (login.status !== 'authenticated') throw new Error('expected a session');
    const owner = t.regstack.createCaller({ accessToken: login.accessToken });
    const enrolment = await owner.mfa.totp.start({ currentPassword: PASSWORD });
    const totp = new TOTP({ secret: Secret.fromBase32(enrolment.secret), digits: 6, period: 30 });
    await owner.mfa.totp.confirm({ code: totp.generate() });
    op.accounts.set(`mfa-${unique}`, { email: mail('mfa'), emailVerified: true });

    const agent = pageAgent(base);
    const done = await signInWithProvider(agent, `mfa-${unique}`);
    expect(done.status).toBe(303);
    expect(done.location).toBe('/account/mfa-confirm');
    expect(agent.jar.has(SESSION)).toBe(false);
    expect(agent.jar.has(MFA_COOKIE)).toBe(true);
    const step = await agent.get('/account/mfa-confirm');
    expect(step.status).toBe(200);
    // The next time step: the one the enrolment used is spent.
    const code = totp.generate({ timestamp: Date.now() + 30_000 });
    const confirmed = await agent.post('/account/mfa-confirm', {
      csrf: csrfOf(step.html, '/account/mfa-confirm'),
      method: 'totp',
      code,
    });
    expect(confirmed.location).toBe('/account/me');
    expect(agent.jar.has(SESSION)).toBe(true);
    expect((await agent.get('/account/me')).html).toContain(mail('mfa'));
  });

  it('"Connected accounts" links a provider through its own start URL, and unlinks it', async () => {
    await createVerifiedUser(t, mail('linker'), PASSWORD);
    const agent = await passwordSignIn(mail('linker'));
    const me = await agent.get('/account/me');
    expect(me.html).toMatch(/<span>test<\/span><span class="rs-session-when">Not linked<\/span>/);
    op.accounts.set(`linker-${unique}`, { email: mail('linker-elsewhere'), emailVerified: true });

    const linkPost = await agent.post('/account/me/oauth/link', {
      csrf: csrfOf(me.html, '/account/me/oauth/link'),
      provider: 'test',
    });
    expect(linkPost.status).toBe(303);
    const ticket = pathOf(linkPost.location);
    expect(ticket).toMatch(/^\/oauth\/test\/start\?link=[A-Za-z0-9_-]{43}$/);
    const back = await throughProvider(agent, `linker-${unique}`, ticket);
    expect(back).toBe('/account/me?linked=test');
    const linked = await agent.get(back);
    expect(notices(linked.html)).toContain('Your test account is linked.');
    expect(linked.html).toContain(mail('linker-elsewhere'));

    // The provider now signs in to this account, in another browser.
    const elsewhere = pageAgent(base);
    expect((await signInWithProvider(elsewhere, `linker-${unique}`)).location).toBe('/account/me');
    expect((await elsewhere.get('/account/me')).html).toContain(mail('linker'));

    const unlinked = await postMe(agent, '/account/me/oauth/unlink', { provider: 'test' });
    expect(unlinked.location).toBe('/account/me?status=oauth_unlinked');
    const after = await agent.get(unlinked.location ?? '');
    expect(notices(after.html)).toContain('The provider is unlinked from your account.');
    expect((await t.regstack.createCaller().login({ email: mail('linker'), password: PASSWORD })).status).toBe(
      'authenticated',
    );
  });

  it('unlinking the only way in of an account without a password is refused with its message', async () => {
    op.accounts.set(`only-${unique}`, { email: mail('only'), emailVerified: true });
    const agent = pageAgent(base);
    expect((await signInWithProvider(agent, `only-${unique}`)).location).toBe('/account/me');
    const refused = await postMe(agent, '/account/me/oauth/unlink', { provider: 'test' });
    expect(refused.status).toBe(409);
    expect(decode(alerts(refused.html)[0])).toBe(
      'This is the only way to sign in to your account. Set a password first (under "Password" on this page, within a few minutes of signing in), then unlink it.',
    );
    expect(refused.html).toMatch(/<span>test<\/span><span class="rs-badge">Linked<\/span>/);
  });

  it('an account without a password: no password fields, an authenticator app and a first password with the recent sign-in', async () => {
    op.accounts.set(`nopass-${unique}`, { email: mail('nopass'), emailVerified: true });
    const agent = pageAgent(base);
    expect((await signInWithProvider(agent, `nopass-${unique}`)).location).toBe('/account/me');
    const me = await agent.get('/account/me');
    // No field asks for a password the account does not have; the note says the sign-in stands in for it.
    expect(me.html).not.toContain('name="currentPassword"');
    expect(me.html).toContain('Your account has no password: your recent sign-in confirms it is you until');
    expect(me.html).toContain('Set password');
    const started = await postMe(agent, '/account/me/mfa/totp/start', {});
    expect(started.status).toBe(200);
    expect(started.html).toMatch(/<svg /);
    const set = await postMe(agent, '/account/me/password', { newPassword: 'a first passphrase of mine' });
    expect(set.location).toBe('/account/me?status=password_changed');
    // From now on the password is the proof: the fields are back.
    const after = await agent.get('/account/me');
    expect(after.html).toContain('name="currentPassword"');
    expect(after.html).toContain('Change password');
    const login = await t.regstack
      .createCaller()
      .login({ email: mail('nopass'), password: 'a first passphrase of mine' });
    expect(login.status).toBe('authenticated');
  });

  it('a sign-in refused for an unverified local account with the address shows why, and signs nobody in', async () => {
    // A row for the address that nobody proved (as `require_verification=false` makes, or an administrator).
    await createVerifiedUser(t, mail('unverified'), PASSWORD);
    const local = await t.regstack.createCaller().login({ email: mail('unverified'), password: PASSWORD });
    await t.regstack.bootstrapAdmin({ email: mail('admin'), password: PASSWORD });
    const admin = await t.regstack.createCaller().login({ email: mail('admin'), password: PASSWORD });
    if (admin.status !== 'authenticated' || local.status !== 'authenticated') throw new Error('expected sessions');
    const adminCaller = t.regstack.createCaller({ accessToken: admin.accessToken });
    await adminCaller.admin.users.update({ id: local.user.id, isVerified: false });
    op.accounts.set(`squatter-${unique}`, { email: mail('unverified'), emailVerified: true });

    const agent = pageAgent(base);
    const completion = await throughProvider(agent, `squatter-${unique}`);
    expect(completion).toBe('/account/oauth-complete?error=OAUTH_ACCOUNT_EXISTS');
    const page = await agent.get(completion);
    expect(page.status).toBe(400);
    expect(alerts(page.html)).toEqual([
      'An account with this email address already exists. Sign in with your password, then link the provider on your account page.',
    ]);
    expect(page.html).toContain('href="/account/login">Back to sign in</a>');
    expect(agent.jar.has(SESSION)).toBe(false);
  });

  it("an attacker's callback URL opened in the victim's browser signs the victim in to nothing", async () => {
    op.accounts.set(`attacker-${unique}`, { email: mail('attacker'), emailVerified: true });
    const attacker = pageAgent(base);
    const started = await attacker.get('/oauth/test/start');
    const callback = await signInAtProvider(started.location ?? '', `attacker-${unique}`);

    const victim = pageAgent(base);
    const back = await victim.get(`${callback.pathname}${callback.search}`);
    expect(pathOf(back.location)).toBe('/account/oauth-complete?error=OAUTH_BROWSER_MISMATCH');
    const page = await victim.get(pathOf(back.location));
    expect(alerts(page.html)).toEqual([
      'This sign-in was started in another browser, or this browser did not keep its cookie. Start again here.',
    ]);
    expect(victim.jar.has(SESSION)).toBe(false);
    expect((await victim.get('/account/me')).location).toMatch(/^\/account\/login/);
  });

  it("an attacker's completion address opened in the victim's browser is refused, and spent", async () => {
    op.accounts.set(`attacker2-${unique}`, { email: mail('attacker2'), emailVerified: true });
    const attacker = pageAgent(base);
    // The attacker's own, legitimate sign-in, stopped before the completion page.
    const completion = await throughProvider(attacker, `attacker2-${unique}`);
    expect(completion).toMatch(/^\/account\/oauth-complete\?id=/);
    expect(attacker.jar.has(BINDING)).toBe(true);

    const bare = pageAgent(base);
    const refused = await bare.get(completion);
    expect(refused.status).toBe(403);
    expect(alerts(refused.html)).toEqual([
      'This sign-in was started in another browser, or this browser did not keep its cookie. Start again here.',
    ]);
    expect(bare.jar.has(SESSION)).toBe(false);
    // Spent: the attacker's own browser cannot use it either now.
    const late = await attacker.get(completion);
    expect(alerts(late.html)).toEqual(['This sign-in has expired or was already completed. Start again.']);
    expect(attacker.jar.has(SESSION)).toBe(false);

    // A victim holding a binding cookie of its own sign-in is refused the same way.
    const second = await throughProvider(attacker, `attacker2-${unique}`);
    const busy = pageAgent(base);
    await busy.get('/oauth/test/start');
    expect(busy.jar.has(BINDING)).toBe(true);
    const refusedToo = await busy.get(second);
    expect(refusedToo.status).toBe(403);
    expect(busy.jar.has(SESSION)).toBe(false);
  });

  it('the card forms need their CSRF token and this origin; ?error= is worded by code, never echoed', async () => {
    await createVerifiedUser(t, mail('csrf'), PASSWORD);
    const agent = await passwordSignIn(mail('csrf'));
    const me = await agent.get('/account/me');
    for (const action of ['/account/me/oauth/link', '/account/me/oauth/unlink']) {
      expect((await agent.post(action, { provider: 'test' })).status, action).toBe(403);
      const foreign = await agent.post(
        action,
        {
          csrf: csrfOf(me.html, action === '/account/me/oauth/link' ? action : '/account/me/oauth/link'),
          provider: 'test',
        },
        { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      );
      expect(foreign.status, action).toBe(403);
    }
    expect((await t.regstack.createCaller().login({ email: mail('csrf'), password: PASSWORD })).status).toBe(
      'authenticated',
    );

    const fallback = 'The sign-in with the provider did not work. Start again.';
    for (const error of ['<script>alert(1)</script>', 'INVALID_CREDENTIALS', 'OAUTH_NOPE', '']) {
      const page = await agent.get(`/account/oauth-complete?error=${encodeURIComponent(error)}`);
      expect(page.status).toBe(400);
      expect(alerts(page.html), error).toEqual([fallback]);
      expect(page.html).not.toContain('<script>alert');
    }
    const onMe = await agent.get(`/account/me?error=${encodeURIComponent('<b>x</b>')}&linked=%3Cb%3E`);
    expect(alerts(onMe.html)).toEqual([fallback]);
    expect(notices(onMe.html)).toEqual([]);
    expect(onMe.html).not.toContain('<b>x</b>');
    const known = await agent.get('/account/oauth-complete?error=OAUTH_PROVIDER_ERROR');
    expect(alerts(known.html)).toEqual([
      'The provider did not complete the sign-in: it was cancelled, or the provider could not be reached.',
    ]);
  });
});
