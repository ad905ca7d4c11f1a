/**
 * The SQL backends run the login path's repository methods as prepared statements (sql-hot-path.ts). Each
 * must keep the contract of the MikroORM method it replaces: here both run against the same database and
 * every write made by one is read back by the other, field by field. Plus the two properties the
 * statements' connection handling must keep: a write inside `atomically` rolls back with it, and a write
 * outside never lands in another request's open transaction (SQLite has one connection for both).
 */
import { createRepositories, type Repositories, type Storage } from '@regstack/server/internal';
import { expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';

function both(storage: Storage): { sql: Repositories; orm: Repositories } {
  const { sql: _runner, ...ormOnly } = storage.dialect;
  return {
    sql: createRepositories(storage.fork(), storage.dialect),
    orm: createRepositories(storage.fork(), ormOnly),
  };
}

describeEachBackend('prepared-statement repositories', (ctx) => {
  const sqlOnly = it.skipIf(ctx.backend.startsWith('mongodb'));

  sqlOnly('are what the SQL backends use', () => {
    expect(ctx.storage.dialect.sql).toBeDefined();
  });

  sqlOnly('read and write the same rows as the ORM methods they replace', async () => {
    const base = Date.UTC(2026, 10, 23, 12, 0, 0, 123);
    const { sql, orm } = both(ctx.storage);
    const created = await orm.users.insertIfEmailFree(
      { email: 'hot@example.com', hashedPassword: '$argon2id$h', fullName: 'Hot Path', isVerified: true },
      new Date(base),
    );
    const viaSql = await sql.users.findCredentialsByEmail('hot@example.com');
    const viaOrm = await orm.users.findCredentialsByEmail('hot@example.com');
    expect(viaSql?.hashedPassword).toBe('$argon2id$h');
    expect({ ...viaSql }).toEqual({ ...viaOrm, hashedPassword: undefined });
    expect(JSON.stringify(viaSql)).not.toContain('argon2id'); // hidden like the entity's hash (R62)
    expect(await sql.users.findCredentialsByEmail('nobody@example.com')).toBeNull();

    await sql.users.recordLogin(created!.id, new Date(base + 5));
    expect((await both(ctx.storage).orm.users.findById(created!.id))?.lastLoginAt?.getTime()).toBe(base + 5);

    const session = await sql.sessions.create(
      { userId: created!.id, expiresAt: new Date(base + 60_000), userAgent: 'ua', ip: '192.0.2.7' },
      new Date(base + 10),
    );
    const read = await both(ctx.storage).orm.sessions.findById(session.id);
    expect({ ...read }).toEqual(session);
    await sql.sessions.touch(session.id, new Date(base + 70));
    expect((await both(ctx.storage).orm.sessions.findById(session.id))?.lastSeenAt.getTime()).toBe(base + 70);

    expect(await sql.revocations.cutoffFor(created!.id)).toBeNull();
    await orm.revocations.revokeAllForUser(created!.id, new Date(base + 20), 'logout_all');
    await orm.revocations.revokeAllForUser(created!.id, new Date(base + 40), 'logout_all');
    await orm.revocations.revokeSession(created!.id, session.id, new Date(base + 90), 'logout');
    expect((await sql.revocations.cutoffFor(created!.id))?.getTime()).toBe(base + 40);
    expect((await sql.revocations.cutoffFor(created!.id))?.getTime()).toBe(
      (await orm.revocations.cutoffFor(created!.id))?.getTime(),
    );

    await sql.auditEvents.record(
      { event: 'login', actorId: created!.id, subjectId: created!.id, ip: '192.0.2.7', details: { sessionId: 'x' } },
      new Date(base + 30),
    );
    await sql.auditEvents.record({ event: 'login_failed' }, new Date(base + 31));
    const audit = await both(ctx.storage).orm.auditEvents.listForSubject(created!.id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      event: 'login',
      actorId: created!.id,
      ip: '192.0.2.7',
      userAgent: null,
      details: { sessionId: 'x' },
    });
    expect(audit[0]?.createdAt.getTime()).toBe(base + 30);
  });

  sqlOnly('count login attempts exactly as the ORM does', async () => {
    const base = Date.UTC(2026, 10, 23, 13, 0, 0, 0);
    const { sql, orm } = both(ctx.storage);
    const key = 'login:counted@example.com';
    const first = await sql.loginAttempts.recordAndCount(key, new Date(base), new Date(base - 900_000));
    expect(first.count).toBe(1);
    const second = await orm.loginAttempts.recordAndCount(key, new Date(base + 1), new Date(base - 900_000));
    expect(second.count).toBe(2);
    const third = await sql.loginAttempts.recordAndCount(key, new Date(base + 2), new Date(base - 900_000));
    expect(third.count).toBe(3);
    // The window is exclusive at its start, as in the ORM query.
    expect(await sql.loginAttempts.countSince(key, new Date(base))).toBe(2);
    expect(await orm.loginAttempts.countSince(key, new Date(base))).toBe(2);
    await sql.loginAttempts.remove(second.id);
    expect(await orm.loginAttempts.countSince(key, new Date(base - 1))).toBe(2);
    expect(await sql.loginAttempts.clear(key)).toBe(2);
    expect(await orm.loginAttempts.countSince(key, new Date(base - 1))).toBe(0);
  });

  sqlOnly('write inside atomically and roll back with it (R26)', async () => {
    const now = new Date();
    const key = 'login:rolled-back@example.com';
    await expect(
      ctx.storage.atomically(async () => {
        const r = createRepositories(ctx.storage.fork(), ctx.storage.dialect);
        await r.loginAttempts.recordAndCount(key, now, new Date(now.getTime() - 1000));
        expect(await r.loginAttempts.countSince(key, new Date(now.getTime() - 1000))).toBe(1); // own write seen
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await both(ctx.storage).sql.loginAttempts.countSince(key, new Date(now.getTime() - 1000))).toBe(0);
  });

  sqlOnly('never write into another request’s open transaction', async () => {
    const now = new Date();
    const windowStart = new Date(now.getTime() - 1000);
    let inside!: () => void;
    const entered = new Promise<void>((resolve) => {
      inside = resolve;
    });
    let finish!: () => void;
    const held = new Promise<void>((resolve) => {
      finish = resolve;
    });
    // A transaction that writes, stays open while an outside write is attempted, then rolls back.
    const tx = ctx.storage
      .atomically(async () => {
        const r = createRepositories(ctx.storage.fork(), ctx.storage.dialect);
        await r.loginAttempts.recordAndCount('login:tx@example.com', now, windowStart);
        inside();
        await held;
        throw new Error('roll back');
      })
      .catch((err: Error) => err.message);
    await entered;
    const outside = both(ctx.storage).sql.loginAttempts.recordAndCount('login:outside@example.com', now, windowStart);
    await new Promise((resolve) => setTimeout(resolve, 50));
    finish();
    expect(await tx).toBe('roll back');
    expect((await outside).count).toBe(1);
    const check = both(ctx.storage).orm.loginAttempts;
    expect(await check.countSince('login:outside@example.com', windowStart)).toBe(1); // survived the rollback
    expect(await check.countSince('login:tx@example.com', windowStart)).toBe(0);
  });
});
