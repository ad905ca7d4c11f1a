/**
 * Issue 22 item 4 (client) in real Chromium: a React page (fixtures/oauth-page, StrictMode in React's development
 * build, so its effects run twice) and its Vue twin (fixtures/vue-oauth-page), each on its own origin; a real
 * regstack over HTTP on another; a real OpenID provider (`oidc-provider` on loopback) whose own login and consent
 * screens the browser fills in.
 * - "Continue with test" → the provider's screens → back on the page → `useOAuthCompletion()` (React hook, Vue
 *   composable) signs in with one exchange (React ran the effect twice), the id is gone from the address bar, `me`
 *   answers; a reload does not exchange again and still reads signed-in;
 * - a user with an authenticator app lands in `mfa_required` and the page's confirm finishes the sign-in;
 * - a refused sign-in (an address the provider does not vouch for) lands with `?error=`: the page shows the code.
 * The client's behaviour does not depend on the backend: SQLite.
 */

import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createVerifiedUser } from '../harness/regstack.ts';
import { startTestProvider, type TestProvider } from '../oauth/oidc-provider.ts';
import { type Browser, launchChromium } from './browser.ts';
import {
  type ClientStack,
  chromiumMissing,
  chromiumSkipNote,
  enrolTotpThroughClient,
  freePort,
  PASSWORD,
  startClientStack,
} from './support.ts';

const PAGES: { framework: string; source: string; define: Record<string, string> }[] = [
  {
    framework: 'React',
    source: new URL('./fixtures/oauth-page/main.ts', import.meta.url).pathname,
    // React's development build: StrictMode runs each effect twice, as on a developer's machine.
    define: { 'process.env.NODE_ENV': '"development"' },
  },
  {
    framework: 'Vue',
    source: new URL('./fixtures/vue-oauth-page/main.ts', import.meta.url).pathname,
    // Vue's bundler build reads these compile-time flags.
    define: {
      __VUE_OPTIONS_API__: 'true',
      __VUE_PROD_DEVTOOLS__: 'false',
      __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
    },
  },
];

