/**
 * Issue 19's two-factor screens in real Chromium with JavaScript DISABLED (and the walk again with it enabled):
 * set up an authenticator app from the account page (the code computed with otpauth from the key the page shows),
 * sign out, sign in through the second step (a wrong code first), use a recovery code once (the second use is
 * refused), set up a phone with the code the SMS transport received, sign in by a resent SMS code, remove the
 * authenticator app. The QR code renders (inline SVG, no inline style) and no page logs a CSP violation; axe-core
 * finds no serious or critical violation on any two-factor screen, light and dark, the `require_mfa` enrolment
 * screen included.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createManualClock } from '@regstack/server';
import { Secret, TOTP } from 'otpauth';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactPath, chromiumMissing, chromiumSkipNote, freePort, ROOMY_LIMITS } from '../client/support.ts';
import { createVerifiedUser, startRegstack, type TestRegstack } from '../harness/regstack.ts';
import { auditPage, openChromium } from './page-browser.ts';

const PASSWORD = 'correct horse battery staple';
/** A number per walk: one number belongs to one account. */
const phoneOf = (javaScript: boolean) => (javaScript ? '+44 20 7946 0957' : '+44 20 7946 0958');
const e164 = (phone: string) => phone.replaceAll(' ', '');
const STEP_MS = 30_000;

