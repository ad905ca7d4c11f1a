/**
 * The login path's repository methods as prepared SQL, for the SQL backends (drivers.ts `SqlRunner`).
 *
 * Why a second implementation: MikroORM inlines parameters and plans every query anew, a noticeable cost of
 * main thread per statement (figures in README "Benchmarks"); a login ran about ten of them, which capped login throughput well below what argon2
 * allows and queued authenticated calls behind it (bench/, scenarios 3 and 4). Each method below keeps the
 * exact contract of the MikroORM method it replaces — same rows, same columns, same guarantees (the
 * insert-then-count of `recordAndCount` stays two statements, so R17 holds unchanged) — and the cross-backend
 * suites run the SQL versions on SQLite/PostgreSQL and the ORM versions on MongoDB;
 * test/src/storage/sql-hot-path.test.ts runs both on the same SQL database and compares.
 *
 * Only statements that every login or authenticated call runs belong here. Column names are the entities'
 * (the schema test proves the migrations match them); SQL is portable between SQLite and PostgreSQL.
 */
import type { EntityManager } from '@mikro-orm/core';
import { type SqlRunner, type SyncQuery, userFromRow } from '../db/drivers.ts';
import type { Session, User } from '../db/entities/index.ts';
import { newId } from '../db/ids.ts';
import type { NewAuditEvent } from './audit-event.repository.ts';
import { type HotPathRepositories, type LoginSuccess, reserveStepByStep } from './login.repository.ts';
import type { RecordedTry, TryWindow } from './login-attempt.repository.ts';
import { newSessionRow, sessionStart } from './session.repository.ts';

const USER_COLUMNS = `id, email, hashed_password, full_name, phone_number, is_active, is_verified, is_superuser,
  is_mfa_enabled, created_at, updated_at, last_login_at`;

const SQL = {
  insertAttempt: 'insert into login_attempts (id, "key", created_at) values (?, ?, ?)',
  countAttempts: 'select count(*) as n from login_attempts where "key" = ? and created_at > ?',
  /**
   * A try's window (login-attempt.repository.ts `recordTry`): live tries and failures, and the failures alone. A
   * try at or before the staleness bound no longer counts.
   */
  countTries: `select count(*) as total, coalesce(sum(case when "key" = ? then 1 else 0 end), 0) as failures
    from login_attempts where "key" in (?, ?) and created_at > ? and ("key" <> ? or created_at > ?)`,
  removeAttempt: 'delete from login_attempts where id = ?',
  clearAttempts: 'delete from login_attempts where "key" = ?',
  credentialsByEmail: `select ${USER_COLUMNS} from users where email = ?`,
  recordLogin: 'update users set last_login_at = ? where id = ?',
  cutoff: 'select max(revoked_at) as cutoff from revocations where user_id = ? and session_id is null',
  insertSession: `insert into sessions (id, user_id, created_at, last_seen_at, expires_at, user_agent, ip)
    values (?, ?, ?, ?, ?, ?, ?)`,
  touchSession: 'update sessions set last_seen_at = ? where id = ?',
  insertAudit: `insert into audit_events (id, event, actor_id, subject_id, ip, user_agent, details, created_at)
    values (?, ?, ?, ?, ?, ?, ?, ?)`,
  upgradeHash: 'update users set hashed_password = ?, updated_at = ? where id = ?',
  storedHash: 'select hashed_password from users where id = ?',
  /**
   * PostgreSQL, outside a caller's transaction: one attempt ($1 id, $2 key, $3 time) recorded and the window
   * (after $4) counted in one round trip, by `regstack_record_attempt` (Migration20261205003339: an advisory lock
   * on the key, then the insert, then the count under a fresh snapshot, so every count includes each attempt
   * committed before it — R17). Its transaction commits without waiting for its WAL flush: `synchronous_commit`
   * off for that transaction, never beyond it. A committed row is visible to every count at once, flushed or
   * not, which is all R17 needs. What a database crash can lose is the last ≈ 3 × `wal_writer_delay` (0.6 s by
   * default) of attempt rows: counters, never an account, session or audit event (a failed login's
   * `login_failed` event is its durable record). What it spares is a flush wait before the password check:
   * under a login load those waits took up most of the statements' time (IO:WALSync in pg_stat_activity; see
   * README "Benchmarks").
   */
  pgRecordAttempt: 'select regstack_record_attempt($1, $2, $3, $4) as n',
  /** PostgreSQL: a try recorded and counted (`regstack_record_try`, db/routines.ts), in one round trip (R17). */
  pgRecordTry: 'select regstack_record_try($1, $2, $3, $4, $5, $6) as r',
  /** PostgreSQL: `pgRecordTry` and the account read, in one statement. */
  pgReserve: `select a.r, ${USER_COLUMNS} from (select regstack_record_try($1, $2, $3, $4, $5, $6) as r) a
  left join users on users.email = $7`,
  /** PostgreSQL: a try turned into a failure in one statement, so the slot is never free in between (R17). */
  pgSettleFailure: `with withdrawn as (delete from login_attempts where id = $1)
  insert into login_attempts (id, "key", created_at) values ($2, $3, $4)`,
  /**
   * PostgreSQL: a successful login's writes as one statement (login.repository.ts has them step by step). Its
   * parts see one snapshot and touch different tables, and the statement is atomic on its own. The session
   * starts at the login's instant or one millisecond after the user's latest bulk cutoff, whichever is later
   * (`sessionStart`); `greatest` ignores the null of "no cutoff".
   */
  pgLoginSuccess: `with stamped as (update users set last_login_at = $2, hashed_password = coalesce($3, hashed_password),
      updated_at = case when $3 is null then updated_at else $2 end
    where id = $4 and hashed_password = $17 returning id),
  cleared as (delete from login_attempts where ("key" = $1 or id = $16) and exists (select 1 from stamped)),
  opened as (insert into sessions (id, user_id, created_at, last_seen_at, expires_at, user_agent, ip)
    select $5, $4, t.at, t.at, t.at + $6::float8 * interval '1 millisecond', $7, $8
    from stamped, (select greatest($2::timestamptz, (select max(revoked_at) + interval '1 millisecond'
      from revocations where user_id = $4 and session_id is null)) as at) t
    returning created_at, expires_at),
  audited as (insert into audit_events (id, event, actor_id, subject_id, ip, user_agent, details, created_at)
    select $9, $10, $11, $12, $13, $14, $15, $2 from stamped)
select created_at, expires_at from opened`,
} as const;

