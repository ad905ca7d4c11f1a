import { createHostApp, type RunningServer, serveNode } from '@regstack/example-host-app';
import { defaultClientConditions } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifiedUser } from '../harness/regstack.ts';
import { type Browser, type BuiltApp, buildViteApp, launchChromium } from './browser.ts';
import {
  artifactPath,
  type ClientStack,
  chromiumMissing,
  chromiumSkipNote,
  enrolTotpThroughClient,
  PASSWORD,
  startClientStack,
  uniqueEmail,
} from './support.ts';

const FIXTURE = new URL('./fixtures/vue-page/', import.meta.url).pathname;

describe.skipIf(chromiumMissing)(`the Vue composables in Chromium${chromiumSkipNote}`, () => {
  let stack: ClientStack;
  let app: BuiltApp;
  let server: RunningServer;
  let browser: Browser;

  beforeAll(async () => {
    [stack, app] = await Promise.all([
      startClientStack(),
      buildViteApp({
        root: FIXTURE,
        configFile: false,
        resolve: { conditions: ['@regstack/source', ...defaultClientConditions] },
        // Vue's bundler build reads these compile-time flags.
        define: {
          __VUE_OPTIONS_API__: 'true',
          __VUE_PROD_DEVTOOLS__: 'false',
          __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
        },
      }),
    ]);
    server = await serveNode(createHostApp(stack.regstack, { staticDir: app.dir }), { port: 0 });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await stack?.close();
    app?.remove();
  });

  it('signs in, shows the session, notices a revocation, signs out', async () => {
    const { page } = browser;
    const { email } = await createVerifiedUser(stack, uniqueEmail('vue'));
    await page.goto(server.url);
    await page.getByTestId('signed-out').waitFor();
    expect(await page.getByTestId('status').textContent()).toBe('anonymous');

    await page.getByTestId('email').fill(email);
    await page.getByTestId('password').fill('a wrong password, surely');
    await page.getByTestId('login').click();
    await page.getByTestId('error').waitFor();
    expect(await page.getByTestId('error').textContent()).toBe('INVALID_CREDENTIALS');

    await page.getByTestId('password').fill(PASSWORD);
    await page.getByTestId('login').click();
    await page.getByTestId('signed-in').waitFor();
    expect(await page.getByTestId('user-email').textContent()).toBe(email);
    expect(await page.getByTestId('status').textContent()).toBe('authenticated');
    await page.getByText('1 session(s)').waitFor();
    await page.getByText('2FA off').waitFor();
    await page.screenshot({ path: artifactPath('vue-page.png'), fullPage: true });

    // Ended from elsewhere (here: server-side, as the user's other device would): the next call notices.
    const other = await stack.regstack.createCaller().login({ email, password: PASSWORD });
    if (other.status !== 'authenticated') throw new Error('expected a token');
    await stack.regstack.createCaller({ accessToken: other.accessToken }).logoutAll();
    await page.getByTestId('refresh').click();
    await page.getByTestId('signed-out').waitFor();
    expect(await page.getByTestId('reason').textContent()).toBe('session_ended');

    await page.getByTestId('login').click(); // the form kept its values
    await page.getByTestId('signed-in').waitFor();
    await page.getByTestId('logout').click();
    await page.getByTestId('signed-out').waitFor();
    expect(await page.getByTestId('reason').textContent()).toBe('signed_out');
    expect(await page.evaluate(() => sessionStorage.getItem('regstack.accessToken'))).toBeNull();
    // Only the expected 401s (wrong password, revoked session) reach the console.
    expect(browser.errors.filter((e) => !e.includes('401'))).toEqual([]);
  });

  it('issue 18 item 9: useSession().mfa shows the waiting second step; useConfirmMfa finishes it', async () => {
    const { page } = browser;
    const earlierErrors = browser.errors.length;
    const { email } = await createVerifiedUser(stack, uniqueEmail('vue-totp'));
    // The previous step's code enrols, leaving the current step for the page's sign-in.
    const { code } = await enrolTotpThroughClient(`${server.url}/trpc`, email);

    await page.goto(server.url);
    await page.evaluate(() => sessionStorage.clear());
    await page.reload();
    await page.getByTestId('email').fill(email);
    await page.getByTestId('password').fill(PASSWORD);
    await page.getByTestId('login').click();
    await page.getByTestId('mfa-step').waitFor();
    expect(await page.getByTestId('mfa-methods').textContent()).toBe('totp,recovery');
    expect(await page.getByTestId('status').textContent()).toBe('anonymous');

    // Back abandons the step; signing in again brings it back.
    await page.getByTestId('mfa-cancel').click();
    await page.getByTestId('signed-out').waitFor();
    await page.getByTestId('login').click(); // the form kept its values
    await page.getByTestId('mfa-step').waitFor();

    await page.getByTestId('mfa-code').fill(code(600_000));
    await page.getByTestId('mfa-submit').click();
    await page.getByTestId('mfa-error').waitFor();
    expect(await page.getByTestId('mfa-error').textContent()).toBe('MFA_CODE_INVALID');
    await page.getByTestId('mfa-code').fill(code());
    await page.getByTestId('mfa-submit').click();
    await page.getByTestId('signed-in').waitFor();
    expect(await page.getByTestId('user-email').textContent()).toBe(email);
    expect(await page.getByTestId('status').textContent()).toBe('authenticated');
    await page.getByText('2FA on').waitFor();
    // Only the refused code (MFA_CODE_INVALID is a 400) reaches the console.
    expect(browser.errors.slice(earlierErrors)).toEqual([expect.stringContaining('400')]);
  });
});
