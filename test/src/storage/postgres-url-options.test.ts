/**
 * A PostgreSQL `database_url` means what libpq would read in it, query included: MikroORM alone keeps only
 * host, port, user, password and database, so `?sslmode=require` would connect in the clear and
 * `?host=/run/postgresql` over TCP. Each case here is checked on the real server, from the server's side
 * (pg_stat_activity, pg_stat_ssl) or by the connection it makes.
 */
import { randomBytes } from 'node:crypto';
import { openStorage } from '@regstack/server/internal';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../harness/backends.ts';

const info = inject('backends');

describe.skipIf(!info.available.includes('postgres'))('database_url query on PostgreSQL', () => {
  let db: TestDatabase;
  let serverHasTls = false;

  beforeAll(async () => {
    db = await createTestDatabase('postgres', info.mongoUrls);
    serverHasTls = (await adminQuery<{ ssl: string }>('show ssl'))[0]?.ssl === 'on';
  });
  afterAll(async () => {
    await db?.drop();
  });

  async function adminQuery<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  }

  function urlWith(query: Record<string, string>): string {
    const url = new URL(db.url);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
    return url.toString();
  }

  /** Opens regstack's storage on `url`, makes it use its connections, and reports them as the server sees them. */
  async function connectionsOf(url: string, applicationName: string) {
    const storage = await openStorage(url);
    try {
      await storage.installSchema();
      return await adminQuery<{ ssl: boolean }>(
        `select coalesce(s.ssl, false) as ssl from pg_stat_activity a left join pg_stat_ssl s on s.pid = a.pid
          where a.datname = current_database() and a.application_name = $1`,
        [applicationName],
      );
    } finally {
      await storage.close();
    }
  }

  it('passes application_name to the server', async () => {
    const name = `regstack-url-${randomBytes(3).toString('hex')}`;
    const seen = await connectionsOf(urlWith({ application_name: name }), name);
    expect(seen.length).toBeGreaterThan(0);
  });

  it('connects over TLS when the URL asks for it, and in the clear when it does not', async (t) => {
    if (!serverHasTls) t.skip('this PostgreSQL server has ssl = off');
    const tls = `regstack-tls-${randomBytes(3).toString('hex')}`;
    // libpq's `require`: encrypted, certificate not checked (the local server's is self-signed).
    const encrypted = await connectionsOf(
      urlWith({ application_name: tls, uselibpqcompat: 'true', sslmode: 'require' }),
      tls,
    );
    expect(encrypted.length).toBeGreaterThan(0);
    expect(encrypted.every((c) => c.ssl)).toBe(true);

    const plain = `regstack-plain-${randomBytes(3).toString('hex')}`;
    const clear = await connectionsOf(urlWith({ application_name: plain }), plain);
    expect(clear.length).toBeGreaterThan(0);
    expect(clear.some((c) => c.ssl)).toBe(false);
  });

  it('reads asyncpg’s ssl=<mode> (the Python regstack’s spelling) as sslmode', async (t) => {
    if (!serverHasTls) t.skip('this PostgreSQL server has ssl = off');
    const name = `regstack-asyncpg-${randomBytes(3).toString('hex')}`;
    const seen = await connectionsOf(urlWith({ application_name: name, uselibpqcompat: 'true', ssl: 'require' }), name);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((c) => c.ssl)).toBe(true);
  });

  it('refuses a server certificate it cannot verify under sslmode=verify-full', async (t) => {
    if (!serverHasTls) t.skip('this PostgreSQL server has ssl = off');
    await expect(openStorage(urlWith({ sslmode: 'verify-full' }))).rejects.toThrow(
      /certificate|self[- ]signed|Hostname\/IP does not match/i,
    );
  });

  it('uses a socket directory given as the host parameter', async () => {
    // Nothing listens there: the connection must fail on that path, not fall back to TCP on localhost.
    const dir = `/nonexistent-regstack-${randomBytes(3).toString('hex')}`;
    await expect(openStorage(urlWith({ host: dir }))).rejects.toThrow(new RegExp(`${dir}/\\.s\\.PGSQL\\.5432`));
  });

  it('turns a TLS file it cannot read into a configuration error', async () => {
    const error = await openStorage(urlWith({ sslmode: 'verify-full', sslrootcert: '/nonexistent/root.crt' })).catch(
      (err: unknown) => err,
    );
    expect(error).toMatchObject({ name: 'DatabaseUrlError', code: 'CONFIG_INVALID' });
    expect(String((error as Error).message)).not.toContain('regstack:regstack');
  });
});
