/**
 * R71 / issue 14, item 2 and the timeouts: a database outage fails closed. With the database cut (connections
 * reset, new ones refused) or frozen (accepted, never answered) behind a loopback proxy, every procedure — public
 * (login, register, forgotPassword, verifyEmail, resendVerification) and authenticated (me) — answers 503
 * SERVICE_UNAVAILABLE with `Retry-After` over real HTTP, within the configured bounds and without blocking the
 * event loop; once the proxy forwards again, the same regstack serves them all without a restart. PostgreSQL and
 * FerretDB (MongoDB wire); SQLite's equivalent, a lock held by another process, is sqlite-busy.test.ts.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestBackend, type TestDatabase } from '../harness/backends.ts';
import { createVerifiedUser, startRegstack, type TestRegstack } from '../harness/regstack.ts';
import { type DbProxy, hostAndPort, startDbProxy, throughProxy } from './db-proxy.ts';
import { data, error, type RawResponse, rawClient } from './http-client.ts';

const info = inject('backends');
const CONNECT_TIMEOUT_MS = 1000;
const QUERY_TIMEOUT_MS = 1500;
const PASSWORD = 'correct horse battery staple';

const BACKENDS: { backend: TestBackend; defaultPort: number }[] = [
  { backend: 'postgres', defaultPort: 5432 },
  { backend: 'mongodb', defaultPort: 27017 },
];

for (const { backend, defaultPort } of BACKENDS) {
  describe.skipIf(!info.available.includes(backend))(`database outage over HTTP [${backend}]`, () => {
    let db: TestDatabase;
    let proxy: DbProxy;
    let t: TestRegstack;
    let server: { url: string; close(): Promise<void> };
    let api: ReturnType<typeof rawClient>;
    let auth: Record<string, string>;
    let verifyToken: string;
    let closed = false;

    beforeAll(async () => {
      db = await createTestDatabase(backend, info.mongoUrls);
      proxy = await startDbProxy(hostAndPort(db.url, defaultPort));
      t = await startRegstack(throughProxy(db.url, proxy), {
        loginRateLimit: 'none',
        forgotPasswordRateLimit: 'none',
        resendVerificationRateLimit: 'none',
        databaseConnectTimeoutMs: CONNECT_TIMEOUT_MS,
        databaseQueryTimeoutMs: QUERY_TIMEOUT_MS,
        // A small pool: a connection an outage leaves checked out for good would soon leave none (PostgreSQL).
        databasePoolSize: 2,
      });
      server = await t.regstack.listen({ port: 0, host: '127.0.0.1' });
      api = rawClient(server.url);
      await createVerifiedUser(t, 'outage@example.com', PASSWORD);
      const login = await api.mutation('auth.login', { email: 'outage@example.com', password: PASSWORD });
      auth = { authorization: `Bearer ${data(login).accessToken}` };
      await t.regstack.createCaller().register({ email: 'outage-pending@example.com', password: PASSWORD });
      await t.regstack.drainOutbox();
      verifyToken = t.mailbox.tokenFor('outage-pending@example.com', 'verify')!;
    });
    afterAll(async () => {
      await proxy?.restore();
      if (!closed) {
        await server?.close();
        await t?.regstack.close();
      }
      await proxy?.close();
      await db?.drop();
    });

    /** Every kind of call, public and authenticated, as a client sends it. */
    const calls: [string, () => Promise<RawResponse>][] = [
      ['login', () => api.mutation('auth.login', { email: 'outage@example.com', password: PASSWORD })],
      ['register', () => api.mutation('auth.register', { email: 'outage-new@example.com', password: PASSWORD })],
      ['forgotPassword', () => api.mutation('auth.forgotPassword', { email: 'outage@example.com' })],
      ['verifyEmail', () => api.mutation('auth.verifyEmail', { token: verifyToken })],
      ['resendVerification', () => api.mutation('auth.resendVerification', { email: 'outage-pending@example.com' })],
      ['me', () => api.query('auth.account.me', undefined, auth)],
    ];

    async function expectAllUnavailable(boundMs: number) {
      const loop = monitorEventLoopDelay({ resolution: 10 });
      loop.enable();
      const results = await Promise.all(
        calls.map(async ([name, call]) => {
          const start = performance.now();
          const r = await call();
          return { name, r, ms: performance.now() - start };
        }),
      );
      loop.disable();
      for (const { name, r, ms } of results) {
        expect({ name, status: r.status, code: error(r)?.data?.regstackCode }).toEqual({
          name,
          status: 503,
          code: 'SERVICE_UNAVAILABLE',
        });
        expect(Number(r.headers.get('retry-after')), name).toBeGreaterThan(0);
        expect(ms, name).toBeLessThan(boundMs);
        // Nothing of the driver's failure reaches the client (R64).
        expect(JSON.stringify(r.body), name).not.toMatch(/ECONN|127\.0\.0\.1|timeout|Mongo|terminated/i);
      }
      // The waits were timers and sockets, not a blocked event loop.
      expect(loop.max / 1e6).toBeLessThan(500);
      const health = await fetch(`${server.url}/healthz`);
      expect(health.status).toBe(503);
    }

    async function expectAllServedAgain() {
      // Recovers by itself: the same instance, no restart; the first calls may still meet the outage's tail.
      const deadline = Date.now() + 20_000;
      let login: RawResponse;
      do {
        login = await api.mutation('auth.login', { email: 'outage@example.com', password: PASSWORD });
        if (login.status !== 200) await new Promise((r) => setTimeout(r, 200));
      } while (login.status !== 200 && Date.now() < deadline);
      expect(login.status).toBe(200);
      const me = await api.query('auth.account.me', undefined, auth);
      expect(me.status).toBe(200);
      expect(data(me).email).toBe('outage@example.com');
      const forgot = await api.mutation('auth.forgotPassword', { email: 'outage@example.com' });
      expect(forgot.status).toBe(200);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    }

    it('a cut database: 503 + Retry-After for public and authenticated calls, then recovery (R71)', async () => {
      await proxy.cut();
      await expectAllUnavailable(CONNECT_TIMEOUT_MS + QUERY_TIMEOUT_MS + 2000);
      await proxy.restore();
      await expectAllServedAgain();
    });

    it('a frozen database: 503 within the connect and query timeouts, the event loop free (R71)', async () => {
      // Open connections in the pools first: they freeze with the server, in the middle of what uses them.
      await Promise.all(
        Array.from({ length: 4 }, () => api.mutation('auth.forgotPassword', { email: 'outage@example.com' })),
      );
      proxy.freeze();
      await expectAllUnavailable(CONNECT_TIMEOUT_MS + QUERY_TIMEOUT_MS + 2000);
      await proxy.restore();
      await expectAllServedAgain();
    });

    it('the outages left no connection checked out: the instance closes at once (R71)', async () => {
      // A transaction whose BEGIN or ROLLBACK failed in the outage must have given its connection back; one held
      // for good would, outage after outage, leave the pool empty (and closing waits for it forever).
      closed = true;
      await server.close();
      const finished = await Promise.race([
        t.regstack.close().then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000)),
      ]);
      expect(finished).toBe(true);
    });
  });
}
