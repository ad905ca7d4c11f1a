/**
 * Issue 22's pages in real Chromium against a real OpenID provider (`oidc-provider` on loopback): a sign-up by
 * clicking "Continue with test" on the sign-up page, through the provider's own login and consent screens, lands
 * signed in on the account page with the provider under "Connected accounts". regstack is served as
 * `http://localhost:…` and the provider as `http://127.0.0.1:…` — two sites — so the provider's redirect back is a
 * cross-site navigation: the `SameSite=Lax` binding cookie must arrive on it, or the callback would refuse the
 * sign-in. No page of ours logs a CSP violation; axe-core finds no serious or critical violation on the
 * `/oauth-complete` refusal view nor on the account page with "Connected accounts", light and dark.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactPath, chromiumMissing, chromiumSkipNote, freePort, ROOMY_LIMITS } from '../client/support.ts';
import { startRegstack, type TestRegstack } from '../harness/regstack.ts';
import { startTestProvider, type TestProvider } from '../oauth/oidc-provider.ts';
import { auditPage, openChromium } from './page-browser.ts';

describe.skipIf(chromiumMissing)(
  `sign-in with a provider on the pages in Chromium (issue 22)${chromiumSkipNote}`,
  () => {
    let dir: string;
    let op: TestProvider;
    let t: TestRegstack;
    let server: { close(): Promise<void> };
    let base: string;
    const unique = randomBytes(4).toString('hex');

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'regstack-oauth-pages-'));
      op = await startTestProvider();
      const port = await freePort();
      // Another site than the provider's 127.0.0.1: the way back from the provider is cross-site.
      base = `http://localhost:${port}`;
      const test = op.clientFor(base);
      t = await startRegstack(`sqlite:${join(dir, 'pages.db')}`, {
        ...ROOMY_LIMITS,
        baseUrl: base,
        appName: 'Acme',
        enableUiRouter: true,
        enableOauth: true,
        oauthExchangeRateLimit: '1000/minute',
        oauth: { providers: { test } },
      });
      server = await t.regstack.listen({ port });
    });
    afterAll(async () => {
      await server?.close();
      await t?.regstack.close();
      await op?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    /** The provider's own screens: its login form (any password), then its consent. */
    async function atProvider(page: Page, account: string) {
      await page.waitForURL((url) => url.origin === op.issuer);
      await page.locator('input[name="login"]').fill(account);
      await page.locator('input[name="password"]').fill('any');
      await page.getByRole('button', { name: 'Sign-in' }).click();
      await page.getByRole('button', { name: 'Continue' }).click();
    }

    it('sign-up by clicking "Continue with test", through the provider\'s screens, lands signed in', async () => {
      const account = `clicker-${unique}`;
      const email = `${account}@example.com`;
      op.accounts.set(account, { email, emailVerified: true, name: 'Click Through' });
      const browser = await openChromium({ javaScriptEnabled: true });
      try {
        const { page, context, errors } = browser;
        await page.goto(`${base}/account/register`);
        await page.getByRole('link', { name: 'Continue with test' }).click();
        await atProvider(page, account);
        await page.waitForURL(`${base}/account/me`);
        await page.getByRole('heading', { name: 'Your account' }).waitFor();
        expect(await page.locator('.rs-facts').first().textContent()).toContain(email);
        const connected = page.locator('#connected');
        expect(await connected.getByRole('heading', { name: 'Connected accounts' }).count()).toBe(1);
        expect(await connected.locator('.rs-badge').textContent()).toBe('Linked');
        expect(await connected.getByRole('button', { name: 'Unlink' }).count()).toBe(1);
        const cookies = await context.cookies(base);
        expect(cookies.map((c) => c.name)).toContain('regstack_session');
        // The binding cookie came back on the cross-site way back (the sign-in needs it) and stays to its lifetime.
        expect(cookies.map((c) => c.name)).toContain('regstack_session_oauth');
        // Only our pages are held to the CSP (the provider's development screens load a web font).
        expect(errors.filter((e) => /Content Security Policy/i.test(e))).toEqual([]);
        await page.screenshot({ path: artifactPath('page-oauth-me-light.png'), fullPage: true });
      } finally {
        await browser.close();
      }
    });

    it('with cookie_same_site = strict the sign-in still ends signed in (the session cookie is set on a page of ours)', async () => {
      // A SameSite=Strict cookie set during a redirect chain that began at the provider is not sent on the chain's
      // next hop, so /oauth-complete must not simply redirect there.
      const port = await freePort();
      const strictBase = `http://localhost:${port}`;
      const test = op.clientFor(strictBase);
      const strict = await startRegstack(`sqlite:${join(dir, 'strict.db')}`, {
        ...ROOMY_LIMITS,
        baseUrl: strictBase,
        enableUiRouter: true,
        enableOauth: true,
        cookieSameSite: 'strict',
        oauthExchangeRateLimit: '1000/minute',
        oauth: { providers: { test } },
      });
      const strictServer = await strict.regstack.listen({ port });
      const browser = await openChromium({ javaScriptEnabled: false });
      try {
        const account = `strict-${unique}`;
        op.accounts.set(account, { email: `${account}@example.com`, emailVerified: true });
        const { page } = browser;
        await page.goto(`${strictBase}/account/login`);
        await page.getByRole('link', { name: 'Continue with test' }).click();
        await atProvider(page, account);
        await page.getByRole('link', { name: 'Continue', exact: true }).click();
        await page.waitForURL(`${strictBase}/account/me`);
        await page.getByRole('heading', { name: 'Your account' }).waitFor();
        expect(await page.locator('.rs-facts').first().textContent()).toContain(`${account}@example.com`);
      } finally {
        await browser.close();
        await strictServer.close();
        await strict.regstack.close();
      }
    });

    it.each(['light', 'dark'] as const)(
      'axe-core: no serious or critical violation on /oauth-complete and on Connected accounts (%s)',
      async (scheme) => {
        const axe = await openChromium({ javaScriptEnabled: true, colorScheme: scheme, bypassCSP: true });
        try {
          const { page } = axe;
          await page.goto(`${base}/account/oauth-complete?error=OAUTH_ACCOUNT_EXISTS`);
          await page.getByRole('heading', { name: 'Sign-in not completed' }).waitFor();
          await auditPage(page, `/account/oauth-complete error (${scheme})`);
          await page.screenshot({ path: artifactPath(`page-oauth-complete-${scheme}.png`), fullPage: true });

          const account = `axe-${scheme}-${unique}`;
          op.accounts.set(account, { email: `${account}@example.com`, emailVerified: true });
          await page.goto(`${base}/account/login`);
          await auditPage(page, `/account/login with providers (${scheme})`);
          await page.getByRole('link', { name: 'Continue with test' }).click();
          await atProvider(page, account);
          await page.waitForURL(`${base}/account/me`);
          await page.locator('#connected').waitFor();
          await auditPage(page, `/account/me with Connected accounts (${scheme})`);
          // The refusal of the last way in, shown on the card.
          await page.locator('#connected').getByRole('button', { name: 'Unlink' }).click();
          await page.locator('#connected [role="alert"]').waitFor();
          await auditPage(page, `/account/me, unlink refused (${scheme})`);
          await page.screenshot({ path: artifactPath(`page-oauth-me-${scheme}.png`), fullPage: true });
        } finally {
          await axe.close();
        }
      },
    );
  },
);
