/**
 * Login attempts: the lockout counter (R14–R17, R70) and the per-client limits (R20), one row per event.
 *
 * A password check goes through two kinds of rows on one account (lockout.service.ts):
 * - a *try* (`tryKey`): inserted before the check, while it is in flight;
 * - a *failure* (`failKey`): what a wrong password leaves behind, in place of its try.
 * `recordTry` inserts the try *first* and then counts the window's tries and failures together. Whatever the
 * interleaving, the k-th row to commit sees at least k rows, so of N concurrent checks at most `threshold` see
 * a total within the threshold: a burst cannot buy more password checks than the limit (R17). A failure
 * replaces its try with the failure row written first (`settleFailure`), so a slot never looks free in
 * between. Because failures are told apart from tries, a caller over the total can see whether the account is
 * really locked (failures alone reach the threshold) or only busy with checks in flight, and wait for those
 * instead of being refused (R70). A try older than `staleBefore` was never settled — its process died, or the
 * database failed under it — and nobody got an answer from it: it stops counting, so a lost try can never hold
 * a slot, nor lock anyone out, for longer than that.
 *
 * `recordAndCount` is the single-key form the per-client limits and the mail limiter use (every request counts).
 *
 * Every login runs these, so on the SQL backends each method is also written as prepared statements (`ATTEMPT_SQL`
 * below, db/sql-runner.ts), beside its ORM version: MikroORM inlines parameters and plans every query anew, and a
 * login's statements capped login throughput well below what argon2 allows (bench/, scenario 3). Recording and
 * counting is one round trip there: one SQLite transaction, or PostgreSQL's `regstack_record_try` /
 * `regstack_record_attempt` (db/routines.ts). Each keeps the exact contract of its ORM version — the insert
 * still precedes the count, so R17 holds unchanged; test/src/storage/sql-hot-path.test.ts runs both on the same
 * database and compares.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Dialect } from '../db/dialect.ts';
import { LoginAttemptSchema } from '../db/entities/index.ts';
import { newId } from '../db/ids.ts';
import type { SqlRunner, SyncQuery } from '../db/sql-runner.ts';

/** A try recorded by `recordTry`: its row id, the window's live tries and failures (its own included), and failures. */
export interface RecordedTry {
  id: string;
  total: number;
  failures: number;
}

/** The keys and bounds `recordTry` counts with. */
export interface TryWindow {
  /** The try's row id (chosen by the caller, so it can withdraw a try whose recording failed half-way). */
  id: string;
  tryKey: string;
  failKey: string;
  now: Date;
  /** Rows at or before this instant are outside the window. */
  windowStart: Date;
  /** Tries at or before this instant no longer count (their check never finished). */
  staleBefore: Date;
}

export const ATTEMPT_SQL = {
  insert: 'insert into login_attempts (id, "key", created_at) values (?, ?, ?)',
  count: 'select count(*) as n from login_attempts where "key" = ? and created_at > ?',
  /** A try's window (`recordTry`): live tries and failures, and the failures alone. */
  countTries: `select count(*) as total, coalesce(sum(case when "key" = ? then 1 else 0 end), 0) as failures
    from login_attempts where "key" in (?, ?) and created_at > ? and ("key" <> ? or created_at > ?)`,
  remove: 'delete from login_attempts where id = ?',
  clear: 'delete from login_attempts where "key" = ?',
  /**
   * PostgreSQL, outside a caller's transaction: one attempt ($1 id, $2 key, $3 time) recorded and the window
   * (after $4) counted in one round trip, by `regstack_record_attempt` (db/routines.ts: an advisory lock on the
   * key, then the insert, then the count under a fresh snapshot, so every count includes each attempt committed
   * before it — R17). Its transaction commits without waiting for its WAL flush: `synchronous_commit` off for
   * that transaction, never beyond it. A committed row is visible to every count at once, flushed or not, which
   * is all R17 needs. What a database crash can lose is the last ≈ 3 × `wal_writer_delay` (0.6 s by default) of
   * attempt rows: counters, never an account, session or audit event (a failed login's `login_failed` event is
   * its durable record). What it spares is a flush wait before the password check (docs/benchmarks.md).
   */
  pgRecordAttempt: 'select regstack_record_attempt($1, $2, $3, $4) as n',
  /** PostgreSQL: a try recorded and counted (`regstack_record_try`, db/routines.ts), in one round trip (R17). */
  pgRecordTry: 'select regstack_record_try($1, $2, $3, $4, $5, $6) as r',
  /** PostgreSQL: a try turned into a failure in one statement, so the slot is never free in between (R17). */
  pgSettleFailure: `with withdrawn as (delete from login_attempts where id = $1)
  insert into login_attempts (id, "key", created_at) values ($2, $3, $4)`,
} as const;

