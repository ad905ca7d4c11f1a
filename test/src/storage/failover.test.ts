/**
 * Issue 21 (failover): libpq's multi-host `database_url` with `target_session_attrs`, on real servers.
 * - A host list whose first host refuses connections: regstack starts and serves on the next host (before issue 21
 *   every multi-host form was refused at start).
 * - The topology deployments run: a primary with a synchronous streaming-replication hot standby made by
 *   `pg_basebackup` (harness/pg-standby.ts, its own ports and directories), two regstack instances over
 *   `host=primary,standby&target_session_attrs=read-write`. Writes run while the primary is `kill -9`ed; the standby
 *   is promoted; without a restart both instances reconnect to it by themselves, every acknowledged write is there
 *   (sessions, revocations, the lockout's failures, used one-time links), and revocation, lockout and single-use
 *   tokens stay correct across the instances. During the outage calls answer 503, never 500. The same again with a
 *   pgbouncer in transaction mode in front of each server, the instances listing the two pgbouncers.
 */
import { createServer } from 'node:net';
import { DatabaseUnreachableError } from '@regstack/server';
import { openStorage } from '@regstack/server/internal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, selectedBackends, type TestDatabase } from '../harness/backends.ts';
import { outcome } from '../harness/outcomes.ts';
import { type PgStandbyPair, postgresBinDir, startPgStandbyPair } from '../harness/pg-standby.ts';
import { type Pgbouncer, pgbouncerBinary, startPgbouncer } from '../harness/pgbouncer.ts';
import { createVerifiedUser, startRegstack, type TestRegstack } from '../harness/regstack.ts';

const PASSWORD = 'correct horse battery staple';
const postgres = selectedBackends().includes('postgres');
const binaries = postgresBinDir();
if (postgres && !binaries) {
  console.warn(
    'failover.test.ts: topology test skipped — no PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup)',
  );
}

