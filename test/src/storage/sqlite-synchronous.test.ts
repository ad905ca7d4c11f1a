/**
 * SQLite's commit durability is what the configuration says (`sqlite_synchronous`), on a new file and on a
 * file that already exists. Left at its default, SQLite moves a WAL database to NORMAL whenever it reads the
 * schema (better-sqlite3 is built with SQLITE_DEFAULT_WAL_SYNCHRONOUS=1): before regstack set it explicitly,
 * a fresh database committed with FULL until its migrations ran, and every later start with NORMAL.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '@regstack/server';
import { openStorage, type SqliteSynchronous } from '@regstack/server/internal';
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
  it('waits for the disk at every commit by default, on a new file and an existing one', async () => {
    expect(await levels()).toEqual([2, 2, 2, 2]); // FULL
  });

  it('waits only at checkpoints when configured so', async () => {
    expect(await levels('normal')).toEqual([1, 1, 1, 1]); // NORMAL
  });

  it('is a configuration key with two values', () => {
    const base = { jwtSecret: 'x'.repeat(32), baseUrl: 'http://127.0.0.1' };
    expect(parseConfig(base).sqliteSynchronous).toBe('full');
    expect(parseConfig({ ...base, sqliteSynchronous: 'normal' }).sqliteSynchronous).toBe('normal');
    expect(() => parseConfig({ ...base, sqliteSynchronous: 'off' as 'full' })).toThrow(/sqlite_synchronous/);
  });
});