const auditParams = (data: NewAuditEvent, now: Date) =>
  [
    newId(now.getTime()),
    data.event,
    data.actorId ?? null,
    data.subjectId ?? null,
    data.ip ?? null,
    data.userAgent ?? null,
    data.details ? JSON.stringify(data.details) : null,
  ] as const;

const sessionParams = (sql: SqlRunner, row: Session) => [
  row.id,
  row.userId,
  sql.value(row.createdAt),
  sql.value(row.lastSeenAt),
  sql.value(row.expiresAt),
  row.userAgent,
  row.ip,
];

/** The user's latest bulk cutoff from `SQL.cutoff`'s rows (`max` of no rows is null). */
const cutoffFrom = (sql: SqlRunner, rows: Record<string, unknown>[]): Date | null => {
  const cutoff = rows[0]?.cutoff;
  return cutoff === null || cutoff === undefined ? null : sql.date(cutoff);
};

/** `repos` with its hot methods replaced by prepared statements on `sql`, in `em`'s transaction if any. */
export function withSqlHotPath<R extends HotPathRepositories>(repos: R, em: EntityManager, sql: SqlRunner): R {
  const v = sql.value;
  // PostgreSQL: unflushed commits only for statements that are their own transaction (inside `atomically` the
  // setting would reach the caller's commit). SQLite's `transaction` makes the same distinction itself.
  const pgUnflushed = !sql.transaction && !em.isInTransaction();
  const count = async (key: string, windowStart: Date) =>
    Number((await sql.all(em, SQL.countAttempts, [key, v(windowStart)]))[0]?.n ?? 0);
  // SQLite, inside one transaction: the attempt's row, then the window's count. SQLite has one writer at a time,
  // so no other attempt lands between the two (R17).
  const recordAndCountIn = (query: SyncQuery, id: string, key: string, now: Date, windowStart: Date) => {
    query(SQL.insertAttempt, [id, key, v(now)]);
    return Number(query(SQL.countAttempts, [key, v(windowStart)])[0]?.n ?? 0);
  };
  // SQLite, inside one transaction: the try's row, then the window's counts (the same argument as above).
  const recordTryIn = (query: SyncQuery, w: TryWindow): RecordedTry => {
    query(SQL.insertAttempt, [w.id, w.tryKey, v(w.now)]);
    return triesFrom(query(SQL.countTries, tryCountParams(sql, w))[0], w.id);
  };
  // PostgreSQL: the try and its counts in one statement; inside a caller's transaction, the steps in order.
  const pgTryParams = (w: TryWindow) => [w.id, w.tryKey, w.failKey, w.now, w.windowStart, w.staleBefore];
  const hot: R = {
    ...repos,
    loginAttempts: {
      ...repos.loginAttempts,
      async recordAndCount(key, now, windowStart) {
        const id = newId(now.getTime());
        if (sql.transaction) {
          const record = (query: SyncQuery) => ({ id, count: recordAndCountIn(query, id, key, now, windowStart) });
          return sql.transaction(em, record, { unflushed: true });
        }
        if (pgUnflushed) {
          const rows = await sql.all(em, SQL.pgRecordAttempt, [id, key, now, windowStart]);
          return { id, count: attemptCount(rows[0]) };
        }
        // Inside a caller's transaction: two statements, in this order (see login-attempt.repository.ts): the
        // count must see this row.
        await sql.run(em, SQL.insertAttempt, [id, key, v(now)]);
        return { id, count: await count(key, windowStart) };
      },
      async recordTry(w) {
        if (sql.transaction) return sql.transaction(em, (query) => recordTryIn(query, w), { unflushed: true });
        if (pgUnflushed) return pgTries((await sql.all(em, SQL.pgRecordTry, pgTryParams(w)))[0], w.id);
        await sql.run(em, SQL.insertAttempt, [w.id, w.tryKey, v(w.now)]);
        return triesFrom((await sql.all(em, SQL.countTries, tryCountParams(sql, w)))[0], w.id);
      },
      async settleFailure(tryId, failKey, at) {
        const failure = [newId(at.getTime()), failKey, v(at)];
        if (sql.transaction) {
          await sql.transaction(em, (query) => {
            query(SQL.insertAttempt, failure);
            query(SQL.removeAttempt, [tryId]);
          });
        } else await sql.run(em, SQL.pgSettleFailure, [tryId, ...failure]);
      },
      countSince: count,
      async remove(id) {
        await sql.run(em, SQL.removeAttempt, [id]);
      },
      clear: (key) => sql.run(em, SQL.clearAttempts, [key]),
    },
    users: {
      ...repos.users,
      async findCredentialsByEmail(email): Promise<User | null> {
        return credentialsFrom(sql, (await sql.all(em, SQL.credentialsByEmail, [email]))[0]);
      },
      async recordLogin(userId, now) {
        await sql.run(em, SQL.recordLogin, [v(now), userId]);
      },
    },
    revocations: {
      ...repos.revocations,
      async cutoffFor(userId) {
        return cutoffFrom(sql, await sql.all(em, SQL.cutoff, [userId]));
      },
    },
    sessions: {
      ...repos.sessions,
      async create(data, now) {
        const row = newSessionRow(data, now);
        await sql.run(em, SQL.insertSession, sessionParams(sql, row));
        return row;
      },
      async touch(id, now) {
        await sql.run(em, SQL.touchSession, [v(now), id]);
      },
    },
    auditEvents: {
      ...repos.auditEvents,
      async record(data, now) {
        await sql.run(em, SQL.insertAudit, [...auditParams(data, now), v(now)]);
      },
    },
    logins: {
      async reserve(window, email) {
        if (sql.transaction) {
          const reserve = (query: SyncQuery) => ({
            ...recordTryIn(query, window),
            user: credentialsFrom(sql, query(SQL.credentialsByEmail, [email])[0]),
          });
          return sql.transaction(em, reserve, { unflushed: true });
        }
        if (!pgUnflushed) return reserveStepByStep(hot, window, email);
        const row = (await sql.all(em, SQL.pgReserve, [...pgTryParams(window), email]))[0];
        return { ...pgTries(row, window.id), user: row?.id === null || !row ? null : credentialsFrom(sql, row) };
      },
      recordSuccess: (s) =>
        sql.transaction ? loginInTransaction(sql, sql.transaction, em, s) : loginInOneStatement(sql, em, s),
    },
  };
  return hot;
}

