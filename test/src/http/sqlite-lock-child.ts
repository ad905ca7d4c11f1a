/**
 * Child process for sqlite-busy.test.ts: another process holding the write lock of an SQLite database. Opens
 * argv[2] with better-sqlite3 (the copy @mikro-orm/sqlite uses), takes the write lock (`BEGIN IMMEDIATE` and a write),
 * prints `locked`, holds it for argv[3] milliseconds, rolls back, prints `released` and exits.
 */
import { createRequire } from 'node:module';

const [path, holdMs] = [process.argv[2], Number(process.argv[3])];
if (!path || !Number.isFinite(holdMs)) throw new Error('usage: sqlite-lock-child.ts <file> <milliseconds>');
const fromSqlite = createRequire(createRequire(import.meta.url).resolve('@mikro-orm/sqlite/package.json'));
const Database = fromSqlite('better-sqlite3') as new (file: string) => { exec(sql: string): void; close(): void };
const db = new Database(path);
db.exec('begin immediate');
db.exec('create table lock_holder (x integer)');
console.log('locked');
setTimeout(() => {
  db.exec('rollback');
  db.close();
  console.log('released');
}, holdMs);
