/**
 * The one file that knows the three database drivers (SPEC §6, STYLE "driver packages appear only in the
 * one file that opens the ORM"). Driver packages are optional peer dependencies, loaded by dynamic import
 * so a SQLite-only host never installs pg or mongodb. Everything that differs between drivers lives here:
 * how to open them, how schema is installed (under a lock, by several instances at once), how each one reports a
 * unique-index violation and an outage (`isDatabaseUnavailable`, R71), and the timeouts that bound every wait. Atomic
 * decisions never depend on a driver: they are inserts under unique keys (claim.entity.ts), because
 * FerretDB 1.x does not apply conditional updates atomically.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { type EntityManager, type MigrationObject, MikroORM, type Options } from '@mikro-orm/core';
import { type DatabaseTarget, DatabaseUrlError, PG_URL_MILLISECOND_PARAMETERS } from './database-url.ts';
import { ALL_ENTITIES, type User } from './entities/index.ts';
import { dropRetiredMongoIndexes } from './mongo-retired-indexes.ts';
import { busyWaitingDialect, type KyselyDialectLike, retryWhileBusy } from './sqlite-busy.ts';
import { startSqliteCheckpointer } from './sqlite-checkpointer.ts';

/** What the per-request authentication check needs, read in one round trip where the driver allows it. */
export interface AuthRow {
  user: User;
  sessionCreatedAt: Date;
  sessionLastSeenAt: Date;
  revoked: boolean;
}

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
   * (sql-hot-path.ts); the next flushed commit makes it durable with everything before it.
   *
   * The transaction begins IMMEDIATE, so a lock another process holds stops it before `work` runs; it is then
   * begun again on a timer (R71). `work` must act only through `query` and its return value: should its commit
   * fail and roll back, it may run again.
   */
  transaction?<T>(em: EntityManager, work: (query: SyncQuery) => T, options?: { unflushed?: boolean }): Promise<T>;
}

export type SyncQuery = (sql: string, params: readonly unknown[]) => Record<string, unknown>[];

export interface Dialect {
  /** Whether the error is a unique-index violation, however this driver reports it (R66). */
  isUniqueViolation(err: unknown): boolean;
  /** Prepared statements on the SQL backends; undefined on MongoDB (the ORM's queries are already native). */
  sql?: SqlRunner;
  /**
   * The hot path of every authenticated call: the live session `sessionId`, its user, and whether any
   * revocation fact covers it (its own, or a bulk cutoff at or after its creation). SQL answers it with one
   * prepared statement, shared by the lookups of one event-loop turn — the same rules as the repositories,
   * spelled once in SQL because the ORM's per-query cost dominated the request (see bench/). Undefined: use
   * the repositories.
   */
  authLookup?(em: EntityManager, sessionId: string, now: Date): Promise<AuthRow | null>;
}

/**
 * Whether the database holds the schema this code needs: on SQL, every migration it ships has run; on MongoDB,
 * every index its entities declare exists. `missing` names what is not there (migration names, or
 * `collection: field,… (unique)` on MongoDB).
 */
export type SchemaState = { current: true } | { current: false; missing: string[] };

export interface OpenedOrm {
  orm: MikroORM;
  dialect: Dialect;
  installSchema(): Promise<void>;
  /** Reads the schema's state without changing anything (no table or collection is created). */
  schemaState(): Promise<SchemaState>;
  /** Closes the ORM and anything opened beside it. */
  close(): Promise<void>;
}

export interface OpenOrmOptions {
  /** MikroORM context name, unique per regstack instance so a host's own ORM never shares it. */
  contextName: string;
  debug?: boolean;
  /** SQLite only: `pragma synchronous` for every commit but the attempt counters' (see `SqlRunner.transaction`). */
  sqliteSynchronous?: SqliteSynchronous;
  /** PostgreSQL only: connections in MikroORM's pool. @default pg-pool's 10 */
  poolSize?: number;
  /** SQLite only: told when the checkpoint thread fails (automatic checkpoints are then back on). */
  onCheckpointerFailure?: (err: unknown) => void;
  /**
   * PostgreSQL: the longest a query waits for a connection (a new one connecting, or a pooled one coming free);
   * MongoDB: for a reachable server, and to connect. The URL's own setting wins. @default DEFAULT_CONNECT_TIMEOUT_MS
   */
  connectTimeoutMs?: number;
  /** PostgreSQL and MongoDB: the longest a statement waits for its answer. @default DEFAULT_QUERY_TIMEOUT_MS */
  queryTimeoutMs?: number;
  /** SQLite: the longest a write waits for another process's lock. @default DEFAULT_SQLITE_BUSY_TIMEOUT_MS */
  sqliteBusyTimeoutMs?: number;
}

/** See `sqlite_busy_timeout_ms` in the configuration. */
export const DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 5000;

/** See `database_connect_timeout_ms` in the configuration. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
/** See `database_query_timeout_ms` in the configuration. */
export const DEFAULT_QUERY_TIMEOUT_MS = 10_000;