/** `regstack_record_attempt`'s count; anything else fails the attempt rather than admit it uncounted (R17). */
function attemptCount(row: Record<string, unknown> | undefined): number {
  const count = Number(row?.n);
  if (!Number.isInteger(count) || count < 1) throw new Error('login: the attempt count is missing');
  return count;
}

/** `SQL.countTries`'s parameters: the failure key, the two keys, the window's start, the try key and staleness. */
function tryCountParams(sql: SqlRunner, w: TryWindow): unknown[] {
  return [w.failKey, w.tryKey, w.failKey, sql.value(w.windowStart), w.tryKey, sql.value(w.staleBefore)];
}

/** A try's counts from a row of `SQL.countTries`; missing or malformed counts fail the try (R17). */
function triesFrom(row: Record<string, unknown> | undefined, id: string): RecordedTry {
  return checkedTries(id, row?.total, row?.failures);
}

/** A try's counts from `regstack_record_try`'s JSON (`r`). */
function pgTries(row: Record<string, unknown> | undefined, id: string): RecordedTry {
  const r = (row?.r ?? null) as { total?: unknown; failures?: unknown } | null;
  return checkedTries(id, r?.total, r?.failures);
}

function checkedTries(id: string, totalValue: unknown, failuresValue: unknown): RecordedTry {
  const total = Number(totalValue);
  const failures = Number(failuresValue);
  // The try itself is counted, so a total below 1 means the counts are not what they claim to be.
  if (!Number.isInteger(total) || total < 1 || !Number.isInteger(failures) || failures < 0 || failures >= total + 1) {
    throw new Error('login: the try counts are missing');
  }
  return { id, total, failures };
}

