/**
 * The example React page (examples/react-page, on `@regstack/client/react`) driven in real Chromium,
 * served by the example host app's fetch handler from the same origin as its tRPC endpoint: register → read
 * the verification link from the mail → follow it → log in → see the user (and the host's own data) →
 * reload and still be signed in → log out. A screenshot of the signed-in page is saved to
 * test/.artifacts/react-page.png.
 */
import { createHostApp, type RunningServer, serveFetch } from '@regstack/example-host-app';
import { getRegstackErrorCode } from '@regstack/shared';
import { defaultClientConditions } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, type BuiltApp, buildViteApp, launchChromium } from './browser.ts';
import {
  artifactPath,
  type ClientStack,
  chromiumMissing,
  chromiumSkipNote,
  freePort,
  PASSWORD,
  repoPath,
  startClientStack,
  uniqueEmail,
  verificationLink,
} from './support.ts';

describe.skipIf(chromiumMissing)(`the React example page in Chromium${chromiumSkipNote}`, () => {
  let stack: ClientStack;
  let app: BuiltApp;
  let server: RunningServer;
  let browser: Browser;
  let origin: string;

  beforeAll(async () => {
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    // The mailed links point at the host, where the page handles /account/verify?token=….
    [stack, app] = await Promise.all([
      startClientStack({ baseUrl: origin }),
      buildViteApp({
        root: repoPath('examples', 'react-page'),
        configFile: repoPath('examples', 'react-page', 'vite.config.ts'),
        resolve: { conditions: ['@regstack/source', ...defaultClientConditions] },
      }),
    ]);
    server = await serveFetch(createHostApp(stack.regstack, { staticDir: app.dir }), { port });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await stack?.close();
    app?.remove();
  });

  it('registers, follows the mailed link, logs in, shows the user, survives a reload, logs out', async () => {
    const { page } = browser;
    const email = uniqueEmail('react');

    await page.goto(origin);
    await page.getByTestId('signed-out').waitFor();
    await page.getByTestId('register-name').fill('Grace Hopper');
    await page.getByTestId('register-email').fill(email);
    await page.getByTestId('register-password').fill(PASSWORD);
    await page.getByTestId('register-submit').click();
    await page.getByTestId('register-done').waitFor();
    expect(await page.getByTestId('register-done').textContent()).toContain(email);

    const link = await verificationLink(stack, email);
    expect(link.startsWith(`${origin}/account/verify?token=`)).toBe(true);
    await page.goto(link);
    await page.getByTestId('verified').waitFor();
    expect(await page.getByTestId('verified').textContent()).toContain(`${email} is verified`);

    await page.getByRole('link', { name: 'Log in' }).click();
    await page.getByTestId('login-email').fill(email);
    await page.getByTestId('login-password').fill(PASSWORD);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('signed-in').waitFor();
    expect(await page.getByTestId('user-email').textContent()).toBe(email);
    expect(await page.getByTestId('user-name').textContent()).toContain('Grace Hopper');

    // The host's own procedures, through the same client and token.
    await page.getByTestId('note-text').fill('Remember the nanosecond');
    await page.getByTestId('note-submit').click();
    await page.getByText('Remember the nanosecond').waitFor();
    await page.getByText('1 notes · 1 active session(s)').waitFor();

    // A reload restores the session from localStorage.
    const token = await page.evaluate(() => localStorage.getItem('regstack.accessToken'));
    expect(token).toBeTruthy();
    await page.reload();
    await page.getByTestId('signed-in').waitFor();
    expect(await page.getByTestId('user-email').textContent()).toBe(email);
    await page.getByText('Remember the nanosecond').waitFor();
    await page.screenshot({ path: artifactPath('react-page.png'), fullPage: true });

    await page.getByTestId('logout').click();
    await page.getByTestId('signed-out').waitFor();
    expect(await page.evaluate(() => localStorage.getItem('regstack.accessToken'))).toBeNull();
    // Logged out on the server too, not only forgotten by the page.
    const stale = stack.regstack.createCaller({ accessToken: token! });
    expect(await stale.account.me().then(() => 'still valid', getRegstackErrorCode)).toBe('UNAUTHENTICATED');
    expect(browser.errors).toEqual([]);
  });

  it('shows the stable error code of a failed login', async () => {
    const { page } = browser;
    await page.goto(origin);
    await page.getByTestId('login-email').fill(uniqueEmail('nobody'));
    await page.getByTestId('login-password').fill('not the right password');
    await page.getByTestId('login-submit').click();
    await page.getByTestId('error').waitFor();
    expect(await page.getByTestId('error').getAttribute('data-code')).toBe('INVALID_CREDENTIALS');
    // The failed call logs a 401 in the console; nothing else may.
    expect(browser.errors.filter((e) => !e.includes('401'))).toEqual([]);
  });
});