/**
 * better-sqlite3 and kysely as @mikro-orm/sqlite loads them (its dependencies, not regstack's): the same modules,
 * so the dialect regstack hands MikroORM is the one it would have built itself.
 */
async function loadSqliteModules(): Promise<{
  Database: new (path: string) => unknown;
  kysely: {
    SqliteDialect: new (config: { database: unknown }) => KyselyDialectLike;
    CompiledQuery: { raw(sql: string): { sql: string } };
  };
}> {
  const fromSqlite = createRequire(createRequire(import.meta.url).resolve('@mikro-orm/sqlite/package.json'));
  const Database = fromSqlite('better-sqlite3') as new (path: string) => unknown;
  const fromSql = createRequire(fromSqlite.resolve('@mikro-orm/sql/package.json'));
  const kysely = await import(pathToFileURL(fromSql.resolve('kysely')).href);
  return { Database, kysely };
}

/** How often the SQLite checkpoint thread copies the WAL into the database file (sqlite-checkpointer.ts). */
const SQLITE_CHECKPOINT_INTERVAL_MS = 1000;

/** SQLite's `synchronous` levels regstack offers: wait for the disk at every commit, or only at checkpoints. */
export type SqliteSynchronous = 'full' | 'normal';

function missingDriver(pkg: string, cause: unknown): Error {
  return new Error(
    `regstack: the database driver package ${pkg} is not installed. Install it next to @regstack/server ` +
      `(pnpm add ${pkg}@7.2.1).`,
    { cause },
  );
}

async function importDriver<T>(pkg: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') throw missingDriver(pkg, err);
    throw err;
  }
}

function hasUniqueException(err: unknown): boolean {
  return (err as { name?: string } | null)?.name === 'UniqueConstraintViolationException';
}

// ── Outages (R71) ────────────────────────────────────────────────────────────────────────────────────────────

/** `Retry-After` of a call refused because the database is unavailable: a retry soon may find it back. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** Socket errors: the server is gone, refuses, resets, or never answers (a `connect` to a missing socket file too). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
]);

/**
 * PostgreSQL SQLSTATEs of an unavailable or overloaded server: class 08 (connection exception), 53 (insufficient
 * resources: too many connections, out of memory or disk), 57P01–57P05 (shutting down, crashed, starting up,
 * idle session timeout), 57014 (statement_timeout cancelled the query) and 55P03 (lock_timeout).
 */
const PG_UNAVAILABLE_STATES = /^(08|53|57P0[1-5]$|57014$|55P03$|40001$|40P01$)/;

/**
 * A transaction PostgreSQL aborted because it conflicted with another — a deadlock (40P01) or a serialization
 * failure (40001). It changed nothing, so `Storage.atomically` runs it again; one that keeps losing answers 503
 * like an outage (in PG_UNAVAILABLE_STATES above), never 500.
 */
export function isTransientConflict(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 8; depth++) {
    const { code, cause } = e as { code?: unknown; cause?: unknown };
    if (code === '40P01' || code === '40001') return true;
    e = cause;
  }
  return false;
}

/** node-postgres's own messages for a connection that ended or a wait that timed out (they carry no code). */
const PG_UNAVAILABLE_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Connection terminated due to connection timeout)/;

/** better-sqlite3: another connection holds the lock (SQLITE_BUSY, SQLITE_LOCKED and their extended codes). */
const SQLITE_UNAVAILABLE_CODES = /^SQLITE_(BUSY|LOCKED)/;

/**
 * The mongodb driver's errors for a server it cannot reach or whose connection broke, and server codes of a node
 * shutting down or stepping down (ShutdownInProgress, InterruptedAtShutdown, NotWritablePrimary, …).
 */
const MONGO_UNAVAILABLE_NAMES =
  /^Mongo(ServerSelection|Network|NetworkTimeout|PoolCleared|WaitQueueTimeout|ServerClosed|TopologyClosed)Error$/;
const MONGO_UNAVAILABLE_CODES = new Set([6, 7, 89, 91, 189, 9001, 10107, 11600, 11602, 13435, 13436]);
/**
 * MikroORM rewraps the mongodb driver's errors as a DriverException named after itself, copying the original's own
 * fields but not its name: a network error is then known by `beforeHandshake` (MongoNetworkError's own field),
 * a failed server selection by its `reason` (a topology description), or by the driver's messages.
 */
const MONGO_UNAVAILABLE_MESSAGES =
  /^(Server selection timed out|connection .* (timed out|closed)$|Timed out while checking out a connection)/;

