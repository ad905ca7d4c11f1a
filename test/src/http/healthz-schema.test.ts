/**
 * `/healthz` is a readiness check, schema included: a database this version's schema has not reached (an
 * upgrade whose migrations have not run, a MongoDB missing a unique index) answers 503 `schema_outdated` and
 * warns once, naming what is missing; the check itself writes nothing; the moment the schema is installed it
 * answers 200. On every backend, over real HTTP.
 */
import { createRegstack, type Logger, parseConfig, type Regstack } from '@regstack/server';
import { openStorage } from '@regstack/server/internal';
import { MongoClient } from 'mongodb';
import { expect, inject, it } from 'vitest';
import { createTestDatabase } from '../harness/backends.ts';
import { describeEachBackend } from '../harness/each-backend.ts';
import { TEST_SECRET } from '../harness/regstack.ts';

const info = inject('backends');

interface Warning {
  message: string;
  fields: Record<string, unknown> | undefined;
}

function collectingLogger(warnings: Warning[]): Logger {
  return {
    debug() {},
    info() {},
    warn(message, fields) {
      warnings.push({ message, fields });
    },
    error() {},
  };
}

async function start(databaseUrl: string, warnings: Warning[]): Promise<Regstack> {
  const config = parseConfig({ jwtSecret: TEST_SECRET, databaseUrl, baseUrl: 'https://accounts.example.test' });
  return createRegstack({ config, logger: collectingLogger(warnings) });
}

async function health(url: string): Promise<{ status: number; body: unknown; retryAfter: string | null }> {
  const res = await fetch(`${url}/healthz`);
  return { status: res.status, body: await res.json(), retryAfter: res.headers.get('retry-after') };
}

const schemaWarnings = (warnings: Warning[]) => warnings.filter((w) => /schema is behind/.test(w.message));

/** What the database holds, read from outside regstack: tables (SQL) or collections (MongoDB). */
async function relations(backend: string, url: string): Promise<string[]> {
  if (backend === 'sqlite' || backend === 'postgres') {
    const storage = await openStorage(url);
    try {
      const sql =
        backend === 'sqlite'
          ? "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'"
          : "select table_name as name from information_schema.tables where table_schema = 'public'";
      const rows = (await storage.orm.em.fork().getConnection().execute(sql)) as { name: string }[];
      return rows.map((r) => r.name).sort();
    } finally {
      await storage.close();
    }
  }
  const client = await MongoClient.connect(url);
  try {
    return (await client.db().listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
  } finally {
    await client.close();
  }
}

describeEachBackend('/healthz and the schema', (ctx) => {
  it('is not ready before installSchema, writes nothing while checking, and is ready after', async () => {
    const db = await createTestDatabase(ctx.backend, info.mongoUrls);
    const warnings: Warning[] = [];
    const regstack = await start(db.url, warnings);
    const server = await regstack.listen({ port: 0 });
    try {
      const before = await relations(ctx.backend, db.url);
      const first = await health(server.url);
      expect(first).toEqual({ status: 503, body: { status: 'schema_outdated' }, retryAfter: '5' });
      expect((await health(server.url)).status).toBe(503);
      expect(await relations(ctx.backend, db.url)).toEqual(before); // the check created no table or collection

      const told = schemaWarnings(warnings);
      expect(told).toHaveLength(1); // once, not per check
      const missing = String(told[0]?.fields?.missing);
      if (ctx.backend === 'sqlite' || ctx.backend === 'postgres') expect(missing).toMatch(/Migration\d{14}/);
      else expect(missing).toContain('users: email (unique)');

      await regstack.installSchema();
      expect(await health(server.url)).toEqual({
        status: 200,
        body: { status: 'ok', database: ctx.storage.kind },
        retryAfter: null,
      });
    } finally {
      await server.close();
      await regstack.close();
      await db.drop();
    }
  });

  it('names the one piece an installed schema has lost', async () => {
    // The suite's database has the whole schema; take one piece away, as an upgrade that skipped it would.
    let lost: string;
    let restore: (regstack: Regstack) => Promise<void> = (regstack) => regstack.installSchema();
    if (ctx.backend === 'sqlite' || ctx.backend === 'postgres') {
      const conn = ctx.storage.orm.em.fork().getConnection();
      const rows = (await conn.execute('select * from regstack_migrations order by id desc limit 1')) as {
        id: number;
        name: string;
        executed_at: unknown;
      }[];
      const row = rows[0];
      if (!row) throw new Error('the suite database lists no migration');
      lost = row.name;
      await conn.execute('delete from regstack_migrations where id = ?', [row.id]);
      // Running a migration again over its own tables fails by design; put its row back as it was.
      restore = async () => {
        await conn.execute('insert into regstack_migrations (id, name, executed_at) values (?, ?, ?)', [
          row.id,
          row.name,
          row.executed_at,
        ]);
      };
    } else {
      const client = await MongoClient.connect(ctx.url);
      try {
        const users = client.db().collection('users');
        const index = (await users.listIndexes().toArray()).find((i) => i.unique && Object.keys(i.key)[0] === 'email');
        await users.dropIndex(String(index?.name));
      } finally {
        await client.close();
      }
      lost = 'users: email (unique)';
    }
    const warnings: Warning[] = [];
    const regstack = await start(ctx.url, warnings);
    const server = await regstack.listen({ port: 0 });
    try {
      expect((await health(server.url)).status).toBe(503);
      expect(schemaWarnings(warnings).map((w) => w.fields?.missing)).toEqual([lost]);
      await restore(regstack);
      expect((await health(server.url)).status).toBe(200);
    } finally {
      await server.close();
      await regstack.close();
    }
  });
});
