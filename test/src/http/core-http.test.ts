/**
 * The core flows over real HTTP on a loopback port, on every backend: register → verify → login → me →
 * logout with raw fetch; HTTP-level protections (content type R56, body size R55, methods, Retry-After
 * R14/R16, no-store and nosniff R59, per-client limits with trusted proxies R20); errors carry stable codes
 * and no internals (R64).
 */
import { createRegstackClient, getRegstackErrorData } from '@regstack/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { caught } from '../harness/outcomes.ts';
import { startRegstack, type TestRegstack } from '../harness/regstack.ts';
import { data, error, rawClient } from './http-client.ts';

const PASSWORD = 'correct horse battery staple';

describeEachBackend('core flows over HTTP', (ctx) => {
  let t: TestRegstack;
  let server: { url: string; close(): Promise<void> };
  let api: ReturnType<typeof rawClient>;
  beforeAll(async () => {
    t = await startRegstack(ctx.url, { loginRateLimit: '30/minute' });
    server = await t.regstack.listen({ port: 0 });
    api = rawClient(server.url);
  });
  afterAll(async () => {
    await server?.close();
    await t?.regstack.close();
  });

  it('register → follow the mailed link → login → me → logout', async () => {
    const reg = await api.mutation('auth.register', { email: 'http-user@example.com', password: PASSWORD });
    expect(reg.status).toBe(200);
    expect(data(reg)).toMatchObject({ status: 'pending_verification', email: 'http-user@example.com' });
    await t.regstack.drainOutbox();
    const token = t.mailbox.tokenFor('http-user@example.com', 'verify')!;
    const verified = await api.mutation('auth.verifyEmail', { token });
    expect(data(verified).user.isVerified).toBe(true);

    const login = await api.mutation('auth.login', { email: 'http-user@example.com', password: PASSWORD });
    expect(login.status).toBe(200);
    const { accessToken } = data(login);
    expect(typeof accessToken).toBe('string');
    const auth = { authorization: `Bearer ${accessToken}` };
    const me = await api.query('auth.account.me', undefined, auth);
    expect(me.status).toBe(200);
    expect(data(me).email).toBe('http-user@example.com');
    expect(me.headers.get('cache-control')).toBe('no-store');
    expect(me.headers.get('x-content-type-options')).toBe('nosniff');

    const out = await api.mutation('auth.logout', undefined, auth);
    expect(data(out)).toEqual({ status: 'logged_out', revoked: 1 });
    const after = await api.query('auth.account.me', undefined, auth);
    expect(after.status).toBe(401);
    expect(error(after).data.regstackCode).toBe('UNAUTHENTICATED');
  });

  it('lockout answers 429 with a truthful Retry-After header and data.retryAfterSeconds (R14, R16)', async () => {
    await api.mutation('auth.register', { email: 'http-lock@example.com', password: PASSWORD });
    await t.regstack.drainOutbox();
    await api.mutation('auth.verifyEmail', { token: t.mailbox.tokenFor('http-lock@example.com', 'verify')! });
    const bodies = [];
    for (let i = 0; i < 5; i++) {
      const r = await api.mutation('auth.login', { email: 'http-lock@example.com', password: 'wrong wrong wrong' });
      expect(r.status).toBe(401);
      bodies.push(error(r));
    }
    const unknown = await api.mutation('auth.login', {
      email: 'http-nobody@example.com',
      password: 'wrong wrong wrong',
    });
    expect(error(unknown)).toEqual(bodies[0]); // byte-identical body for unknown email (R9)
    const locked = await api.mutation('auth.login', { email: 'http-lock@example.com', password: PASSWORD });
    expect(locked.status).toBe(429);
    const retry = Number(locked.headers.get('retry-after'));
    expect(retry).toBeGreaterThan(890);
    expect(retry).toBeLessThanOrEqual(900);
    expect(error(locked).data).toMatchObject({ regstackCode: 'TOO_MANY_ATTEMPTS', retryAfterSeconds: retry });
  });

  it('refuses non-JSON posts (415), oversized bodies (413), other methods (405) and mutations over GET', async () => {
    const form = await fetch(`${server.url}/trpc/auth.login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'email=a@b.c&password=x',
    });
    expect(form.status).toBe(415);
    const text = await fetch(`${server.url}/trpc/auth.login`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{"json":{}}',
    });
    expect(text.status).toBe(415);
    expect(
      ((await text.json()) as { error: { json: { data: { regstackCode: string } } } }).error.json.data.regstackCode,
    ).toBe('UNSUPPORTED_MEDIA_TYPE');
    const big = await api.mutation('auth.login', { email: 'a@example.com', password: 'x'.repeat(40_000) });
    expect(big.status).toBe(413);
    expect(error(big).data.regstackCode).toBe('PAYLOAD_TOO_LARGE');
    const put = await fetch(`${server.url}/trpc/auth.login`, { method: 'PUT' });
    expect(put.status).toBe(405);
    const viaGet = await api.query('auth.login', { email: 'a@example.com', password: PASSWORD });
    expect(viaGet.status).toBe(405);
  });

  it('a sign-up with a bad email and a weak password gets both field errors in one 400 (issue 16 item 6)', async () => {
    const both = await api.mutation('auth.register', { email: 'no-at-sign', password: 'password1234' });
    expect(both.status).toBe(400);
    expect(error(both).data.regstackCode).toBe('VALIDATION_FAILED');
    expect(Object.keys(error(both).data.fieldErrors).sort()).toEqual(['email', 'password']);
    expect(error(both).data.fieldErrors.password[0]).toMatch(/common/);
    // The typed client reads the same per-field messages.
    const client = createRegstackClient({ url: `${server.url}/trpc` });
    const err = await caught(client.register({ email: 'no-at-sign', password: 'short' }));
    expect(getRegstackErrorData(err)).toMatchObject({
      regstackCode: 'VALIDATION_FAILED',
      fieldErrors: { email: [expect.any(String)], password: ['Password must be at least 12 characters long'] },
    });
  });

  it('bad input is a 400 with field errors; errors carry no stack or internals (R56, R64)', async () => {
    const bad = await api.mutation('auth.register', { email: { $ne: null }, password: PASSWORD, isSuperuser: true });
    expect(bad.status).toBe(400);
    expect(error(bad).data.regstackCode).toBe('VALIDATION_FAILED');
    expect(Object.keys(error(bad).data.fieldErrors)).toEqual(expect.arrayContaining(['email']));
    const raw = JSON.stringify(bad.body);
    expect(raw).not.toMatch(/"stack"|node_modules|mikro|zod|\bat \w+ \(/i);
    const malformed = await fetch(`${server.url}/trpc/auth.login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(malformed.status).toBe(400);
    const missing = await api.query('auth.nope');
    expect(missing.status).toBe(404);
  });

  it('health check pings the database', async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok' });
  });
});