/**
 * Whether `err` (or what it wraps) says the database is unavailable — down, refusing, resetting, frozen past a
 * timeout, shutting down, or locked by another process — rather than that the request or the code is wrong. Such
 * a failure is a 503 with `Retry-After`, never a 500 (R71): nothing was decided, and the same call may succeed
 * once the database is back. Driver knowledge stays here; the tRPC layer only asks this question.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const seen = new Set<unknown>();
  const visit = (e: unknown, depth: number): boolean => {
    if (typeof e !== 'object' || e === null || seen.has(e) || depth > 8) return false;
    seen.add(e);
    const x = e as {
      code?: unknown;
      name?: unknown;
      message?: unknown;
      syscall?: unknown;
      errors?: unknown;
      cause?: unknown;
    };
    const code = x.code;
    if (typeof code === 'string') {
      if (NETWORK_CODES.has(code)) return true;
      if (code === 'ENOENT' && x.syscall === 'connect') return true;
      if (/^[0-9A-Z]{5}$/.test(code) && PG_UNAVAILABLE_STATES.test(code)) return true;
      if (SQLITE_UNAVAILABLE_CODES.test(code)) return true;
    }
    if (typeof code === 'number' && MONGO_UNAVAILABLE_CODES.has(code) && /^Mongo/.test(String(x.name))) return true;
    if (typeof x.name === 'string' && MONGO_UNAVAILABLE_NAMES.test(x.name)) return true;
    if (x.name === 'SqliteBusyTimeoutError') return true;
    if (typeof (e as { beforeHandshake?: unknown }).beforeHandshake === 'boolean') return true;
    const reason = (e as { reason?: { servers?: unknown } }).reason;
    if (typeof reason === 'object' && reason !== null && reason.servers instanceof Map) return true;
    if (typeof x.message === 'string' && PG_UNAVAILABLE_MESSAGES.test(x.message)) return true;
    if (typeof x.message === 'string' && MONGO_UNAVAILABLE_MESSAGES.test(x.message)) return true;
    if (Array.isArray(x.errors) && x.errors.some((inner) => visit(inner, depth + 1))) return true;
    return visit(x.cause, depth + 1);
  };
  return visit(err, 0);
}

// ── Prepared statements under MikroORM (SQL backends) ───────────────────────────────────────────────────────

/** The parts of MikroORM's SQL connection and Kysely this file relies on (structural: no Kysely import). */
interface KyselyConnection {
  executeQuery(query: { sql: string; parameters: readonly unknown[]; queryId?: unknown }): Promise<{
    rows: Record<string, unknown>[];
    numAffectedRows?: bigint;
  }>;
}
interface KyselyLike {
  getExecutor(): { provideConnection<T>(consumer: (connection: KyselyConnection) => Promise<T>): Promise<T> };
}
interface SqlConnectionLike {
  getClient(): KyselyLike;
  getNativeClient(): Promise<unknown>;
}
interface BetterSqliteStatement {
  /** Whether the statement returns rows. */
  readonly reader: boolean;
  all(...params: unknown[]): Record<string, unknown>[];
  run(...params: unknown[]): { changes: number };
}
interface BetterSqliteDatabase {
  prepare(sql: string): BetterSqliteStatement;
  transaction<T>(work: () => T): { (): T; immediate(): T };
}
interface PgPool {
  /** The client class the pool connects with (node-postgres's). */
  readonly Client: new (
    options: Record<string, unknown>,
  ) => PgClient;
  query(config: { name: string; text: string; values: unknown[] }): Promise<{
    rows: Record<string, unknown>[];
    rowCount: number | null;
  }>;
  /** pg-pool keeps its options here, with `password` not enumerable (so it never shows up in a log). */
  readonly options: Record<string, unknown> & { password?: unknown };
  end(): Promise<void>;
  on(event: 'error', listener: (err: Error) => void): unknown;
  connect(...args: unknown[]): Promise<PgClient> | undefined;
}

