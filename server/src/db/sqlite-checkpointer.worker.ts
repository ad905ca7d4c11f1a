/**
 * The SQLite checkpoint thread (sqlite-checkpointer.ts), with a connection of its own to the database file.
 * Every `intervalMs` it
 *
 * 1. flushes the WAL file to disk, so that with `synchronous = NORMAL` (which does not wait for the disk at
 *    commit) every commit is durable within one interval;
 * 2. once the WAL has grown past SQLite's usual mark (1,000 pages), copies it into the database file with a
 *    PASSIVE checkpoint, which never waits for or blocks a reader or a writer.
 *
 * Both wait for the disk here instead of on the event loop.
 */
import { closeSync, fstatSync, fsyncSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';

interface CheckpointerData {
  /** better-sqlite3's entry point, as the ORM's driver resolves it. */
  driver: string;
  path: string;
  intervalMs: number;
}
interface Connection {
  prepare(sql: string): { all(): Record<string, unknown>[] };
  close(): void;
}

const data = workerData as CheckpointerData;
const Database = createRequire(import.meta.url)(data.driver) as new (
  path: string,
  options: { fileMustExist: boolean },
) => Connection;
const db = new Database(data.path, { fileMustExist: true });
const checkpoint = db.prepare('pragma wal_checkpoint(PASSIVE)');
const mark = 1000 * Number(db.prepare('pragma page_size').all()[0]?.page_size ?? 4096);

let wal: number | null = null;
let failures = 0;
function tick(): void {
  try {
    wal ??= openSync(`${data.path}-wal`, 'r');
    fsyncSync(wal);
    if (fstatSync(wal).size >= mark) checkpoint.all();
    failures = 0;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT') return; // no WAL yet: nothing committed since the last connection closed
    // SQLITE_BUSY (another connection is checkpointing) waits for the next tick; anything else counts.
    if (code !== 'SQLITE_BUSY') failures += 1;
    if (failures >= 3) throw err;
  }
}

const timer = setInterval(tick, data.intervalMs);
parentPort?.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  tick();
  if (wal !== null) closeSync(wal);
  db.close();
  parentPort?.close();
});
parentPort?.postMessage('ready');
