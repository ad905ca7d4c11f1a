/**
 * The pages behind mailed links, over HTTP: served only with `enable_ui_router`, with a strict CSP, no
 * referrer and no caching (R29, R59), no inline code, GET only, and password-manager-friendly fields (R61),
 * including the verify page's sign-up password step (R67). Issue 16 item 6: each page links onward to
 * `base_url` after a success, and the reset page states the configured password rules.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { startRegstack, type TestRegstack } from '../harness/regstack.ts';

describeEachBackend('link pages', (ctx) => {
  let t: TestRegstack;
  let server: { url: string; close(): Promise<void> };
  beforeAll(async () => {
    t = await startRegstack(ctx.url, { enableUiRouter: true, appName: 'Acme <Accounts>' });
    server = await t.regstack.listen({ port: 0 });
  });
  afterAll(async () => {
    await server?.close();
    await t?.regstack.close();
  });

  it.each(['verify', 'reset', 'confirm-email-change'])('/account/%s is a strict, uncacheable page', async (page) => {
    const res = await fetch(`${server.url}/account/${page}?token=${'A'.repeat(43)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    expect(html).not.toMatch(/<script>|<style>|\son[a-z]+=/i); // no inline code at all
    expect(html).not.toContain('A'.repeat(43)); // the token is never echoed into the page
    expect(html).toContain('Acme &#60;Accounts&#62;'); // reflected config is escaped (R60)
    if (page === 'reset') expect(html).toContain('autocomplete="new-password"');
    if (page === 'verify') {
      // R67, R61: the step the page reveals on PASSWORD_REQUIRED, hidden until then, for the sign-up's password.
      expect(html).toMatch(/<div id="rs-password-step" hidden>/);
      expect(html).toMatch(/<input id="rs-password"[^>]*type="password"[^>]*autocomplete="current-password"/);
    }
  });

  it('serves its assets and refuses anything but GET', async () => {
    const js = await fetch(`${server.url}/regstack-static/link-pages.js`);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect(await js.text()).toContain('history.replaceState');
    const css = await fetch(`${server.url}/regstack-static/regstack.css`);
    expect(await css.text()).toContain('--rs-primary');
    expect((await fetch(`${server.url}/account/verify`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${server.url}/account/nope`)).status).toBe(404);
    expect((await fetch(`${server.url}/regstack-static/../package.json`)).status).toBe(404);
  });
});

describeEachBackend('link pages follow the configuration (issue 16 item 6)', (ctx) => {
  async function page(overrides: Parameters<typeof startRegstack>[1], name: string): Promise<string> {
    const t = await startRegstack(ctx.url, { enableUiRouter: true, ...overrides });
    const server = await t.regstack.listen({ port: 0 });
    try {
      const res = await fetch(`${server.url}/account/${name}`);
      expect(res.status).toBe(200);
      return await res.text();
    } finally {
      await server.close();
      await t.regstack.close();
    }
  }

  it('the reset page states the configured password rules, and its field follows password_min_length', async () => {
    const html = await page({ passwordMinLength: 16, passwordMaxLength: 100, appName: 'Acme' }, 'reset');
    expect(html).toContain('From 16 to 100 characters.');
    expect(html).toContain('the name of this service (Acme)');
    expect(html).toMatch(/common or breached password/);
    expect(html).not.toMatch(/\b12 characters/);
    expect(html).toMatch(/<input id="rs-new-password"[^>]* minlength="16"/);
    expect(html).toMatch(/passwordrules="minlength: 16; maxlength: 100;"/);
    expect(html).toMatch(/aria-describedby="rs-password-rules"/);
    const defaults = await page({}, 'reset');
    expect(defaults).toContain('From 12 to 128 characters.');
    expect(defaults).toMatch(/<input id="rs-new-password"[^>]* minlength="12"/);
  });

  it.each(['verify', 'reset', 'confirm-email-change'])(
    '/account/%s holds a "Sign in" link to base_url, shown after a success',
    async (name) => {
      const html = await page({ baseUrl: 'https://app.example.test/portal' }, name);
      expect(html).toMatch(
        /<p id="rs-next" class="rs-next" hidden><a href="https:\/\/app\.example\.test\/portal\/">Sign in<\/a><\/p>/,
      );
    },
  );
});

describeEachBackend('link pages switched off', (ctx) => {
  it('without enable_ui_router the pages are not served (the host serves its own)', async () => {
    const t = await startRegstack(ctx.url);
    const server = await t.regstack.listen({ port: 0 });
    try {
      expect((await fetch(`${server.url}/account/verify`)).status).toBe(404);
    } finally {
      await server.close();
      await t.regstack.close();
    }
  });
});
