/**
 * Issue 19 (two-factor screens, with issue 18) over real HTTP on every backend, by plain form posts: the account
 * page's two-factor card enrols an authenticator app (password → inline-SVG QR code and key → a code → the recovery
 * codes, shown once), a phone (number and password → the code sent by SMS), regenerates recovery codes and removes
 * each factor, every refusal worded by its stable code next to its field; the sign-in's second step keeps the
 * pending token in an HttpOnly cookie (never in an address, R50), offers the account's methods, resends an SMS
 * code, refuses a wrong or reused code and sets the page session exactly as a password sign-in does; an expired
 * pending sign-in sends the browser back to sign-in with a message; every two-factor POST without its CSRF token or
 * from another origin changes nothing (R57); a `require_mfa` session lands on the enrolment screen.
 */
import { createManualClock } from '@regstack/server';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { createVerifiedUser, startRegstack, type TestRegstack } from '../harness/regstack.ts';
import { csrfOf, type PageResponse, pageAgent } from './page-agent.ts';

const PASSWORD = 'correct horse battery staple';
const SESSION = '__Host-regstack_session';
const MFA_COOKIE = '__Host-regstack_session_mfa';
const STEP_MS = 30_000;
const PHONE = '+44 20 7946 0958';
const PHONE_E164 = '+442079460958';

type Agent = ReturnType<typeof pageAgent>;

/** The text of the element with `id` (an error or hint paragraph). */
const textOf = (html: string, id: string) => new RegExp(`id="${id}"[^>]*>([^<]*)<`).exec(html)?.[1];
/** The key shown on the set-up page, without its grouping spaces. */
const secretOf = (html: string) => /id="totp-secret">([A-Z2-7 ]+)</.exec(html)?.[1]?.replaceAll(' ', '') ?? '';
const codesOf = (html: string) => [...html.matchAll(/<li><code>([0-9a-z-]+)<\/code><\/li>/g)].map((m) => m[1] ?? '');