interface PgClient {
  connect(): Promise<void>;
  /** Set by pg-pool at each checkout. */
  release?: (err?: unknown) => void;
  query(text: string, values?: unknown[]): Promise<unknown>;
  end(): Promise<void>;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

/** A transaction's control statements, whose failure leaves the connection's transaction state unknown. */
const TRANSACTION_CONTROL = /^\s*(begin|start transaction|commit|rollback|savepoint|release)\b/i;

/**
 * PostgreSQL: a connection whose BEGIN, COMMIT or ROLLBACK failed goes back to the pool as broken, and the pool
 * drops it (R71: an outage must not use up the pool for good). kysely, under MikroORM, never releases the
 * connection of a transaction whose BEGIN failed, nor of one whose ROLLBACK failed — after an outage (a reset
 * connection, a frozen server past the query timeout) each such transaction would hold one of the pool's
 * connections forever, until none is left and every call waits out the pool timeout though the database is back.
 * The connection's later release by kysely, if any, is then a no-op. Only checkouts through `pool.connect()`
 * without a callback (kysely's) are watched; `pool.query` releases its own.
 */
function releaseBrokenTransactions(pool: PgPool): void {
  const connect = pool.connect.bind(pool);
  const watched = new WeakSet<PgClient>();
  pool.connect = (...args: unknown[]) => {
    if (args.length > 0) return connect(...args);
    return (connect() as Promise<PgClient>).then((client) => {
      if (!watched.has(client)) {
        watched.add(client);
        const query = client.query.bind(client) as (...a: unknown[]) => unknown;
        (client as { query: (...a: unknown[]) => unknown }).query = (...a: unknown[]) => {
          const result = query(...a);
          if (typeof a[0] !== 'string' || !TRANSACTION_CONTROL.test(a[0]) || !(result instanceof Promise))
            return result;
          return result.catch((err: unknown) => {
            const release = client.release;
            client.release = () => {};
            release?.(err instanceof Error ? err : new Error('transaction control failed'));
            throw err;
          });
        };
      }
      return client;
    });
  };
}

/** Connections of the pool that serves only authentication lookups (see `lookupPool`). */
const LOOKUP_POOL_SIZE = 2;

/**
 * PostgreSQL: a small pool of its own for the authentication lookup, beside MikroORM's. Every authenticated call
 * makes that read, and it needs no disk; the pool it would share holds writes waiting for their commit's WAL
 * flush (`IO:WALSync` was most of a login statement's time in pg_stat_activity under load), so when the disk
 * is slow, ten writers can hold all ten shared connections while reads that could answer at once queue behind
 * them. Same server, same credentials and type parsers: MikroORM's pool's own options, with its pool class.
 */
function lookupPool(shared: PgPool): PgPool {
  const Pool = shared.constructor as new (options: Record<string, unknown>) => PgPool;
  const pool = new Pool({ ...shared.options, password: shared.options.password, min: 0, max: LOOKUP_POOL_SIZE });
  // An idle connection the server ends (a restart, an administrator) is an 'error' event on the pool, which
  // drops that connection; unheard, Node would throw it and end the process. A lookup in flight on a broken
  // connection fails on its own, and its callers fail closed (R42).
  pool.on('error', () => {});
  return pool;
}

/**
 * The pool options `database_url` means to node-postgres. MikroORM reads only host, port, user, password and
 * database out of `clientUrl` and drops its query, so `?sslmode=require` would quietly connect in the clear and
 * `?host=/run/postgresql` over TCP to localhost. node-postgres's own parser reads the URL the libpq way (TLS
 * modes and files, a socket directory, application_name, options…); its result goes to the pool over
 * MikroORM's. The password stays MikroORM's: pg-pool keeps that one out of its enumerable options.
 */
async function pgConnectionOptions(
  clientUrl: string,
  timeouts: { connectMs: number; queryMs: number },
): Promise<Record<string, unknown>> {
  const { default: connectionString } = await import('pg-connection-string');
  let parsed: Record<string, unknown>;
  try {
    parsed = { ...connectionString.parseIntoClientConfig(clientUrl) };
  } catch (err) {
    // The parser leaves the URL out of its errors; a TLS file it cannot read names only its path.
    throw new DatabaseUrlError(`database_url: ${(err as Error).message}`);
  }
  // Only what node-postgres reads for a connection (parseDatabaseUrl refused any other query parameter);
  // the libpq-only ones (sslmode…) have become `ssl` by now.
  const options: Record<string, unknown> = {};
  for (const key of PG_CONNECTION_KEYS) {
    const value = parsed[key];
    if (value === undefined || value === null || value === '') continue;
    options[key] = PG_URL_MILLISECOND_PARAMETERS.has(key) ? Number(value) : value;
  }
  // libpq's connect_timeout is in seconds; node-postgres's JavaScript client reads connectionTimeoutMillis, and
  // pg-pool bounds with it both a new connection and the wait for a pooled one to come free (R71: never unbounded).
  // libpq reads 0 as "wait forever"; so does node-postgres.
  options.connectionTimeoutMillis =
    typeof parsed.connect_timeout === 'string' ? Number(parsed.connect_timeout) * 1000 : timeouts.connectMs;
  // A frozen server (it accepts, never answers) would hold a query forever: node-postgres's client-side read
  // timeout ends the wait. The URL's query_timeout, if any, was copied above and wins.
  options.query_timeout ??= timeouts.queryMs;
  return options;
}

/** The connection options node-postgres takes from a parsed URL (the password stays MikroORM's). */
const PG_CONNECTION_KEYS = [
  'host',
  'port',
  'user',
  'database',
  'ssl',
  'sslnegotiation',
  'options',
  'application_name',
  'fallback_application_name',
  'client_encoding',
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'query_timeout',
] as const;

/** MikroORM's SQL connection, seen through the parts above. */
function sqlConnection(orm: MikroORM): SqlConnectionLike {
  return orm.em.getConnection() as unknown as SqlConnectionLike;
}

/** The Kysely transaction `em` is in, if any. */
function transactionOf(em: EntityManager): KyselyLike | undefined {
  return (em.getTransactionContext() as KyselyLike | undefined) ?? undefined;
}

/** SQLite: one better-sqlite3 connection; statements cached per text; the ORM's connection lock respected. */
/** `synchronous`: the connection's level, as `openOrm` set it; `unflushed` transactions only change FULL. */
function sqliteRunner(
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
 * PostgreSQL: named prepared statements on the pool; in a transaction, bound parameters on its connection.
 * `?` placeholders become `$1`, `$2`, …; a text may use `$n` itself instead, to bind one value in several places.
 */
function postgresRunner(pool: PgPool): SqlRunner {
  const texts = new Map<string, { name: string; text: string }>();
  const prepared = (sql: string) => {
    let p = texts.get(sql);
    if (!p) {
      let n = 0;
      p = { name: `regstack_${texts.size + 1}`, text: sql.replace(/\?/g, () => `$${++n}`) };
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
    const result = await pool.query({ name, text, values: [...params] });
    return { rows: result.rows, changed: result.rowCount ?? 0 };
  };
  return {
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

/** A `users` row (snake_case columns, as the driver returns them) as the entity, without its password hash. */
export function userFromRow(sql: SqlRunner, r: Record<string, unknown>, id: unknown = r.id): User {
  return {
    id: String(id),
    email: String(r.email),
    fullName: (r.full_name as string | null) ?? null,
    phoneNumber: (r.phone_number as string | null) ?? null,
    isActive: Boolean(r.is_active),
    isVerified: Boolean(r.is_verified),
    isSuperuser: Boolean(r.is_superuser),
    isMfaEnabled: Boolean(r.is_mfa_enabled),
    createdAt: sql.date(r.created_at),
    updatedAt: sql.date(r.updated_at),
    lastLoginAt: r.last_login_at === null || r.last_login_at === undefined ? null : sql.date(r.last_login_at),
  } as User;
}

function authRowFrom(sql: SqlRunner, r: Record<string, unknown>): AuthRow {
  return {
    user: userFromRow(sql, r, r.s_user_id),
    sessionCreatedAt: sql.date(r.s_created_at),
    sessionLastSeenAt: sql.date(r.s_last_seen_at),
    revoked: Boolean(r.revoked),
  };
}

/** `reader`: what runs authentication lookups outside a transaction (PostgreSQL: its own pool); default `sql`. */
function sqlDialect(sql: SqlRunner, kind: keyof typeof ID_LIST, reader: SqlRunner = sql): Dialect {
  return { isUniqueViolation: hasUniqueException, sql, authLookup: batchedAuthLookup(sql, reader, ID_LIST[kind]) };
}

// Column names are the entities' (users, sessions, revocations); the schema test proves the migrations match.
// Live sessions among a list, each with its user and whether any revocation fact covers it (its own, or a bulk
// cutoff at or after its creation). Expiry is returned, not filtered, so each caller applies its own `now`.
// `ids` is the dialect's way to take a list of ids.
const authLookupManySql = (ids: string) => `select s.id as s_id, s.user_id as s_user_id,
  s.created_at as s_created_at, s.last_seen_at as s_last_seen_at, s.expires_at as s_expires_at,
  u.email, u.full_name, u.phone_number, u.is_active, u.is_verified, u.is_superuser, u.is_mfa_enabled,
  u.created_at, u.updated_at, u.last_login_at,
  exists (select 1 from revocations r where r.user_id = s.user_id
    and (r.id = 's:' || s.id or (r.session_id is null and r.revoked_at >= s.created_at))) as revoked
from sessions s join users u on u.id = s.user_id
where s.id ${ids}`;

/** How each SQL dialect binds a list of session ids: a PostgreSQL array, or JSON unpacked by SQLite's json_each. */
const ID_LIST = {
  sqlite: {
    sql: authLookupManySql('in (select value from json_each(?))'),
    bind: (ids: string[]) => JSON.stringify(ids),
  },
  postgresql: { sql: authLookupManySql('= any(?::varchar[])'), bind: (ids: string[]) => ids },
} as const;

/** Most sessions one batched lookup asks for. */
const MAX_LOOKUP_BATCH = 64;

/**
 * The authentication lookups that arrive in one turn of the event loop share one statement. On PostgreSQL
 * each lookup cost the main thread far more in the `pg` driver and the socket (a write, a read, a parse) than
 * in the row itself; on SQLite each one waited for the connection on its own. Batched, a loaded server does
 * that once per turn instead of once per request. Nothing is cached or delayed beyond that turn: every request
 * still reads the database after it arrived (R37), and a failed batch fails each of its callers (who fail
 * closed, R42). Lookups inside a transaction run alone, in it.
 */
function batchedAuthLookup(sql: SqlRunner, reader: SqlRunner, idList: { sql: string; bind(ids: string[]): unknown }) {
  type Waiter = { sessionId: string; now: Date; resolve(row: AuthRow | null): void; reject(err: unknown): void };
  let pending: Waiter[] = [];

  async function lookUp(unit: EntityManager, batch: Waiter[]): Promise<void> {
    try {
      const ids = [...new Set(batch.map((w) => w.sessionId))];
      const runner = unit.getTransactionContext() ? sql : reader;
      const rows = await runner.all(unit, idList.sql, [idList.bind(ids)]);
      const byId = new Map(rows.map((r) => [String(r.s_id), r]));
      for (const w of batch) {
        const r = byId.get(w.sessionId);
        // A session is live while `expires_at > now`, for this caller's `now`.
        w.resolve(r && sql.date(r.s_expires_at).getTime() > w.now.getTime() ? authRowFrom(sql, r) : null);
      }
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  }

  function flush(unit: EntityManager): void {
    const batch = pending;
    pending = [];
    if (batch.length > 0) void lookUp(unit, batch);
  }

  return (unit: EntityManager, sessionId: string, now: Date): Promise<AuthRow | null> =>
    new Promise((resolve, reject) => {
      const waiter: Waiter = { sessionId, now, resolve, reject };
      // Inside a transaction: alone, on that transaction's connection.
      if (unit.getTransactionContext()) return void lookUp(unit, [waiter]);
      pending.push(waiter);
      if (pending.length >= MAX_LOOKUP_BATCH) flush(unit);
      else if (pending.length === 1) setImmediate(() => flush(unit));
    });
}

const mongoDialect: Dialect = {
  isUniqueViolation(err) {
    if (hasUniqueException(err)) return true;
    // FerretDB reports some unique-index violations (those raised by updates) as an InternalError whose
    // message carries SQLite's or PostgreSQL's text rather than MongoDB's E11000 code.
    const e = err as { code?: number; message?: string } | null;
    if (e?.code === 11000) return true;
    return /UNIQUE constraint failed|duplicate key value violates unique constraint|E11000/.test(e?.message ?? '');
  },
};

const MIGRATIONS_TABLE = 'regstack_migrations';

export async function openOrm(target: DatabaseTarget, options: OpenOrmOptions): Promise<OpenedOrm> {
  const common = {
    entities: [...ALL_ENTITIES],
    contextName: options.contextName,
    // Every unit of work is an explicit fork; a forgotten fork must fail, not share state across requests.
    allowGlobalContext: false,
    debug: options.debug ?? false,
    // Keep the ORM's own startup chatter and any query echo out of the host's logs (R62).
    logger: () => {},
    discovery: { warnWhenNoEntities: false },
  } satisfies Partial<Options>;
  if (target.kind === 'sqlite') {
    const { SqliteDriver } = await importDriver('@mikro-orm/sqlite', () => import('@mikro-orm/sqlite'));
    const { sqliteMigrations } = await import('./migrations/sqlite/index.ts');
    const busyTimeoutMs = options.sqliteBusyTimeoutMs ?? DEFAULT_SQLITE_BUSY_TIMEOUT_MS;
    // The connection MikroORM would open, opened here so that its dialect waits for locks off the event loop
    // (sqlite-busy.ts).
    const { Database, kysely } = await loadSqliteModules();
    const database = new Database(target.path) as BetterSqliteDatabase;
    const dialect = busyWaitingDialect(new kysely.SqliteDialect({ database }), busyTimeoutMs, (sql) =>
      kysely.CompiledQuery.raw(sql),
    );
    const orm = await MikroORM.init({
      ...common,
      ...(await migrationOptions(sqliteMigrations)),
      driver: SqliteDriver,
      dbName: target.path,
      driverOptions: dialect,
    });
    // WAL lets readers proceed during a write. busy_timeout 0: a lock never makes the event loop wait; the dialect
    // tries again on a timer instead (sqlite-busy.ts, R71).
    if (target.path !== ':memory:') await orm.em.fork().getConnection().execute('pragma journal_mode = wal');
    await orm.em.fork().getConnection().execute('pragma busy_timeout = 0');
    // Set explicitly: left at its default, SQLite moves a WAL database to NORMAL as soon as it (re)reads the
    // schema — better-sqlite3 is built with SQLITE_DEFAULT_WAL_SYNCHRONOUS=1 — so the level would depend on
    // whether the file existed.
    const synchronous = options.sqliteSynchronous ?? 'normal';
    await orm.em
      .fork()
      .getConnection()
      .execute(`pragma synchronous = ${synchronous === 'full' ? 'full' : 'normal'}`);
    // A thread that cannot start leaves SQLite's own automatic checkpoints on: slower under a busy disk, not wrong.
    const checkpointer =
      target.path === ':memory:'
        ? null
        : await startSqliteCheckpointer({
            path: target.path,
            intervalMs: SQLITE_CHECKPOINT_INTERVAL_MS,
            exec: (sql) => orm.em.fork().getConnection().execute(sql),
            onFailure: (err) => options.onCheckpointerFailure?.(err),
          }).catch((err: unknown) => {
            options.onCheckpointerFailure?.(err);
            return null;
          });
    return {
      orm,
      dialect: sqlDialect(sqliteRunner(dialect, database, synchronous, busyTimeoutMs), 'sqlite'),
      installSchema: () => migrateUpBesideOthers(orm),
      schemaState: () => migrationState(orm, sqliteMigrations),
      async close() {
        await checkpointer?.stop();
        await orm.close(true);
      },
    };
  }
  if (target.kind === 'postgresql') {
    const { PostgreSqlDriver } = await importDriver('@mikro-orm/postgresql', () => import('@mikro-orm/postgresql'));
    const { postgresqlMigrations } = await import('./migrations/postgresql/index.ts');
    const { recordAttemptRoutine, recordTryRoutine } = await import('./routines.ts');
    const connection = await pgConnectionOptions(target.clientUrl, {
      connectMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      queryMs: options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS,
    });
    const pgOptions = {
      ...common,
      ...(await migrationOptions(postgresqlMigrations)),
      routines: [recordAttemptRoutine, recordTryRoutine],
      driver: PostgreSqlDriver,
      clientUrl: target.clientUrl,
      dbName: target.dbName,
    } satisfies Partial<Options>;
    const orm = await MikroORM.init({
      ...pgOptions,
      driverOptions: connection,
      // Unset: pg-pool's own default of 10, which `database_pool_size`'s default repeats.
      ...(options.poolSize !== undefined && { pool: { max: options.poolSize } }),
    });
    const pool = (await sqlConnection(orm).getNativeClient()) as PgPool;
    releaseBrokenTransactions(pool);
    const lookups = lookupPool(pool);
    return {
      orm,
      dialect: sqlDialect(postgresRunner(pool), 'postgresql', postgresRunner(lookups)),
      installSchema: () =>
        withInstallLock(pool, async () => {
          // Migrations run on an ORM of their own, without the query timeout: building an index over a large
          // table may rightly take longer than any request should wait.
          const { query_timeout: _none, ...untimed } = connection;
          const migrating = await MikroORM.init({
            ...pgOptions,
            contextName: `${options.contextName}-install`,
            driverOptions: untimed,
          });
          try {
            await migrateUp(migrating);
          } finally {
            await migrating.close(true);
          }
        }),
      schemaState: () => migrationState(orm, postgresqlMigrations),
      async close() {
        await lookups.end();
        await orm.close(true);
      },
    };
  }
  const { MongoDriver } = await importDriver('@mikro-orm/mongodb', () => import('@mikro-orm/mongodb'));
  const orm = await MikroORM.init({
    ...common,
    driver: MongoDriver,
    clientUrl: target.clientUrl,
    dbName: target.dbName,
    // MongoDB insists on `_id` for the primary key; SQL keeps the column `id`. Same schema, one rename.
    discovery: {
      ...common.discovery,
      onMetadata(meta) {
        const pk = meta.properties['id' as keyof typeof meta.properties] as { fieldNames: string[] } | undefined;
        if (pk) pk.fieldNames = ['_id'];
      },
    },
    implicitTransactions: false,
    driverOptions: mongoTimeouts(target.clientUrl, options),
  });
  return {
    orm,
    dialect: mongoDialect,
    // Creates missing collections and the unique/secondary indexes; idempotent. No TTL indexes: expiry is
    // always checked in queries and rows are purged by `regstack purge`, so correctness never depends on them
    // (and FerretDB does not implement expireAfterSeconds).
    installSchema: async () => {
      await dropRetiredMongoIndexes(orm);
      await orm.schema.create();
    },
    schemaState: () => mongoIndexState(orm),
    close: () => orm.close(true),
  };
}

/**
 * PostgreSQL schema installation under a session advisory lock (issue 14, item 1): instances started together
 * over one empty database would otherwise race to create the same tables (`duplicate key value violates unique
 * constraint "pg_type_typname_nsp_index"`, `relation "regstack_migrations" already exists`). The lock is held on
 * a connection of its own for the whole migrator run, so a second installer waits, then finds nothing to do.
 * Advisory locks are per database, and the server releases a session's lock when its connection ends — a
 * crashed installer never leaves the lock behind. The wait for the lock itself has no timeout: it lasts as long
 * as the other instance's migrations.
 */
async function withInstallLock(pool: PgPool, work: () => Promise<void>): Promise<void> {
  const { query_timeout: _none, ...untimed } = pool.options;
  const client = new pool.Client({ ...untimed, password: pool.options.password });
  client.on('error', () => {}); // a broken connection fails the query in flight, which fails the install
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1, $2)', INSTALL_LOCK_KEY);
    await work();
  } finally {
    // Ending the session releases the lock, whether or not the unlock could be sent.
    await client.end().catch(() => {});
  }
}

/** The advisory lock key of schema installation: "regs", "schm" as two int4. */
const INSTALL_LOCK_KEY = [0x72656773, 0x7363686d];

/**
 * MongoDB: the driver waits 30 s for a reachable server, and forever for a pooled connection or an answer, by
 * default. The URL's own `serverSelectionTimeoutMS`, `connectTimeoutMS`, `waitQueueTimeoutMS` or `socketTimeoutMS`
 * wins (options are case-insensitive there).
 */
function mongoTimeouts(clientUrl: string, options: OpenOrmOptions): Record<string, number> {
  const query = clientUrl.includes('?') ? clientUrl.slice(clientUrl.indexOf('?') + 1).toLowerCase() : '';
  const inUrl = (name: string) => new URLSearchParams(query).has(name.toLowerCase());
  const connectMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const out: Record<string, number> = {};
  if (!inUrl('serverSelectionTimeoutMS')) out.serverSelectionTimeoutMS = connectMs;
  if (!inUrl('connectTimeoutMS')) out.connectTimeoutMS = connectMs;
  if (!inUrl('waitQueueTimeoutMS')) out.waitQueueTimeoutMS = connectMs;
  if (!inUrl('socketTimeoutMS')) out.socketTimeoutMS = options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  return out;
}

/** The SQL backends' migrator: our committed migrations, listed in code, tracked in `regstack_migrations`. */
async function migrationOptions(migrationsList: MigrationObject[]) {
  const { Migrator } = await import('@mikro-orm/migrations');
  return {
    extensions: [Migrator],
    migrations: { tableName: MIGRATIONS_TABLE, migrationsList, snapshot: false, silent: true },
  };
}

async function migrateUp(orm: MikroORM): Promise<void> {
  await orm.migrator.up();
}

/**
 * SQLite schema installation by several processes at once (issue 14, item 1). Each migration run is one
 * transaction that re-reads the migrations table, so the runs are serialised by SQLite's write lock and a run
 * that lost the race (its tables already created by another process's committed run — "already exists" — or the
 * lock held) changed nothing: it is simply run again, and then finds nothing to do. Only those errors retry,
 * a bounded number of times; any other error is the installer's own.
 */
async function migrateUpBesideOthers(orm: MikroORM): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await migrateUp(orm);
    } catch (err) {
      const raced = /already exists/i.test((err as Error).message ?? '') || isDatabaseUnavailable(err);
      if (!raced || attempt >= INSTALL_ATTEMPTS) throw err;
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt + Math.random() * 50));
    }
  }
}

