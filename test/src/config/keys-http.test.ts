/**
 * Issue 20, "every config key honest": proofs for the keys that shape the HTTP surface, on every backend, over real
 * HTTP on loopback (`regstack.listen`): where the API and the pages' assets are mounted, the body size limit (R55)
 * and the pages' cookie name and SameSite. Each sets a non-default value and observes what the default would not do.
 */
import { afterEach, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { startRegstack, type TestRegstack } from '../harness/regstack.ts';

type Server = Awaited<ReturnType<TestRegstack['regstack']['listen']>>;

const login = (base: string, path: string, body: string) =>
  fetch(new URL(path, base), { method: 'POST', headers: { 'content-type': 'application/json' }, body });

const loginBody = (password: string) => JSON.stringify({ json: { email: 'nobody@example.com', password } });

describeEachBackend('config keys of the HTTP surface (issue 20)', (ctx) => {
  let t: TestRegstack | undefined;
  let server: Server | undefined;
  afterEach(async () => {
    await server?.close();
    await t?.regstack.close();
    server = undefined;
    t = undefined;
  });

  const start = async (overrides: Parameters<typeof startRegstack>[1]) => {
    t = await startRegstack(ctx.url, overrides);
    server = await t.regstack.listen({ port: 0 });
    return server.url;
  };

  it('api_prefix mounts the API where it says, and nowhere else', async () => {
    const base = await start({ apiPrefix: '/auth-api' });
    const moved = await login(base, '/auth-api/auth.login', loginBody('not the password at all'));
    expect(moved.status).toBe(401);
    expect((await moved.json()).error.json.data.regstackCode).toBe('INVALID_CREDENTIALS');
    // The default mount is gone.
    expect((await login(base, '/trpc/auth.login', loginBody('not the password at all'))).status).toBe(404);
  });

  it('max_request_body_bytes refuses a body over it with 413 PAYLOAD_TOO_LARGE', async () => {
    const base = await start({ maxRequestBodyBytes: 2048 });
    // About 4 KB: far under the default 16 KiB, where it would be an ordinary validation answer.
    const big = await login(base, '/trpc/auth.login', loginBody('x'.repeat(4000)));
    expect(big.status).toBe(413);
    expect(JSON.stringify(await big.json())).toContain('PAYLOAD_TOO_LARGE');
    expect((await login(base, '/trpc/auth.login', loginBody('not the password at all'))).status).toBe(401);
  });

  it('static_prefix serves the pages’ assets under it and the pages link them there', async () => {
    const base = await start({ enableUiRouter: true, staticPrefix: '/quill-assets' });
    const page = await (await fetch(new URL('/account/login', base))).text();
    const asset = /(?:href|src)="(\/quill-assets\/[^"]+)"/.exec(page)?.[1];
    expect(asset, 'the login page links an asset under static_prefix').toBeDefined();
    expect((await fetch(new URL(asset!, base))).status).toBe(200);
    expect(page).not.toContain('/regstack-static/');
  });

  it('cookie_name names the pages’ cookies', async () => {
    const base = await start({ enableUiRouter: true, cookieName: '__Host-quill' });
    const res = await fetch(new URL('/account/login', base));
    const cookies = res.headers.getSetCookie();
    expect(cookies.length).toBeGreaterThan(0);
    for (const cookie of cookies) expect(cookie).toMatch(/^__Host-quill_/);
    expect(cookies.join('\n')).not.toContain('regstack_session');
  });
  it('cookie_same_site sets the SameSite attribute of the pages’ cookies', async () => {
    const base = await start({ enableUiRouter: true, cookieSameSite: 'strict' });
    const cookies = (await fetch(new URL('/account/login', base))).headers.getSetCookie();
    expect(cookies.length).toBeGreaterThan(0);
    // The default is Lax.
    for (const cookie of cookies) expect(cookie).toMatch(/;\s*SameSite=Strict/i);
  });
});
