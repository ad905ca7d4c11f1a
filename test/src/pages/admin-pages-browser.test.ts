/**
 * Issue 19 items 1, 2, 6 and 8 in real Chromium on SQLite: an administrator walks the admin page with JavaScript
 * DISABLED — from the account page's link, search, filters, the next and previous pages, disable and enable a user,
 * impersonate one with a reason (the banner names the admin on the account page), stop, and land back on the admin
 * page in their own session — with no console error (so no CSP violation). axe-core finds no serious or critical
 * violation on the admin page and the impersonation banner, light and dark. Every page is saved as a screenshot in
 * both colour schemes (test/.artifacts/page-<name>-<scheme>.png; docs/images holds copies of login, me and admin).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactPath, chromiumMissing, chromiumSkipNote, freePort, ROOMY_LIMITS } from '../client/support.ts';
import { createVerifiedUser, startRegstack, type TestRegstack } from '../harness/regstack.ts';
import { auditPage, openChromium } from './page-browser.ts';

const PASSWORD = 'correct horse battery staple';
const ADMIN = 'ops@acme.example';
/** Wide enough for the admin table in the screenshots. */
const ADMIN_VIEWPORT = { width: 1100, height: 800 };
async function signIn(page: Page, url: string, email: string) {
  await page.goto(`${url}/account/login`);
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${url}/account/me`);
}

describe.skipIf(chromiumMissing)(`the admin page in Chromium (issue 19)${chromiumSkipNote}`, () => {
  let dir: string;
  let t: TestRegstack;
  let server: { url: string; close(): Promise<void> };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'regstack-admin-pages-'));
    const port = await freePort();
    t = await startRegstack(`sqlite:${join(dir, 'admin.db')}`, {
      ...ROOMY_LIMITS,
      enableUiRouter: true,
      enableAdminRouter: true,
      baseUrl: `http://127.0.0.1:${port}`,
      appName: 'Acme',
    });
    await t.regstack.bootstrapAdmin({ email: ADMIN, password: PASSWORD, fullName: 'Olive Ops' });
    const names = ['Ada Lovelace', 'Grace Hopper', 'Katherine Johnson', 'Alan Turing', 'Edsger Dijkstra'];
    for (const [i, name] of names.entries()) {
      const email = `${name.split(' ')[0]?.toLowerCase()}@acme.example`;
      await createVerifiedUser(t, email);
      const login = await t.regstack.createCaller().login({ email, password: PASSWORD });
      if (login.status !== 'authenticated') throw new Error('expected a session');
      await t.regstack.createCaller({ accessToken: login.accessToken }).account.update({ fullName: name });
      if (i === 4) {
        const admin = await t.regstack.createCaller().login({ email: ADMIN, password: PASSWORD });
        if (admin.status !== 'authenticated') throw new Error('expected a session');
        await t.regstack
          .createCaller({ accessToken: admin.accessToken })
          .admin.users.update({ id: login.user.id, isVerified: false });
      }
    }
    server = await t.regstack.listen({ port });
  });
  afterAll(async () => {
    await server?.close();
    await t?.regstack.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('JavaScript off: search, filter, page, disable/enable, impersonate and stop — no CSP violation', async () => {
    const browser = await openChromium({
      javaScriptEnabled: false,
      colorScheme: 'light',
      bypassCSP: false,
      viewport: ADMIN_VIEWPORT,
    });
    const { page } = browser;
    try {
      await signIn(page, server.url, ADMIN);
      await page.getByRole('link', { name: 'Administration' }).click();
      await page.waitForURL(`${server.url}/account/admin`);
      await page.getByRole('heading', { name: 'Users' }).waitFor();

      await page.getByLabel('Search').fill('lovelace');
      await page.getByLabel('Sort by').selectOption('email');
      await page.getByLabel('Order').selectOption('asc');
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.waitForURL(/q=lovelace&/);
      const rows = page.locator('td.rs-user strong');
      expect(await rows.allTextContents()).toEqual(['ada@acme.example']);
      // Page size from the address: two a page, next and previous by the cursor.
      await page.goto(`${server.url}/account/admin?sort=email&dir=asc&limit=2`);
      expect(await rows.allTextContents()).toEqual(['ada@acme.example', 'alan@acme.example']);
      await page.getByRole('link', { name: 'Next page' }).click();
      expect(await rows.allTextContents()).toEqual(['edsger@acme.example', 'grace@acme.example']);
      await page.getByRole('link', { name: 'Previous page' }).click();
      expect(await rows.allTextContents()).toEqual(['ada@acme.example', 'alan@acme.example']);

      await page.goto(`${server.url}/account/admin`);
      await page.getByLabel('Verified').selectOption('no');
      await page.getByRole('button', { name: 'Apply' }).click();
      expect(await rows.allTextContents()).toEqual(['edsger@acme.example']);
      await page.getByRole('button', { name: 'Resend verification' }).click();
      await page.getByText('A new verification mail is on its way.').waitFor();

      await page.goto(`${server.url}/account/admin?q=grace`);
      await page.getByRole('button', { name: 'Disable' }).click();
      await page.getByText('The user is disabled').waitFor();
      expect(page.url()).toBe(`${server.url}/account/admin?q=grace&status=disabled`);
      await page.getByRole('button', { name: 'Enable' }).click();
      await page.getByText('The user is enabled.').waitFor();

      await page.getByText('Impersonate', { exact: true }).click(); // <details>, no script
      await page.getByLabel('Reason (kept in the audit log)').fill('ticket 4711: invoices missing');
      await page.getByRole('button', { name: 'Impersonate grace@acme.example' }).click();
      await page.waitForURL(`${server.url}/account/me`);
      const banner = page.getByRole('complementary', { name: 'Impersonation' });
      await banner.getByText('grace@acme.example').waitFor();
      expect(await banner.textContent()).toContain(`by the administrator ${ADMIN}`);
      await page.screenshot({ path: artifactPath('page-impersonation-light.png') });
      await page.getByRole('button', { name: 'Stop impersonating' }).click();
      await page.waitForURL(`${server.url}/account/admin?status=impersonation_ended`);
      await page.getByText('You stopped impersonating.').waitFor();
      expect(await page.getByRole('complementary', { name: 'Impersonation' }).count()).toBe(0);

      expect(browser.errors.filter((e) => /Content Security Policy|Refused to/i.test(e))).toEqual([]);
      expect(browser.errors, JSON.stringify(browser.errors)).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it.each(['light', 'dark'] as const)(
    'axe-core: the admin page and the banner (%s); a screenshot of every page',
    async (scheme) => {
      const browser = await openChromium({
        javaScriptEnabled: true,
        colorScheme: scheme,
        bypassCSP: true,
        viewport: ADMIN_VIEWPORT,
      });
      const { page } = browser;
      const shot = (name: string) => page.screenshot({ path: artifactPath(`page-${name}-${scheme}.png`) });
      const audit = (label: string) => auditPage(page, `${label} (${scheme})`);
      try {
        for (const name of ['login', 'register', 'forgot', 'verify', 'reset', 'confirm-email-change']) {
          await page.goto(`${server.url}/account/${name}`);
          await shot(name);
        }
        await signIn(page, server.url, ADMIN);
        await shot('me');
        await page.goto(`${server.url}/account/admin?sort=email&dir=asc`);
        await audit('/account/admin');
        await shot('admin');
        // An open impersonation form must pass too.
        await page.locator('details').first().locator('summary').click();
        await audit('/account/admin (impersonation form open)');
        await page.getByLabel('Reason (kept in the audit log)').first().fill(`axe ${scheme}`);
        await page
          .getByRole('button', { name: /^Impersonate / })
          .first()
          .click();
        await page.waitForURL(`${server.url}/account/me`);
        await audit('/account/me (impersonation banner)');
        await shot('impersonation');
        await page.getByRole('button', { name: 'Stop impersonating' }).click();
        await page.waitForURL(/status=impersonation_ended/);
      } finally {
        await browser.close();
      }
    },
  );
});