describeEachBackend('two-factor account pages over HTTP (issue 19)', (ctx) => {
  let t: TestRegstack;
  let server: { url: string; close(): Promise<void> };
  const clock = createManualClock(Date.now());
  const sent: Array<{ to: string; body: string }> = [];
  beforeAll(async () => {
    t = await startRegstack(
      ctx.url,
      {
        enableUiRouter: true,
        enableSms2fa: true,
        loginRateLimit: '1000/minute',
        phoneStartRateLimit: 'none',
        mfaResendLoginCodeRateLimit: 'none',
      },
      { clock, sms: { send: async (m) => void sent.push(m) } },
    );
    server = await t.regstack.listen({ port: 0 });
  });
  afterAll(async () => {
    await server?.close();
    await t?.regstack.close();
  });

  const codeAt = (secret: string) =>
    TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: clock.now().getTime() });
  /** A fresh time step, so a new code exists and the last one's step is past. */
  const nextStep = () => clock.advance(STEP_MS + 1_000);
  async function lastSms(to: string): Promise<string> {
    await t.regstack.settle();
    const code = /\b(\d{6})\b/.exec([...sent].reverse().find((m) => m.to === to)?.body ?? '')?.[1];
    if (!code) throw new Error(`no SMS code to ${to}`);
    return code;
  }

  async function signedIn(email: string): Promise<Agent> {
    const agent = pageAgent(server.url);
    const res = await agent.submit('/account/login', '/account/login', { email, password: PASSWORD });
    expect(res.location).toBe('/account/me');
    return agent;
  }
  /** Posts a form of the account page (its CSRF token read from the page). */
  async function postMe(agent: Agent, action: string, fields: Record<string, string>): Promise<PageResponse> {
    const page = await agent.get('/account/me');
    return agent.post(action, { csrf: csrfOf(page.html, action), ...fields });
  }
  /** A signed-in user with an authenticator app set up through the pages; its key and recovery codes. */
  async function withTotp(email: string) {
    await createVerifiedUser(t, email);
    const agent = await signedIn(email);
    const setup = await postMe(agent, '/account/me/mfa/totp/start', { currentPassword: PASSWORD });
    const secret = secretOf(setup.html);
    nextStep();
    const done = await agent.post('/account/me/mfa/totp/confirm', {
      csrf: csrfOf(setup.html, '/account/me/mfa/totp/confirm'),
      code: codeAt(secret),
    });
    expect(done.status).toBe(200);
    return { agent, secret, recoveryCodes: codesOf(done.html) };
  }
  /** Signs out and in again with the password: the browser must stop at the second step. */
  async function toSecondStep(agent: Agent, email: string, next?: string): Promise<PageResponse> {
    await postMe(agent, '/account/logout', {});
    expect(agent.jar.has(SESSION)).toBe(false);
    const login = await agent.get(`/account/login${next ? `?next=${encodeURIComponent(next)}` : ''}`);
    const res = await agent.post('/account/login', {
      csrf: csrfOf(login.html),
      email,
      password: PASSWORD,
      ...(next && { next }),
    });
    expect(res.status).toBe(303);
    return res;
  }

  it('enrols an authenticator app: wrong password next to its field; the QR code is inline SVG under the CSP; a wrong code, then the recovery codes once', async () => {
    const { email } = await createVerifiedUser(t, 'totp-pages@example.com');
    const agent = await signedIn(email);
    const me = await agent.get('/account/me');
    expect(me.html).toContain('Two-factor authentication');
    expect(me.html).toMatch(/<dt>Status<\/dt><dd>Off<\/dd>/);

    const wrong = await postMe(agent, '/account/me/mfa/totp/start', { currentPassword: 'not my password at all' });
    expect(wrong.status).toBe(401);
    expect(textOf(wrong.html, 'totp-start-password-error')).toBe('That is not your current password.');

    const setup = await postMe(agent, '/account/me/mfa/totp/start', { currentPassword: PASSWORD });
    expect(setup.status).toBe(200);
    expect(setup.headers.get('cache-control')).toBe('no-store');
    const csp = setup.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    // The QR code is markup of the page itself, made of presentation attributes only: nothing the CSP refuses.
    expect(setup.html).toMatch(
      /<svg xmlns="http:\/\/www.w3.org\/2000\/svg" viewBox="0 0 \d+ \d+" class="rs-qr-code" role="img" aria-label="[^"]+"><path fill="#ffffff" d="M0 0h\d+v\d+H0z"><\/path><path stroke="#000000" d="M[^"]+"><\/path><\/svg>/,
    );
    expect(setup.html).not.toMatch(/<script|<style|\sstyle=|\son[a-z]+=/i);
    const secret = secretOf(setup.html);
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    expect(setup.html).toMatch(
      /<input id="totp-code" name="code" type="text" autocomplete="one-time-code" inputmode="numeric" required maxlength="6"/,
    );

    const confirmCsrf = csrfOf(setup.html, '/account/me/mfa/totp/confirm');
    nextStep();
    const other = String((Number(codeAt(secret)) + 1) % 1_000_000).padStart(6, '0');
    const bad = await agent.post('/account/me/mfa/totp/confirm', { csrf: confirmCsrf, code: other });
    expect(bad.status).toBeGreaterThanOrEqual(400);
    expect(textOf(bad.html, 'totp-code-error')).toBe('That code is not right, or it was already used.');
    expect(bad.html).toMatch(/id="totp-code"[^>]*aria-describedby="totp-code-error" aria-invalid="true"/);
    expect(bad.html).not.toContain(secret); // the key is shown once, with the QR code

    const done = await agent.post('/account/me/mfa/totp/confirm', { csrf: confirmCsrf, code: codeAt(secret) });
    expect(done.status).toBe(200);
    const codes = codesOf(done.html);
    expect(codes).toHaveLength(10);
    expect(done.html).toContain('href="/account/me?status=totp_enabled"');
    const after = await agent.get('/account/me?status=totp_enabled');
    expect(after.html).toContain('Your authenticator app is set up.');
    expect(after.html).toMatch(/<dt>Status<\/dt><dd>On: Authenticator app<\/dd>/);
    expect(after.html).toMatch(/<dt>Recovery codes left<\/dt><dd>10<\/dd>/);
    for (const code of codes) expect(after.html).not.toContain(code);
    expect(await t.regstack.createCaller().login({ email, password: PASSWORD })).toMatchObject({
      status: 'mfa_required',
    });
  });

  it('the second step: the pending token only in an HttpOnly cookie; a wrong code stays; the right one signs in as a password does, to `next`', async () => {
    const email = 'second-step@example.com';
    const { agent, secret } = await withTotp(email);
    const res = await toSecondStep(agent, email, '/account/me?from=login');
    expect(res.location).toBe('/account/mfa-confirm?next=%2Faccount%2Fme%3Ffrom%3Dlogin');
    expect(agent.jar.has(SESSION)).toBe(false);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith(`${MFA_COOKIE}=`)) ?? '';
    for (const attribute of ['Max-Age=600', 'Path=/', 'HttpOnly', 'Secure', 'SameSite=Lax']) {
      expect(cookie).toContain(attribute);
    }
    const pendingValue = agent.jar.get(MFA_COOKIE) ?? '';
    const pendingToken = JSON.parse(Buffer.from(pendingValue, 'base64url').toString()).token as string;
    expect(res.location).not.toContain(pendingToken.slice(0, 20));

    const page = await agent.get(res.location!);
    expect(page.status).toBe(200);
    expect(page.html).not.toContain(pendingToken);
    expect(page.html).toContain('Open your authenticator app');
    expect(page.html).toMatch(
      /<input id="mfa-code" name="code" type="text" autocomplete="one-time-code" inputmode="numeric"/,
    );
    expect(page.html).toContain('href="/account/mfa-confirm?method=recovery&amp;next=%2Faccount%2Fme%3Ffrom%3Dlogin"');
    const csrf = csrfOf(page.html, '/account/mfa-confirm');
    nextStep();
    const next = '/account/me?from=login';
    const wrong = await agent.post('/account/mfa-confirm', { csrf, method: 'totp', code: '000000', next });
    expect(wrong.status).toBeGreaterThanOrEqual(400);
    expect(textOf(wrong.html, 'mfa-code-error')).toBe('That code is not right, or it was already used.');
    expect(agent.jar.has(SESSION)).toBe(false);
    const malformed = await agent.post('/account/mfa-confirm', { csrf, method: 'totp', code: 'abc', next });
    expect(malformed.status).toBe(400);
    expect(textOf(malformed.html, 'mfa-code-error')).toMatch(/6 digits/);

    const ok = await agent.post('/account/mfa-confirm', { csrf, method: 'totp', code: codeAt(secret), next });
    expect(ok.status).toBe(303);
    expect(ok.location).toBe(next);
    const session = ok.headers.getSetCookie().find((c) => c.startsWith(`${SESSION}=`)) ?? '';
    expect(session).toMatch(/HttpOnly/);
    expect(agent.jar.has(MFA_COOKIE)).toBe(false);
    expect((await agent.get('/account/me')).html).toContain('This device');
    // The same pending token completes one sign-in only: replayed, it sends the browser back to sign-in.
    const replay = pageAgent(server.url);
    replay.jar.set(MFA_COOKIE, pendingValue);
    const replayPage = await replay.get('/account/mfa-confirm');
    nextStep();
    const again = await replay.post('/account/mfa-confirm', {
      csrf: csrfOf(replayPage.html),
      method: 'totp',
      code: codeAt(secret),
    });
    expect(again.location).toBe('/account/login?status=mfa_expired');
    expect(replay.jar.has(SESSION)).toBe(false);
  });

  it('a recovery code signs in once; the count drops; regenerate shows ten new codes once; wrong password next to its field', async () => {
    const email = 'recovery-pages@example.com';
    const { agent, recoveryCodes } = await withTotp(email);
    const code = recoveryCodes[0] ?? '';
    const res = await toSecondStep(agent, email);
    const page = await agent.get(`${res.location}?method=recovery`);
    expect(page.html).toContain('Enter one of the recovery codes');
    expect(page.html).toMatch(/<input id="mfa-code" name="code" type="text" autocomplete="off"/);
    const used = await agent.post('/account/mfa-confirm', { csrf: csrfOf(page.html), method: 'recovery', code });
    expect(used.location).toBe('/account/me');
    expect((await agent.get('/account/me')).html).toMatch(/<dt>Recovery codes left<\/dt><dd>9<\/dd>/);

    const second = await toSecondStep(agent, email);
    const again = await agent.get(`${second.location}?method=recovery`);
    const reused = await agent.post('/account/mfa-confirm', { csrf: csrfOf(again.html), method: 'recovery', code });
    expect(reused.status).toBeGreaterThanOrEqual(400);
    expect(textOf(reused.html, 'mfa-code-error')).toBe('That code is not right, or it was already used.');
    const fresh = await agent.post('/account/mfa-confirm', {
      csrf: csrfOf(again.html),
      method: 'recovery',
      code: recoveryCodes[1] ?? '',
    });
    expect(fresh.location).toBe('/account/me');

    const wrong = await postMe(agent, '/account/me/mfa/recovery-codes', { currentPassword: 'not my password at all' });
    expect(textOf(wrong.html, 'recovery-password-error')).toBe('That is not your current password.');
    const regenerated = await postMe(agent, '/account/me/mfa/recovery-codes', { currentPassword: PASSWORD });
    expect(regenerated.status).toBe(200);
    const codes = codesOf(regenerated.html);
    expect(codes).toHaveLength(10);
    expect(codes).not.toContain(recoveryCodes[2]);
    expect((await agent.get('/account/me')).html).toMatch(/<dt>Recovery codes left<\/dt><dd>10<\/dd>/);
  });

  it('an expired pending sign-in goes back to sign-in with a message; without the cookie there is no second step', async () => {
    const email = 'expired-step@example.com';
    const { agent, secret } = await withTotp(email);
    const res = await toSecondStep(agent, email);
    const page = await agent.get(res.location!);
    clock.advance(11 * 60_000); // past mfa_pending_token_ttl_seconds (600) and its leeway
    const late = await agent.post('/account/mfa-confirm', {
      csrf: csrfOf(page.html),
      method: 'totp',
      code: codeAt(secret),
    });
    expect(late.status).toBe(303);
    expect(late.location).toBe('/account/login?status=mfa_expired');
    expect(agent.jar.has(MFA_COOKIE)).toBe(false);
    expect(agent.jar.has(SESSION)).toBe(false);
    expect((await agent.get(late.location!)).html).toContain('Your sign-in took too long or was ended. Sign in again.');
    // The browser drops the cookie at the token's expiry (Max-Age): the page then sends it to sign-in too.
    const none = await pageAgent(server.url).get('/account/mfa-confirm?next=%2Faccount%2Fme');
    expect(none.location).toBe('/account/login?status=mfa_expired&next=%2Faccount%2Fme');
  });

  it("R57: two-factor forms without the session's CSRF token, or from another origin, change nothing", async () => {
    const email = 'mfa-csrf@example.com';
    const { agent, secret } = await withTotp(email);
    const token = csrfOf((await agent.get('/account/me')).html, '/account/me/mfa/totp/disable');
    nextStep();
    const fields = { currentPassword: PASSWORD, code: codeAt(secret) };
    for (const res of [
      await agent.post('/account/me/mfa/totp/disable', fields),
      await agent.post('/account/me/mfa/totp/disable', { ...fields, csrf: 'x'.repeat(43) }),
      await agent.post('/account/me/mfa/totp/disable', { ...fields, csrf: token }, { origin: 'https://evil.example' }),
      await agent.post('/account/me/mfa/recovery-codes', { currentPassword: PASSWORD }),
      await agent.post('/account/me/mfa/totp/start', { currentPassword: PASSWORD }),
      await agent.post('/account/me/mfa/sms/start', { phoneNumber: PHONE, currentPassword: PASSWORD }),
    ]) {
      expect(res.status).toBe(403);
      expect(res.html).toContain('came from another site');
    }
    expect((await agent.get('/account/me')).html).toMatch(/<dd>On: Authenticator app<\/dd>/);

    // The second step's form is bound to the pre-session cookie like the sign-in form.
    const step = await toSecondStep(agent, email);
    const page = await agent.get(step.location!);
    nextStep();
    const code = codeAt(secret);
    expect((await agent.post('/account/mfa-confirm', { method: 'totp', code })).status).toBe(403);
    const foreign = await agent.post(
      '/account/mfa-confirm',
      { csrf: csrfOf(page.html), method: 'totp', code },
      { 'sec-fetch-site': 'cross-site' },
    );
    expect(foreign.status).toBe(403);
    expect(agent.jar.has(SESSION)).toBe(false);
    const ok = await agent.post('/account/mfa-confirm', { csrf: csrfOf(page.html), method: 'totp', code });
    expect(ok.location).toBe('/account/me');
  });

  it('removes the authenticator app: a wrong code next to its field, then a right one', async () => {
    const { agent, secret } = await withTotp('totp-off@example.com');
    nextStep();
    const wrong = await postMe(agent, '/account/me/mfa/totp/disable', { currentPassword: PASSWORD, code: '123456' });
    expect(textOf(wrong.html, 'totp-disable-code-error')).toBe('That code is not right, or it was already used.');
    const badPassword = await postMe(agent, '/account/me/mfa/totp/disable', {
      currentPassword: 'not my password at all',
      code: codeAt(secret),
    });
    expect(textOf(badPassword.html, 'totp-disable-password-error')).toBe('That is not your current password.');
    nextStep();
    const off = await postMe(agent, '/account/me/mfa/totp/disable', {
      currentPassword: PASSWORD,
      code: codeAt(secret),
    });
    expect(off.location).toBe('/account/me?status=totp_disabled');
    const me = await agent.get(off.location!);
    expect(me.html).toContain('Your authenticator app is removed.');
    expect(me.html).toMatch(/<dt>Status<\/dt><dd>Off<\/dd>/);
  });

  it('enrols a phone by SMS (bad number and wrong code next to their fields), signs in with a resent SMS code, removes the phone', async () => {
    const { email } = await createVerifiedUser(t, 'sms-pages@example.com');
    const agent = await signedIn(email);
    const bad = await postMe(agent, '/account/me/mfa/sms/start', {
      phoneNumber: '020 7946',
      currentPassword: PASSWORD,
    });
    expect(bad.status).toBe(400);
    expect(textOf(bad.html, 'sms-phone-error')).toBeTruthy();
    expect(bad.html).toMatch(/<input id="sms-phone" name="phoneNumber" type="tel" autocomplete="tel"/);

    const started = await postMe(agent, '/account/me/mfa/sms/start', { phoneNumber: PHONE, currentPassword: PASSWORD });
    expect(started.location).toBe('/account/me/mfa/sms');
    const confirm = await agent.get(started.location!);
    expect(confirm.html).toMatch(
      /<input id="sms-code" name="code" type="text" autocomplete="one-time-code" inputmode="numeric"/,
    );
    const code = await lastSms(PHONE_E164);
    const other = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    const csrf = csrfOf(confirm.html, '/account/me/mfa/sms/confirm');
    const wrong = await agent.post('/account/me/mfa/sms/confirm', { csrf, code: other });
    expect(textOf(wrong.html, 'sms-code-error')).toBe('That code is not right, or it was already used.');
    const enabled = await agent.post('/account/me/mfa/sms/confirm', { csrf, code });
    expect(codesOf(enabled.html)).toHaveLength(10); // the first factor brings the recovery codes
    const me = await agent.get('/account/me?status=sms_enabled');
    expect(me.html).toContain('Your phone is set up.');
    expect(me.html).toMatch(/<dd>On: Text message<\/dd>/);

    const step = await toSecondStep(agent, email);
    const page = await agent.get(step.location!);
    expect(page.html).toMatch(/We sent a 6-digit code by text message to [^<]*58\./);
    const first = await lastSms(PHONE_E164);
    const resent = await agent.post('/account/mfa-confirm', { csrf: csrfOf(page.html), method: 'sms', resend: '1' });
    expect(resent.location).toBe('/account/mfa-confirm?method=sms&status=code_resent');
    expect((await agent.get(resent.location!)).html).toContain('We sent a new code.');
    const second = await lastSms(PHONE_E164);
    if (first !== second) {
      const old = await agent.post('/account/mfa-confirm', { csrf: csrfOf(page.html), method: 'sms', code: first });
      expect(old.status).toBeGreaterThanOrEqual(400);
    }
    const ok = await agent.post('/account/mfa-confirm', { csrf: csrfOf(page.html), method: 'sms', code: second });
    expect(ok.location).toBe('/account/me');

    const off = await postMe(agent, '/account/me/mfa/sms/disable', { currentPassword: PASSWORD });
    expect(off.location).toBe('/account/me?status=sms_disabled');
    expect((await agent.get('/account/me')).html).toMatch(/<dt>Status<\/dt><dd>Off<\/dd>/);
    expect(await t.regstack.createCaller().login({ email, password: PASSWORD })).toMatchObject({
      status: 'authenticated',
    });
  });
});

