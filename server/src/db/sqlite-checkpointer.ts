/**
 * SQLite's disk waits off the event loop. better-sqlite3 is synchronous, so whatever SQLite waits for happens on
 * the event loop, and every request waits with it. With a busy disk, an `fsync` at commit (`synchronous = FULL`)
 * or in SQLite's automatic checkpoint stalls every request for as long as the disk takes (`folio_wait_writeback`
 * in the server's main thread; docs/benchmarks.md has the measurements). So:
 *
 * - the ORM's connection gets `wal_autocheckpoint = 0`: no commit ever runs a checkpoint;
 * - a worker thread with a connection of its own (sqlite-checkpointer.worker.ts) flushes the WAL every
 *   `intervalMs` — so with `synchronous = NORMAL` a commit is on disk within about one interval — and runs a
 *   PASSIVE checkpoint once the WAL passes SQLite's usual 1,000 pages.
 *
 * What stays on the event loop: with NORMAL, the next commit after a checkpoint restarts the WAL and flushes
 * its header (once per 1,000 pages); with FULL, every commit's flush.
 *
 * Should the thread fail, the ORM's connection goes back to automatic checkpoints, so the WAL never grows
 * without bound, and the logger says so.
 */
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

export interface SqliteCheckpointer {
  /** Flushes the WAL a last time and ends the thread. */
  stop(): Promise<void>;
}

export interface CheckpointerOptions {
  path: string;
  intervalMs: number;
  /** Runs a statement on the ORM's connection (to turn automatic checkpoints off, or back on). */
  exec(sql: string): Promise<unknown>;
  onFailure(err: unknown): void;
}

export async function startSqliteCheckpointer(options: CheckpointerOptions): Promise<SqliteCheckpointer> {
  // The same better-sqlite3 the ORM's SQLite driver loads (a dependency of @mikro-orm/sqlite, not of regstack).
  const driver = createRequire(createRequire(import.meta.url).resolve('@mikro-orm/sqlite/package.json')).resolve(
    'better-sqlite3',
  );
  const ext = extname(fileURLToPath(import.meta.url)); // .ts from source, .js from dist
  const worker = new Worker(new URL(`./sqlite-checkpointer.worker${ext}`, import.meta.url), {
    workerData: { driver, path: options.path, intervalMs: options.intervalMs },
  });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  // Unref after the handshake (awaited anyway): while its 'message' listener was attached, the port held the process.
  worker.unref();
  await options.exec('pragma wal_autocheckpoint = 0');
  let stopping = false;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.on('error', (err) => {
    if (stopping) return;
    options
      .exec('pragma wal_autocheckpoint = 1000')
      .catch(() => {})
      .finally(() => options.onFailure(err));
  });
  return {
    async stop() {
      stopping = true;
      worker.ref(); // held until it has exited: the last flush must finish before the process may end
      worker.postMessage('stop');
      await exited;
    },
  };
}
