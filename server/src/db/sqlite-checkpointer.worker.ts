/**
 * The SQLite checkpoint thread (sqlite-checkpointer.ts), with a connection of its own to the database file.
 * Every `intervalMs` it
 *
 * 1. flushes the WAL file to disk, so that with `synchronous = NORMAL` (which does not wait for the disk at
 *    commit) every commit is durable within one interval;
 * 2. once the WAL holds SQLite's usual mark of 1,000 frames, copies it into the database file with a PASSIVE
 *    checkpoint, which never waits for or blocks a reader or a writer. The count is the wal-index header's
 *    `mxFrame` (frames since the WAL last restarted; a documented field: https://sqlite.org/walformat.html),
 *    read from the `-shm` file — the file's size would not do, as a restarted WAL keeps its length, and
 *    checkpointing at every tick would restart the WAL, and flush its header on the event loop, every second.
 *
 * Both wait for the disk here instead of on the event loop.
 */
import { closeSync, fsyncSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { endianness } from 'node:os';
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
const MARK_FRAMES = 1000;

let wal: number | null = null;
let shm: number | null = null;
const header = Buffer.alloc(20);
const littleEndian = endianness() === 'LE';
/** Frames appended since the WAL last restarted (`mxFrame`, a u32 in native byte order at offset 16). */
function framesInWal(): number {
  shm ??= openSync(`${data.path}-shm`, 'r');
  if (readSync(shm, header, 0, 20, 0) < 20) return 0;
  return littleEndian ? header.readUInt32LE(16) : header.readUInt32BE(16);
}
let failures = 0;
function tick(): void {
  try {
    wal ??= openSync(`${data.path}-wal`, 'r');
    fsyncSync(wal);
    if (framesInWal() >= MARK_FRAMES) checkpoint.all();
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
  if (shm !== null) closeSync(shm);
  db.close();
  parentPort?.close();
});
parentPort?.postMessage('ready');
