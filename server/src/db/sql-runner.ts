/**
 * Prepared SQL on the driver underneath MikroORM (`SqlRunner`), for the few statements on the hot paths — every
 * authenticated call, every login. The statements themselves live beside the repository methods whose contracts
 * they implement (repositories/*.repository.ts); this file only runs them, on SQLite (better-sqlite3, statements
 * cached per text) and PostgreSQL (named prepared statements), in the caller's transaction when there is one.
 */
import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import type { PgPool } from './postgres-pool.ts';
import { retryWhileBusy } from './sqlite-busy.ts';

/**
 * Prepared SQL on the driver underneath MikroORM, for the few statements on the hot paths (every
 * authenticated call, every login). MikroORM inlines every parameter into the SQL text, so each of its
 * queries is parsed and planned anew — on SQLite that `prepare` was most of an authenticated call. Here a
 * statement is prepared once per text and run with bound parameters: better-sqlite3 statements cached per
 * text, PostgreSQL named statements. Writes and reads go through the same connection discipline as the ORM:
 * inside `Storage.atomically` they run in that transaction; outside it on SQLite they wait for the one
 * connection like any ORM query (never inside another request's open transaction).
 *
 * SQL is written once, portable between SQLite and PostgreSQL, with `?` placeholders; values go through
 * `value()` (dates as the column type stores them, booleans as 0/1 on SQLite) and come back through `date()`.
 */
export interface SqlRunner {
  /** Which SQL the runner speaks, for the few statements that must differ (binding a list of ids). */
  readonly kind: 'sqlite' | 'postgresql';
  /** The rows a query returns. `em` decides the transaction: its own, or none. */
  all(em: EntityManager, sql: string, params: readonly unknown[]): Promise<Record<string, unknown>[]>;
  /** Runs a write; resolves to the number of rows it changed. */
  run(em: EntityManager, sql: string, params: readonly unknown[]): Promise<number>;
  /** A parameter as this driver binds it. */
  value(v: Date | boolean | string | number | null): unknown;
  /** A datetime column's value as a Date. */
  date(v: unknown): Date;
  /**
   * SQLite only: runs `work` synchronously as one transaction on the connection (a savepoint inside `em`'s
   * transaction, if any). Nothing else can interleave, so a read and the writes it decides are atomic.
   * `query` runs one statement and returns its rows (none for a write).
   *
   * `unflushed`: when the transaction is its own (not a savepoint in `em`'s), its commit does not wait for the
   * disk — on a FULL connection, `synchronous = NORMAL` for this commit, then FULL again (a NORMAL connection
   * already commits that way). In WAL mode that
   * keeps the database consistent; an OS crash or power cut may lose the commit. For attempt counters only
   * (login-attempt.repository.ts); the next flushed commit makes it durable with everything before it.
   *
   * The transaction begins IMMEDIATE, so a lock another process holds stops it before `work` runs; it is then
   * begun again on a timer (R71). `work` must act only through `query` and its return value: should its commit
   * fail and roll back, it may run again.
   */
  transaction?<T>(em: EntityManager, work: (query: SyncQuery) => T, options?: { unflushed?: boolean }): Promise<T>;
}

export type SyncQuery = (sql: string, params: readonly unknown[]) => Record<string, unknown>[];

/** SQLite's `synchronous` levels regstack offers: wait for the disk at every commit, or only at checkpoints. */
export type SqliteSynchronous = 'full' | 'normal';

/** The parts of Kysely (under MikroORM) and better-sqlite3 this file relies on (structural: no import of either). */
interface KyselyConnection {
  executeQuery(query: { sql: string; parameters: readonly unknown[]; queryId?: unknown }): Promise<{
    rows: Record<string, unknown>[];
    numAffectedRows?: bigint;
  }>;
}
export interface KyselyLike {
  getExecutor(): { provideConnection<T>(consumer: (connection: KyselyConnection) => Promise<T>): Promise<T> };
}
interface BetterSqliteStatement {
  /** Whether the statement returns rows. */
  readonly reader: boolean;
  all(...params: unknown[]): Record<string, unknown>[];
  run(...params: unknown[]): { changes: number };
}
export interface BetterSqliteDatabase {
  prepare(sql: string): BetterSqliteStatement;
  transaction<T>(work: () => T): { (): T; immediate(): T };
}

/** The Kysely transaction `em` is in, if any. */
function transactionOf(em: EntityManager): KyselyLike | undefined {
  return (em.getTransactionContext() as KyselyLike | undefined) ?? undefined;
}

/**
 * SQLite: one better-sqlite3 connection; statements cached per text; the ORM's connection lock respected.
 * `synchronous`: the connection's level, as `openOrm` set it; `unflushed` transactions only change FULL.
 */
