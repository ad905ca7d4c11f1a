/**
 * The example React page (examples/react-page, on `@regstack/client/react`) driven in real Chromium,
 * served by the example host app's fetch handler from the same origin as its tRPC endpoint: register → read
 * the verification link from the mail → follow it → log in → see the user (and the host's own data) →
 * reload and still be signed in → log out; a superuser's admin table (issue 17 item 5); and two-factor
 * (issue 18 item 9): enrol an authenticator app in the page, then sign in through the page's second step with a
 * TOTP code and with a recovery code (once). Screenshots of the
 * signed-in page and the admin table are saved to test/.artifacts/react-page.png and react-page-admin.png.
 */
import { createRegstackClient } from '@regstack/client';
import { type AppRouter, createHostApp, type RunningServer, serveFetch } from '@regstack/example-host-app';
import { getRegstackErrorCode } from '@regstack/shared';
import { Secret, TOTP } from 'otpauth';
import type { Page } from 'playwright-core';
import { defaultClientConditions } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caught } from '../harness/outcomes.ts';
import { createVerifiedUser } from '../harness/regstack.ts';
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
      startClientStack({ baseUrl: origin, enableAdminRouter: true }),
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
    // The pages are off: the link is the host's own `/verify` (email_link_prefix unset), which the SPA answers.
    expect(link.startsWith(`${origin}/verify?token=`)).toBe(true);
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

  /** Logs `email` in through the page's form, starting signed out. */
  async function signIn(page: Page, email: string): Promise<void> {
    await page.goto(origin);
    await page.evaluate(() => localStorage.clear());
    await page.reload();
    await page.getByTestId('login-email').fill(email);
    await page.getByTestId('login-password').fill(PASSWORD);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('signed-in').waitFor();
  }

  it('issue 17 item 5: an admin searches, filters, pages and acts on users in the admin table; a non-admin gets none', async () => {
    const { page } = browser;
    const earlierErrors = browser.errors.length;
    const api = () => createRegstackClient<AppRouter>({ url: `${origin}/trpc`, path: 'auth' });
    const admin = uniqueEmail('boss');
    await stack.regstack.bootstrapAdmin({ email: admin, password: PASSWORD, fullName: 'Ada Admin' });
    const [bob, carol, dave] = [uniqueEmail('bob'), uniqueEmail('carol'), uniqueEmail('dave')];
    // More users than one page of the table (10), the fillers newest, so the first page (newest first) is theirs.
    const fillers = Array.from({ length: 10 }, () => uniqueEmail('filler'));
    for (const email of [bob, carol, dave, ...fillers]) await createVerifiedUser(stack, email);
    // Bob and Carol are signed in elsewhere; Dave is made unverified again so his row offers a resend.
    const [bobApi, carolApi, adminApi] = [api(), api(), api()];
    await bobApi.login({ email: bob, password: PASSWORD });
    await carolApi.login({ email: carol, password: PASSWORD });
    await adminApi.login({ email: admin, password: PASSWORD });
    const daveId = (await adminApi.auth.admin.users.list.query({ search: dave })).items[0]?.id as string;
    await adminApi.auth.admin.users.update.mutate({ id: daveId, isVerified: false });

    await signIn(page, admin);
    await page.getByTestId('admin').waitFor();
    const rows = page.getByTestId('admin-row');
    const shown = () => rows.locator('td:first-child').allTextContents(); // the emails in the table
    const row = (email: string) => rows.filter({ hasText: email });
    const search = async (text: string) => {
      await page.getByTestId('admin-search').fill(text);
      await page.getByTestId('admin-search').press('Enter');
    };

    // Every user, page by page through the cursor, each exactly once.
    await expect.poll(async () => (await shown()).sort()).toEqual([...fillers].sort());
    await page.screenshot({ path: artifactPath('react-page-admin.png'), fullPage: true });
    const seen = [...(await shown())];
    while (await page.getByTestId('admin-next').isEnabled()) {
      const before = await shown();
      await page.getByTestId('admin-next').click();
      await expect.poll(shown).not.toEqual(before);
      seen.push(...(await shown()));
    }
    expect(seen).toEqual([...new Set(seen)]);
    expect(seen).toEqual(expect.arrayContaining([admin, bob, carol, dave, ...fillers]));

    // Search (an email prefix, a part of the name) and the flag filters narrow the list.
    await search(bob.slice(0, 4));
    await expect.poll(shown).toEqual([bob]);
    await search('ADA ADM');
    await expect.poll(shown).toEqual([admin]);
    await search('');
    await page.getByTestId('admin-filter-isSuperuser').selectOption('yes');
    await expect.poll(shown).toEqual([admin]);
    await page.getByTestId('admin-filter-isSuperuser').selectOption('any');
    await page.getByTestId('admin-filter-isVerified').selectOption('no');
    await expect.poll(shown).toEqual([dave]);
    await page.getByTestId('admin-filter-isVerified').selectOption('any');

    // Resend verification: Dave gets a new link.
    const mailsToDave = () => stack.mailbox.messages.filter((m) => m.to === dave).length;
    const before = mailsToDave();
    await search(dave);
    await row(dave).getByRole('button', { name: 'Resend verification' }).click();
    await page.getByText('Verification mail sent').waitFor();
    expect(await verificationLink(stack, dave)).toContain('/verify?token=');
    expect(mailsToDave()).toBe(before + 1);

    // Disable Bob: his live session dies and he can no longer log in.
    await search(bob);
    await row(bob).getByRole('button', { name: 'Disable' }).click();
    await page.getByText(`${bob} disabled (1 session(s) ended)`).waitFor();
    await expect.poll(() => row(bob).getByTestId('admin-row-status').textContent()).toContain('disabled');
    expect(getRegstackErrorCode(await caught(bobApi.me()))).toBe('UNAUTHENTICATED');
    expect(getRegstackErrorCode(await caught(api().login({ email: bob, password: PASSWORD })))).toBe(
      'INVALID_CREDENTIALS',
    );

    // Revoke Carol's sessions: the one she had is dead, logging in again works.
    await search(carol);
    await row(carol).getByRole('button', { name: 'Revoke sessions' }).click();
    await page.getByText('1 session(s) revoked').waitFor();
    expect(getRegstackErrorCode(await caught(carolApi.me()))).toBe('UNAUTHENTICATED');
    expect((await carolApi.login({ email: carol, password: PASSWORD })).status).toBe('authenticated');

    // A refusal shows its stable code: the last active admin cannot disable themselves.
    await search(admin);
    await row(admin).getByRole('button', { name: 'Disable' }).click();
    await page.getByTestId('admin-error').waitFor();
    expect(await page.getByTestId('admin-error').getAttribute('data-code')).toBe('LAST_ACTIVE_ADMIN');
    expect(await page.getByTestId('admin-error').textContent()).toContain('LAST_ACTIVE_ADMIN');

    // A non-admin gets no admin section, and the API refuses them.
    await signIn(page, carol);
    expect(await page.getByTestId('user-email').textContent()).toBe(carol);
    expect(await page.getByTestId('admin').count()).toBe(0);
    expect(getRegstackErrorCode(await caught(carolApi.auth.admin.users.list.query({})))).toBe('FORBIDDEN');
    // The one refused call (409) logs in the console; nothing else may.
    expect(browser.errors.slice(earlierErrors).filter((e) => !e.includes('409'))).toEqual([]);
  });

  it('issue 18 item 9: enrols an authenticator app in the page, then signs in through the second step (TOTP, a recovery code once)', async () => {
    const { page } = browser;
    const earlierErrors = browser.errors.length;
    const { email } = await createVerifiedUser(stack, uniqueEmail('totp'));
    await signIn(page, email);

    // Enrol: password → the QR code (as an image, never inline markup) and the secret → a code → recovery codes.
    await page.getByTestId('two-factor-status').getByText('Authenticator app off').waitFor();
    await page.getByTestId('totp-start-password').fill(PASSWORD);
    await page.getByTestId('totp-start').click();
    const secret = (await page.getByTestId('totp-secret').textContent()) ?? '';
    expect(secret).toMatch(/^[A-Z2-7]+=*$/);
    const qr = page.getByTestId('totp-qr');
    expect(await qr.getAttribute('src')).toMatch(/^data:image\/svg\+xml;charset=utf-8,%3Csvg/i);
    await expect
      .poll(() => qr.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth > 0))
      .toBe(true);
    expect(await page.locator('[data-testid="two-factor"] svg').count()).toBe(0);
    const code = (offsetMs = 0) =>
      TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: Date.now() + offsetMs });
    // The previous step's code (inside the ±1 window) enrols, leaving the current step for the sign-in below.
    await page.getByTestId('totp-confirm-code').fill(code(-30_000));
    await page.getByTestId('totp-confirm').click();
    await page.getByTestId('recovery-codes').waitFor();
    const recoveryCodes = await page.getByTestId('recovery-codes').locator('li').allTextContents();
    expect(recoveryCodes).toHaveLength(10);
    await page.getByTestId('recovery-codes-done').click();
    await page.getByTestId('two-factor-status').getByText('Authenticator app on').waitFor();
    await page.getByTestId('recovery-codes').waitFor({ state: 'detached' }); // shown once
    await page.screenshot({ path: artifactPath('react-page-2fa.png'), fullPage: true });

    /** Signs out, then in with the password: the page must stop at the second step, signed in to nobody. */
    const passwordStep = async () => {
      await page.getByTestId('logout').click();
      await page.getByTestId('signed-out').waitFor();
      await page.getByTestId('login-email').fill(email);
      await page.getByTestId('login-password').fill(PASSWORD);
      await page.getByTestId('login-submit').click();
      await page.getByTestId('mfa-step').waitFor();
      expect(await page.getByTestId('signed-in').count()).toBe(0);
      expect(await page.evaluate(() => localStorage.getItem('regstack.accessToken'))).toBeNull();
      expect(await page.getByTestId('mfa-code').getAttribute('autocomplete')).toBe('one-time-code');
    };

    // A fresh TOTP code finishes the sign-in; a wrong one shows its code and leaves the step waiting.
    await passwordStep();
    expect(await page.getByTestId('mfa-method-totp').isChecked()).toBe(true);
    expect(await page.getByTestId('mfa-method-sms').count()).toBe(0);
    await page.getByTestId('mfa-code').fill(code(600_000));
    await page.getByTestId('mfa-submit').click();
    await page.getByTestId('mfa-error').waitFor();
    expect(await page.getByTestId('mfa-error').getAttribute('data-code')).toBe('MFA_CODE_INVALID');
    await page.getByTestId('mfa-code').fill(code());
    await page.getByTestId('mfa-submit').click();
    await page.getByTestId('signed-in').waitFor();
    expect(await page.getByTestId('user-email').textContent()).toBe(email);
    expect(await page.evaluate(() => localStorage.getItem('regstack.accessToken'))).toBeTruthy();

    // A recovery code works once.
    const [recovery] = recoveryCodes as [string];
    await passwordStep();
    await page.getByTestId('mfa-method-recovery').check();
    await page.getByTestId('mfa-code').fill(recovery);
    await page.getByTestId('mfa-submit').click();
    await page.getByTestId('signed-in').waitFor();
    await page.getByText('9 recovery code(s) left').waitFor();
    await passwordStep();
    await page.getByTestId('mfa-method-recovery').check();
    await page.getByTestId('mfa-code').fill(recovery);
    await page.getByTestId('mfa-submit').click();
    await page.getByTestId('mfa-error').waitFor();
    expect(await page.getByTestId('mfa-error').getAttribute('data-code')).toBe('MFA_CODE_INVALID');
    expect(await page.getByTestId('signed-in').count()).toBe(0);
    // Back to the password form abandons the step.
    await page.getByTestId('mfa-cancel').click();
    await page.getByTestId('login-submit').waitFor();
    // Only the two refused codes (MFA_CODE_INVALID is a 400) reach the console.
    expect(browser.errors.slice(earlierErrors).filter((e) => !e.includes('400'))).toHaveLength(0);
    expect(browser.errors.slice(earlierErrors)).toHaveLength(2);
  });
});
