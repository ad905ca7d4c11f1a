/**
 * Storage: one opened database for one regstack instance. It owns the MikroORM instance, hands out a fresh
 * entity-manager fork per unit of work (never a shared global one), installs the schema idempotently, and
 * answers health pings. Several Storage objects can live in one process without sharing anything.
 */
import type { EntityManager, MikroORM } from '@mikro-orm/core';
import { type BackendKind, type DatabaseTarget, parseDatabaseUrl, redactDatabaseUrl } from './database-url.ts';
import { type Dialect, openOrm } from './drivers.ts';

export interface Storage {
  readonly kind: BackendKind;
  /** The database URL with any password masked, for logs and `regstack doctor`. */
  readonly description: string;
  readonly orm: MikroORM;
  readonly dialect: Dialect;
  /** A new, empty unit of work. */
  fork(): EntityManager;
  /** Runs migrations (SQL) or creates collections and indexes (MongoDB). Idempotent. */
  installSchema(): Promise<void>;
  /** Throws when the database cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenStorageOptions {
  /** Base directory for relative SQLite paths. @default process.cwd() */
  cwd?: string;
  /** MikroORM context name; unique per instance. @default a fresh `regstack-N` */
  contextName?: string;
  debug?: boolean;
}

let instanceCounter = 0;

export async function openStorage(databaseUrl: string, options: OpenStorageOptions = {}): Promise<Storage> {
  const target: DatabaseTarget = parseDatabaseUrl(databaseUrl, options.cwd);
  instanceCounter += 1;
  const opened = await openOrm(target, {
    contextName: options.contextName ?? `regstack-${instanceCounter}`,
    debug: options.debug ?? false,
  });
  const { orm } = opened;
  return {
    kind: target.kind,
    description: redactDatabaseUrl(databaseUrl),
    orm,
    dialect: opened.dialect,
    fork: () => orm.em.fork({ clear: true, useContext: false }),
    installSchema: opened.installSchema,
    async ping() {
      const status = await orm.checkConnection();
      if (!status.ok) throw new Error(`database unreachable: ${status.reason}`, { cause: status.error });
    },
    close: () => orm.close(true),
  };
}
