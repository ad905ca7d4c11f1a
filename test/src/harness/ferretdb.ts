/**
 * Starting FerretDB (the MongoDB-wire test server) on a free loopback port, backed by SQLite in a temp
 * directory: once for the whole run (global setup), or privately by a test that needs to stop its server — or
 * to kill it and start it again over the same files (`startPrivateFerretDb`).
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

/** The FerretDB binary the tests start: REGSTACK_FERRETDB_BIN, else the one `.ci/setup.sh` builds. */
export function ferretDbBinary(binary?: string): string {
  return binary ?? process.env.REGSTACK_FERRETDB_BIN ?? join(REPO_ROOT, '.tools/ferretdb/ferretdb');
}

/** One FerretDB process over the SQLite files in `dir`, listening on `port`; its stderr tail is kept for errors. */
function spawnFerretDb(bin: string, dir: string, port: number): { child: ChildProcess; stderr: () => string } {
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
  return { child, stderr: () => stderr };
}

/** Waits until the process answers a ping on `url`; an error text when it exits or stays silent for 15 s. */
async function awaitFerretDb(url: string, child: ChildProcess, stderr: () => string): Promise<string | null> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      return `FerretDB exited (${child.exitCode ?? child.signalCode}): ${stderr()}`;
    }
    try {
      await pingMongo(url, 500);
      return null;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return `FerretDB did not answer on ${url} within 15 s: ${stderr()}`;
}

async function exited(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await gone;
}

/** A FerretDB a test owns: it can be killed like a crashed server and started again over the same files and port. */
export interface PrivateFerretDb {
  url: string;
  /** `kill -9`: no shutdown, connections cut mid-command. */
  crash(): Promise<void>;
  /** Starts it again on the same port over the same files. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startFerretDb(
  binary?: string,
): Promise<{ url: string; stop: () => Promise<void> } | { error: string }> {
  const started = await startPrivateFerretDb(binary);
  return 'error' in started ? started : { url: started.url, stop: started.stop };
}

export async function startPrivateFerretDb(binary?: string): Promise<PrivateFerretDb | { error: string }> {
  const bin = ferretDbBinary(binary);
  if (!existsSync(bin)) {
    return {
      error: `no FerretDB binary at ${bin}: build it with \`sudo bash .ci/setup.sh\`, or set REGSTACK_TEST_FERRETDB_URL`,
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'regstack-ferretdb-'));
  const port = await freePort();
  const url = `mongodb://127.0.0.1:${port}`;
  let current = spawnFerretDb(bin, dir, port);
  const stop = async () => {
    await exited(current.child, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  const failed = await awaitFerretDb(url, current.child, current.stderr);
  if (failed) {
    await stop();
    return { error: failed };
  }
  return {
    url,
    stop,
    crash: () => exited(current.child, 'SIGKILL'),
    async restart() {
      await exited(current.child, 'SIGKILL');
      current = spawnFerretDb(bin, dir, port);
      const again = await awaitFerretDb(url, current.child, current.stderr);
      if (again) throw new Error(again);
    },
  };
}