/** Runs of the SQLite migrator one installation may try while other processes install at the same time. */
const INSTALL_ATTEMPTS = 20;

/**
 * The shipped migrations that the migrations table does not list. Read with a plain query rather than the
 * migrator, whose `getPending()` creates the table when it is missing: a health check must not write.
 */
async function migrationState(orm: MikroORM, shipped: MigrationObject[]): Promise<SchemaState> {
  const connection = orm.em.fork().getConnection();
  let executed: Set<string>;
  try {
    const rows = (await connection.execute(`select name from ${MIGRATIONS_TABLE}`)) as { name: string }[];
    executed = new Set(rows.map((row) => row.name));
  } catch (err) {
    // No migrations table yet (SQLite: "no such table"; PostgreSQL: 42P01): nothing has run.
    const e = err as { code?: string; message?: string };
    if (e.code !== '42P01' && !/no such table/i.test(e.message ?? '')) throw err;
    executed = new Set();
  }
  const missing = shipped.map((m) => m.name).filter((name) => !executed.has(name));
  return missing.length === 0 ? { current: true } : { current: false, missing };
}

/**
 * MongoDB has no migrations: `installSchema` creates the indexes the entities declare, and the unique ones are
 * what keeps one account per email (R66). Each declared index must exist with its keys, in order, and its
 * uniqueness, whatever its name.
 */
