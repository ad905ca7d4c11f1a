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
 * run instead of being skipped (CI sets it to all three). Without it, a server that is not there skips its
 * suites with the reason said plainly at the start and end of the run (issue 16 item 1): a fresh clone's
 * `./dev test` passes on SQLite alone.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import { pingMongo, startFerretDb } from './ferretdb.ts';

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

/** What the global setup found: the backends whose suites run, and why each other one is skipped. */
export interface BackendAvailability {
  available: TestBackend[];
  skipped: { backend: TestBackend; reason: string }[];
  mongoUrls: Record<string, string>;
}

export interface BackendProbe {
  wanted: readonly TestBackend[];
  /** PostgreSQL admin URL (REGSTACK_TEST_PG_URL or the local default). */
  pgUrl: string;
  /** A running MongoDB-wire server to use instead of starting FerretDB (REGSTACK_TEST_FERRETDB_URL). */
  ferretDbUrl?: string | undefined;
  /** The FerretDB binary to start (REGSTACK_FERRETDB_BIN; default .tools/ferretdb/ferretdb, built by .ci/setup.sh). */
  ferretDbBin?: string | undefined;
  /** A real MongoDB (REGSTACK_TEST_MONGO_URL). */
  mongoUrl?: string | undefined;
  timeoutMs?: number;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** "127.0.0.1:5432 not reachable (ECONNREFUSED)" or, for a server that answered and refused us, its message. */
export function probeFailure(url: string, defaultPort: number, err: unknown): string {
  let where = 'the given URL';
  try {
    const u = new URL(url);
    // host and port only: the URL may carry a password
    where = `${u.hostname || 'localhost'}:${u.port || defaultPort}`;
  } catch {
    // not a URL we can take apart
  }
  const e = err as { code?: string; message?: string; errors?: { code?: string }[]; name?: string };
  const code = e.code ?? e.errors?.find((x) => x.code)?.code;
  const message = e.message ?? String(err);
  if (
    (code && UNREACHABLE.has(code)) ||
    /timeout|timed out|ECONNREFUSED/i.test(message) ||
    e.name === 'MongoServerSelectionError'
  ) {
    return `${where} not reachable (${code ?? message.split('\n')[0]})`;
  }
  return `${where}: ${message.split('\n')[0]}`;
}

/**
 * Finds out which of the wanted backends can run: connects to PostgreSQL, starts FerretDB (or pings the
 * given MongoDB-wire URLs). Returns the answer and the cleanups for what it started.
 */
export async function detectBackends(
  probe: BackendProbe,
): Promise<{ availability: BackendAvailability; cleanups: (() => Promise<void>)[] }> {
  const timeoutMs = probe.timeoutMs ?? 3000;
  const availability: BackendAvailability = { available: [], skipped: [], mongoUrls: {} };
  const cleanups: (() => Promise<void>)[] = [];
  for (const backend of probe.wanted) {
    let reason: string | null = null;
    if (backend === 'postgres') {
      const c = new pg.Client({ connectionString: probe.pgUrl, connectionTimeoutMillis: timeoutMs });
      try {
        await c.connect();
        await c.query('select 1');
      } catch (err) {
        reason = `${probeFailure(probe.pgUrl, 5432, err)}; set REGSTACK_TEST_PG_URL to use another server`;
      } finally {
        await c.end().catch(() => {});
      }
    } else if (backend === 'mongodb') {
      if (probe.ferretDbUrl) {
        try {
          await pingMongo(probe.ferretDbUrl, timeoutMs);
          availability.mongoUrls.mongodb = probe.ferretDbUrl;
        } catch (err) {
          reason = `REGSTACK_TEST_FERRETDB_URL: ${probeFailure(probe.ferretDbUrl, 27017, err)}`;
        }
      } else {
        const started = await startFerretDb(probe.ferretDbBin);
        if ('error' in started) reason = started.error;
        else {
          availability.mongoUrls.mongodb = started.url;
          cleanups.push(started.stop);
        }
      }
    } else if (backend === 'mongodb-real') {
      if (!probe.mongoUrl) reason = 'REGSTACK_TEST_MONGO_URL is not set';
      else {
        try {
          await pingMongo(probe.mongoUrl, timeoutMs);
          availability.mongoUrls['mongodb-real'] = probe.mongoUrl;
        } catch (err) {
          reason = `REGSTACK_TEST_MONGO_URL: ${probeFailure(probe.mongoUrl, 27017, err)}`;
        }
      }
    }
    // sqlite is always available: better-sqlite3 ships its binary
    if (reason === null) availability.available.push(backend);
    else availability.skipped.push({ backend, reason });
  }
  return { availability, cleanups };
}

/**
 * The line that opens and closes a run: "backends: sqlite ran; postgres ran; mongodb skipped (…)", and the
 * browser suites' state when known (a `null` reason means Chromium is there).
 */
export function backendReport(
  availability: BackendAvailability,
  tense: 'run' | 'ran',
  browserSkipReason?: string | null,
): string {
  const verb = tense === 'run' ? 'runs' : 'ran';
  const parts = [
    ...availability.available.map((b) => `${b} ${verb}`),
    ...availability.skipped.map((s) => `${s.backend} skipped (${s.reason})`),
  ];
  if (browserSkipReason === null) parts.push(`browser suites ${tense}`);
  else if (browserSkipReason !== undefined) parts.push(`browser suites skipped (${browserSkipReason})`);
  return `backends: ${parts.join('; ')}`;
}