describe.skipIf(chromiumMissing)(`two-factor account pages in Chromium (issue 19)${chromiumSkipNote}`, () => {
  let dir: string;
  let t: TestRegstack;
  let server: { url: string; close(): Promise<void> };
  const clock = createManualClock(Date.now());
  const sent: Array<{ to: string; body: string }> = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'regstack-mfa-pages-'));
    const port = await freePort();
    t = await startRegstack(
      `sqlite:${join(dir, 'pages.db')}`,
      {
        ...ROOMY_LIMITS,
        enableUiRouter: true,
        enableSms2fa: true,
        baseUrl: `http://127.0.0.1:${port}`,
        appName: 'Acme',
        phoneStartRateLimit: 'none',
        mfaResendLoginCodeRateLimit: 'none',
      },
      { clock, sms: { send: async (m) => void sent.push(m) } },
    );
    server = await t.regstack.listen({ port });
  });
  afterAll(async () => {
    await server?.close();
    await t?.regstack.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A code of the app holding `secret`, in a time step no earlier code used. */
  const freshCode = (secret: string) => {
    clock.advance(STEP_MS + 1_000);
    return TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: clock.now().getTime() });
  };
  async function lastSms(to: string): Promise<string> {
    await t.regstack.settle();
    const code = /\b(\d{6})\b/.exec([...sent].reverse().find((m) => m.to === to)?.body ?? '')?.[1];
    if (!code) throw new Error('no SMS code sent');
    return code;
  }

  async function signInWithPassword(page: Page, email: string) {
    await page.goto(`${server.url}/account/login`);
    await page.getByLabel('Email address').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }
  async function signOut(page: Page) {
    await page.goto(`${server.url}/account/me`);
    await page.getByRole('button', { name: 'Sign out', exact: true }).first().click();
    await page.getByText('You are signed out.').waitFor();
  }

  it.each([
    { javaScript: false, label: 'disabled' },
    { javaScript: true, label: 'enabled' },
  ])(
    'authenticator app → sign out → second step → recovery code once → phone by SMS → remove the app (JavaScript $label)',
    async ({ javaScript }) => {
      const browser = await openChromium({ javaScriptEnabled: javaScript });
      const shot = async (name: string) => {
        if (!javaScript) await browser.page.screenshot({ path: artifactPath(`account-${name}.png`), fullPage: true });
      };
      try {
        const { page } = browser;
        const email = `mfa-walk${javaScript ? '-js' : ''}@example.com`;
        const phone = phoneOf(javaScript);
        await createVerifiedUser(t, email);
        await signInWithPassword(page, email);
        await page.waitForURL(`${server.url}/account/me`);

        // Set up an authenticator app: password → QR code and key → a code from the "app" → the recovery codes.
        await page.locator('#totp-start-password').fill(PASSWORD);
        await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
        const qr = page.getByRole('img', { name: /QR code/ });
        await qr.waitFor();
        const box = await qr.boundingBox();
        expect(box?.width).toBeGreaterThan(100); // drawn at its stylesheet size, under the CSP
        await shot('mfa-totp-setup');
        const secret = ((await page.locator('#totp-secret').textContent()) ?? '').replaceAll(' ', '');
        await page.getByLabel('Code from your app').fill(freshCode(secret));
        await page.getByRole('button', { name: 'Turn on' }).click();
        await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
        const recoveryCodes = await page.locator('#recovery-codes code').allTextContents();
        expect(recoveryCodes).toHaveLength(10);
        await shot('mfa-recovery-codes');
        await page.getByRole('link', { name: 'I have saved them: continue' }).click();
        await page.getByText('Your authenticator app is set up.').waitFor();

        // Sign out; the password alone now stops at the second step, whose address holds no token.
        await signOut(page);
        await signInWithPassword(page, email);
        await page.waitForURL(`${server.url}/account/mfa-confirm`);
        expect(page.url()).toBe(`${server.url}/account/mfa-confirm`);
        expect(await page.getByLabel('Code from your app').getAttribute('autocomplete')).toBe('one-time-code');
        await shot('mfa-confirm');
        await page.getByLabel('Code from your app').fill('000000');
        await page.getByRole('button', { name: 'Verify' }).click();
        expect(await page.locator('#mfa-code-error').textContent()).toBe(
          'That code is not right, or it was already used.',
        );
        expect(await page.locator('#mfa-code').getAttribute('aria-invalid')).toBe('true');
        await page.getByLabel('Code from your app').fill(freshCode(secret));
        await page.getByRole('button', { name: 'Verify' }).click();
        await page.waitForURL(`${server.url}/account/me`);
        await page.getByText('This device').waitFor();

        // A recovery code works once.
        const recoveryCode = recoveryCodes[0] ?? '';
        for (const attempt of ['first', 'second'] as const) {
          await signOut(page);
          await signInWithPassword(page, email);
          await page.getByRole('link', { name: 'Use a recovery code instead' }).click();
          await page.getByLabel('Recovery code').fill(recoveryCode);
          await page.getByRole('button', { name: 'Verify' }).click();
          if (attempt === 'first') {
            await page.waitForURL(`${server.url}/account/me`);
            expect(await page.locator('#two-factor dd').nth(1).textContent()).toBe('9');
          } else {
            await page.locator('#mfa-code-error').getByText('already used').waitFor();
            await page.getByRole('link', { name: 'Use your authenticator app instead' }).click();
            await page.getByLabel('Code from your app').fill(freshCode(secret));
            await page.getByRole('button', { name: 'Verify' }).click();
            await page.waitForURL(`${server.url}/account/me`);
          }
        }

        // A phone, proven by the code the SMS transport received.
        await page.getByLabel('Phone number').fill(phone);
        await page.locator('#sms-start-password').fill(PASSWORD);
        await page.getByRole('button', { name: 'Send a code to this phone' }).click();
        await page.waitForURL(`${server.url}/account/me/mfa/sms`);
        await shot('mfa-sms-confirm');
        await page.getByLabel('Code from the text message').fill(await lastSms(e164(phone)));
        await page.getByRole('button', { name: 'Turn on' }).click();
        await page.getByText('Your phone is set up.').waitFor();
        await shot('me-two-factor');

        // Sign in by SMS, with "Send a new code" first: the newest code is the one that works.
        await signOut(page);
        await signInWithPassword(page, email);
        await page.getByRole('link', { name: 'Use a text message instead' }).click();
        await page.getByText(new RegExp(`We sent a 6-digit code by text message to .*${phone.slice(-2)}\\.`)).waitFor();
        const before = sent.length;
        await page.getByRole('button', { name: 'Send a new code' }).click();
        await page.getByText('We sent a new code.').waitFor();
        await t.regstack.settle();
        expect(sent.length).toBe(before + 1);
        await page.getByLabel('Code from the text message').fill(await lastSms(e164(phone)));
        await page.getByRole('button', { name: 'Verify' }).click();
        await page.waitForURL(`${server.url}/account/me`);

        // Remove the authenticator app: the phone stays.
        await page.locator('#totp-disable-password').fill(PASSWORD);
        await page.locator('#totp-disable-code').fill(freshCode(secret));
        await page.getByRole('button', { name: 'Remove the authenticator app' }).click();
        await page.getByText('Your authenticator app is removed.').waitFor();
        expect(await page.locator('#two-factor dd').first().textContent()).toBe('On: Text message');
        await expect(t.regstack.createCaller().login({ email, password: PASSWORD })).resolves.toMatchObject({
          status: 'mfa_required',
          methods: ['sms', 'recovery'],
        });

        // No CSP violation anywhere; the only console errors are the two refused codes' statuses.
        expect(browser.errors.filter((e) => /Content Security Policy|Refused to/i.test(e))).toEqual([]);
        expect(
          browser.errors.filter((e) => !/status of 4\d\d/.test(e)),
          JSON.stringify(browser.errors),
        ).toEqual([]);
      } finally {
        await browser.close();
      }
    },
  );

  it.each(['light', 'dark'] as const)(
    'axe-core: no serious or critical violation on the two-factor screens (%s)',
    async (scheme) => {
      const axe = await openChromium({ javaScriptEnabled: true, colorScheme: scheme, bypassCSP: true });
      const strict = await startRegstack(`sqlite:${join(dir, `strict-${scheme}.db`)}`, {
        ...ROOMY_LIMITS,
        enableUiRouter: true,
        enableSms2fa: true,
        requireMfa: 'all',
        appName: 'Acme',
      });
      const strictServer = await strict.regstack.listen({ port: 0 });
      try {
        const { page } = axe;
        const audit = (label: string) => auditPage(page, `${label} (${scheme})`);
        const email = `mfa-axe-${scheme}@example.com`;
        await createVerifiedUser(t, email);
        await signInWithPassword(page, email);
        await page.waitForURL(`${server.url}/account/me`);
        await audit('/account/me (two-factor off)');
        await page.locator('#sms-phone').fill('020');
        await page.locator('#sms-start-password').fill(PASSWORD);
        await page.getByRole('button', { name: 'Send a code to this phone' }).click();
        await page.locator('#sms-phone-error').waitFor();
        await audit('/account/me (refused phone)');
        await page.locator('#totp-start-password').fill(PASSWORD);
        await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
        await audit('authenticator set-up');
        const secret = ((await page.locator('#totp-secret').textContent()) ?? '').replaceAll(' ', '');
        await page.getByLabel('Code from your app').fill('000000');
        await page.getByRole('button', { name: 'Turn on' }).click();
        await page.locator('#totp-code-error').waitFor();
        await audit('authenticator set-up (wrong code)');
        await page.getByLabel('Code from your app').fill(freshCode(secret));
        await page.getByRole('button', { name: 'Turn on' }).click();
        await page.locator('#recovery-codes').waitFor();
        await audit('recovery codes');
        await page.goto(`${server.url}/account/me`);
        await page.getByLabel('Phone number').fill(scheme === 'light' ? '+44 20 7946 0959' : '+44 20 7946 0960');
        await page.locator('#sms-start-password').fill(PASSWORD);
        await page.getByRole('button', { name: 'Send a code to this phone' }).click();
        await page.waitForURL(`${server.url}/account/me/mfa/sms`);
        await audit('phone confirmation');
        await page.goto(`${server.url}/account/me`);
        await audit('/account/me (two-factor on)');
        await page.screenshot({ path: artifactPath(`account-me-two-factor-${scheme}.png`), fullPage: true });
        await signOut(page);
        await signInWithPassword(page, email);
        await page.waitForURL(`${server.url}/account/mfa-confirm`);
        await audit('/account/mfa-confirm (app)');
        await page.getByLabel('Code from your app').fill('000000');
        await page.getByRole('button', { name: 'Verify' }).click();
        await page.locator('#mfa-code-error').waitFor();
        await audit('/account/mfa-confirm (wrong code)');
        await page.getByRole('link', { name: 'Use a recovery code instead' }).click();
        await audit('/account/mfa-confirm (recovery code)');

        // require_mfa: the screen a session without a factor lands on.
        const restricted = `mfa-axe-strict-${scheme}@example.com`;
        await createVerifiedUser(strict, restricted);
        await page.goto(`${strictServer.url}/account/login`);
        await page.getByLabel('Email address').fill(restricted);
        await page.getByLabel('Password').fill(PASSWORD);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('heading', { name: 'Set up two-factor authentication' }).waitFor();
        await audit('require_mfa enrolment screen');
        await page.screenshot({ path: artifactPath(`account-mfa-required-${scheme}.png`), fullPage: true });
      } finally {
        await axe.close();
        await strictServer.close();
        await strict.regstack.close();
      }
    },
  );
});
