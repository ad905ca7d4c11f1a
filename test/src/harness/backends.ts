/**
 * Which databases the behavioural suites run on, and how each test file gets a database of its own.
 *
 * - `sqlite`: a file in a fresh temp directory.
 * - `postgres`: the local server; a database created (and dropped) per test file. Admin URL from
 *   REGSTACK_TEST_PG_URL (default postgresql://regstack:regstack@127.0.0.1:5432/postgres).
 * - `mongodb`: a MongoDB-wire server — FerretDB started by the global setup (or REGSTACK_TEST_FERRETDB_URL).
 * - `mongodb-real`: a real MongoDB at REGSTACK_TEST_MONGO_URL, only when that variable is set.
 *
 * REGSTACK_TEST_BACKENDS (comma list) selects; REGSTACK_REQUIRE_BACKENDS makes a missing backend fail the
 * run instead of being skipped (CI sets it to all three).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import pg from 'pg';

export const ALL_BACKENDS = ['sqlite', 'postgres', 'mongodb', 'mongodb-real'] as const;
export type TestBackend = (typeof ALL_BACKENDS)[number];

export const PG_ADMIN_URL =
  process.env.REGSTACK_TEST_PG_URL ?? 'postgresql://regstack:regstack@127.0.0.1:5432/postgres';

export function listFromEnv(name: string): string[] {
  return (process.env[name] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function selectedBackends(): TestBackend[] {
  const wanted = listFromEnv('REGSTACK_TEST_BACKENDS');
  const known = new Set<string>(ALL_BACKENDS);
  for (const w of wanted) {
    if (!known.has(w)) throw new Error(`REGSTACK_TEST_BACKENDS names an unknown backend "${w}"`);
  }
  const base: TestBackend[] = wanted.length ? (wanted as TestBackend[]) : ['sqlite', 'postgres', 'mongodb'];
  if (!wanted.length && process.env.REGSTACK_TEST_MONGO_URL) base.push('mongodb-real');
  return base;
}

export interface TestDatabase {
  backend: TestBackend;
  url: string;
  drop(): Promise<void>;
}

function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

export async function createTestDatabase(
  backend: TestBackend,
  mongoUrls: Record<string, string>,
): Promise<TestDatabase> {
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'regstack-test-'));
    return {
      backend,
      url: `sqlite:${join(dir, 'regstack.db')}`,
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  if (backend === 'postgres') {
    const name = uniqueName('regstack_t');
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    try {
      await admin.query(`create database ${name}`);
    } finally {
      await admin.end();
    }
    const url = new URL(PG_ADMIN_URL);
    url.pathname = `/${name}`;
    return {
      backend,
      url: url.toString(),
      async drop() {
        const c = new pg.Client({ connectionString: PG_ADMIN_URL });
        await c.connect();
        try {
          await c.query(`drop database if exists ${name} with (force)`);
        } finally {
          await c.end();
        }
      },
    };
  }
  const base = mongoUrls[backend];
  if (!base) throw new Error(`no server URL for backend ${backend}`);
  const name = uniqueName('regstack_t');
  const url = withDbName(base, name);
  return {
    backend,
    url,
    async drop() {
      const client = await MongoClient.connect(base);
      try {
        await client.db(name).dropDatabase();
      } finally {
        await client.close();
      }
    },
  };
}

function withDbName(base: string, name: string): string {
  const [head, query] = base.split('?') as [string, string | undefined];
  const m = /^(mongodb(?:\+srv)?:\/\/[^/]+)(\/[^?]*)?$/.exec(head);
  if (!m) throw new Error(`cannot place a database name into ${base}`);
  return `${m[1]}/${name}${query ? `?${query}` : ''}`;
}
