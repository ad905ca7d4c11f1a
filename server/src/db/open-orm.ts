/**
 * Opening the ORM, per driver (SPEC §6, STYLE "driver packages appear only in the one place that opens the ORM").
 * Driver packages are optional peer dependencies, loaded by dynamic import so a SQLite-only host never installs
 * pg or mongodb. The rest of what differs between drivers has a module each: the URL (database-url.ts), outages
 * (outages.ts), prepared statements (sql-runner.ts), PostgreSQL's pools (postgres-pool.ts), schema state and
 * installation (schema.ts), SQLite's lock waits (sqlite-busy.ts). Atomic decisions never depend on a driver: they
 * are inserts under unique keys (claim.entity.ts), because FerretDB 1.x does not apply conditional updates
 * atomically.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { type EntityManager, MikroORM, type Options } from '@mikro-orm/core';
import { type DatabaseTarget, mongoUrlOptionNames } from './database-url.ts';
import { type Dialect, mongoDialect, sqlDialect } from './dialect.ts';
import { ALL_ENTITIES } from './entities/index.ts';
import { dropRetiredMongoIndexes } from './mongo-retired-indexes.ts';
import type { PgClientClass } from './postgres-failover.ts';
import {
  lookupPool,
  type PgPool,
  pgConnectionOptions,
  releaseBrokenTransactions,
  withInstallLock,
} from './postgres-pool.ts';
import {
  migrateUp,
  migrateUpBesideOthers,
  migrationInventory,
  migrationOptions,
  migrationState,
  mongoIndexInventory,
  mongoIndexState,
  type PendingMigration,
  pendingMigrationStatements,
  type SchemaInventory,
  type SchemaState,
} from './schema.ts';
import {
  type BetterSqliteDatabase,
  type KyselyLike,
  postgresRunner,
  type SqliteSynchronous,
  sqliteRunner,
} from './sql-runner.ts';
import { busyWaitingDialect, type KyselyDialectLike } from './sqlite-busy.ts';
import { startSqliteCheckpointer } from './sqlite-checkpointer.ts';

export interface OpenedOrm {
  orm: MikroORM;
  dialect: Dialect;
  installSchema(): Promise<void>;
  /** Reads the schema's state without changing anything (no table or collection is created). */
  schemaState(): Promise<SchemaState>;
  /** Every shipped migration (SQL) or declared index (MongoDB), applied or pending; reads only. */
  schemaInventory(): Promise<SchemaInventory>;
  /** SQL: the pending migrations and their statements, run nowhere. MongoDB: empty (its units are indexes). */
  pendingMigrations(): Promise<PendingMigration[]>;
  /** Closes the ORM and anything opened beside it. */
  close(): Promise<void>;
}
export interface OpenOrmOptions {
  /** MikroORM context name, unique per regstack instance so a host's own ORM never shares it. */
  contextName: string;
  debug?: boolean;
  /** SQLite only: `pragma synchronous` for every commit but the attempt counters' (see `SqlRunner.transaction`). */
  sqliteSynchronous?: SqliteSynchronous;
  /** PostgreSQL only: named (true) or unnamed prepared statements for the per-request SQL. @default true */
  postgresPreparedStatements?: boolean;
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

/**
 * node-postgres's `Client` as @mikro-orm/postgresql loads it (its dependency, not regstack's): the class its pool
 * would have connected with, under a host list's failover client (postgres-failover.ts).
 */
function loadPgClient(): PgClientClass {
  const fromPostgresql = createRequire(createRequire(import.meta.url).resolve('@mikro-orm/postgresql/package.json'));
  return (fromPostgresql('pg') as { Client: PgClientClass }).Client;
}

/** How often the SQLite checkpoint thread copies the WAL into the database file (sqlite-checkpointer.ts). */
const SQLITE_CHECKPOINT_INTERVAL_MS = 1000;

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

/** The parts of MikroORM's SQL connection used here (structural). */
interface SqlConnectionLike {
  getClient(): KyselyLike;
  getNativeClient(): Promise<unknown>;
}

/** MikroORM's SQL connection, seen through the parts above. */
function sqlConnection(orm: MikroORM): SqlConnectionLike {
  return orm.em.getConnection() as unknown as SqlConnectionLike;
}

export function openOrm(target: DatabaseTarget, options: OpenOrmOptions): Promise<OpenedOrm> {
  if (target.kind === 'sqlite') return openSqlite(target.path, options);
  if (target.kind === 'postgresql') return openPostgres(target, options);
  return openMongo(target, options);
}

/** The options every driver's ORM shares. */
function commonOptions(options: OpenOrmOptions) {
  return {
    entities: [...ALL_ENTITIES],
    contextName: options.contextName,
    // Every unit of work is an explicit fork; a forgotten fork must fail, not share state across requests.
    allowGlobalContext: false,
    debug: options.debug ?? false,
    // Keep the ORM's own startup chatter and any query echo out of the host's logs (R62).
    logger: () => {},
    discovery: { warnWhenNoEntities: false },
  } satisfies Partial<Options>;
}

async function openSqlite(path: string, options: OpenOrmOptions): Promise<OpenedOrm> {
  const common = commonOptions(options);
  const { SqliteDriver } = await importDriver('@mikro-orm/sqlite', () => import('@mikro-orm/sqlite'));
  const { sqliteMigrations } = await import('./migrations/sqlite/index.ts');
  const busyTimeoutMs = options.sqliteBusyTimeoutMs ?? DEFAULT_SQLITE_BUSY_TIMEOUT_MS;
  // The connection MikroORM would open, opened here so that its dialect waits for locks off the event loop
  // (sqlite-busy.ts).
  const { Database, kysely } = await loadSqliteModules();
  const database = new Database(path) as BetterSqliteDatabase;
  const dialect = busyWaitingDialect(new kysely.SqliteDialect({ database }), busyTimeoutMs, (sql) =>
    kysely.CompiledQuery.raw(sql),
  );
  const orm = await MikroORM.init({
    ...common,
    ...(await migrationOptions(sqliteMigrations)),
    driver: SqliteDriver,
    dbName: path,
    driverOptions: dialect,
  });
  // WAL lets readers proceed during a write. busy_timeout 0: a lock never makes the event loop wait; the dialect
  // tries again on a timer instead (sqlite-busy.ts, R71).
  if (path !== ':memory:') await orm.em.fork().getConnection().execute('pragma journal_mode = wal');
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
    path === ':memory:'
      ? null
      : await startSqliteCheckpointer({
          path: path,
          intervalMs: SQLITE_CHECKPOINT_INTERVAL_MS,
          exec: (sql) => orm.em.fork().getConnection().execute(sql),
          onFailure: (err) => options.onCheckpointerFailure?.(err),
        }).catch((err: unknown) => {
          options.onCheckpointerFailure?.(err);
          return null;
        });
  return {
    orm,
    dialect: sqlDialect(sqliteRunner(dialect, database, synchronous, busyTimeoutMs)),
    installSchema: () => migrateUpBesideOthers(orm),
    schemaState: () => migrationState(orm, sqliteMigrations),
    schemaInventory: () => migrationInventory(orm, sqliteMigrations),
    pendingMigrations: () => pendingMigrationStatements(orm, sqliteMigrations),
    async close() {
      await checkpointer?.stop();
      await orm.close(true);
    },
  };
}

async function openPostgres(
  target: Extract<DatabaseTarget, { kind: 'postgresql' }>,
  options: OpenOrmOptions,
): Promise<OpenedOrm> {
  const common = commonOptions(options);
  const { PostgreSqlDriver } = await importDriver('@mikro-orm/postgresql', () => import('@mikro-orm/postgresql'));
  const { postgresqlMigrations } = await import('./migrations/postgresql/index.ts');
  const { recordAttemptRoutine, recordTryRoutine } = await import('./routines.ts');
  const connection = await pgConnectionOptions(
    target.clientUrl,
    {
      connectMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      queryMs: options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS,
    },
    target.sessionTarget ? { sessionTarget: target.sessionTarget, Base: loadPgClient() } : undefined,
  );
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
  const statements = { named: options.postgresPreparedStatements ?? true };
  return {
    orm,
    dialect: sqlDialect(postgresRunner(pool, statements), postgresRunner(lookups, statements)),
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
    schemaInventory: () => migrationInventory(orm, postgresqlMigrations),
    pendingMigrations: () => pendingMigrationStatements(orm, postgresqlMigrations),
    async close() {
      await lookups.end();
      await orm.close(true);
    },
  };
}

async function openMongo(
  target: Extract<DatabaseTarget, { kind: 'mongodb' }>,
  options: OpenOrmOptions,
): Promise<OpenedOrm> {
  const common = commonOptions(options);
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
    schemaInventory: () => mongoIndexInventory(orm),
    pendingMigrations: async () => [],
    close: () => orm.close(true),
  };
}

/**
 * MongoDB: the driver waits 30 s for a reachable server, and forever for a pooled connection or an answer, by
 * default. The URL's own `serverSelectionTimeoutMS`, `connectTimeoutMS`, `waitQueueTimeoutMS` or `socketTimeoutMS`
 * wins (options are case-insensitive there).
 */
function mongoTimeouts(clientUrl: string, options: OpenOrmOptions): Record<string, number> {
  const named = mongoUrlOptionNames(clientUrl);
  const inUrl = (name: string) => named.has(name.toLowerCase());
  const connectMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const out: Record<string, number> = {};
  if (!inUrl('serverSelectionTimeoutMS')) out.serverSelectionTimeoutMS = connectMs;
  if (!inUrl('connectTimeoutMS')) out.connectTimeoutMS = connectMs;
  if (!inUrl('waitQueueTimeoutMS')) out.waitQueueTimeoutMS = connectMs;
  if (!inUrl('socketTimeoutMS')) out.socketTimeoutMS = options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  return out;
}

export type { EntityManager };