describeEachBackend('per-client limits over HTTP (R20)', (ctx) => {
  it('limits logins per client; X-Forwarded-For from an untrusted peer cannot dodge it', async () => {
    const t = await startRegstack(ctx.url, { loginRateLimit: '3/minute' });
    const server = await t.regstack.listen({ port: 0 });
    try {
      const api = rawClient(server.url);
      const statuses = [];
      for (let i = 0; i < 4; i++) {
        const r = await api.mutation(
          'auth.login',
          { email: `ip-${i}@example.com`, password: PASSWORD },
          { 'x-forwarded-for': `203.0.113.${i}` },
        );
        statuses.push(r.status);
        if (r.status === 429) {
          expect(error(r).data.regstackCode).toBe('RATE_LIMITED');
          expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
        }
      }
      expect(statuses).toEqual([401, 401, 401, 429]);
    } finally {
      await server.close();
      await t.regstack.close();
    }
  });

  it('behind a trusted proxy, each forwarded client has its own budget', async () => {
    const t = await startRegstack(ctx.url, { loginRateLimit: '2/minute', trustedProxies: ['127.0.0.1', '::1'] });
    const server = await t.regstack.listen({ port: 0 });
    try {
      const api = rawClient(server.url);
      const from = (ip: string) =>
        api.mutation(
          'auth.login',
          { email: 'proxied@example.com', password: 'wrong but long' },
          { 'x-forwarded-for': ip },
        );
      expect((await from('198.51.100.7')).status).toBe(401);
      expect((await from('198.51.100.7')).status).toBe(401);
      expect((await from('198.51.100.7')).status).toBe(429);
      // a spoofed left-most entry is ignored: the proxy appended the real client last
      expect((await from('198.51.100.8, 198.51.100.7')).status).toBe(429);
      expect((await from('198.51.100.9')).status).toBe(401);
      // IPv6 clients share a budget per /64
      expect((await from('2001:db8:1:2::1')).status).toBe(401);
      expect((await from('2001:db8:1:2:ffff::9')).status).toBe(401);
      expect((await from('2001:0db8:0001:0002:0000:0000:0000:0042')).status).toBe(429);
    } finally {
      await server.close();
      await t.regstack.close();
    }
  });
});

describeEachBackend('unexpected failures over HTTP (R64)', (ctx) => {
  // needs a table to vanish under the running server: SQL backends only
  it.skipIf(ctx.backend !== 'sqlite' && ctx.backend !== 'postgres')(
    'an internal error is a 500 with a generic message: no SQL, table, driver or stack',
    async () => {
      const t = await startRegstack(ctx.url);
      const server = await t.regstack.listen({ port: 0 });
      try {
        await t.regstack.storage.fork().getConnection().execute('drop table users');
        const r = await rawClient(server.url).mutation('auth.login', { email: 'x@example.com', password: PASSWORD });
        expect(r.status).toBe(500);
        expect(error(r).message).toBe('Internal server error');
        expect(error(r).data.regstackCode).toBe('INTERNAL_ERROR');
        expect(JSON.stringify(r.body)).not.toMatch(/users|table|sqlite|postgres|select|relation|"stack"/i);
      } finally {
        await server.close();
        await t.regstack.close();
      }
    },
  );
});

describeEachBackend('overload shedding over HTTP (R7)', (ctx) => {
  // a property of the hasher, not of the database: run once
  it.skipIf(ctx.backend !== 'sqlite')(
    'when hashing is saturated, excess logins get 503 with Retry-After instead of queueing without bound',
    async () => {
      const t = await startRegstack(ctx.url, { hashConcurrency: 1, hashQueueLimit: 1, loginRateLimit: 'none' });
      const server = await t.regstack.listen({ port: 0 });
      try {
        const api = rawClient(server.url);
        const results = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            api.mutation('auth.login', { email: `shed-${i}@example.com`, password: PASSWORD }),
          ),
        );
        const shed = results.filter((r) => r.status === 503);
        expect(shed.length).toBeGreaterThan(0);
        for (const r of shed) {
          expect(error(r).data.regstackCode).toBe('SERVER_BUSY');
          expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        }
        // the ones that got a slot were answered normally
        expect(results.filter((r) => r.status === 401).length).toBeGreaterThan(0);
        expect(results.every((r) => r.status === 401 || r.status === 503)).toBe(true);
      } finally {
        await server.close();
        await t.regstack.close();
      }
    },
  );
});
