/**
 * Starting FerretDB (the MongoDB-wire test server) on a free loopback port, backed by SQLite in a temp
 * directory: once for the whole run (global setup), or privately by a test that needs to stop its server.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MongoClient } from 'mongodb';

const REPO_ROOT = resolve(import.meta.dirname, '../../..');

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? res(addr.port) : rej(new Error('no port'))));
    });
  });
}

export async function pingMongo(url: string, timeoutMs: number): Promise<void> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: timeoutMs, connectTimeoutMS: timeoutMs });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
  } finally {
    await client.close();
  }
}

export async function startFerretDb(
  binary?: string,
): Promise<{ url: string; stop: () => Promise<void> } | { error: string }> {
  const bin = binary ?? process.env.REGSTACK_FERRETDB_BIN ?? join(REPO_ROOT, '.tools/ferretdb/ferretdb');
  if (!existsSync(bin)) {
    return {
      error: `no FerretDB binary at ${bin}: build it with \`sudo bash .ci/setup.sh\`, or set REGSTACK_TEST_FERRETDB_URL`,
    };
  }
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
