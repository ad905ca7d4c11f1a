/**
 * Issue 19 in real Chromium (playwright-core over Debian's Chromium): the whole life of an account through the
 * pages, walked with JavaScript DISABLED and again with it enabled — register, open the mailed link, verify, sign
 * in, change the name, change the password, sign out another session, change the email (confirmed from the mailed
 * link), forgot/reset, delete — by plain form posts. Every page runs under its CSP with no console error (so no CSP violation), and axe-core
 * finds no serious or critical violation on any page, in light and dark colour schemes. A second run over an
 * https `base_url` shows Chromium keeps the `__Host-`, Secure session cookie on loopback.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { artifactPath, chromiumMissing, chromiumSkipNote, freePort, ROOMY_LIMITS } from '../client/support.ts';
import { startRegstack, type TestRegstack } from '../harness/regstack.ts';
import { auditPage, openChromium } from './page-browser.ts';

const PASSWORD = 'correct horse battery staple';

describe.skipIf(chromiumMissing)(`account pages in Chromium (issue 19)${chromiumSkipNote}`, () => {
  let dir: string;
  let t: TestRegstack;
  let server: { url: string; close(): Promise<void> };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'regstack-pages-'));
    const port = await freePort();
    // base_url is where the server really is, so the mailed links are opened as they are.
    t = await startRegstack(`sqlite:${join(dir, 'pages.db')}`, {
      ...ROOMY_LIMITS,
      enableUiRouter: true,
      baseUrl: `http://127.0.0.1:${port}`,
      appName: 'Acme',
    });
    server = await t.regstack.listen({ port });
  });
  afterAll(async () => {
    await server?.close();
    await t?.regstack.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function mailedLink(to: string, page: string): Promise<string> {
    await t.regstack.settle();
    await t.regstack.drainOutbox();
    const token = t.mailbox.tokenFor(to, page);
    if (!token) throw new Error(`no ${page} link mailed to ${to}`);
    return `${server.url}/account/${page}?token=${token}`;
  }

  // The "Done when": the same walk with JavaScript disabled, and again enabled (nothing may depend on it,
  // nothing may break with it).
  it.each([
    { javaScript: false, label: 'disabled' },
    { javaScript: true, label: 'enabled' },
  ])(
    'register → mailed link → verify → login → name → password → revoke a session → email → forgot/reset → delete (JavaScript $label)',
    ({ javaScript }) => walk(javaScript),
  );

  async function walk(javaScript: boolean) {
    const browser = await openChromium({ javaScriptEnabled: javaScript });
    onTestFinished(() => browser.close());
    const visited = new Set<string>();
    browser.page.on('load', () => visited.add(new URL(browser.page.url()).pathname));
    // Screenshots for the docs come from the run without JavaScript.
    const shot = async (name: string) => {
      if (!javaScript) await browser.page.screenshot({ path: artifactPath(`account-${name}.png`), fullPage: true });
    };
    const { page } = browser;
    const suffix = javaScript ? '-js' : '';
    const email = `walk${suffix}@example.com`;
    const newEmail = `walk${suffix}-new@example.com`;
    expect(await page.evaluate(() => 1).catch(() => 'no script')).toBeDefined(); // the context is real

    await page.goto(`${server.url}/account/register`);
    await shot('register');
    await page.getByLabel('Full name (optional)').fill('Ada Walker');
    await page.getByLabel('Email address').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByText('Check your inbox').waitFor();

    // The mailed link: the token leaves the address bar before the page shows (R29), without any script.
    const verifyLink = await mailedLink(email, 'verify');
    await page.goto(verifyLink);
    expect(page.url()).toBe(`${server.url}/account/verify`);
    await shot('verify');
    await page.getByRole('button', { name: 'Confirm my email' }).click();
    await page.getByText('Your email is confirmed').waitFor();

    await page.getByLabel('Email address').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await shot('login');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.url}/account/me`);
    await page.getByRole('heading', { name: 'Your account' }).waitFor();
    expect(await page.getByText('This device').count()).toBe(1);

    await page.getByLabel('Full name').fill('Ada Lovelace');
    await page.getByRole('button', { name: 'Save profile' }).click();
    await page.getByText('Your profile is saved.').waitFor();
    expect(await page.getByLabel('Full name').inputValue()).toBe('Ada Lovelace');

    // A wrong current password: the message sits next to its field, announced with it.
    await page.getByLabel('Current password').first().fill('not my password at all');
    await page.getByLabel('New password').fill('a brand new passphrase 7');
    await page.getByRole('button', { name: 'Change password' }).click();
    const current = page.locator('#password-current');
    expect(await current.getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#password-current-error').textContent()).toBe('That is not your current password.');
    await page.locator('#password-current').fill(PASSWORD);
    await page.locator('#password-new').fill('a brand new passphrase 7');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('Your password is changed.').waitFor();

    // Another device signs in; this page lists it and signs it out.
    const other = await t.regstack
      .createCaller({ headers: { 'user-agent': 'Other Device/1.0' } })
      .login({ email, password: 'a brand new passphrase 7' });
    if (other.status !== 'authenticated') throw new Error('expected a session');
    await page.reload();
    await page.getByText('Other Device/1.0').waitFor();
    await shot('me');
    await page.getByRole('button', { name: 'Sign out', exact: true }).last().click();
    await page.getByText('That session is signed out.').waitFor();
    expect(await page.getByText('Other Device/1.0').count()).toBe(0);
    await expect(t.regstack.createCaller({ accessToken: other.accessToken }).account.me()).rejects.toThrow();

    await page.locator('#email-new').fill(newEmail);
    await page.locator('#email-password').fill('a brand new passphrase 7');
    await page.getByRole('button', { name: 'Change email' }).click();
    await page.getByText('We sent a confirmation link').waitFor();
    await page.goto(await mailedLink(newEmail, 'confirm-email-change'));
    expect(page.url()).toBe(`${server.url}/account/confirm-email-change`);
    await shot('confirm-email-change');
    await page.getByRole('button', { name: 'Confirm new email' }).click();
    await page.getByText('Your email address has been changed').waitFor();

    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.getByLabel('Email address').fill(newEmail);
    await shot('forgot');
    await page.getByRole('button', { name: 'Send the link' }).click();
    await page.getByText('we sent it a link').waitFor();
    await page.goto(await mailedLink(newEmail, 'reset'));
    expect(page.url()).toBe(`${server.url}/account/reset`);
    // Long enough for the field's minlength, refused by the server's policy: its reason shows next to the field.
    await page.getByLabel('New password').fill('password1234');
    await page.getByRole('button', { name: 'Set new password' }).click();
    await page
      .locator('#reset-password-error')
      .getByText(/common/i)
      .waitFor();
    await shot('reset');
    await page.getByLabel('New password').fill('the third passphrase 9');
    await page.getByRole('button', { name: 'Set new password' }).click();
    await page.getByText('Your password has been changed and every session signed out.').waitFor();

    await page.getByLabel('Email address').fill(newEmail);
    await page.getByLabel('Password').fill('the third passphrase 9');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.url}/account/me`);
    await page.locator('#delete-password').fill('the third passphrase 9');
    await page.getByRole('button', { name: 'Delete my account' }).click();
    await page.getByText('Your account has been deleted.').waitFor();
    await expect(
      t.regstack.createCaller().login({ email: newEmail, password: 'the third passphrase 9' }),
    ).rejects.toThrow();

    // Under the CSP nothing was refused (a violation is a console error). The two refused forms above (wrong current
    // password, 401; a common new password, 400) log their status, and nothing else may appear.
    expect(browser.errors.filter((e) => /Content Security Policy|Refused to/i.test(e))).toEqual([]);
    expect(
      browser.errors.filter((e) => !/status of 40[01]/.test(e)),
      JSON.stringify(browser.errors),
    ).toEqual([]);
    expect(browser.errors).toHaveLength(2);
    for (const path of ['/account/register', '/account/verify', '/account/login', '/account/me', '/account/forgot']) {
      expect(visited.has(path), path).toBe(true);
    }
  }

  it('R60: a <script> in the name is shown as text and never runs (JavaScript on, CSP on)', async () => {
    const js = await openChromium({ javaScriptEnabled: true });
    try {
      const email = 'xss-browser@example.com';
      const caller = t.regstack.createCaller();
      await caller.register({ email, password: PASSWORD, fullName: '<script>document.title="pwned"</script>' });
      await t.regstack.drainOutbox();
      await caller.verifyEmail({ token: t.mailbox.tokenFor(email, 'verify')! });
      await js.page.goto(`${server.url}/account/login`);
      await js.page.getByLabel('Email address').fill(email);
      await js.page.getByLabel('Password').fill(PASSWORD);
      await js.page.getByRole('button', { name: 'Sign in' }).click();
      await js.page.waitForURL(`${server.url}/account/me`);
      expect(await js.page.title()).toBe('Your account · Acme');
      expect(await js.page.getByText('<script>document.title="pwned"</script>').count()).toBeGreaterThan(0);
      expect(js.errors, JSON.stringify(js.errors)).toEqual([]);
    } finally {
      await js.close();
    }
  });

  it.each(['light', 'dark'] as const)('axe-core: no serious or critical violation on any page (%s)', async (scheme) => {
    // axe is injected, so this context lets the test's own script past the CSP; the pages are the same markup.
    const axe = await openChromium({ javaScriptEnabled: true, colorScheme: scheme, bypassCSP: true });
    try {
      const email = `axe-${scheme}@example.com`;
      const caller = t.regstack.createCaller();
      await caller.register({ email, password: PASSWORD, fullName: 'Axe Tester' });
      await t.regstack.drainOutbox();
      const verifyToken = t.mailbox.tokenFor(email, 'verify')!;
      const pages: string[] = ['/account/login', '/account/register', '/account/forgot'];
      const audit = (label: string) => auditPage(axe.page, `${label} (${scheme})`);
      for (const path of pages) {
        await axe.page.goto(`${server.url}${path}`);
        await audit(path);
      }
      await axe.page.goto(`${server.url}/account/verify?token=${verifyToken}`);
      await audit('/account/verify');
      await axe.page.getByRole('button', { name: 'Confirm my email' }).click();
      await axe.page.getByLabel('Email address').fill(email);
      await axe.page.getByLabel('Password').fill(PASSWORD);
      await axe.page.getByRole('button', { name: 'Sign in' }).click();
      await axe.page.waitForURL(`${server.url}/account/me`);
      await audit('/account/me');
      await axe.page.screenshot({ path: artifactPath(`account-me-${scheme}.png`), fullPage: true });
      // A refused form: errors shown next to fields must pass too.
      await axe.page.locator('#delete-password').fill('wrong wrong wrong');
      await axe.page.getByRole('button', { name: 'Delete my account' }).click();
      await axe.page.locator('#delete-password-error').waitFor();
      await audit('/account/me (refused form)');
      await axe.page.goto(`${server.url}/account/reset`);
      await audit('/account/reset');
      await axe.page.goto(`${server.url}/account/confirm-email-change`);
      await audit('/account/confirm-email-change');
    } finally {
      await axe.close();
    }
  });

  it('at 360 px nothing overflows sideways', async () => {
    const narrow = await openChromium({ javaScriptEnabled: true });
    try {
      await narrow.page.setViewportSize({ width: 360, height: 740 });
      for (const path of ['/account/login', '/account/register']) {
        await narrow.page.goto(`${server.url}${path}`);
        const overflow = await narrow.page.evaluate(
          () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
        );
        expect(overflow, path).toBeLessThanOrEqual(0);
      }
      await narrow.page.screenshot({ path: artifactPath('account-register-360.png'), fullPage: true });
    } finally {
      await narrow.close();
    }
  });
});

describe.skipIf(chromiumMissing)(
  `account pages in Chromium over an https base_url (issue 19)${chromiumSkipNote}`,
  () => {
    it('R58: Chromium keeps the __Host-, Secure session cookie on loopback and signs in', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'regstack-pages-host-'));
      const t = await startRegstack(`sqlite:${join(dir, 'pages.db')}`, { ...ROOMY_LIMITS, enableUiRouter: true });
      const server = await t.regstack.listen({ port: 0 });
      const browser = await openChromium({ javaScriptEnabled: false });
      try {
        const caller = t.regstack.createCaller();
        await caller.register({ email: 'host@example.com', password: PASSWORD });
        await t.regstack.drainOutbox();
        await caller.verifyEmail({ token: t.mailbox.tokenFor('host@example.com', 'verify')! });
        await browser.page.goto(`${server.url}/account/login`);
        await browser.page.getByLabel('Email address').fill('host@example.com');
        await browser.page.getByLabel('Password').fill(PASSWORD);
        await browser.page.getByRole('button', { name: 'Sign in' }).click();
        await browser.page.getByRole('heading', { name: 'Your account' }).waitFor();
        const cookie = (await browser.context.cookies()).find((c) => c.name === '__Host-regstack_session');
        expect(cookie).toMatchObject({ httpOnly: true, secure: true, path: '/', sameSite: 'Lax' });
        expect(browser.errors).toEqual([]);
      } finally {
        await browser.close();
        await server.close();
        await t.regstack.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);
