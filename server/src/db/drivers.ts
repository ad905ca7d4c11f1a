/**
 * The one file that knows the three database drivers (SPEC §6, STYLE "driver packages appear only in the
 * one file that opens the ORM"). Driver packages are optional peer dependencies, loaded by dynamic import
 * so a SQLite-only host never installs pg or mongodb. Everything that differs between drivers lives here:
 * how to open them, how schema is installed, and how each one reports a unique-index violation. Atomic
 * decisions never depend on a driver: they are inserts under unique keys (claim.entity.ts), because
 * FerretDB 1.x does not apply conditional updates atomically.
 */
import { type EntityManager, type MigrationObject, MikroORM, type Options } from '@mikro-orm/core';
import type { DatabaseTarget } from './database-url.ts';
import { ALL_ENTITIES } from './entities/index.ts';

export interface Dialect {
  /** Whether the error is a unique-index violation, however this driver reports it (R66). */
  isUniqueViolation(err: unknown): boolean;
}

export interface OpenedOrm {
  orm: MikroORM;
  dialect: Dialect;
  installSchema(): Promise<void>;
}

export interface OpenOrmOptions {
  /** MikroORM context name, unique per regstack instance so a host's own ORM never shares it. */
  contextName: string;
  debug?: boolean;
}

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

const sqlDialect: Dialect = { isUniqueViolation: hasUniqueException };

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
    const orm = await MikroORM.init({
      ...common,
      ...(await migrationOptions(sqliteMigrations)),
      driver: SqliteDriver,
      dbName: target.path,
    });
    // WAL lets readers proceed during a write; busy_timeout makes concurrent writers wait for the lock
    // instead of failing with SQLITE_BUSY.
    if (target.path !== ':memory:') await orm.em.fork().getConnection().execute('pragma journal_mode = wal');
    await orm.em.fork().getConnection().execute('pragma busy_timeout = 5000');
    return { orm, dialect: sqlDialect, installSchema: () => migrateUp(orm) };
  }
  if (target.kind === 'postgresql') {
    const { PostgreSqlDriver } = await importDriver('@mikro-orm/postgresql', () => import('@mikro-orm/postgresql'));
    const { postgresqlMigrations } = await import('./migrations/postgresql/index.ts');
    const orm = await MikroORM.init({
      ...common,
      ...(await migrationOptions(postgresqlMigrations)),
      driver: PostgreSqlDriver,
      clientUrl: target.clientUrl,
      dbName: target.dbName,
    });
    return { orm, dialect: sqlDialect, installSchema: () => migrateUp(orm) };
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
  });
  return {
    orm,
    dialect: mongoDialect,
    // Creates missing collections and the unique/secondary indexes; idempotent. No TTL indexes: expiry is
    // always checked in queries and rows are purged by `regstack purge`, so correctness never depends on them
    // (and FerretDB does not implement expireAfterSeconds).
    installSchema: () => orm.schema.create(),
  };
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

export type { EntityManager };
