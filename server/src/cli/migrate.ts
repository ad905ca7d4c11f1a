/**
 * `regstack migrate [--status] [--dry-run]` (issue 20 item 4). Without a flag it installs the schema — the SQL
 * backends' committed migrations, MongoDB's declared indexes — idempotently and safely from several instances at
 * once (db/schema.ts). `--status` and `--dry-run` only read: they list what is applied and what is pending (SQL
 * migrations by name; MongoDB indexes as `collection: fields (unique)`), `--dry-run` adding the statements each
 * pending SQL migration would run. Neither creates a table, a collection or an index.
 *
 * Only the database is opened (no mail transport, no hashing process): a schema step in a deploy pipeline needs
 * nothing else. Reports go to stdout (they are what was asked for); the one-line outcome of an install to stderr.
 */
import { existsSync } from 'node:fs';
import { loadConfigWithoutSecret } from '../config/load-config.ts';
import { openConfiguredStorage } from '../create-regstack.ts';
import { parseDatabaseUrl } from '../db/database-url.ts';
import type { SchemaInventory } from '../db/schema.ts';

export interface MigrateOptions {
  config?: string | undefined;
  status?: boolean | undefined;
  dryRun?: boolean | undefined;
}

const BACKEND: Record<string, string> = { sqlite: 'SQLite', postgresql: 'PostgreSQL', mongodb: 'MongoDB' };

/** The report lines of `--status`: one per unit, then a summary that says what to do. */
export function inventoryLines(inventory: SchemaInventory): string[] {
  const noun = inventory.unit === 'migration' ? 'migration' : 'index';
  const plural = (n: number) => (n === 1 ? noun : inventory.unit === 'migration' ? 'migrations' : 'indexes');
  const lines = [
    ...inventory.applied.map((name) => `  applied  ${name}`),
    ...inventory.pending.map((name) => `  pending  ${name}`),
    ...inventory.unknown.map((name) => `  unknown  ${name} (recorded by the database, not shipped by this version)`),
  ];
  const { applied, pending, unknown } = inventory;
  let summary = `${applied.length} ${plural(applied.length)} applied, ${pending.length} pending`;
  if (pending.length > 0) summary += ': run "regstack migrate" to apply';
  else summary += ': the schema is current';
  if (unknown.length > 0) {
    summary += `; ${unknown.length} unknown ${plural(unknown.length)}: a newer regstack migrated this database`;
  }
  return [...lines, summary];
}

export async function migrate(opts: MigrateOptions): Promise<void> {
  // No token is signed or verified here: a deploy pipeline's schema step needs no jwt_secret.
  const { config } = await loadConfigWithoutSecret({ configFile: opts.config });
  const readOnly = opts.status === true || opts.dryRun === true;
  const target = parseDatabaseUrl(config.databaseUrl, process.cwd(), config.mongodbDatabase);
  // Opening a SQLite file that is not there creates it: a report must not. An empty in-memory database has exactly
  // the missing file's inventory (everything pending), so that is what is read instead.
  const missingFile =
    readOnly && target.kind === 'sqlite' && target.path !== ':memory:' && !existsSync(target.path)
      ? target.path
      : undefined;
  const storage = await openConfiguredStorage(missingFile ? { ...config, databaseUrl: 'sqlite::memory:' } : config);
  try {
    const where = missingFile
      ? `sqlite:${missingFile} (SQLite; the file does not exist yet, "regstack migrate" creates it)`
      : `${storage.description} (${BACKEND[storage.kind] ?? storage.kind})`;
    if (!opts.status && !opts.dryRun) {
      await storage.installSchema();
      console.error(`regstack: schema up to date on ${storage.description}`);
      return;
    }
    const inventory = await storage.schemaInventory();
    const out: string[] = [`Schema of ${where}:`, ...inventoryLines(inventory)];
    if (opts.dryRun) {
      if (inventory.pending.length === 0) {
        out.push('Dry run: nothing to do.');
      } else if (inventory.unit === 'migration') {
        out.push('Dry run: "regstack migrate" would run:');
        for (const migration of await storage.pendingMigrations()) {
          out.push(`-- ${migration.name}`, ...migration.statements.map((sql) => sql.trim()));
        }
      } else {
        out.push('Dry run: "regstack migrate" would create these indexes (and any missing collection):');
        out.push(...inventory.pending.map((label) => `  ${label}`));
      }
      out.push('Nothing was changed.');
    }
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await storage.close();
  }
}
