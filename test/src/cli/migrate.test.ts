/**
 * Issue 20 item 4: `regstack migrate --status` and `--dry-run` (the real command, a child process) on every backend.
 * On an empty database they list every shipped migration (SQL) or declared index (MongoDB) as pending and change
 * nothing — no migrations table, no index; `--dry-run` shows the SQL the migrations would run. On a database
 * migrated part-way they split applied from pending exactly as the migrator / the index list says. After
 * `regstack migrate` everything is applied and the schema is current.
 */
import { openStorage, type Storage } from '@regstack/server/internal';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../harness/backends.ts';
import { describeEachBackend } from '../harness/each-backend.ts';
import { TEST_SECRET } from '../harness/regstack.ts';
import { expectNoStackTrace, runCli } from './cli-process.ts';

/** The `applied` / `pending` names of a `--status` report. */
function listed(stdout: string, state: 'applied' | 'pending'): string[] {
  return [...stdout.matchAll(new RegExp(`^ {2}${state} {2}(.+)$`, 'gm'))].map((m) => m[1] as string);
}

describeEachBackend('regstack migrate --status / --dry-run (issue 20 item 4)', (ctx) => {
  let db: TestDatabase;
  let storage: Storage;
  const sql = () => ctx.backend === 'sqlite' || ctx.backend === 'postgres';
  const migrate = (...args: string[]) =>
    runCli(['migrate', ...args], { env: { REGSTACK_DATABASE_URL: db.url, REGSTACK_JWT_SECRET: TEST_SECRET } });

  beforeAll(async () => {
    db = await createTestDatabase(ctx.backend, inject('backends').mongoUrls);
    storage = await openStorage(db.url);
  });
  afterAll(async () => {
    await storage?.close();
    await db?.drop();
  });

  /** What exists, read past regstack: SQL tables, MongoDB indexes of regstack's collections. */
  async function footprint(): Promise<string[]> {
    if (ctx.backend === 'sqlite') {
      const rows = await storage.fork().getConnection().execute("select name from sqlite_master where type='table'");
      return (rows as { name: string }[]).map((r) => r.name).sort();
    }
    if (ctx.backend === 'postgres') {
      const rows = await storage
        .fork()
        .getConnection()
        .execute("select tablename as name from pg_tables where schemaname = 'public'");
      return (rows as { name: string }[]).map((r) => r.name).sort();
    }
    const mongo = storage.fork().getConnection() as unknown as {
      getDb(): {
        listCollections(): { toArray(): Promise<{ name: string }[]> };
        collection(n: string): { indexes(): Promise<{ name: string }[]> };
      };
    };
    const out: string[] = [];
    for (const { name } of await mongo.getDb().listCollections().toArray()) {
      for (const index of await mongo.getDb().collection(name).indexes()) out.push(`${name}.${index.name}`);
    }
    return out.sort();
  }

  it('on an empty database: everything pending, and nothing is written', async () => {
    const before = await footprint();
    const status = await migrate('--status');
    expect(status.code, status.stderr).toBe(0);
    expectNoStackTrace(status);
    const pending = listed(status.stdout, 'pending');
    expect(pending.length).toBeGreaterThan(sql() ? 1 : 5);
    expect(listed(status.stdout, 'applied')).toEqual([]);
    if (sql()) for (const name of pending) expect(name).toMatch(/^Migration\d{14}$/);
    else expect(pending).toContain('users: email (unique)');
    expect(status.stdout).toMatch(
      new RegExp(`^0 \\w+ applied, ${pending.length} pending: run "regstack migrate"`, 'm'),
    );

    const dry = await migrate('--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(listed(dry.stdout, 'pending')).toEqual(pending);
    if (sql()) {
      expect(dry.stdout).toMatch(/^-- Migration\d{14}\ncreate table "?`?audit_events/m);
      expect(dry.stdout).toMatch(/users_email_unique/);
    } else {
      expect(dry.stdout).toMatch(/would create these indexes[\s\S]*users: email \(unique\)/);
    }
    expect(dry.stdout).toMatch(/^Nothing was changed\.$/m);
    expect(await footprint(), 'written by --status or --dry-run').toEqual(before);
    expect((await storage.schemaState()).current).toBe(false);
  });

  it('part-way migrated: applied and pending exactly as the database holds them', async () => {
    if (sql()) {
      const [first] = await storage.orm.migrator.getPending();
      await storage.orm.migrator.up({ to: first?.name as string });
    } else {
      await storage.installSchema();
      const mongo = storage.fork().getConnection() as unknown as {
        getDb(): {
          collection(n: string): {
            indexes(): Promise<{ name: string; key: Record<string, number> }[]>;
            dropIndex(name: string): Promise<unknown>;
          };
        };
      };
      const users = mongo.getDb().collection('users');
      for (const index of await users.indexes()) if (index.key.email === 1) await users.dropIndex(index.name);
    }
    const state = await storage.schemaState();
    if (state.current) throw new Error('expected a part-way schema');

    const status = await migrate('--status');
    expect(status.code, status.stderr).toBe(0);
    expect(listed(status.stdout, 'pending')).toEqual(state.missing);
    if (sql()) {
      const executed = (await storage.orm.migrator.getExecuted()).map((m) => m.name);
      expect(listed(status.stdout, 'applied')).toEqual(executed);
      const dry = await migrate('--dry-run');
      expect(dry.stdout).not.toMatch(/^-- Migration20261123164002$/m); // the applied one is not shown again
      expect([...dry.stdout.matchAll(/^-- (Migration\d+)$/gm)].map((m) => m[1])).toEqual(state.missing);
    } else {
      expect(state.missing).toEqual(['users: email (unique)']);
      expect(listed(status.stdout, 'applied')).not.toContain('users: email (unique)');
    }
  });

  it('regstack migrate applies everything; --status then says the schema is current', async () => {
    const run = await migrate();
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^regstack: schema up to date on /);
    expect(await storage.schemaState()).toEqual({ current: true });
    const status = await migrate('--status');
    expect(status.code).toBe(0);
    expect(listed(status.stdout, 'pending')).toEqual([]);
    expect(status.stdout).toMatch(/ applied, 0 pending: the schema is current$/m);
    expect((await migrate('--dry-run')).stdout).toMatch(/^Dry run: nothing to do\.$/m);
  });
});