/** `pgRecordTry`'s parameters (also the first six of login.repository.ts's `pgReserve`). */
export const pgTryParams = (w: TryWindow) => [w.id, w.tryKey, w.failKey, w.now, w.windowStart, w.staleBefore];

/** SQLite, inside one transaction: the try's row, then the window's counts (one writer: nothing lands between). */
export function recordTryIn(sql: SqlRunner, query: SyncQuery, w: TryWindow): RecordedTry {
  query(ATTEMPT_SQL.insert, [w.id, w.tryKey, sql.value(w.now)]);
  return triesFrom(query(ATTEMPT_SQL.countTries, tryCountParams(sql, w))[0], w.id);
}

/**
 * Whether a statement on `em` is its own transaction on PostgreSQL, and may commit unflushed (inside a caller's
 * transaction the setting would reach the caller's commit). SQLite's `transaction` makes the same distinction.
 */
export const pgUnflushed = (sql: SqlRunner, em: EntityManager) => !sql.transaction && !em.isInTransaction();

export function createLoginAttemptRepository(em: EntityManager, dialect: Dialect) {
  const { sql } = dialect;
  return {
    /** Records one attempt for `key` at `now` and returns its id and the attempts in (windowStart, now]. */
    async recordAndCount(key: string, now: Date, windowStart: Date): Promise<{ id: string; count: number }> {
      const id = newId(now.getTime());
      if (sql) return { id, count: await recordAndCountSql(sql, em, id, key, now, windowStart) };
      await em.insert(LoginAttemptSchema, { id, key, createdAt: now });
      const count = await em.count(LoginAttemptSchema, { key, createdAt: { $gt: windowStart } });
      return { id, count };
    },

    /** Records a try on `w.tryKey`, then counts the window's tries and failures (see the header). */
    async recordTry(w: TryWindow): Promise<RecordedTry> {
      if (sql) return recordTrySql(sql, em, w);
      await em.insert(LoginAttemptSchema, { id: w.id, key: w.tryKey, createdAt: w.now });
      // One read of the window's rows (at most the threshold of failures plus the checks in flight), counted here.
      const rows = await em.find(
        LoginAttemptSchema,
        { key: { $in: [w.tryKey, w.failKey] }, createdAt: { $gt: w.windowStart } },
        { fields: ['key', 'createdAt'], disableIdentityMap: true },
      );
      const stale = w.staleBefore.getTime();
      const live = rows.filter((r) => r.key === w.failKey || r.createdAt.getTime() > stale);
      return { id: w.id, total: live.length, failures: live.filter((r) => r.key === w.failKey).length };
    },

    /**
     * Turns the try `tryId` into a failure on `failKey` at `at`: the failure row first, then the try goes, so
     * the slot is never free in between (R17).
     */
    async settleFailure(tryId: string, failKey: string, at: Date): Promise<void> {
      if (sql) {
        const failure = [newId(at.getTime()), failKey, sql.value(at)];
        if (!sql.transaction) return void (await sql.run(em, ATTEMPT_SQL.pgSettleFailure, [tryId, ...failure]));
        return sql.transaction(em, (query) => {
          query(ATTEMPT_SQL.insert, failure);
          query(ATTEMPT_SQL.remove, [tryId]);
        });
      }
      await em.insert(LoginAttemptSchema, { id: newId(at.getTime()), key: failKey, createdAt: at });
      await em.nativeDelete(LoginAttemptSchema, { id: tryId });
    },

    async countSince(key: string, windowStart: Date): Promise<number> {
      if (sql) return countSql(sql, em, key, windowStart);
      return em.count(LoginAttemptSchema, { key, createdAt: { $gt: windowStart } });
    },

    /** The newest `limit` attempt times in the window, newest first (to compute when a lock lifts). */
    async recentTimes(key: string, windowStart: Date, limit: number): Promise<Date[]> {
      const rows = await em.find(
        LoginAttemptSchema,
        { key, createdAt: { $gt: windowStart } },
        { orderBy: { createdAt: 'desc' }, limit, fields: ['createdAt'] },
      );
      return rows.map((r) => r.createdAt);
    },

    /** Withdraws one recorded attempt or try (a try refused before its check, or one whose password was right). */
    async remove(id: string): Promise<void> {
      if (sql) await sql.run(em, ATTEMPT_SQL.remove, [id]);
      else await em.nativeDelete(LoginAttemptSchema, { id });
    },

    /** Clears the counter for a key (successful login, completed reset: R18). */
    clear(key: string): Promise<number> {
      if (sql) return sql.run(em, ATTEMPT_SQL.clear, [key]);
      return em.nativeDelete(LoginAttemptSchema, { key });
    },

    purgeOlderThan(cutoff: Date): Promise<number> {
      return em.nativeDelete(LoginAttemptSchema, { createdAt: { $lte: cutoff } });
    },
  };
}