async function mongoIndexState(orm: MikroORM): Promise<SchemaState> {
  const connection = orm.em.getConnection();
  await connection.ensureConnection();
  const db = (connection as unknown as MongoConnectionLike).getDb();
  const declared = [...orm.getMetadata().getAll().values()].filter(
    (meta) => meta.collection && !meta.embeddable && !meta.virtual,
  );
  const collections = new Set(declared.map((meta) => meta.collection));
  // The indexes of regstack's collections that exist (a host's own collections in the database are not read).
  const existing = new Set<string>();
  for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
    if (!collections.has(name)) continue;
    for (const index of await db.collection(name).listIndexes().toArray()) {
      existing.add(indexLabel(name, Object.keys(index.key), index.unique === true));
    }
  }
  const missing: string[] = [];
  for (const meta of declared) {
    const fields = (names: unknown) =>
      [names]
        .flat()
        .flatMap((name) => meta.properties[String(name) as keyof typeof meta.properties]?.fieldNames ?? [String(name)]);
    const wanted = [
      ...meta.uniques.map((u) => indexLabel(meta.collection, fields(u.properties), true)),
      ...meta.indexes.map((i) => indexLabel(meta.collection, fields(i.properties), false)),
      ...meta.props.flatMap((prop) => [
        ...(prop.unique ? [indexLabel(meta.collection, prop.fieldNames, true)] : []),
        ...(prop.index ? [indexLabel(meta.collection, prop.fieldNames, false)] : []),
      ]),
    ];
    for (const label of wanted) if (!existing.has(label)) missing.push(label);
  }
  return missing.length === 0 ? { current: true } : { current: false, missing };
}

function indexLabel(collection: string, fields: string[], unique: boolean): string {
  return `${collection}: ${fields.join(',')}${unique ? ' (unique)' : ''}`;
}

/** The part of MikroORM's MongoDB connection read above (the mongodb driver's `Db`). */
interface MongoConnectionLike {
  getDb(): {
    listCollections(filter: object, options: { nameOnly: true }): { toArray(): Promise<{ name: string }[]> };
    collection(name: string): { listIndexes(): { toArray(): Promise<{ key: object; unique?: boolean }[]> } };
  };
}

export type { EntityManager };
