/**
 * A PostgreSQL `database_url` means what libpq would read in it, query included: MikroORM alone keeps only
 * host, port, user, password and database, so `?sslmode=require` would connect in the clear and
 * `?host=/run/postgresql` over TCP. Each case here is checked on the real server, from the server's side
 * (pg_stat_activity, pg_stat_ssl) or by the connection it makes.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { openStorage } from '@regstack/server/internal';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../harness/backends.ts';
import { startRegstack } from '../harness/regstack.ts';

const info = inject('backends');
const SOCKET_CHILD = fileURLToPath(new URL('./unix-socket-child.ts', import.meta.url));

/** The uid and gid of the operating-system user `postgres`, if there is one. */
function socketUser(): { uid: number; gid: number } | null {
  try {
    const [uid, gid] = ['-u', '-g'].map((flag) => Number(execFileSync('id', [flag, 'postgres']).toString().trim()));
    return uid !== undefined && gid !== undefined ? { uid, gid } : null;
  } catch {
    return null;
  }
}

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

  it('sets the session timeouts the URL names', async () => {
    const storage = await openStorage(
      urlWith({ statement_timeout: '1234', idle_in_transaction_session_timeout: '4321' }),
    );
    try {
      const connection = storage.orm.em.fork().getConnection();
      const show = async (name: string) =>
        ((await connection.execute(`show ${name}`)) as Record<string, string>[])[0]?.[name];
      expect(await show('statement_timeout')).toBe('1234ms');
      expect(await show('idle_in_transaction_session_timeout')).toBe('4321ms');
    } finally {
      await storage.close();
    }
  });

  it('gives up connecting after connect_timeout seconds', async () => {
    // A server that accepts the connection and never answers: without a timeout the start would wait forever.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const url = new URL(urlWith({ connect_timeout: '1' }));
      url.port = String(port);
      const start = performance.now();
      await expect(openStorage(url.toString())).rejects.toThrow(/timeout/i);
      const seconds = (performance.now() - start) / 1000;
      expect(seconds).toBeGreaterThan(0.9);
      expect(seconds).toBeLessThan(10);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('uses a socket directory given as the host parameter', async () => {
    // Nothing listens there: the connection must fail on that path, not fall back to TCP on localhost.
    const dir = `/nonexistent-regstack-${randomBytes(3).toString('hex')}`;
    await expect(openStorage(urlWith({ host: dir }))).rejects.toThrow(new RegExp(`${dir}/\\.s\\.PGSQL\\.5432`));
  });

  it('connects through a Unix socket with credentials and an empty host (issue 14, item 13)', async (t) => {
    // The URL the README shows. The local server authenticates socket connections by peer, so the child runs as
    // the operating-system user `postgres` (which needs root here); the password is sent and ignored, as libpq does.
    const owner = process.getuid?.() === 0 ? socketUser() : null;
    if (!owner) t.skip('needs root and an operating-system user "postgres" for peer authentication');
    const socketDir = '/var/run/postgresql';
    if (!existsSync(`${socketDir}/.s.PGSQL.5432`)) t.skip(`no PostgreSQL socket in ${socketDir}`);
    const dbName = new URL(db.url).pathname.slice(1);
    const url = `postgresql://postgres:not-checked@/${dbName}?host=${socketDir}`;
    const seen = await new Promise<{ user: string; addr: string | null; current: boolean }>((resolve, reject) => {
      const { NODE_OPTIONS: _ignored, ...env } = process.env;
      execFile(
        process.execPath,
        ['--conditions=@regstack/source', '--disable-warning=ExperimentalWarning', SOCKET_CHILD, url],
        { env: { ...env, HOME: '/tmp' }, timeout: 60_000, uid: owner!.uid, gid: owner!.gid, cwd: '/tmp' },
        (err, stdout, stderr) => {
          try {
            resolve(JSON.parse(stdout.trim().split('\n').pop() ?? ''));
          } catch {
            reject(new Error(`unix-socket child failed: ${err?.message}\n${stderr}`));
          }
        },
      );
    });
    expect(seen).toEqual({ user: 'postgres', addr: null, current: true });
  });

  /** Connections an instance holds after 20 concurrent writes, counted by the server. */
  async function connectionsAfterABurst(poolSize: number | undefined): Promise<number> {
    const name = `regstack-pool-${randomBytes(3).toString('hex')}`;
    const t = await startRegstack(urlWith({ application_name: name }), {
      resendVerificationRateLimit: 'none',
      ...(poolSize !== undefined && { databasePoolSize: poolSize }),
    });
    try {
      const caller = t.regstack.createCaller();
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => caller.resendVerification({ email: `pool-${i}@example.com` })),
      );
      const rows = await adminQuery<{ n: string }>(
        'select count(*) as n from pg_stat_activity where application_name = $1',
        [name],
      );
      return Number(rows[0]?.n);
    } finally {
      await t.regstack.close();
    }
  }

  it('holds at most database_pool_size connections (the lookup pool opens none for writes)', async () => {
    expect(await connectionsAfterABurst(2)).toBeLessThanOrEqual(2);
    // Control: the default pool of 10 does open more than 2 for the same burst.
    expect(await connectionsAfterABurst(undefined)).toBeGreaterThan(2);
  });

  it('turns a TLS file it cannot read into a configuration error', async () => {
    const error = await openStorage(urlWith({ sslmode: 'verify-full', sslrootcert: '/nonexistent/root.crt' })).catch(
      (err: unknown) => err,
    );
    expect(error).toMatchObject({ name: 'DatabaseUrlError', code: 'CONFIG_INVALID' });
    expect(String((error as Error).message)).not.toContain('regstack:regstack');
  });
});