describeEachBackend('require_mfa on the account pages (issue 19)', (ctx) => {
  let t: TestRegstack;
  let server: { url: string; close(): Promise<void> };
  const clock = createManualClock(Date.now());
  beforeAll(async () => {
    t = await startRegstack(
      ctx.url,
      { enableUiRouter: true, requireMfa: 'all', loginRateLimit: '1000/minute' },
      { clock },
    );
    server = await t.regstack.listen({ port: 0 });
  });
  afterAll(async () => {
    await server?.close();
    await t?.regstack.close();
  });

  it('a session that must enrol lands on the enrolment screen (not a broken dashboard), and on the account page once enrolled', async () => {
    const { email } = await createVerifiedUser(t, 'must-enrol@example.com');
    const agent = pageAgent(server.url);
    const login = await agent.submit('/account/login', '/account/login', { email, password: PASSWORD });
    expect(login.location).toBe('/account/me');
    const me = await agent.get('/account/me');
    expect(me.status).toBe(200);
    expect(me.html).toContain('Set up two-factor authentication');
    expect(me.html).toContain('This site requires a second step at sign-in');
    expect(me.html).not.toContain('Sessions');
    // Another form of the account page is refused by the procedure: the same screen, saying why.
    const profile = await agent.post('/account/me/profile', {
      csrf: csrfOf(me.html, '/account/me/mfa/totp/start'),
      fullName: 'Someone',
    });
    expect(profile.status).toBe(403);
    expect(profile.html).toContain('This site requires two-factor authentication: set it up first.');
    const setup = await agent.post('/account/me/mfa/totp/start', {
      csrf: csrfOf(me.html, '/account/me/mfa/totp/start'),
      currentPassword: PASSWORD,
    });
    const secret = /id="totp-secret">([A-Z2-7 ]+)</.exec(setup.html)?.[1]?.replaceAll(' ', '') ?? '';
    clock.advance(STEP_MS + 1_000);
    const code = TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: clock.now().getTime() });
    const done = await agent.post('/account/me/mfa/totp/confirm', {
      csrf: csrfOf(setup.html, '/account/me/mfa/totp/confirm'),
      code,
    });
    expect(done.status).toBe(200);
    const after = await agent.get('/account/me');
    expect(after.html).toContain('This device');
    expect(after.html).toMatch(/<dt>Policy<\/dt><dd>Required by this site<\/dd>/);
  });
});
