/**
 * Developer tool: writes a new migration for SQLite and for PostgreSQL from the difference between the
 * entities and the schema the existing migrations build. Run `pnpm --filter @regstack/server migration:create`
 * with PostgreSQL reachable at REGSTACK_PG_ADMIN_URL; then add the new classes to each folder's index.ts.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { openStorage } from '../src/db/storage.ts';

const name = process.argv[2] ?? '';
const root = resolve(import.meta.dirname, '../src/db/migrations');
const adminUrl = process.env.REGSTACK_PG_ADMIN_URL ?? 'postgresql://regstack:regstack@127.0.0.1:5432/postgres';

async function create(url: string, folder: string) {
  const storage = await openStorage(url);
  try {
    await storage.orm.migrator.up();
    const result = await storage.orm.migrator.create(join(root, folder), false, false, name || undefined);
    console.log(folder, result.fileName || '(no changes)');
  } finally {
    await storage.close();
  }
}

await create(`sqlite:${join(mkdtempSync(join(tmpdir(), 'regstack-mig-')), 'gen.db')}`, 'sqlite');
const dbName = `regstack_migration_gen_${process.pid}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`create database ${dbName}`);
try {
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  await create(url.toString(), 'postgresql');
} finally {
  await admin.query(`drop database ${dbName} with (force)`);
  await admin.end();
}
