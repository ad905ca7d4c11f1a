/**
 * Issue 22, login CSRF (RFC 6749 §10.12, RFC 9700 §4.7), on every backend, against the real provider over HTTP:
 * a sign-in is bound to the browser that started it by an HttpOnly `SameSite=Lax` cookie. An attacker who starts a
 * sign-in, signs in at the provider as himself and sends a victim the callback URL signs nobody in: the victim's
 * browser (no cookie, or its own) is refused with OAUTH_BROWSER_MISMATCH and the state is spent. The same for
 * `auth.oauth.link.start`, whose URL is our own `start` with a one-time ticket: the browser that follows it is the
 * one bound, and the ticket works once.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { freePort } from '../harness/ferretdb.ts';
import { createVerifiedUser, startRegstack, type TestRegstack } from '../harness/regstack.ts';
import { Browser, signInAtProvider, startTestProvider, type TestProvider } from './oidc-provider.ts';

const PASSWORD = 'correct horse battery staple';

describeEachBackend('a provider sign-in is bound to the browser that started it (issue 22, login CSRF)', (ctx) => {
  let op: TestProvider;
  let t: TestRegstack;
  let base: string;
  let close: (() => Promise<void>) | undefined;
  const unique = randomBytes(4).toString('hex');

  beforeAll(async () => {
    op = await startTestProvider();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const test = op.clientFor(base);
    t = await startRegstack(ctx.url, {
      baseUrl: base,
      enableOauth: true,
      loginRateLimit: '1000/minute',
      oauthExchangeRateLimit: '1000/minute',
      oauth: { providers: { test } },
    });
    const server = await t.regstack.listen({ port });
    close = () => server.close();
  });
  afterAll(async () => {
    await close?.();
    await t?.regstack.close();
    await op?.close();
  });

  it('start sets an HttpOnly, SameSite=Lax binding cookie; the callback leaves it to its lifetime', async () => {
    op.accounts.set(`cookie-${unique}`, { email: `cookie-${unique}@example.com`, emailVerified: true });
    const browser = new Browser();
    const started = await browser.get(`${base}/oauth/test/start`);
    const [set] = started.headers.getSetCookie();
    expect(set).toMatch(/^regstack_session_oauth=[A-Za-z0-9_-]{43};/);
    expect(set).toMatch(/; HttpOnly/i);
    expect(set).toMatch(/; SameSite=Lax/i);
    expect(set).toMatch(/; Path=\//);
    expect(set).toMatch(/; Max-Age=300/);
    // Plain http on loopback is the one place without Secure (page-session.ts).
    expect(set).not.toMatch(/Secure/i);
    const callback = await signInAtProvider(started.headers.get('location') ?? '', `cookie-${unique}`);
    const back = await browser.get(callback);
    expect(new URL(back.headers.get('location') ?? '').searchParams.get('id')).toBeTruthy();
    // Not cleared: another tab's sign-in may still need it (it ends with its Max-Age).
    expect(back.headers.getSetCookie()).toEqual([]);
  });

  it("an attacker's callback URL opened in another browser signs nobody in, and is spent", async () => {
    op.accounts.set(`attacker-${unique}`, { email: `attacker-${unique}@example.com`, emailVerified: true });
    const attacker = new Browser();
    const started = await attacker.follow(`${base}/oauth/test/start`);
    const callback = await signInAtProvider(started.href, `attacker-${unique}`);

    // The victim's browser has no binding cookie at all …
    const bare = await new Browser().follow(callback);
    expect(bare.searchParams.get('error')).toBe('OAUTH_BROWSER_MISMATCH');
    expect(bare.searchParams.get('id')).toBeNull();
    // … and the state is gone: not even the attacker's own browser can use it now.
    expect((await attacker.follow(callback)).searchParams.get('error')).toBe('OAUTH_STATE_INVALID');

    // A victim who started a sign-in of their own holds a binding cookie — not this sign-in's.
    const second = await attacker.follow(`${base}/oauth/test/start`);
    const secondCallback = await signInAtProvider(second.href, `attacker-${unique}`);
    const victim = new Browser();
    await victim.follow(`${base}/oauth/test/start`);
    const refused = await victim.follow(secondCallback);
    expect(refused.searchParams.get('error')).toBe('OAUTH_BROWSER_MISMATCH');
    expect(refused.searchParams.get('id')).toBeNull();

    // The legit flow, start to end in one browser, still signs in.
    const third = await attacker.follow(`${base}/oauth/test/start`);
    const own = await attacker.follow(await signInAtProvider(third.href, `attacker-${unique}`));
    const id = own.searchParams.get('id') ?? '';
    expect((await t.regstack.createCaller().oauth.exchange({ id })).status).toBe('authenticated');
  });

  it('two sign-ins started in two tabs of one browser share its binding cookie', async () => {
    op.accounts.set(`tabs-${unique}`, { email: `tabs-${unique}@example.com`, emailVerified: true });
    const browser = new Browser();
    const first = await browser.get(`${base}/oauth/test/start`);
    const second = await browser.get(`${base}/oauth/test/start`);
    const value = (response: Response) => response.headers.getSetCookie()[0]?.split(';')[0];
    expect(value(first)).toMatch(/^regstack_session_oauth=[A-Za-z0-9_-]{43}$/);
    expect(value(second)).toBe(value(first));
    const back = await browser.follow(await signInAtProvider(first.headers.get('location') ?? '', `tabs-${unique}`));
    expect(back.searchParams.get('id')).toBeTruthy();
    // The first tab's callback did not end the second tab's sign-in.
    const other = await browser.follow(await signInAtProvider(second.headers.get('location') ?? '', `tabs-${unique}`));
    expect(other.searchParams.get('error')).toBeNull();
    expect(other.searchParams.get('id')).toBeTruthy();
  });

  it('link.start answers our own start URL with a one-time ticket; the browser that follows it is the one bound', async () => {
    const email = `owner-${unique}@example.com`;
    await createVerifiedUser(t, email, PASSWORD);
    const login = await t.regstack.createCaller().login({ email, password: PASSWORD });
    if (login.status !== 'authenticated') throw new Error('expected a session');
    const owner = t.regstack.createCaller({ accessToken: login.accessToken });
    op.accounts.set(`owner-${unique}`, { email: `owner-elsewhere-${unique}@example.com`, emailVerified: true });

    const { authorizationUrl } = await owner.oauth.link.start({ provider: 'test', redirectTo: '/settings' });
    const ticketUrl = new URL(authorizationUrl);
    expect(`${ticketUrl.origin}${ticketUrl.pathname}`).toBe(`${base}/oauth/test/start`);
    expect([...ticketUrl.searchParams.keys()]).toEqual(['link']);

    // Followed by the owner's browser; the provider's callback brought to another browser is refused.
    const ownerBrowser = new Browser();
    const atProvider = await ownerBrowser.follow(ticketUrl);
    expect(atProvider.origin).toBe(op.issuer);
    const callback = await signInAtProvider(atProvider.href, `owner-${unique}`);
    const elsewhere = await new Browser().follow(callback);
    expect(`${elsewhere.origin}${elsewhere.pathname}`).toBe(`${base}/settings`);
    expect(elsewhere.searchParams.get('error')).toBe('OAUTH_BROWSER_MISMATCH');
    expect((await owner.oauth.providers()).providers[0]?.linked).toBe(false);
    // The ticket was used once: following it again starts nothing.
    const again = await ownerBrowser.follow(ticketUrl);
    expect(again.searchParams.get('error')).toBe('OAUTH_STATE_INVALID');

    // A fresh ticket, start to end in the owner's browser, links.
    const fresh = await owner.oauth.link.start({ provider: 'test', redirectTo: '/settings' });
    const fromProvider = await signInAtProvider(
      (await ownerBrowser.follow(fresh.authorizationUrl)).href,
      `owner-${unique}`,
    );
    const linked = await ownerBrowser.follow(fromProvider);
    expect(linked.searchParams.get('linked')).toBe('test');
    expect((await owner.oauth.providers()).providers[0]?.linked).toBe(true);

    // A made-up ticket, or one for another provider's route, starts nothing either.
    const made = await ownerBrowser.follow(`${base}/oauth/test/start?link=${randomBytes(32).toString('base64url')}`);
    expect(made.searchParams.get('error')).toBe('OAUTH_STATE_INVALID');
  });
});