/**
 * A `users` row as the entity with its hash. Like the entity's `.hidden()` hash, the hash is readable but never
 * serialized or spread into a DTO by accident.
 */
function credentialsFrom(sql: SqlRunner, row: Record<string, unknown> | undefined): User | null {
  if (!row) return null;
  return Object.defineProperty(userFromRow(sql, row), 'hashedPassword', {
    value: (row.hashed_password as string | null) ?? null,
    enumerable: false,
  });
}

/** SQLite: the steps of `recordLoginStepByStep`, run synchronously in one transaction (the cutoff read included). */
function loginInTransaction(
  sql: SqlRunner,
  transaction: NonNullable<SqlRunner['transaction']>,
  em: EntityManager,
  s: LoginSuccess,
): Promise<Session | null> {
  const v = sql.value;
  return transaction(em, (query) => {
    // Only over the hash the password was checked against (R68); SQLite has one writer, so nothing lands between.
    if (query(SQL.storedHash, [s.userId])[0]?.hashed_password !== s.verifiedHash) return null;
    query(SQL.clearAttempts, [s.attemptsKey]);
    query(SQL.removeAttempt, [s.tryId]);
    if (s.upgradedHash) query(SQL.upgradeHash, [s.upgradedHash, v(s.now), s.userId]);
    const start = sessionStart(s.now, cutoffFrom(sql, query(SQL.cutoff, [s.userId])));
    const row = newSessionRow(
      { ...s.session, userId: s.userId, expiresAt: new Date(start.getTime() + s.session.ttlMs) },
      start,
    );
    query(SQL.insertSession, sessionParams(sql, row));
    query(SQL.recordLogin, [v(s.now), s.userId]);
    query(SQL.insertAudit, [...auditParams(s.audit, s.now), v(s.now)]);
    return row;
  });
}

/**
 * PostgreSQL: one round trip (`SQL.pgLoginSuccess`). The stamp updates the user row only while its hash is still
 * the verified one (the row's lock orders it against a reset's); everything else hangs on that row, so a login
 * that a reset overtook writes nothing and returns null.
 */
async function loginInOneStatement(sql: SqlRunner, em: EntityManager, s: LoginSuccess): Promise<Session | null> {
  const rows = await sql.all(em, SQL.pgLoginSuccess, [
    s.attemptsKey,
    s.now,
    s.upgradedHash,
    s.userId,
    s.session.id,
    s.session.ttlMs,
    s.session.userAgent,
    s.session.ip,
    ...auditParams(s.audit, s.now),
    s.tryId,
    s.verifiedHash,
  ]);
  const opened = rows[0];
  if (!opened) return null;
  const createdAt = sql.date(opened.created_at);
  return {
    id: s.session.id,
    userId: s.userId,
    createdAt,
    lastSeenAt: createdAt,
    expiresAt: sql.date(opened.expires_at),
    userAgent: s.session.userAgent,
    ip: s.session.ip,
  };
}
