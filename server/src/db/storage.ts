/**
 * Storage: one opened database for one regstack instance. It owns the MikroORM instance, hands out a fresh
 * entity-manager fork per unit of work (never a shared global one), installs the schema idempotently, and
 * answers health pings. Several Storage objects can live in one process without sharing anything.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EntityManager, MikroORM } from '@mikro-orm/core';
import type { Logger } from '../logger.ts';
import {
  type BackendKind,
  type DatabaseTarget,
  DatabaseUrlError,
  parseDatabaseUrl,
  redactDatabaseUrl,
} from './database-url.ts';
import type { Dialect } from './dialect.ts';
import { openOrm } from './open-orm.ts';
import { isTransientConflict } from './outages.ts';
import type { PendingMigration, SchemaInventory, SchemaState } from './schema.ts';
import type { SqliteSynchronous } from './sql-runner.ts';

/** Runs of one `atomically` unit when the database aborts it for a conflict (a deadlock). */
const CONFLICT_RETRIES = 3;

export interface Storage {
  readonly kind: BackendKind;
  /** The database URL with any password masked, for logs and `regstack doctor`. */
  readonly description: string;
  readonly orm: MikroORM;
  readonly dialect: Dialect;
  /** A new, empty unit of work — or, inside `atomically`, that transaction's. */
  fork(): EntityManager;
  /**
   * Runs `work` so that every repository opened inside it (through `fork()`) writes in one database
   * transaction: all of it commits, or none of it does (R26, R65). On SQLite and PostgreSQL that is a real
   * transaction. MongoDB runs `work` as is: regstack never needs multi-document transactions there (FerretDB
   * has none) — each decision is one single-document write, and flows order their writes so that a crash
   * part-way leaves a safe, retryable state (docs/storage.md, "How regstack stays atomic on every backend").
   * Inside `work`, an expected unique-key conflict must end the work (PostgreSQL aborts the transaction).
   */
  atomically<T>(work: () => Promise<T>): Promise<T>;
  /**
   * Runs `callback` once the surrounding `atomically` work has committed (never if it rolled back), outside
   * the transaction; outside `atomically`, at once. Hooks and worker wake-ups use it, so nothing reacts to a
   * change that may still be undone.
   */
  afterCommit(callback: () => void): void;
  /** Runs migrations (SQL) or creates collections and indexes (MongoDB). Idempotent. */
  installSchema(): Promise<void>;
  /** Whether `installSchema` has nothing left to do; reads only. */
  schemaState(): Promise<SchemaState>;
  /** Every shipped migration (SQL) or declared index (MongoDB), applied or pending; reads only. */
  schemaInventory(): Promise<SchemaInventory>;
  /** SQL: the pending migrations with the statements they would run, run nowhere; MongoDB: none. */
  pendingMigrations(): Promise<PendingMigration[]>;
  /** Throws when the database cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenStorageOptions {
  /** Base directory for relative SQLite paths. @default process.cwd() */
  cwd?: string;
  /** MongoDB: the database when the URL's path names none (`mongodb_database`). @default 'regstack' */
  mongodbDatabase?: string;
  /** MikroORM context name; unique per instance. @default a fresh `regstack-N` */
  contextName?: string;
  debug?: boolean;
  /** SQLite only: see `sqlite_synchronous` in the configuration. @default 'normal' */
  sqliteSynchronous?: SqliteSynchronous;
  /** PostgreSQL only: see `postgres_prepared_statements` in the configuration. @default true */
  postgresPreparedStatements?: boolean;
  /** PostgreSQL only: connections in the main pool (the lookup pool adds at most 2). @default 10 */
  poolSize?: number;
  /** PostgreSQL and MongoDB: see `database_connect_timeout_ms` in the configuration. @default 5000 */
  connectTimeoutMs?: number;
  /** PostgreSQL and MongoDB: see `database_query_timeout_ms` in the configuration. @default 10000 */
  queryTimeoutMs?: number;
  /** SQLite only: see `sqlite_busy_timeout_ms` in the configuration. @default 5000 */
  sqliteBusyTimeoutMs?: number;
  /** Where storage reports trouble it recovers from by itself (a failed SQLite checkpoint thread). */
  logger?: Logger;
}

let instanceCounter = 0;