/** A loopback port that refuses connections (listened on, then closed). */
async function refusingPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A loopback port that accepts connections and never answers (a frozen or half-dead server). */
async function silentPort(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const token = (login: unknown) => (login as { accessToken: string }).accessToken;

describe.skipIf(!postgres)('a PostgreSQL host list (issue 21)', () => {
  let db: TestDatabase;
  let t: TestRegstack | undefined;
  beforeAll(async () => {
    db = await createTestDatabase('postgres', {});
  });
  afterAll(async () => {
    await t?.regstack.close();
    await db?.drop();
  });

  it('skips a host that refuses and serves from the next (any, then read-write)', async () => {
    const url = new URL(db.url);
    const dead = await refusingPort();
    // libpq's authority form: the dead host first.
    const listed = db.url.replace(`@${url.host}`, `@127.0.0.1:${dead},${url.host}`);
    t = await startRegstack(listed, { loginRateLimit: 'none' });
    await createVerifiedUser(t, 'listed@example.com');
    const login = await t.regstack.createCaller().login({ email: 'listed@example.com', password: PASSWORD });
    expect(await outcome(t.regstack.createCaller({ accessToken: token(login) }).account.me())).toBe('ok');
    await t.regstack.close();
    // libpq's query form, with the attributes: the shared server is a primary, so it matches.
    const query = `${db.url.replace(`@${url.host}`, '@')}?host=127.0.0.1,${url.hostname}&port=${dead},${url.port || 5432}&target_session_attrs=read-write`;
    t = await startRegstack(query, { loginRateLimit: 'none' });
    expect(await outcome(t.regstack.createCaller().login({ email: 'listed@example.com', password: PASSWORD }))).toBe(
      'ok',
    );
  }, 30_000);

  it('fails the start when no host can be used, naming each host and why, never the password', async () => {
    const url = new URL(db.url);
    const dead = await refusingPort();
    const wrong = `postgresql://${url.username}:wrong-pw-3141@127.0.0.1:${dead},${url.host}${url.pathname}?target_session_attrs=read-write`;
    const error = await openStorage(wrong, { connectTimeoutMs: 2000 }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(DatabaseUnreachableError);
    const message = (error as Error).message;
    expect(message).toContain(`127.0.0.1:${dead}: connect ECONNREFUSED`);
    expect(message).toContain(`${url.host}: password authentication failed`);
    expect(message).not.toContain('wrong-pw-3141');
  }, 30_000);

  it('gives up on a host that accepts but never answers after the connect timeout, per host', async () => {
    const url = new URL(db.url);
    const silent = await silentPort();
    try {
      const listed = db.url.replace(`@${url.host}`, `@127.0.0.1:${silent.port},${url.host}`);
      const started = performance.now();
      const s = await startRegstack(listed, { loginRateLimit: 'none', databaseConnectTimeoutMs: 1000 });
      try {
        const login = s.regstack.createCaller().login({ email: 'listed@example.com', password: PASSWORD });
        expect(await outcome(login)).toBe('ok');
      } finally {
        await s.regstack.close();
      }
      // About one connect timeout per new connection lost on the silent host, not a failed start.
      expect(performance.now() - started).toBeLessThan(10_000);
    } finally {
      await silent.close();
    }
  }, 30_000);
});

/**
 * `direct`: the instances list the two servers. `pgbouncer`: they list two pgbouncers in transaction mode, one in
 * front of each server (the topology of issue 21), with unnamed statements (pgbouncer 1.18 tracks none).
 */
for (const via of ['direct', 'pgbouncer'] as const) {
  const missing = via === 'pgbouncer' && !pgbouncerBinary();
  describe.skipIf(!postgres || !binaries || missing)(
    `failover to a promoted standby, two instances, ${via} (issue 21)`,
    () => {
      let pair: PgStandbyPair;
      let bouncers: Pgbouncer[] = [];
      let a: TestRegstack;
      let b: TestRegstack;

      beforeAll(async () => {
        pair = await startPgStandbyPair();
        let url = pair.failoverUrl;
        if (via === 'pgbouncer') {
          bouncers = [
            await startPgbouncer(pair.primary.url, { poolSize: 4 }),
            await startPgbouncer(pair.standby.url, { poolSize: 4 }),
          ];
          const [first, second] = bouncers.map((bouncer) => new URL(bouncer.url).port);
          url = pair.failoverUrl.replace(/@[^/]*\//, `@127.0.0.1:${first},127.0.0.1:${second}/`);
        }
        // Short timeouts: a call during the outage answers 503 soon; the pools then retry on their own. Behind
        // pgbouncer, a call on a connection whose server died waits in pgbouncer until the query timeout.
        const options = {
          loginRateLimit: 'none',
          databaseConnectTimeoutMs: 2000,
          databaseQueryTimeoutMs: 3000,
          postgresPreparedStatements: via === 'direct',
        } as const;
        [a, b] = await Promise.all([startRegstack(url, options), startRegstack(url, options)]);
      }, 90_000);
      afterAll(async () => {
        await a?.regstack.close().catch(() => {});
        await b?.regstack.close().catch(() => {});
        for (const bouncer of bouncers) await bouncer.stop().catch(() => {});
        await pair?.stop();
      });

      it.skipIf(via !== 'direct')(
        'passes over a standby listed first (read-write, primary)',
        async () => {
          for (const attrs of ['read-write', 'primary']) {
            const url = `postgresql://regstack:regstack@127.0.0.1:${pair.standby.port},127.0.0.1:${pair.primary.port}/postgres?target_session_attrs=${attrs}`;
            const t = await startRegstack(url, { loginRateLimit: 'none' });
            try {
              // A write: on the standby it would fail (read-only transaction).
              await createVerifiedUser(t, `standby-first-${attrs}@example.com`);
            } finally {
              await t.regstack.close();
            }
          }
        },
        30_000,
      );

      it('keeps every acknowledged write and reconnects by itself; revocation, lockout and one-time links hold', async () => {
        // ── Before: acknowledged writes of every kind, from both instances ──
        await createVerifiedUser(a, 'kept@example.com');
        await createVerifiedUser(b, 'locked@example.com');
        await createVerifiedUser(a, 'reset@example.com');
        const login = (t: TestRegstack) =>
          t.regstack.createCaller().login({ email: 'kept@example.com', password: PASSWORD }).then(token);
        const [revoked, kept] = [await login(a), await login(b)];
        await b.regstack.createCaller({ accessToken: revoked }).logout();
        // One failure short of the lock (threshold 5), each answered — so each committed on the standby too.
        for (let i = 0; i < 4; i++) {
          expect(
            await outcome(
              (i % 2 ? a : b).regstack.createCaller().login({ email: 'locked@example.com', password: 'wrong' }),
            ),
          ).toBe('INVALID_CREDENTIALS');
        }
        // A reset link minted on a, used once on b.
        await a.regstack.createCaller().forgotPassword({ email: 'reset@example.com' });
        await a.regstack.drainOutbox();
        const resetToken = a.mailbox.tokenFor('reset@example.com', 'reset');
        expect(resetToken).toBeDefined();
        const newPassword = 'a brand new passphrase here';
        expect(await outcome(b.regstack.createCaller().resetPassword({ token: resetToken!, newPassword }))).toBe('ok');

        // ── Logins on both instances while the primary is killed: every one acknowledged must survive ──
        const acknowledged: string[] = [];
        const outcomes = new Set<string>();
        let writing = true;
        const writers = [a, b].map(async (t) => {
          while (writing) {
            const result = await login(t).then(
              (accessToken) => {
                acknowledged.push(accessToken);
                return 'ok';
              },
              (err: unknown) => outcome(Promise.reject(err)),
            );
            outcomes.add(result);
            if (result !== 'ok') await new Promise((r) => setTimeout(r, 100));
          }
        });
        // A few logins acknowledged before the kill (a loaded machine hashes slowly).
        const ready = Date.now() + 30_000;
        while (acknowledged.length < 2 && Date.now() < ready) await new Promise((r) => setTimeout(r, 50));
        const beforeKill = acknowledged.length;
        pair.killPrimary();
        // No read-write server now: every call that needs the database answers 503, on both instances.
        for (const t of [a, b]) {
          expect(await outcome(t.regstack.createCaller({ accessToken: kept }).account.me())).toBe(
            'SERVICE_UNAVAILABLE',
          );
        }
        await pair.promoteStandby();
        // ── After: no restart; both instances find the promoted standby by themselves ──
        const deadline = Date.now() + 30_000;
        for (const t of [a, b]) {
          while ((await outcome(t.regstack.createCaller({ accessToken: kept }).account.me())) !== 'ok') {
            expect(Date.now()).toBeLessThan(deadline);
            await new Promise((r) => setTimeout(r, 200));
          }
        }
        writing = false;
        await Promise.all(writers);
        expect(beforeKill).toBeGreaterThanOrEqual(2);
        // Logins caught by the outage answered 503 (SERVICE_UNAVAILABLE), never a 500.
        expect([...outcomes].filter((o) => o !== 'ok' && o !== 'SERVICE_UNAVAILABLE')).toEqual([]);

        // Every acknowledged session is on the promoted standby, on both instances.
        for (const [i, accessToken] of acknowledged.entries()) {
          expect(await outcome((i % 2 ? a : b).regstack.createCaller({ accessToken }).account.me())).toBe('ok');
        }
        // The logout made on b before the failover still holds on both; a logout after it is seen across too.
        for (const t of [a, b]) {
          expect(await outcome(t.regstack.createCaller({ accessToken: revoked }).account.me())).toBe('UNAUTHENTICATED');
        }
        await a.regstack.createCaller({ accessToken: kept }).logout();
        expect(await outcome(b.regstack.createCaller({ accessToken: kept }).account.me())).toBe('UNAUTHENTICATED');
        // The four failures survived: the fifth locks the account, on both instances, even with the right password.
        expect(await outcome(a.regstack.createCaller().login({ email: 'locked@example.com', password: 'wrong' }))).toBe(
          'INVALID_CREDENTIALS',
        );
        for (const t of [a, b]) {
          expect(
            await outcome(t.regstack.createCaller().login({ email: 'locked@example.com', password: PASSWORD })),
          ).toBe('TOO_MANY_ATTEMPTS');
        }
        // The reset link used before the failover stays used; the new password is the one in force.
        for (const t of [a, b]) {
          expect(
            await outcome(
              t.regstack.createCaller().resetPassword({ token: resetToken!, newPassword: 'yet another one here' }),
            ),
          ).not.toBe('ok');
        }
        expect(
          await outcome(b.regstack.createCaller().login({ email: 'reset@example.com', password: newPassword })),
        ).toBe('ok');
        // A link minted after the failover is used once across both.
        await b.regstack.createCaller().forgotPassword({ email: 'reset@example.com' });
        await b.regstack.drainOutbox();
        const second = b.mailbox.tokenFor('reset@example.com', 'reset');
        expect(second).toBeDefined();
        const uses = await Promise.all(
          [a, b, a, b].map((t, i) =>
            outcome(
              t.regstack.createCaller().resetPassword({ token: second!, newPassword: `final passphrase ${i} ok` }),
            ),
          ),
        );
        expect(uses.filter((u) => u === 'ok')).toHaveLength(1);
      }, 90_000);
    },
  );
}