describe.skipIf(chromiumMissing).each(PAGES)(
  `provider sign-in from a $framework page in Chromium (issue 22 item 4)${chromiumSkipNote}`,
  ({ source, define }) => {
    let op: TestProvider;
    let stack: ClientStack;
    let api: string;
    let apiServer: { close(): Promise<void> };
    let pageServer: Server;
    let pageOrigin: string;
    let browser: Browser;
    let exchanges: string[];
    const unique = randomBytes(4).toString('hex');
    const mail = (name: string) => `${name}-${unique}@example.com`;

    beforeAll(async () => {
      const bundle = await build({
        entryPoints: [source],
        bundle: true,
        write: false,
        platform: 'browser',
        format: 'esm',
        conditions: ['@regstack/source'],
        define,
        logLevel: 'silent',
      });
      const script = bundle.outputFiles[0]?.text ?? '';
      const pagePort = await freePort();
      pageOrigin = `http://127.0.0.1:${pagePort}`;

      op = await startTestProvider();
      const apiPort = await freePort();
      api = `http://127.0.0.1:${apiPort}`;
      const test = op.clientFor(api);
      stack = await startClientStack({
        baseUrl: api,
        corsOrigins: [pageOrigin],
        enableOauth: true,
        oauthExchangeRateLimit: '1000/minute',
        oauth: {
          providers: { test },
          autoLinkVerifiedEmails: true,
          allowedRedirects: [pageOrigin],
        },
      });
      apiServer = await stack.regstack.listen({ port: apiPort });

      pageServer = createServer((req, res) => {
        if (req.url === '/main.js') {
          res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
          return;
        }
        // A single-page app: every path is the page.
        res
          .writeHead(200, { 'content-type': 'text/html' })
          .end(
            `<!doctype html><title>oauth page</title><script>REGSTACK_API = ${JSON.stringify(api)};</script>` +
              '<div id="app"></div><script type="module" src="/main.js"></script>',
          );
      });
      await new Promise<void>((resolve) => pageServer.listen(pagePort, '127.0.0.1', resolve));
      browser = await launchChromium();
      browser.page.on('request', (request) => {
        if (request.url().includes('oauth.exchange')) exchanges.push(request.url());
      });
    });
    afterAll(async () => {
      await browser?.close();
      await apiServer?.close();
      await stack?.close();
      await op?.close();
      await new Promise<void>((resolve) => (pageServer ? pageServer.close(() => resolve()) : resolve()));
    });
    beforeEach(async () => {
      // A new visitor: no session at the provider, none on the page.
      exchanges = [];
      await browser.context.clearCookies();
      await browser.page.goto(pageOrigin);
      await browser.page.evaluate(() => localStorage.clear());
    });

    /** From the page's "Continue with test" through the provider's login and consent screens, back to the page. */
    async function continueWithProvider(page: Page, account: string) {
      await page.goto(pageOrigin);
      await page.getByTestId('status').filter({ hasText: 'anonymous' }).waitFor();
      await page.getByTestId('continue-test').click();
      await page.waitForURL((url) => url.origin === op.issuer);
      await page.locator('input[name=login]').fill(account);
      await page.locator('input[name=password]').fill('any');
      await page.locator('button[type=submit]').click();
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.waitForURL((url) => url.origin === pageOrigin && url.pathname === '/complete');
    }

    const completion = (page: Page, status: string) =>
      page
        .getByTestId('completion')
        .filter({ hasText: new RegExp(`^${status}$`) })
        .waitFor();

    it('signs in through the provider screens with one exchange, and a reload does not replay it', async () => {
      const { page } = browser;
      op.accounts.set(`new-${unique}`, { email: mail('new'), emailVerified: true });
      await continueWithProvider(page, `new-${unique}`);
      await completion(page, 'signed-in');
      expect(await page.getByTestId('user-email').textContent()).toBe(mail('new'));
      // StrictMode ran the landing effect twice: one exchange, and the one-time id is out of the address bar.
      expect(exchanges).toHaveLength(1);
      expect(new URL(page.url()).search).toBe('');
      const me = await page.evaluate(async () => {
        const rs = (globalThis as unknown as { regstackClient: { me(): Promise<{ email: string }> } }).regstackClient;
        return (await rs.me()).email;
      });
      expect(me).toBe(mail('new'));

      await page.reload();
      await completion(page, 'signed-in');
      await page.getByTestId('user-email').waitFor();
      expect(exchanges).toHaveLength(1);
      // The provider's dev screens fetch assets from the internet (unreachable here); the page itself logged nothing.
      expect(browser.errors.filter((e) => !e.startsWith('Failed to load resource'))).toEqual([]);
    });

    it('a user with an authenticator app lands in mfa_required and the page confirms the code', async () => {
      const { page } = browser;
      const { email } = await createVerifiedUser(stack, mail('mfa'), PASSWORD);
      const { code } = await enrolTotpThroughClient(`${api}/trpc`, email);

      op.accounts.set(`mfa-${unique}`, { email, emailVerified: true });
      await continueWithProvider(page, `mfa-${unique}`);
      await completion(page, 'mfa_required');
      expect(await page.getByTestId('mfa-methods').textContent()).toContain('totp');
      expect(await page.evaluate(() => localStorage.getItem('regstack.accessToken'))).toBeNull();
      await page.getByTestId('mfa-code').fill(code());
      await page.getByTestId('mfa-submit').click();
      await completion(page, 'signed-in');
      expect(await page.getByTestId('user-email').textContent()).toBe(email);
      expect(exchanges).toHaveLength(1);
    });

    it('a refused sign-in lands with ?error=: the page shows the stable code and the URL is clean', async () => {
      const { page } = browser;
      op.accounts.set(`unvouched-${unique}`, { email: mail('unvouched'), emailVerified: false });
      await continueWithProvider(page, `unvouched-${unique}`);
      await completion(page, 'error');
      expect(await page.getByTestId('error-code').textContent()).toBe('OAUTH_EMAIL_NOT_VERIFIED');
      expect(new URL(page.url()).search).toBe('');
      expect(exchanges).toHaveLength(0);
    });
  },
);