export async function openStorage(databaseUrl: string, options: OpenStorageOptions = {}): Promise<Storage> {
  const target: DatabaseTarget = parseDatabaseUrl(databaseUrl, options.cwd, options.mongodbDatabase);
  instanceCounter += 1;
  const description = redactDatabaseUrl(databaseUrl);
  const opened = await openOrm(target, {
    contextName: options.contextName ?? `regstack-${instanceCounter}`,
    debug: options.debug ?? false,
    ...(options.sqliteSynchronous ? { sqliteSynchronous: options.sqliteSynchronous } : {}),
    ...(options.poolSize !== undefined && { poolSize: options.poolSize }),
    ...(options.postgresPreparedStatements !== undefined && {
      postgresPreparedStatements: options.postgresPreparedStatements,
    }),
    ...(options.connectTimeoutMs !== undefined && { connectTimeoutMs: options.connectTimeoutMs }),
    ...(options.queryTimeoutMs !== undefined && { queryTimeoutMs: options.queryTimeoutMs }),
    ...(options.sqliteBusyTimeoutMs !== undefined && { sqliteBusyTimeoutMs: options.sqliteBusyTimeoutMs }),
    onCheckpointerFailure: (err) =>
      options.logger?.warn('sqlite checkpoint thread failed; automatic checkpoints are back on', { err }),
  }).catch((err: unknown) => {
    throw unreachable(target.kind, description, err);
  });
  const { orm } = opened;
  // Reached once now, so a wrong or dead `database_url` fails the start within the connect timeout, naming it —
  // not later, in whatever first touches the database (MongoDB's driver connects only on first use).
  try {
    await ping(orm);
  } catch (err) {
    await opened.close().catch(() => {});
    throw unreachable(target.kind, description, err);
  }
  const current = new AsyncLocalStorage<{ em: EntityManager; after: (() => void)[] }>();
  const transactional = target.kind !== 'mongodb';
  return {
    kind: target.kind,
    description,
    orm,
    dialect: opened.dialect,
    fork: () => current.getStore()?.em ?? orm.em.fork({ clear: true, useContext: false }),
    async atomically(work) {
      if (!transactional || current.getStore()) return work();
      // A transaction the database aborted for a conflict (a deadlock) changed nothing: run it again, a few
      // times, after a short random pause. Work inside `atomically` is only database writes and after-commit
      // callbacks (never a hash, a send or a hook), so running it again is safe; the callbacks of a lost run go.
      for (let round = 1; ; round++) {
        const after: (() => void)[] = [];
        try {
          const result = await orm.em
            .fork({ clear: true, useContext: false })
            .transactional((em) => current.run({ em, after }, work));
          for (const callback of after) callback();
          return result;
        } catch (err) {
          if (round >= CONFLICT_RETRIES || !isTransientConflict(err)) throw err;
          await sleep(5 + Math.random() * 20 * round);
        }
      }
    },
    afterCommit(callback) {
      const store = current.getStore();
      if (store) store.after.push(callback);
      else callback();
    },
    installSchema: opened.installSchema,
    schemaState: opened.schemaState,
    schemaInventory: opened.schemaInventory,
    pendingMigrations: opened.pendingMigrations,
    ping: () => ping(orm),
    close: opened.close,
  };
}

async function ping(orm: MikroORM): Promise<void> {
  // MikroORM's MongoDB connection opens on first use, and its check fails until then instead of opening it.
  await orm.em.getConnection().ensureConnection();
  const status = await orm.checkConnection();
  if (!status.ok) throw new Error(`database unreachable: ${status.reason}`, { cause: status.error });
}

const BACKEND_NAMES: Record<BackendKind, string> = { sqlite: 'SQLite', postgresql: 'PostgreSQL', mongodb: 'MongoDB' };

/**
 * The database named by `database_url` could not be opened or reached at start. The message names the setting,
 * the backend and the URL without its password, and the driver's reason (which never holds the password).
 */
export class DatabaseUnreachableError extends Error {
  override readonly name = 'DatabaseUnreachableError';
  readonly code = 'DATABASE_UNREACHABLE';
}

function unreachable(kind: BackendKind, description: string, err: unknown): Error {
  if (err instanceof DatabaseUrlError) return err;
  const reason = err instanceof Error ? err.message : String(err);
  const [what, check] =
    kind === 'sqlite'
      ? [`cannot open the SQLite database ${description}`, 'that its directory exists and is writable']
      : [`cannot reach the ${BACKEND_NAMES[kind]} database at ${description}`, 'that the server is running'];
  return new DatabaseUnreachableError(
    `database_url: ${what} (${reason.replace(/\s+/g, ' ').slice(0, 300)}); check ${check} and that database_url is right`,
    { cause: err },
  );
}
