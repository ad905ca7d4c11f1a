/**
 * The revocation rule (revocation.repository.ts) is written twice: for the repositories (`covers`) and for SQL
 * (`REVOKED_SQL`, which the one-statement authentication lookup and the live-session list of the SQL backends
 * run). Both forms must say exactly the same: live session, its user (fresh), and whether any revocation fact
 * covers it — including a bulk cutoff in the very millisecond of the session's creation (R40). On the SQL
 * backends each case runs both forms on the same database; MongoDB has only the repositories' form.
 */

import type { EntityManager } from '@mikro-orm/core';
import { createRepositories, type Dialect, type Session, type Storage } from '@regstack/server/internal';
import { expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { repos } from './concurrency.ts';

/** `liveSessions.authenticate` over `dialect`: its SQL form when the dialect has `sql`, the ORM form without. */
const lookupVia = (dialect: Dialect) => (em: EntityManager, sessionId: string, now: Date) =>
  createRepositories(em, dialect).liveSessions.authenticate(sessionId, now);

/** The forms `storage` can run: SQL and ORM on the SQL backends, ORM alone on MongoDB. */
function forms(storage: Storage): [string, Dialect][] {
  const orm: Dialect = { ...storage.dialect, sql: undefined };
  return storage.dialect.sql
    ? [
        ['sql', storage.dialect],
        ['orm', orm],
      ]
    : [['orm', orm]];
}

describeEachBackend('authentication lookup', (ctx) => {
  it('agrees with the repositories on every rule, in both forms', async () => {
    for (const [form, dialect] of forms(ctx.storage)) await agreesOnEveryRule(form, lookupVia(dialect));
  });

  it('lists the same live sessions in both forms', async () => {
    const base = Date.now();
    const r = repos(ctx.storage);
    const user = (await r.users.insertIfEmailFree(
      { email: 'list-live@example.com', hashedPassword: 'h' },
      new Date(base),
    ))!;
    const made: Session[] = [];
    for (let i = 0; i < 8; i++) {
      made.push(
        await r.sessions.create(
          { userId: user.id, expiresAt: new Date(base + 1000 + i * 100) },
          new Date(base + i * 10),
        ),
      );
    }
    await r.revocations.revokeAllForUser(user.id, new Date(base + 20), 'logout_all'); // sessions 0–2 (20: same ms)
    await r.revocations.revokeSession(user.id, made[4]!.id, new Date(base + 100), 'logout');
    const now = new Date(base + 1000 + 6 * 100); // sessions 0–6 expire at or before now: only 7 is unexpired
    const earlier = new Date(base + 1200); // sessions 2+ unexpired
    const expected = { [now.getTime()]: [made[7]!.id], [earlier.getTime()]: [7, 6, 5, 3].map((i) => made[i]!.id) };
    for (const [form, dialect] of forms(ctx.storage)) {
      for (const at of [now, earlier]) {
        const live = await createRepositories(ctx.storage.fork(), dialect).liveSessions.listLive(user.id, at);
        expect({ form, ids: live.map((s) => s.id) }).toEqual({ form, ids: expected[at.getTime()] });
        expect(live[0]).toEqual(await r.sessions.findById(made[7]!.id).then((s) => s && { ...s }));
      }
    }
  });

  async function agreesOnEveryRule(form: string, lookup: ReturnType<typeof lookupVia>) {
    const base = Date.now();
    const r = repos(ctx.storage);
    const user = await r.users.insertIfEmailFree(
      { email: 'lookup@example.com', hashedPassword: 'h', fullName: 'Look Up', isVerified: true },
      new Date(base),
    );
    const session = await r.sessions.create(
      { userId: user!.id, expiresAt: new Date(base + 60_000), userAgent: 'ua', ip: '192.0.2.1' },
      new Date(base + 10),
    );
    const at = (ms: number) => lookup(ctx.storage.fork(), session.id, new Date(base + ms));

    const live = await at(20);
    expect(live?.revoked, `${form}: a live session`).toBe(false);
    expect(live?.user).toMatchObject({
      id: user!.id,
      email: 'lookup@example.com',
      fullName: 'Look Up',
      isActive: true,
      isVerified: true,
      isSuperuser: false,
      isMfaEnabled: false,
      lastLoginAt: null,
    });
    expect(live?.user.createdAt.getTime()).toBe(base);
    expect(live?.sessionCreatedAt.getTime()).toBe(base + 10);
    // Inside a transaction the lookup runs alone, on that transaction's connection, with the same answer.
    const inTx = await ctx.storage.atomically(() => lookup(ctx.storage.fork(), session.id, new Date(base + 20)));
    expect(inTx).toEqual(live);
    expect(await at(60_001)).toBeNull(); // expired
    expect(await lookup(ctx.storage.fork(), 'no-such-session', new Date(base))).toBeNull();

    await r.revocations.revokeAllForUser(user!.id, new Date(base + 9), 'logout_all'); // before creation
    expect((await at(20))?.revoked).toBe(false);
    await r.revocations.revokeAllForUser(user!.id, new Date(base + 10), 'logout_all'); // same millisecond
    expect((await at(20))?.revoked).toBe(true);
    expect(await repos(ctx.storage).revocations.isRevoked(user!.id, session.id, session.createdAt)).toBe(true);

    const other = await r.sessions.create(
      { userId: user!.id, expiresAt: new Date(base + 60_000) },
      new Date(base + 20),
    );
    expect((await lookup(ctx.storage.fork(), other.id, new Date(base + 30)))?.revoked).toBe(false);
    await r.revocations.revokeSession(user!.id, other.id, new Date(base + 30), 'logout');
    expect((await lookup(ctx.storage.fork(), other.id, new Date(base + 31)))?.revoked).toBe(true);
    await r.users.deleteById(user!.id);
    expect(await lookup(ctx.storage.fork(), other.id, new Date(base + 31))).toBeNull(); // the user is gone
  }

  it.skipIf(ctx.backend.startsWith('mongodb'))(
    'gives every one of many concurrent lookups its own answer (PostgreSQL batches them)',
    async () => {
      const lookup = lookupVia(ctx.storage.dialect);
      const base = Date.now();
      const r = repos(ctx.storage);
      const users = await Promise.all(
        [0, 1, 2].map((i) =>
          r.users.insertIfEmailFree({ email: `many-${i}@example.com`, hashedPassword: 'h' }, new Date(base)),
        ),
      );
      // Sessions of three users, expiring at different instants; some revoked one way or another.
      const sessions = [];
      for (let i = 0; i < 30; i++) {
        const user = users[i % 3]!;
        sessions.push(
          await r.sessions.create({ userId: user.id, expiresAt: new Date(base + 1000 + i * 10) }, new Date(base + i)),
        );
      }
      for (const s of sessions.filter((_, i) => i % 7 === 3)) {
        await r.revocations.revokeSession(s.userId, s.id, new Date(base + 50), 'logout');
      }
      await r.revocations.revokeAllForUser(users[2]!.id, new Date(base + 15), 'logout_all'); // user 2's first sessions
      // Each caller has its own instant: some see their session expired, some not.
      const asks = [
        ...sessions.map((s, i) => ({ id: s.id, now: new Date(base + 1000 + (i % 4) * 100) })),
        ...sessions.slice(0, 10).map((s) => ({ id: s.id, now: new Date(base + 900) })), // the same ids again
        { id: 'no-such-session', now: new Date(base) },
      ];
      const summary = (row: Awaited<ReturnType<typeof lookup>>) =>
        row && {
          user: row.user.id,
          email: row.user.email,
          created: row.sessionCreatedAt.getTime(),
          revoked: row.revoked,
        };
      const one = [];
      for (const a of asks) one.push(summary(await lookup(ctx.storage.fork(), a.id, a.now)));
      // Three times over at once: more than one batch's worth (64), so full batches flush early too.
      const thrice = [...asks, ...asks, ...asks];
      const many = (await Promise.all(thrice.map((a) => lookup(ctx.storage.fork(), a.id, a.now)))).map(summary);
      expect(many).toEqual([...one, ...one, ...one]);
      expect(one.filter((x) => x === null).length).toBeGreaterThan(5); // expired for their caller, or unknown
      expect(one.filter((x) => x?.revoked).length).toBeGreaterThan(5);
      expect(one.filter((x) => x && !x.revoked).length).toBeGreaterThan(5);
    },
  );

  /** A verified user with a session that lives for a minute from now. */
  async function liveSession(email: string) {
    const now = Date.now();
    const r = repos(ctx.storage);
    const user = await r.users.insertIfEmailFree({ email, hashedPassword: 'h', isVerified: true }, new Date(now));
    if (!user) throw new Error(`${email} exists already`);
    const session = await r.sessions.create({ userId: user.id, expiresAt: new Date(now + 60_000) }, new Date(now));
    return { now, user, session };
  }

  it.skipIf(ctx.backend !== 'postgres')(
    'answers while every shared connection is held by statements that cannot finish (PostgreSQL)',
    async () => {
      const lookup = lookupVia(ctx.storage.dialect);
      const { now, user, session } = await liveSession('busy-pool@example.com');
      // Another connection takes a lock, then as many statements as the shared pool has connections queue on it:
      // every shared connection is busy until the lock goes, as when writers all wait for a slow disk.
      const holder = await ctx.openAnother();
      let release!: () => void;
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      let locked!: () => void;
      const lockTaken = new Promise<void>((resolve) => {
        locked = resolve;
      });
      const holding = holder.atomically(async () => {
        const em = holder.fork();
        await em.getConnection().execute('select pg_advisory_xact_lock(424242)', [], 'all', em.getTransactionContext());
        locked();
        await released;
      });
      await lockTaken;
      let settled = 0;
      const waiting = Array.from({ length: 10 }, () =>
        ctx.storage
          .fork()
          .getConnection()
          .execute('select pg_advisory_xact_lock(424242)')
          .finally(() => {
            settled += 1;
          }),
      );
      try {
        // Liveness, not speed: without a pool of its own the lookup would wait for the lock to go.
        const answer = await Promise.race([
          lookup(ctx.storage.fork(), session.id, new Date(now + 1)),
          new Promise<'still waiting'>((resolve) => setTimeout(() => resolve('still waiting'), 5_000)),
        ]);
        expect(answer).not.toBe('still waiting');
        expect(answer).toMatchObject({ revoked: false, user: { id: user.id } });
        expect(settled).toBe(0); // the shared connections were all still held while the lookup answered
      } finally {
        release();
        await holding;
        await Promise.all(waiting);
      }
    },
  );

  it.skipIf(ctx.backend !== 'postgres')(
    'keeps answering after the server ends its idle connections (PostgreSQL)',
    async () => {
      const lookup = lookupVia(ctx.storage.dialect);
      const { now, user, session } = await liveSession('ended@example.com');
      expect(await lookup(ctx.storage.fork(), session.id, new Date(now + 1))).toMatchObject({ revoked: false });
      // Every other connection to this database ends, the lookups' idle ones included.
      const killer = await ctx.openAnother();
      const ended = await killer
        .fork()
        .getConnection()
        .execute(
          'select count(pg_terminate_backend(pid)) as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
        );
      expect(Number(ended[0]?.n)).toBeGreaterThan(0);
      await new Promise((resolve) => setTimeout(resolve, 200)); // the 'error' events arrive
      let answer: unknown;
      for (let attempt = 0; attempt < 3 && !answer; attempt++) {
        // A lookup that was already on its way to a dead connection fails (closed); the next one reconnects.
        answer = await lookup(ctx.storage.fork(), session.id, new Date(now + 2)).catch(() => undefined);
      }
      expect(answer).toMatchObject({ revoked: false, user: { id: user.id } });
    },
  );
});
