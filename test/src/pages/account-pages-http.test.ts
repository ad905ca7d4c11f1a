/**
 * Issue 19: the account pages over real HTTP on every backend — each page served with the strict headers (R59),
 * the whole flow working with plain form posts (POST-redirect-GET, no JavaScript), and the attacks of R57/R58/R60
 * failing: a form post without the CSRF token, from a foreign Origin or a cross-site fetch; the session cookie on
 * the tRPC endpoint; a `<script>` in a name; a redirect to another host. The cookie is checked like a bearer token:
 * a session revoked through the API ends the page session at once.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { createVerifiedUser, startRegstack, type TestRegstack } from '../harness/regstack.ts';
import { rawClient } from '../http/http-client.ts';
import { csrfOf, pageAgent } from './page-agent.ts';

const PASSWORD = 'correct horse battery staple';
const SESSION = '__Host-regstack_session';
const PAGES = ['login', 'register', 'forgot', 'verify', 'reset', 'confirm-email-change'];

describeEachBackend('account pages over HTTP (issue 19)', (ctx) => {
  let t: TestRegstack;
  let server: { url: string; close(): Promise<void> };
  beforeAll(async () => {
    t = await startRegstack(ctx.url, {
      enableUiRouter: true,
      appName: 'Acme <Accounts>',
      loginRateLimit: '1000/minute',
      registerRateLimit: '1000/minute',
    });
    server = await t.regstack.listen({ port: 0 });
  });
  afterAll(async () => {
    await server?.close();
    await t?.regstack.close();
  });

  /** A browser signed in through the login form. */
  async function signedIn(email: string, password = PASSWORD) {
    const agent = pageAgent(server.url);
    const res = await agent.submit('/account/login', '/account/login', { email, password });
    expect(res.status).toBe(303);
    expect(res.location).toBe('/account/me');
    expect(agent.jar.get(SESSION)).toBeTruthy();
    return agent;
  }

  it('R59: every page is strict, uncacheable and free of inline code; the set cookies are __Host-, Secure, HttpOnly, SameSite (R58)', async () => {
    await createVerifiedUser(t, 'headers@example.com');
    const agent = await signedIn('headers@example.com');
    for (const page of [...PAGES, 'me']) {
      const res = await agent.get(`/account/${page}`);
      expect(res.status, page).toBe(200);
      const csp = res.headers.get('content-security-policy') ?? '';
      for (const directive of [
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
      ]) {
        expect(csp, page).toContain(directive);
      }
      expect(csp, page).not.toMatch(/unsafe-inline|unsafe-eval/);
      expect(res.headers.get('x-content-type-options'), page).toBe('nosniff');
      expect(res.headers.get('cache-control'), page).toBe('no-store');
      // No page address holds a token (the link's landing redirect does, and says no-referrer below).
      expect(res.headers.get('referrer-policy'), page).toBe('same-origin');
      expect(res.html, page).toContain('<meta name="referrer" content="same-origin"/>');
      expect(res.html, page).not.toMatch(/<script|<style|\sstyle=|\son[a-z]+=/i);
      expect(res.html, page).toContain('Acme &lt;Accounts>'); // reflected config is escaped (R60)
    }
    const fresh = await fetch(`${server.url}/account/login`);
    const cookie = fresh.headers.getSetCookie()[0] ?? '';
    expect(cookie).toMatch(/^__Host-regstack_session_csrf=/);
    for (const attribute of ['Path=/', 'HttpOnly', 'Secure', 'SameSite=Lax']) expect(cookie).toContain(attribute);
    expect(cookie).not.toMatch(/domain=/i);
    const css = await fetch(`${server.url}/regstack-static/regstack.css`);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect(await css.text()).toContain('--rs-accent');
  });

  it('register → mailed link (token out of the address bar) → verify → login → me, by form posts alone', async () => {
    const agent = pageAgent(server.url);
    const email = 'walker@example.com';
    const registered = await agent.submit('/account/register', '/account/register', {
      email,
      password: PASSWORD,
      fullName: 'Ada Walker',
    });
    expect(registered.status).toBe(303);
    expect(registered.location).toBe('/account/register?status=sent');
    expect((await agent.get(registered.location!)).html).toContain('Check your inbox');
    await t.regstack.drainOutbox();
    const token = t.mailbox.tokenFor(email, 'verify')!;
    // R29: the link's GET moves the token into an HttpOnly cookie and redirects to a bare address.
    const landing = await agent.get(`/account/verify?token=${token}`);
    expect(landing.status).toBe(303);
    expect(landing.location).toBe('/account/verify');
    expect(landing.headers.get('referrer-policy')).toBe('no-referrer');
    const page = await agent.get('/account/verify');
    expect(page.html).not.toContain(token);
    const verified = await agent.post('/account/verify', { csrf: csrfOf(page.html) });
    expect(verified.location).toBe('/account/login?status=verified');
    const login = await agent.submit('/account/login', '/account/login', { email, password: PASSWORD });
    expect(login.location).toBe('/account/me');
    const me = await agent.get('/account/me');
    expect(me.html).toContain('Ada Walker');
    expect(me.html).toContain('This device');
  });

  it("a wrong password stays on the form with the stable code's message next to it; the email is kept, the password never echoed", async () => {
    await createVerifiedUser(t, 'wrong@example.com');
    const agent = pageAgent(server.url);
    const res = await agent.submit('/account/login', '/account/login', {
      email: 'wrong@example.com',
      password: 'not it at all',
    });
    expect(res.status).toBe(401);
    expect(res.html).toContain('The email address or password is not right.');
    expect(res.html).toContain('value="wrong@example.com"');
    expect(res.html).not.toContain('not it at all');
    expect(agent.jar.has(SESSION)).toBe(false);
    const weak = await agent.submit('/account/register', '/account/register', {
      email: 'weak@example.com',
      password: 'short',
    });
    expect(weak.status).toBe(400);
    expect(weak.html).toMatch(/id="register-password-error" class="rs-error">[^<]*12 characters/);
    expect(weak.html).toMatch(/aria-describedby="register-password-error register-password-hint" aria-invalid="true"/);
  });

  it("R57: a form post without the CSRF token, with another session's token, or from a foreign origin changes nothing", async () => {
    await createVerifiedUser(t, 'csrf@example.com');
    const victim = await signedIn('csrf@example.com');
    const other = await createVerifiedUser(t, 'csrf-other@example.com').then(() => signedIn('csrf-other@example.com'));
    const token = csrfOf((await victim.get('/account/me')).html, '/account/me/profile');
    const attempts = [
      victim.post('/account/me/profile', { fullName: 'Pwned' }),
      victim.post('/account/me/profile', { fullName: 'Pwned', csrf: csrfOf((await other.get('/account/me')).html) }),
      victim.post('/account/me/profile', { fullName: 'Pwned', csrf: token }, { origin: 'https://evil.example' }),
      victim.post('/account/me/profile', { fullName: 'Pwned', csrf: token }, { origin: 'null' }),
      victim.post('/account/me/profile', { fullName: 'Pwned', csrf: token }, { 'sec-fetch-site': 'cross-site' }),
      victim.post('/account/me/profile', { fullName: 'Pwned', csrf: token }, { 'sec-fetch-site': 'same-site' }),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.status).toBe(403);
      expect(res.html).toContain('came from another site');
    }
    expect((await victim.get('/account/me')).html).not.toContain('Pwned');
    // The same token, from this origin, works: the refusals above were the CSRF checks.
    const ok = await victim.post('/account/me/profile', { fullName: 'Kept', csrf: token });
    expect(ok.location).toBe('/account/me?status=profile_saved');
  });

  it("R57 login-CSRF: a sign-in posted without the pre-session cookie's token, or from another site, signs nobody in", async () => {
    await createVerifiedUser(t, 'login-csrf@example.com');
    const attacker = pageAgent(server.url);
    const fields = { email: 'login-csrf@example.com', password: PASSWORD };
    const noToken = await attacker.post('/account/login', fields);
    expect(noToken.status).toBe(403);
    const page = await attacker.get('/account/login');
    const token = csrfOf(page.html);
    const foreign = await attacker.post(
      '/account/login',
      { ...fields, csrf: token },
      { origin: 'https://evil.example' },
    );
    expect(foreign.status).toBe(403);
    // A victim's browser has its own pre-session cookie: the attacker's token is not bound to it.
    const victim = pageAgent(server.url);
    await victim.get('/account/login');
    expect((await victim.post('/account/login', { ...fields, csrf: token })).status).toBe(403);
    expect(victim.jar.has(SESSION)).toBe(false);
    expect(attacker.jar.has(SESSION)).toBe(false);
  });

  it('the page cookie never authenticates /trpc: a cross-site JSON or form post with it does nothing', async () => {
    await createVerifiedUser(t, 'trpc-cookie@example.com');
    const agent = await signedIn('trpc-cookie@example.com');
    const cookie = `${SESSION}=${agent.jar.get(SESSION)}`;
    const api = rawClient(server.url);
    const json = await api.mutation(
      'auth.account.update',
      { fullName: 'Via cookie' },
      {
        cookie,
        origin: 'https://evil.example',
      },
    );
    expect(json.status).toBe(401);
    expect(json.body.error.json.data.regstackCode).toBe('UNAUTHENTICATED');
    const form = await fetch(`${server.url}/trpc/auth.logoutAll`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      body: 'x=1',
    });
    expect(form.status).toBe(415);
    const me = await api.query('auth.account.me', undefined, { cookie });
    expect(me.status).toBe(401);
    const page = await agent.get('/account/me');
    expect(page.status).toBe(200);
    expect(page.html).not.toContain('Via cookie');
  });

  it('the cookie is checked like a bearer token: revoked through the API, the page session ends at once', async () => {
    const { email } = await createVerifiedUser(t, 'revoked@example.com');
    const agent = await signedIn(email);
    const login = await t.regstack.createCaller().login({ email, password: PASSWORD });
    if (login.status !== 'authenticated') throw new Error('expected a session');
    await t.regstack.createCaller({ accessToken: login.accessToken }).logoutAll();
    const me = await agent.get('/account/me');
    expect(me.status).toBe(303);
    expect(me.location).toBe('/account/login?next=%2Faccount%2Fme&status=session_ended');
    expect(agent.jar.has(SESSION)).toBe(false);
  });

  it('R60: a <script> in a full name renders inert on the account page', async () => {
    const { email } = await createVerifiedUser(t, 'xss@example.com');
    const agent = await signedIn(email);
    const token = csrfOf((await agent.get('/account/me')).html, '/account/me/profile');
    await agent.post('/account/me/profile', {
      fullName: '<script>alert(1)</script><img src=x onerror=alert(2)>',
      csrf: token,
    });
    const html = (await agent.get('/account/me')).html;
    expect(html).not.toContain('<script>alert(1)');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;script>alert(1)&lt;/script>&lt;img src=x onerror=alert(2)>');
  });

  it('R60: sign-in redirects only to a path on this origin', async () => {
    const { email } = await createVerifiedUser(t, 'redirect@example.com');
    const cases: [string, string][] = [
      ['/account/me?tab=1', '/account/me?tab=1'],
      ['//evil.example/x', '/account/me'],
      ['/\\evil.example', '/account/me'],
      ['https://evil.example/', '/account/me'],
      ['javascript:alert(1)', '/account/me'],
      ['/%0d%0aSet-Cookie:x', '/%0d%0aSet-Cookie:x'],
    ];
    for (const [next, expected] of cases) {
      const agent = pageAgent(server.url);
      const page = await agent.get(`/account/login?next=${encodeURIComponent(next)}`);
      const res = await agent.post('/account/login', { email, password: PASSWORD, next, csrf: csrfOf(page.html) });
      expect(res.location, next).toBe(expected);
    }
  });

  it('odd posts get a clear refusal, never a 500: wrong content type, oversized, no session, wrong method, unknown page', async () => {
    const res = await fetch(`${server.url}/account/login`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'email=a',
    });
    expect(res.status).toBe(415);
    expect((await fetch(`${server.url}/account/me/delete`, { method: 'POST' })).status).toBe(415);
    const signedOut = await fetch(`${server.url}/account/me/delete`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'currentPassword=x',
    });
    expect(signedOut.status).toBe(303);
    expect(signedOut.headers.get('location')).toBe('/account/login?next=%2Faccount%2Fme');
    const huge = await fetch(`${server.url}/account/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `email=${'a'.repeat(200_000)}`,
    });
    expect(huge.status).toBe(413);
    expect((await fetch(`${server.url}/account/me/delete`)).status).toBe(405);
    expect((await fetch(`${server.url}/account/nope`)).status).toBe(404);
    expect((await fetch(`${server.url}/regstack-static/../package.json`)).status).toBe(404);
  });
});

describeEachBackend('account pages follow the configuration (issue 19)', (ctx) => {
  it('enable_ui_router off: no page answers', async () => {
    const t = await startRegstack(ctx.url, { enableUiRouter: false });
    const server = await t.regstack.listen({ port: 0 });
    try {
      for (const page of [...PAGES, 'me']) expect((await fetch(`${server.url}/account/${page}`)).status).toBe(404);
      expect((await fetch(`${server.url}/regstack-static/regstack.css`)).status).toBe(404);
    } finally {
      await server.close();
      await t.regstack.close();
    }
  });

  it('theme_css_url, brand_logo_url and brand_tagline reach every page (and the CSP admits their origins); the password rules follow the policy', async () => {
    const t = await startRegstack(ctx.url, {
      enableUiRouter: true,
      themeCssUrl: 'https://cdn.example.com/theme.css',
      brandLogoUrl: 'https://img.example.com/logo.svg',
      brandTagline: 'Accounts <for> everyone',
      passwordMinLength: 16,
      passwordMaxLength: 100,
      appName: 'Acme',
    });
    const server = await t.regstack.listen({ port: 0 });
    try {
      const res = await fetch(`${server.url}/account/register`);
      const html = await res.text();
      expect(html).toMatch(/regstack\.css"\/><link rel="stylesheet" href="https:\/\/cdn\.example\.com\/theme\.css"/);
      expect(html).toContain('<img class="rs-brand-logo" src="https://img.example.com/logo.svg" alt/>');
      expect(html).toContain('Accounts &lt;for> everyone');
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("style-src 'self' https://cdn.example.com;");
      expect(csp).toContain("img-src 'self' data: https://img.example.com;");
      expect(html).toContain('From 16 to 100 characters.');
      expect(html).toMatch(/<input id="register-password"[^>]*autocomplete="new-password"[^>]*minlength="16"/);
    } finally {
      await server.close();
      await t.regstack.close();
    }
  });
});
