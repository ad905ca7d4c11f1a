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
import { ALL_ENTITIES, type User } from './entities/index.ts';

/** What the per-request authentication check needs, read in one round trip where the driver allows it. */
export interface AuthRow {
  user: User;
  sessionCreatedAt: Date;
  sessionLastSeenAt: Date;
  revoked: boolean;
}

export interface Dialect {
  /** Whether the error is a unique-index violation, however this driver reports it (R66). */
  isUniqueViolation(err: unknown): boolean;
  /**
   * The hot path of every authenticated call: the live session `sessionId`, its user, and whether any
   * revocation fact covers it (its own, or a bulk cutoff at or after its creation). SQL answers it with one
   * prepared statement — the same rules as the repositories, spelled once in SQL because the ORM's
   * per-query cost dominated the request (see bench/). Undefined: use the repositories.
   */
  authLookup?(em: EntityManager, sessionId: string, now: Date): Promise<AuthRow | null>;
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

// Column names are the entities' (users, sessions, revocations); the schema test proves the migrations match.
const AUTH_LOOKUP_SQL = `select s.user_id as s_user_id, s.created_at as s_created_at, s.last_seen_at as s_last_seen_at,
  u.email, u.full_name, u.phone_number, u.is_active, u.is_verified, u.is_superuser, u.is_mfa_enabled,
  u.created_at, u.updated_at, u.last_login_at,
  exists (select 1 from revocations r where r.user_id = s.user_id
    and (r.id = ? or (r.session_id is null and r.revoked_at >= s.created_at))) as revoked
from sessions s join users u on u.id = s.user_id
where s.id = ? and s.expires_at > ?`;

function sqlAuthLookup(kind: 'sqlite' | 'postgresql') {
  // SQLite keeps datetimes as epoch milliseconds and booleans as 0/1; PostgreSQL returns Date and boolean.
  // PostgreSQL's text form ("2026-11-23 18:24:41.921+00") when the driver does not parse timestamps.
  const toDate = (v: unknown): Date => {
    if (v instanceof Date) return v;
    if (typeof v === 'number' || /^\d+$/.test(String(v))) return new Date(Number(v));
    return new Date(
      String(v)
        .replace(' ', 'T')
        .replace(/([+-]\d\d)$/, '$1:00'),
    );
  };
  const toDateOrNull = (v: unknown): Date | null => (v === null || v === undefined ? null : toDate(v));
  return async (em: EntityManager, sessionId: string, now: Date): Promise<AuthRow | null> => {
    const conn = em.getConnection() as unknown as {
      execute(sql: string, params: unknown[]): Promise<Record<string, unknown>[]>;
    };
    const rows = await conn.execute(AUTH_LOOKUP_SQL, [
      `s:${sessionId}`,
      sessionId,
      kind === 'sqlite' ? now.getTime() : now,
    ]);
    const r = rows[0];
    if (!r) return null;
    const user = {
      id: String(r.s_user_id),
      email: String(r.email),
      fullName: (r.full_name as string | null) ?? null,
      phoneNumber: (r.phone_number as string | null) ?? null,
      isActive: Boolean(r.is_active),
      isVerified: Boolean(r.is_verified),
      isSuperuser: Boolean(r.is_superuser),
      isMfaEnabled: Boolean(r.is_mfa_enabled),
      createdAt: toDate(r.created_at),
      updatedAt: toDate(r.updated_at),
      lastLoginAt: toDateOrNull(r.last_login_at),
    } as User;
    return {
      user,
      sessionCreatedAt: toDate(r.s_created_at),
      sessionLastSeenAt: toDate(r.s_last_seen_at),
      revoked: Boolean(r.revoked),
    };
  };
}

const sqliteDialect: Dialect = { isUniqueViolation: hasUniqueException, authLookup: sqlAuthLookup('sqlite') };
const postgresDialect: Dialect = { isUniqueViolation: hasUniqueException, authLookup: sqlAuthLookup('postgresql') };

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
    return { orm, dialect: sqliteDialect, installSchema: () => migrateUp(orm) };
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
    return { orm, dialect: postgresDialect, installSchema: () => migrateUp(orm) };
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
