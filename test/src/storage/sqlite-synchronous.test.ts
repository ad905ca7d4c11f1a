/**
 * SQLite's commit durability is what the configuration says (`sqlite_synchronous`), on a new file and on a
 * file that already exists. Left at its default, SQLite moves a WAL database to NORMAL whenever it reads the
 * schema (better-sqlite3 is built with SQLITE_DEFAULT_WAL_SYNCHRONOUS=1): before regstack set it explicitly,
 * a fresh database committed with FULL until its migrations ran, and every later start with NORMAL.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseConfig } from '@regstack/server';
import { openStorage, type SqliteSynchronous, startSqliteCheckpointer } from '@regstack/server/internal';
import { describe, expect, it } from 'vitest';

/** `pragma synchronous` of each of two starts on one file: on creation, after installSchema, then on reopening. */
async function levels(sqliteSynchronous?: SqliteSynchronous): Promise<number[]> {
  const url = `sqlite:${join(mkdtempSync(join(tmpdir(), 'regstack-sync-')), 'r.db')}`;
  const seen: number[] = [];
  for (let start = 0; start < 2; start++) {
    const storage = await openStorage(url, sqliteSynchronous ? { sqliteSynchronous } : {});
    const level = async () =>
      Number((await storage.dialect.sql!.all(storage.fork(), 'pragma synchronous', []))[0]?.synchronous);
    try {
      seen.push(await level());
      await storage.installSchema();
      seen.push(await level());
    } finally {
      await storage.close();
    }
  }
  return seen;
}

describe('SQLite commit durability', () => {
  it('leaves the disk wait to the checkpoint thread by default, on a new file and an existing one', async () => {
    expect(await levels()).toEqual([1, 1, 1, 1]); // NORMAL
  });

  it('waits for the disk at every commit when configured so', async () => {
    expect(await levels('full')).toEqual([2, 2, 2, 2]); // FULL
  });

  it('is a configuration key with two values', () => {
    const base = { jwtSecret: 'x'.repeat(32), baseUrl: 'http://127.0.0.1' };
    expect(parseConfig(base).sqliteSynchronous).toBe('normal');
    expect(parseConfig({ ...base, sqliteSynchronous: 'full' }).sqliteSynchronous).toBe('full');
    expect(() => parseConfig({ ...base, sqliteSynchronous: 'off' as 'full' })).toThrow(/sqlite_synchronous/);
  });
});

describe('SQLite checkpoints', () => {
  it('run on a thread of their own, never in a commit on the event loop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'regstack-ckpt-'));
    const path = join(dir, 'r.db');
    const storage = await openStorage(`sqlite:${path}`);
    try {
      await storage.installSchema();
      const runner = storage.dialect.sql!;
      // The ORM's connection never checkpoints: the commit crossing SQLite's 1,000-page mark would otherwise
      // write the database file and wait for the disk on the event loop.
      expect(await runner.all(storage.fork(), 'pragma wal_autocheckpoint', [])).toEqual([{ wal_autocheckpoint: 0 }]);
      const filler = 'x'.repeat(3000);
      const insert = async (from: number, count: number) => {
        for (let i = from; i < from + count; i++) {
          await runner.run(
            storage.fork(),
            'insert into email_outbox (id, kind, to_address, payload, status, attempts, next_attempt_at, created_at) values (?, ?, ?, ?, ?, ?, ?, ?)',
            [`ckpt-${i}`, 'test', 'ckpt@example.com', filler, 'sent', 0, Date.now(), Date.now()],
          );
        }
      };
      // Below the mark (1,000 frames) the WAL stays as it is: a checkpoint would restart it, and the next commit
      // would then flush the restarted WAL's header on the event loop.
      const small = statSync(path).size;
      await insert(0, 20);
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(statSync(path).size).toBe(small);
      const before = statSync(path).size;
      await insert(20, 2000);
      // ≈ 6 MB of WAL, past the mark: the thread copies it into the database file within a tick or two.
      const deadline = Date.now() + 5000;
      while (statSync(path).size < before + 4_000_000 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(statSync(path).size).toBeGreaterThanOrEqual(before + 4_000_000);
    } finally {
      await storage.close();
    }
  });
});

describe('the SQLite checkpoint thread: the process lifecycle', () => {
  it('does not keep its process alive, and lets it end by itself while it runs', async () => {
    // A host that forgets close() must still end when its own work is done. The script starts the thread and
    // returns; execFile's timeout would kill a process the thread kept alive.
    const dir = mkdtempSync(join(tmpdir(), 'regstack-ckpt-life-'));
    const storage = await openStorage(`sqlite:${join(dir, 'r.db')}`);
    await storage.installSchema();
    await storage.close();
    const internal = JSON.stringify(import.meta.resolve('@regstack/server/internal'));
    const file = join(dir, 'start.mjs');
    writeFileSync(
      file,
      `const { startSqliteCheckpointer } = await import(${internal});
       const statements = [];
       await startSqliteCheckpointer({
         path: ${JSON.stringify(join(dir, 'r.db'))},
         intervalMs: 50,
         exec: async (sql) => statements.push(sql),
         onFailure: (err) => console.error(err),
       });
       console.log(statements.join(';'));`,
    );
    const started = Date.now();
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--conditions=@regstack/source', '--disable-warning=ExperimentalWarning', file],
      { timeout: 20_000 },
    );
    expect(stdout.trim()).toBe('pragma wal_autocheckpoint = 0'); // it did start
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});

describe('the SQLite checkpoint thread, when it cannot run', () => {
  it('fails to start without turning automatic checkpoints off', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'regstack-ckpt-bad-'));
    const path = join(dir, 'not-a-database.db');
    writeFileSync(path, 'this is not an SQLite database, and is long enough to have a header. '.repeat(20));
    const statements: string[] = [];
    const failures: unknown[] = [];
    await expect(
      startSqliteCheckpointer({
        path,
        intervalMs: 50,
        exec: async (sql) => statements.push(sql),
        onFailure: (err) => failures.push(err),
      }),
    ).rejects.toThrow(/not a database/i);
    // openOrm then reports the failure and carries on with SQLite's own checkpoints, which stay on.
    expect(statements).toEqual([]);
    expect(failures).toEqual([]); // a start failure is the rejection, not a later report
  });
});