export function sqliteRunner(
  connection: { withConnection<T>(work: () => Promise<T>): Promise<T> },
  database: BetterSqliteDatabase,
  synchronous: SqliteSynchronous,
  busyTimeoutMs: number,
): SqlRunner {
  const statements = new Map<string, BetterSqliteStatement>();
  const statement = (sql: string) => {
    let s = statements.get(sql);
    if (!s) {
      s = database.prepare(sql);
      statements.set(sql, s);
    }
    return s;
  };
  // Inside a transaction the connection is already this unit of work's (the transaction holds it, and its BEGIN
  // IMMEDIATE holds the write lock); outside, wait for it like any ORM query, so a statement never lands inside
  // another request's open transaction. Outside, a statement or transaction that met another process's lock
  // (SQLITE_BUSY at its first step: nothing changed) is tried again on a timer, the connection given up meanwhile
  // (sqlite-busy.ts, R71).
  const onConnection = <T>(em: EntityManager, work: () => T): Promise<T> =>
    transactionOf(em)
      ? Promise.resolve().then(work)
      : retryWhileBusy(busyTimeoutMs, () => connection.withConnection(async () => work()));
  return {
    kind: 'sqlite',
    all: (em, sql, params) => onConnection(em, () => statement(sql).all(...params)),
    run: (em, sql, params) => onConnection(em, () => statement(sql).run(...params).changes),
    transaction: (em, work, options) =>
      onConnection(em, () => {
        // IMMEDIATE: the write lock is taken at BEGIN, before `work` runs (a savepoint inside `em`'s transaction).
        const run = () =>
          database
            .transaction(() =>
              work((sql, params) => {
                const s = statement(sql);
                if (s.reader) return s.all(...params);
                s.run(...params);
                return [];
              }),
            )
            .immediate();
        // NORMAL already commits without waiting; inside `em`'s transaction the caller's commit decides.
        if (!options?.unflushed || synchronous === 'normal' || transactionOf(em)) return run();
        // The connection is this call's alone until it returns (above), so no other commit sees the change.
        statement('pragma synchronous = normal').run();
        try {
          return run();
        } finally {
          statement('pragma synchronous = full').run();
        }
      }),
    // MikroORM stores SQLite datetimes as epoch milliseconds and booleans as 0/1.
    value: (v) => (v instanceof Date ? v.getTime() : typeof v === 'boolean' ? (v ? 1 : 0) : v),
    date: (v) => (v instanceof Date ? v : new Date(Number(v))),
  };
}

/**
 * PostgreSQL: prepared statements on the pool; in a transaction, bound parameters on its connection.
 * `?` placeholders become `$1`, `$2`, …; a text may use `$n` itself instead, to bind one value in several places.
 *
 * `named`: each statement is named after a hash of its text (R74), so a name means the same SQL in every process and
 * version — a server connection a pooler hands from one instance to another can never run other SQL under a
 * familiar name. Unnamed (`postgres_prepared_statements = false`), every call parses its text: the form poolers in
 * transaction mode that do not track prepared statements need.
 */
export function postgresRunner(pool: PgPool, options: { named: boolean }): SqlRunner {
  const texts = new Map<string, { name: string | undefined; text: string }>();
  const prepared = (sql: string) => {
    let p = texts.get(sql);
    if (!p) {
      let n = 0;
      const text = sql.replace(/\?/g, () => `$${++n}`);
      const digest = createHash('sha256').update(text).digest('base64url').slice(0, 32);
      p = { name: options.named ? `regstack_${digest}` : undefined, text };
      texts.set(sql, p);
    }
    return p;
  };
  const execute = async (em: EntityManager, sql: string, params: readonly unknown[]) => {
    const { name, text } = prepared(sql);
    const trx = transactionOf(em);
    if (trx) {
      const result = await trx
        .getExecutor()
        .provideConnection((c) => c.executeQuery({ sql: text, parameters: params }));
      return { rows: result.rows, changed: Number(result.numAffectedRows ?? 0) };
    }
    const result = await pool.query(name ? { name, text, values: [...params] } : { text, values: [...params] });
    return { rows: result.rows, changed: result.rowCount ?? 0 };
  };
  return {
    kind: 'postgresql',
    all: async (em, sql, params) => (await execute(em, sql, params)).rows,
    run: async (em, sql, params) => (await execute(em, sql, params)).changed,
    value: (v) => v,
    date: pgDate,
  };
}

/** A timestamptz as MikroORM's type parsers leave it: a Date, or PostgreSQL's text form ("… 18:24:41.921+00"). */
function pgDate(v: unknown): Date {
  if (v instanceof Date) return v;
  return new Date(
    String(v)
      .replace(' ', 'T')
      .replace(/([+-]\d\d)$/, '$1:00'),
  );
}