export type LoginAttemptRepository = ReturnType<typeof createLoginAttemptRepository>;

// ── The SQL versions ─────────────────────────────────────────────────────────────────────────────────────────

async function countSql(sql: SqlRunner, em: EntityManager, key: string, windowStart: Date): Promise<number> {
  return Number((await sql.all(em, ATTEMPT_SQL.count, [key, sql.value(windowStart)]))[0]?.n ?? 0);
}

/** `recordAndCount`: SQLite in one transaction (one writer), PostgreSQL in one routine call, else two statements. */
async function recordAndCountSql(
  sql: SqlRunner,
  em: EntityManager,
  id: string,
  key: string,
  now: Date,
  windowStart: Date,
): Promise<number> {
  const v = sql.value;
  if (sql.transaction) {
    return sql.transaction(
      em,
      (query) => {
        query(ATTEMPT_SQL.insert, [id, key, v(now)]);
        return Number(query(ATTEMPT_SQL.count, [key, v(windowStart)])[0]?.n ?? 0);
      },
      { unflushed: true },
    );
  }
  if (pgUnflushed(sql, em))
    return attemptCount((await sql.all(em, ATTEMPT_SQL.pgRecordAttempt, [id, key, now, windowStart]))[0]);
  // Inside a caller's transaction: two statements, in this order (see the header): the count must see this row.
  await sql.run(em, ATTEMPT_SQL.insert, [id, key, v(now)]);
  return countSql(sql, em, key, windowStart);
}

/** `recordTry`, the same way. */
async function recordTrySql(sql: SqlRunner, em: EntityManager, w: TryWindow): Promise<RecordedTry> {
  if (sql.transaction) return sql.transaction(em, (query) => recordTryIn(sql, query, w), { unflushed: true });
  if (pgUnflushed(sql, em)) return pgTries((await sql.all(em, ATTEMPT_SQL.pgRecordTry, pgTryParams(w)))[0], w.id);
  await sql.run(em, ATTEMPT_SQL.insert, [w.id, w.tryKey, sql.value(w.now)]);
  return triesFrom((await sql.all(em, ATTEMPT_SQL.countTries, tryCountParams(sql, w)))[0], w.id);
}

/** `regstack_record_attempt`'s count; anything else fails the attempt rather than admit it uncounted (R17). */
function attemptCount(row: Record<string, unknown> | undefined): number {
  const count = Number(row?.n);
  if (!Number.isInteger(count) || count < 1) throw new Error('login: the attempt count is missing');
  return count;
}

/** `ATTEMPT_SQL.countTries`'s parameters: the failure key, the two keys, the window's start, the try key and staleness. */
function tryCountParams(sql: SqlRunner, w: TryWindow): unknown[] {
  return [w.failKey, w.tryKey, w.failKey, sql.value(w.windowStart), w.tryKey, sql.value(w.staleBefore)];
}

/** A try's counts from a row of `ATTEMPT_SQL.countTries`; missing or malformed counts fail the try (R17). */
function triesFrom(row: Record<string, unknown> | undefined, id: string): RecordedTry {
  return checkedTries(id, row?.total, row?.failures);
}

/** A try's counts from `regstack_record_try`'s JSON (`r`). */
export function pgTries(row: Record<string, unknown> | undefined, id: string): RecordedTry {
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
