/**
 * Vitest global setup: finds out which backends can run, starts FerretDB (the MongoDB-wire test server)
 * when its binary is available and no URL was given, and hands the answers to the test files through
 * `inject('backends')`. A backend listed in REGSTACK_REQUIRE_BACKENDS that is not reachable fails the whole
 * run here, loudly, instead of its suites being skipped.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { listFromEnv, PG_ADMIN_URL, selectedBackends, type TestBackend } from './backends.ts';

export interface BackendAvailability {
  available: TestBackend[];
  skipped: { backend: TestBackend; reason: string }[];
  mongoUrls: Record<string, string>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    backends: BackendAvailability;
  }
}

const REPO_ROOT = resolve(import.meta.dirname, '../../..');

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? res(addr.port) : rej(new Error('no port'))));
    });
  });
}

async function pingMongo(url: string, timeoutMs: number): Promise<void> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: timeoutMs, connectTimeoutMS: timeoutMs });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
  } finally {
    await client.close();
  }
}

async function startFerretDb(): Promise<{ url: string; stop: () => Promise<void> } | { error: string }> {
  const bin = process.env.REGSTACK_FERRETDB_BIN ?? join(REPO_ROOT, '.tools/ferretdb/ferretdb');
  if (!existsSync(bin)) return { error: `FerretDB binary not found at ${bin} (run bash .ci/setup-backends.sh)` };
  const dir = mkdtempSync(join(tmpdir(), 'regstack-ferretdb-'));
  const port = await freePort();
  const child: ChildProcess = spawn(
    bin,
    [
      '--handler=sqlite',
      `--sqlite-url=file:${dir}/`,
      `--listen-addr=127.0.0.1:${port}`,
      '--debug-addr=-',
      '--telemetry=disable',
      `--state-dir=${dir}`,
      '--log-level=error',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr = (stderr + String(d)).slice(-4000);
  });
  const url = `mongodb://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return { error: `FerretDB exited (${child.exitCode}): ${stderr}` };
    try {
      await pingMongo(url, 500);
      return { url, stop };
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  await stop();
  return { error: `FerretDB did not answer on ${url} within 15 s: ${stderr}` };
}

export default async function setup(project: TestProject) {
  const wanted = selectedBackends();
  const required = new Set(listFromEnv('REGSTACK_REQUIRE_BACKENDS'));
  const result: BackendAvailability = { available: [], skipped: [], mongoUrls: {} };
  const cleanups: (() => Promise<void>)[] = [];

  for (const backend of wanted) {
    let reason: string | null = null;
    try {
      if (backend === 'sqlite') {
        // always available: better-sqlite3 ships its binary
      } else if (backend === 'postgres') {
        const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
        await c.connect();
        await c.query('select 1');
        await c.end();
      } else if (backend === 'mongodb') {
        const given = process.env.REGSTACK_TEST_FERRETDB_URL;
        if (given) {
          await pingMongo(given, 3000);
          result.mongoUrls.mongodb = given;
        } else {
          const started = await startFerretDb();
          if ('error' in started) reason = started.error;
          else {
            result.mongoUrls.mongodb = started.url;
            cleanups.push(started.stop);
          }
        }
      } else if (backend === 'mongodb-real') {
        const url = process.env.REGSTACK_TEST_MONGO_URL;
        if (!url) reason = 'REGSTACK_TEST_MONGO_URL is not set';
        else {
          await pingMongo(url, 3000);
          result.mongoUrls['mongodb-real'] = url;
        }
      }
    } catch (err) {
      reason = (err as Error).message;
    }
    if (reason === null) result.available.push(backend);
    else result.skipped.push({ backend, reason });
  }

  const missingRequired = result.skipped.filter(
    (s) => required.has(s.backend) || (s.backend === 'postgres' && required.has('postgresql')),
  );
  if (missingRequired.length) {
    await Promise.all(cleanups.map((c) => c()));
    throw new Error(
      `required test backends are unavailable:\n${missingRequired.map((s) => `  ${s.backend}: ${s.reason}`).join('\n')}`,
    );
  }
  for (const s of result.skipped) console.warn(`[regstack tests] backend ${s.backend} SKIPPED: ${s.reason}`);
  console.log(`[regstack tests] backends: ${result.available.join(', ')}`);
  project.provide('backends', result);
  return async () => {
    await Promise.all(cleanups.map((c) => c()));
  };
}
