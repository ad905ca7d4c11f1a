/**
 * The SQL backends run the login path's repository methods as prepared statements, each written beside the
 * MikroORM version it stands for (repositories/*.repository.ts). Each must keep that version's contract: here both run against the same database and
 * every write made by one is read back by the other, field by field. Plus the two properties the
 * statements' connection handling must keep: a write inside `atomically` rolls back with it, and a write
 * outside never lands in another request's open transaction (SQLite has one connection for both).
 */
import {
  createRepositories,
  type LoginSuccess,
  newId,
  type Repositories,
  readChallengeStepByStep,
  recordLoginStepByStep,
  reserveStepByStep,
  type Storage,
  type TryWindow,
} from '@regstack/server/internal';
import { describe, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';

/** The window `recordTry` counts for `key` at `now`: failures on `key`, tries on `try:key`. */
function tryWindow(
  key: string,
  now: Date,
  windowStart: Date,
  staleBefore = new Date(now.getTime() - 60_000),
): TryWindow {
  return { id: newId(now.getTime()), tryKey: `try:${key}`, failKey: key, now, windowStart, staleBefore };
}

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

  sqlOnly('reserve a login attempt and read the account as the step-by-step reference does', async () => {
    const base = Date.UTC(2026, 10, 23, 13, 30, 0, 0);
    const windowStart = new Date(base - 900_000);
    const { sql, orm } = both(ctx.storage);
    await orm.users.insertIfEmailFree(
      { email: 'reserved@example.com', hashedPassword: '$argon2id$r', fullName: 'Reserved', isVerified: true },
      new Date(base - 60_000),
    );
    const key = 'login:reserved@example.com';
    const viaSql = await sql.logins.reserve(tryWindow(key, new Date(base), windowStart), 'reserved@example.com');
    const viaSteps = await reserveStepByStep(
      orm,
      tryWindow(key, new Date(base + 1), windowStart),
      'reserved@example.com',
    );
    expect([viaSql.total, viaSteps.total]).toEqual([1, 2]);
    expect([viaSql.failures, viaSteps.failures]).toEqual([0, 0]);
    expect(viaSql.user?.hashedPassword).toBe('$argon2id$r');
    expect({ ...viaSql.user }).toEqual({ ...viaSteps.user, hashedPassword: undefined });
    expect(JSON.stringify(viaSql.user)).not.toContain('argon2id'); // hidden like the entity's hash (R62)
    // The try is a row like any other: counted by the ORM, removable by its id.
    expect(await orm.loginAttempts.countSince(`try:${key}`, windowStart)).toBe(2);
    await orm.loginAttempts.remove(viaSql.id);
    expect(await orm.loginAttempts.countSince(`try:${key}`, windowStart)).toBe(1);
    // An unknown account still records and counts its try (R13: the same work either way).
    const unknown = await sql.logins.reserve(
      tryWindow('login:nobody@example.com', new Date(base), windowStart),
      'nobody@example.com',
    );
    expect(unknown).toMatchObject({ total: 1, failures: 0, user: null });
    // Tries before the window do not count.
    const later = await sql.logins.reserve(
      tryWindow(key, new Date(base + 900_001), new Date(base + 1)),
      'reserved@example.com',
    );
    expect(later.total).toBe(1);
  });

  sqlOnly('record tries and settle failures exactly as the ORM does (R17, R70)', async () => {
    const base = Date.UTC(2026, 10, 23, 13, 45, 0, 0);
    const windowStart = new Date(base - 900_000);
    const { sql, orm } = both(ctx.storage);
    for (const [label, repos] of [
      ['sql', sql],
      ['orm', orm],
    ] as const) {
      const key = `login:tries-${label}@example.com`;
      const at = (ms: number) => tryWindow(key, new Date(base + ms), windowStart);
      // An old failure outside the window and a try that never finished (stale) before the window's checks.
      await orm.loginAttempts.recordAndCount(key, new Date(base - 900_000), windowStart);
      const stale = await repos.loginAttempts.recordTry(tryWindow(key, new Date(base - 61_000), windowStart));
      expect(stale).toMatchObject({ total: 1, failures: 0 });
      const first = await repos.loginAttempts.recordTry(at(0));
      expect(first).toMatchObject({ total: 1, failures: 0 }); // the stale try no longer counts
      const second = await repos.loginAttempts.recordTry(at(1));
      expect(second).toMatchObject({ total: 2, failures: 0 });
      await repos.loginAttempts.settleFailure(first.id, key, new Date(base));
      // The failure replaced the try: same total, one more failure.
      const third = await repos.loginAttempts.recordTry(at(2));
      expect(third).toMatchObject({ total: 3, failures: 1 });
      expect(await orm.loginAttempts.countSince(key, windowStart)).toBe(1);
      expect(await orm.loginAttempts.countSince(`try:${key}`, windowStart)).toBe(3);
      await repos.loginAttempts.remove(second.id);
      await repos.loginAttempts.remove(third.id);
      expect(await repos.loginAttempts.recordTry(at(4))).toMatchObject({ total: 2, failures: 1 });
    }
  });

  sqlOnly('let no burst of concurrent reservations see fewer attempts than came before it (R17)', async () => {
    const now = new Date();
    const windowStart = new Date(now.getTime() - 60_000);
    const others = await Promise.all([ctx.openAnother(), ctx.openAnother()]);
    const key = 'login:burst@example.com';
    const counts = await Promise.all(
      Array.from({ length: 24 }, (_, i) => {
        const storage = i % 3 === 0 ? ctx.storage : others[(i % 3) - 1]!;
        return createRepositories(storage.fork(), storage.dialect).logins.reserve(
          tryWindow(key, now, windowStart),
          'burst@example.com',
        );
      }),
    );
    // Whatever the interleaving, the k-th smallest count is at least k: at most k reservations see ≤ k attempts.
    const sorted = counts.map((c) => c.total).sort((a, b) => a - b);
    sorted.forEach((count, i) => {
      expect(count).toBeGreaterThanOrEqual(i + 1);
    });
    expect(sorted.at(-1)).toBe(24);
  });

  describe('a successful login, recorded in one atomic call', () => {
    const ttlMs = 3_600_000;
    /** A user with two failed attempts on its key and one on a neighbour's; the login's input at `at`. */
    async function prepared(label: string, at: number, upgradedHash: string | null = null) {
      const { orm } = both(ctx.storage);
      const email = `${label}@example.com`;
      const user = await orm.users.insertIfEmailFree(
        { email, hashedPassword: '$argon2id$old', isVerified: true },
        new Date(at - 60_000),
      );
      for (const k of [`login:${email}`, `login:${email}`, `login:other-${email}`]) {
        await orm.loginAttempts.recordAndCount(k, new Date(at - 1000), new Date(at - 900_000));
      }
      // This login's own try, withdrawn by its success; another try in flight stays.
      const own = await orm.loginAttempts.recordTry(
        tryWindow(`login:${email}`, new Date(at - 10), new Date(at - 900_000)),
      );
      await orm.loginAttempts.recordTry(tryWindow(`login:${email}`, new Date(at - 5), new Date(at - 900_000)));
      const sessionId = newId(at);
      const success: LoginSuccess = {
        userId: user!.id,
        attemptsKey: `login:${email}`,
        verifiedHash: '$argon2id$old',
        tryId: own.id,
        upgradedHash,
        session: { id: sessionId, ttlMs, userAgent: 'agent/1', ip: '192.0.2.9' },
        audit: { event: 'login', actorId: user!.id, subjectId: user!.id, ip: '192.0.2.9', details: { sessionId } },
        now: new Date(at),
      };
      return { user: user!, email, success };
    }
    /** Everything a login writes, read back through the ORM, with the ids that differ by design left out. */
    async function written(userId: string, email: string) {
      const { orm } = both(ctx.storage);
      const user = await orm.users.findCredentialsById(userId);
      const sessions = await orm.sessions.listUnexpiredForUser(userId, new Date(0));
      const audit = await orm.auditEvents.listForSubject(userId);
      return {
        hash: user?.hashedPassword,
        updatedAt: user?.updatedAt.getTime(),
        lastLoginAt: user?.lastLoginAt?.getTime() ?? null,
        sessions: sessions.map(({ id: _, userId: __, ...rest }) => rest),
        // Events written at one instant have no order among them (their ids differ only in random bits).
        audit: [...audit]
          .sort((x, y) => x.event.localeCompare(y.event))
          .map((a) => ({
            ...a,
            id: undefined,
            actorId: undefined,
            subjectId: undefined,
            details: undefined,
          })),
        attempts: await orm.loginAttempts.countSince(`login:${email}`, new Date(0)),
        neighbour: await orm.loginAttempts.countSince(`login:other-${email}`, new Date(0)),
        tries: await orm.loginAttempts.countSince(`try:login:${email}`, new Date(0)),
      };
    }

    sqlOnly('writes what the step-by-step reference writes', async () => {
      const at = Date.UTC(2026, 10, 23, 14, 0, 0, 250);
      const cases = [
        { upgradedHash: null, second: false },
        { upgradedHash: '$argon2id$new', second: false },
        { upgradedHash: null, second: true }, // a second step's sign-in records its own event too, in the same write
      ];
      for (const { upgradedHash, second } of cases) {
        const name = `${upgradedHash ? 'up' : 'keep'}${second ? '-2' : ''}`;
        const viaSql = await prepared(`sql-${name}`, at, upgradedHash);
        const viaSteps = await prepared(`steps-${name}`, at, upgradedHash);
        if (second) {
          for (const v of [viaSql, viaSteps]) {
            v.success.alsoAudit = {
              event: 'mfa_login_succeeded',
              actorId: v.user.id,
              subjectId: v.user.id,
              details: { method: 'totp', sessionId: v.success.session.id },
            };
          }
        }
        const { sql, orm } = both(ctx.storage);
        const session = (await sql.logins.recordSuccess(viaSql.success))!;
        const reference = (await ctx.storage.atomically(() =>
          recordLoginStepByStep(createRepositories(ctx.storage.fork(), { ...ctx.storage.dialect, sql: undefined }), {
            ...viaSteps.success,
          }),
        ))!;
        expect({ ...session, id: undefined, userId: undefined }).toEqual({
          ...reference,
          id: undefined,
          userId: undefined,
        });
        expect(session).toMatchObject({ id: viaSql.success.session.id, userId: viaSql.user.id });
        expect(session.createdAt.getTime()).toBe(at);
        expect(session.expiresAt.getTime()).toBe(at + ttlMs);
        const a = await written(viaSql.user.id, viaSql.email);
        const b = await written(viaSteps.user.id, viaSteps.email);
        expect(a).toEqual(b);
        expect(a).toMatchObject({
          hash: upgradedHash ?? '$argon2id$old',
          updatedAt: upgradedHash ? at : at - 60_000,
          lastLoginAt: at,
          attempts: 0, // cleared (R18) …
          neighbour: 1, // … for this key only
          tries: 1, // its own try withdrawn, the other one in flight kept
        });
        const { id: _, userId: __, ...sessionColumns } = session;
        expect(a.sessions).toEqual([sessionColumns]);
        expect(a.audit).toHaveLength(second ? 2 : 1);
        const rows = await orm.auditEvents.listForSubject(viaSql.user.id);
        const row = rows.find((r) => r.event === 'login');
        expect(row).toMatchObject({ event: 'login', actorId: viaSql.user.id, details: { sessionId: session.id } });
        expect(row?.createdAt.getTime()).toBe(at);
        if (second) {
          expect(rows.find((r) => r.event === 'mfa_login_succeeded')).toMatchObject({
            actorId: viaSql.user.id,
            details: { method: 'totp', sessionId: session.id },
            createdAt: new Date(at),
          });
        }
      }
    });

    sqlOnly(
      'writes nothing when the stored hash is no longer the verified one, as the reference does (R68)',
      async () => {
        const at = Date.UTC(2026, 10, 23, 14, 30, 0, 0);
        for (const upgradedHash of [null, '$argon2id$new']) {
          const viaSql = await prepared(`stale-sql-${upgradedHash ? 'up' : 'keep'}`, at, upgradedHash);
          const viaSteps = await prepared(`stale-steps-${upgradedHash ? 'up' : 'keep'}`, at, upgradedHash);
          const { sql, orm } = both(ctx.storage);
          // A reset replaced the password while this login's check ran.
          for (const u of [viaSql.user, viaSteps.user])
            await orm.users.updatePasswordHash(u.id, '$argon2id$reset', new Date(at - 5));
          const before = [await written(viaSql.user.id, viaSql.email), await written(viaSteps.user.id, viaSteps.email)];
          expect(await sql.logins.recordSuccess(viaSql.success)).toBeNull();
          const reference = await ctx.storage.atomically(() =>
            recordLoginStepByStep(createRepositories(ctx.storage.fork(), { ...ctx.storage.dialect, sql: undefined }), {
              ...viaSteps.success,
            }),
          );
          expect(reference).toBeNull();
          const after = [await written(viaSql.user.id, viaSql.email), await written(viaSteps.user.id, viaSteps.email)];
          expect(after).toEqual(before);
          expect(after[0]).toMatchObject({ hash: '$argon2id$reset', sessions: [], lastLoginAt: null, tries: 2 });
        }
      },
    );

    sqlOnly('starts the session one millisecond after a bulk cutoff that is not yet past (R40)', async () => {
      const at = Date.UTC(2026, 10, 23, 15, 0, 0, 500);
      // cutoff offset from the login's instant → where the session must start
      for (const [offset, expected] of [
        [-1, at],
        [0, at + 1],
        [7, at + 8],
      ] as const) {
        const viaSql = await prepared(`cut-sql${offset}`, at);
        const viaSteps = await prepared(`cut-steps${offset}`, at);
        const { sql, orm } = both(ctx.storage);
        for (const u of [viaSql.user, viaSteps.user]) {
          await orm.revocations.revokeAllForUser(u.id, new Date(at + offset - 5), 'logout_all');
          await orm.revocations.revokeAllForUser(u.id, new Date(at + offset), 'logout_all');
          await orm.revocations.revokeSession(u.id, 'some-session', new Date(at + 50), 'logout'); // not a cutoff
        }
        const session = (await sql.logins.recordSuccess(viaSql.success))!;
        const reference = (await ctx.storage.atomically(() =>
          recordLoginStepByStep(createRepositories(ctx.storage.fork(), { ...ctx.storage.dialect, sql: undefined }), {
            ...viaSteps.success,
          }),
        ))!;
        expect([session.createdAt.getTime(), session.expiresAt.getTime()]).toEqual([expected, expected + ttlMs]);
        expect([reference.createdAt.getTime(), reference.expiresAt.getTime()]).toEqual([expected, expected + ttlMs]);
        const [stored] = await orm.sessions.listUnexpiredForUser(viaSql.user.id, new Date(0));
        expect(stored?.createdAt.getTime()).toBe(expected);
        expect(await orm.revocations.isRevoked(viaSql.user.id, session.id, stored!.createdAt)).toBe(false);
      }
    });

    sqlOnly('writes nothing when any of its writes fails', async () => {
      const at = Date.UTC(2026, 10, 23, 16, 0, 0, 0);
      const { user, email, success } = await prepared('collides', at, '$argon2id$new');
      const { sql, orm } = both(ctx.storage);
      // A session already holds the id: the session insert fails after the other writes were issued.
      await orm.sessions.create(
        { id: success.session.id, userId: 'someone-else', expiresAt: new Date(at + 1000) },
        new Date(at - 10),
      );
      const before = await written(user.id, email);
      await expect(sql.logins.recordSuccess(success)).rejects.toThrow();
      expect(await written(user.id, email)).toEqual(before);
      expect(before).toMatchObject({ hash: '$argon2id$old', lastLoginAt: null, attempts: 2, audit: [] });
    });

    sqlOnly('rolls back with a surrounding transaction', async () => {
      const at = Date.UTC(2026, 10, 23, 17, 0, 0, 0);
      const { user, email, success } = await prepared('inside', at);
      const before = await written(user.id, email);
      await expect(
        ctx.storage.atomically(async () => {
          const r = createRepositories(ctx.storage.fork(), ctx.storage.dialect);
          await r.logins.recordSuccess(success);
          expect(await r.loginAttempts.countSince(`login:${email}`, new Date(0))).toBe(0); // own write seen
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect(await written(user.id, email)).toEqual(before);
    });
  });

  sqlOnly('commit attempt counters without a flush wait only as their own transaction, and never leak it', async () => {
    const postgres = ctx.backend === 'postgres';
    // SQLite: a connection that flushes every commit (regstack's default, NORMAL, is the counters' level too).
    const storage = postgres ? ctx.storage : await ctx.openAnother({ sqliteSynchronous: 'full' });
    const runner = storage.dialect.sql!;
    const exec = (text: string) => runner.run(storage.fork(), text, []);
    // A trigger notes, inside each inserting transaction, the setting its commit will use.
    await exec('create table commit_modes ("key" text, mode text)');
    if (postgres) {
      await exec(`create function note_commit_mode() returns trigger language plpgsql as $$
        begin insert into commit_modes values (new."key", current_setting('synchronous_commit')); return new; end $$`);
      await exec(`create trigger note_commit_mode after insert on login_attempts
        for each row execute function note_commit_mode()`);
    } else {
      await exec(`create trigger note_commit_mode after insert on login_attempts begin
        insert into commit_modes select new."key", synchronous from pragma_synchronous; end`);
    }
    const setting = async () =>
      String(
        Object.values(
          (await runner.all(storage.fork(), postgres ? 'show synchronous_commit' : 'pragma synchronous', []))[0] ?? {},
        )[0],
      );
    const [flushed, unflushed] = postgres ? ['on', 'off'] : ['2', '1']; // SQLite: FULL, NORMAL
    try {
      expect(await setting()).toBe(flushed);
      const now = new Date();
      const windowStart = new Date(now.getTime() - 60_000);
      const { sql } = both(storage);
      await sql.logins.reserve(tryWindow('mode:reserve', now, windowStart), 'nobody@example.com');
      await sql.loginAttempts.recordAndCount('mode:count', now, windowStart);
      await storage.atomically(async () => {
        const r = createRepositories(storage.fork(), storage.dialect);
        await r.logins!.reserve(tryWindow('mode:reserve-in-tx', now, windowStart), 'nobody@example.com');
        await r.loginAttempts.recordAndCount('mode:count-in-tx', now, windowStart);
      });
      const modes = await runner.all(storage.fork(), 'select "key", mode from commit_modes order by "key"', []);
      expect(modes.map((m) => [m.key, String(m.mode)])).toEqual([
        ['mode:count', unflushed],
        ['mode:count-in-tx', flushed], // the caller's transaction commits as configured
        ['try:mode:reserve', unflushed],
        ['try:mode:reserve-in-tx', flushed],
      ]);
      // The setting ended with each of those transactions: every pooled connection still commits flushed.
      const settings = await Promise.all(Array.from({ length: 12 }, setting));
      expect(new Set(settings)).toEqual(new Set([flushed]));
      if (!postgres) {
        // SQLite switches the connection's setting around the transaction; a failing one switches it back too.
        const failing = runner.transaction!(
          storage.fork(),
          () => {
            throw new Error('abort');
          },
          { unflushed: true },
        );
        await expect(failing).rejects.toThrow('abort');
        expect(await setting()).toBe(flushed);
      }
    } finally {
      await exec(postgres ? 'drop trigger note_commit_mode on login_attempts' : 'drop trigger note_commit_mode');
      if (postgres) await exec('drop function note_commit_mode');
      await exec('drop table commit_modes');
    }
  });

  sqlOnly(
    'open a second sign-in step and spend a TOTP step as the step-by-step reference does (R40, R50)',
    async () => {
      const base = Date.UTC(2026, 10, 24, 9, 0, 0, 0);
      const { sql, orm } = both(ctx.storage);
      const user = await orm.users.insertIfEmailFree(
        { email: 'second@example.com', hashedPassword: '$argon2id$s', fullName: 'Second Step', isVerified: true },
        new Date(base - 60_000),
      );
      const userId = user!.id;
      const scope = `mfa-login:${newId(base)}`;
      const compare = async () => {
        const viaSql = await sql.mfaLogins.readChallenge(userId, scope);
        const viaSteps = await readChallengeStepByStep(both(ctx.storage).orm, userId, scope);
        expect(viaSql.user?.hashedPassword).toBe('$argon2id$s');
        expect(JSON.stringify(viaSql)).not.toContain('argon2id'); // hidden like the entity's hash (R62)
        expect({ ...viaSql, user: { ...viaSql.user } }).toEqual({
          ...viaSteps,
          user: { ...viaSteps.user, hashedPassword: undefined },
        });
        expect(await sql.mfaFactors.factorsOf(userId)).toEqual(
          await both(ctx.storage).orm.mfaFactors.factorsOf(userId),
        );
        return viaSql;
      };
      // Nothing enrolled, no cutoff, not settled.
      expect(await compare()).toMatchObject({ settled: false, cutoff: null });
      expect((await compare()).factors).toEqual({ totp: null, phoneNumber: null, recoveryCodesRemaining: 0 });
      // An authenticator in enrolment, then confirmed; recovery codes, one used; a phone; a bulk cutoff; the claim.
      expect(await orm.mfaFactors.startTotp(userId, 'sealed-secret', new Date(base - 50_000))).toBe(true);
      await compare();
      expect(await orm.mfaFactors.confirmTotp(userId, 100, new Date(base - 40_000), new Date(base + 60_000))).toBe(
        true,
      );
      await orm.mfaFactors.replaceRecoveryCodes(
        userId,
        ['a'.repeat(64), 'b'.repeat(64), 'c'.repeat(64)],
        new Date(base),
      );
      const used = await orm.mfaFactors.findUnusedRecoveryCode(userId, 'a'.repeat(64));
      expect(await orm.mfaFactors.spendRecoveryCode(used!.id, new Date(base))).toBe(true);
      expect(await orm.users.setPhoneIfFree(userId, '+14155550123', new Date(base))).toBe(true);
      await orm.revocations.revokeAllForUser(userId, new Date(base + 10), 'logout_all');
      await orm.revocations.revokeAllForUser(userId, new Date(base + 20), 'mfa_changed');
      expect(await orm.claims.claimOnce(scope, scope, new Date(base), new Date(base + 60_000))).toBe(true);
      const read = await compare();
      expect(read).toMatchObject({
        settled: true,
        factors: { phoneNumber: '+14155550123', recoveryCodesRemaining: 2 },
      });
      expect(read.cutoff?.getTime()).toBe(base + 20);
      expect(read.factors.totp).toMatchObject({ userId, sealedSecret: 'sealed-secret', lastUsedStep: 100 });
      expect(read.factors.totp?.confirmedAt?.getTime()).toBe(base - 40_000);
      // An unknown user: nothing.
      expect((await sql.mfaLogins.readChallenge(newId(base), scope)).user).toBeNull();

      // A TOTP step: spent once (the SQL claim is the ORM's), never at or below the last one, and it moves forward.
      const at = new Date(base + 30_000);
      const expires = new Date(base + 120_000);
      expect(await sql.mfaFactors.spendTotpStep(userId, 100, 100, at, expires)).toBe(false);
      const race = await Promise.all([
        sql.mfaFactors.spendTotpStep(userId, 101, 100, at, expires),
        both(ctx.storage).sql.mfaFactors.spendTotpStep(userId, 101, 100, at, expires),
        both(ctx.storage).orm.mfaFactors.spendTotpStep(userId, 101, 100, at, expires),
      ]);
      expect(race.filter(Boolean)).toHaveLength(1);
      expect((await orm.mfaFactors.findTotp(userId))?.lastUsedStep).toBe(101);
      expect(await orm.mfaFactors.spendTotpStep(userId, 103, 101, at, expires)).toBe(true);
      // A late winner of an older step never moves the step back.
      expect(await sql.mfaFactors.spendTotpStep(userId, 102, 101, at, expires)).toBe(true);
      expect((await orm.mfaFactors.findTotp(userId))?.lastUsedStep).toBe(103);
      // claimOnce: once, whichever form asks first.
      const claim = `test-claim:${userId}`;
      expect(await sql.claims.claimOnce(claim, claim, at, expires)).toBe(true);
      expect(await orm.claims.claimOnce(claim, claim, at, expires)).toBe(false);
      expect(await sql.claims.claimOnce(claim, claim, at, expires)).toBe(false);
    },
  );

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
