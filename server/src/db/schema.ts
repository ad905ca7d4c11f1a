/**
 * Schema state and installation: the SQL backends' committed migrations (tracked in `regstack_migrations`), run by
 * several instances at once without harm, and MongoDB's declared indexes. Reading the state never writes: a health
 * check or `regstack doctor` must not create a table.
 */
import type { MigrationObject, MikroORM } from '@mikro-orm/core';
import { isDatabaseUnavailable } from './outages.ts';

/**
 * Whether the database holds the schema this code needs: on SQL, every migration it ships has run; on MongoDB,
 * every index its entities declare exists. `missing` names what is not there (migration names, or
 * `collection: field,… (unique)` on MongoDB).
 */
export type SchemaState = { current: true } | { current: false; missing: string[] };

/**
 * What `regstack migrate --status` shows: every schema unit this code ships — migrations on SQL, declared indexes
 * on MongoDB — applied (present) or pending (missing), in order; and on SQL, `unknown`: migrations the database
 * records that this code does not ship (a newer regstack ran them; this one must not be started against it
 * blindly). Reading it never writes.
 */
export interface SchemaInventory {
  unit: 'migration' | 'index';
  applied: string[];
  pending: string[];
  unknown: string[];
}

/** A pending SQL migration and the statements it would run (`regstack migrate --dry-run`). */
export interface PendingMigration {
  name: string;
  statements: string[];
}

function stateOf(inventory: SchemaInventory): SchemaState {
  return inventory.pending.length === 0 ? { current: true } : { current: false, missing: inventory.pending };
}

const MIGRATIONS_TABLE = 'regstack_migrations';

/** The SQL backends' migrator: our committed migrations, listed in code, tracked in `regstack_migrations`. */
export async function migrationOptions(migrationsList: MigrationObject[]) {
  const { Migrator } = await import('@mikro-orm/migrations');
  return {
    extensions: [Migrator],
    migrations: { tableName: MIGRATIONS_TABLE, migrationsList, snapshot: false, silent: true },
  };
}

export async function migrateUp(orm: MikroORM): Promise<void> {
  await orm.migrator.up();
}

/**
 * SQLite schema installation by several processes at once (issue 14, item 1). Each migration run is one
 * transaction that re-reads the migrations table, so the runs are serialised by SQLite's write lock and a run
 * that lost the race (its tables already created by another process's committed run — "already exists" — or the
 * lock held) changed nothing: it is simply run again, and then finds nothing to do. Only those errors retry,
 * a bounded number of times; any other error is the installer's own.
 */
export async function migrateUpBesideOthers(orm: MikroORM): Promise<void> {
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
export async function migrationState(orm: MikroORM, shipped: MigrationObject[]): Promise<SchemaState> {
  return stateOf(await migrationInventory(orm, shipped));
}

/** The shipped migrations split into applied and pending, plus those the table lists that this code lacks. */
export async function migrationInventory(orm: MikroORM, shipped: MigrationObject[]): Promise<SchemaInventory> {
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
  const names = shipped.map((m) => m.name);
  const known = new Set(names);
  return {
    unit: 'migration',
    applied: names.filter((name) => executed.has(name)),
    pending: names.filter((name) => !executed.has(name)),
    unknown: [...executed].filter((name) => !known.has(name)).sort(),
  };
}

/**
 * The statements the pending migrations would run, without running them: each migration class is built and its
 * `up()` called, which only collects SQL (`addSql`) — nothing reaches the database. A migration that runs
 * statements itself (`this.execute`, for work computed between statements such as a backfill) gets a collecting
 * `execute` on this instance: its statements are listed in order, each read answers no rows, and none is run.
 */
export async function pendingMigrationStatements(
  orm: MikroORM,
  shipped: MigrationObject[],
): Promise<PendingMigration[]> {
  const { pending } = await migrationInventory(orm, shipped);
  const out: PendingMigration[] = [];
  for (const object of shipped) {
    if (!pending.includes(object.name)) continue;
    const MigrationClass = object.class as unknown as new (
      driver: unknown,
      config: unknown,
    ) => { up(): void | Promise<void>; getQueries(): unknown[]; execute(sql: unknown): Promise<unknown[]> };
    const migration = new MigrationClass(orm.em.getDriver(), orm.config);
    const executed: string[] = [];
    migration.execute = async (sql) => {
      executed.push(String(sql));
      return [];
    };
    await migration.up();
    out.push({ name: object.name, statements: [...executed, ...migration.getQueries().map((query) => String(query))] });
  }
  return out;
}

/**
 * MongoDB has no migrations: `installSchema` creates the indexes the entities declare, and the unique ones are
 * what keeps one account per email (R66). Each declared index must exist with its keys, in order, and its
 * uniqueness, whatever its name.
 */
export async function mongoIndexState(orm: MikroORM): Promise<SchemaState> {
  return stateOf(await mongoIndexInventory(orm));
}

/** The declared indexes split into present and missing (`unknown` stays empty: a host may add its own). */
export async function mongoIndexInventory(orm: MikroORM): Promise<SchemaInventory> {
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
  const present: string[] = [];
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
    for (const label of wanted) (existing.has(label) ? present : missing).push(label);
  }
  return { unit: 'index', applied: present, pending: missing, unknown: [] };
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
