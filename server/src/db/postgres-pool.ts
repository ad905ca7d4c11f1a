/**
 * PostgreSQL's pools and connections under MikroORM: the options `database_url` and the timeouts mean to
 * node-postgres, a small pool of its own for authentication lookups, the release of connections whose
 * transaction control failed (R71), and schema installation under an advisory lock (issue 14, item 1).
 */
import { type PgSessionTarget, pgClientConfig } from './database-url.ts';
import { failoverClient, type PgClientClass } from './postgres-failover.ts';

export interface PgPool {
  /** The client class the pool connects with (node-postgres's). */
  readonly Client: new (
    options: Record<string, unknown>,
  ) => PgClient;
  query(config: { name?: string; text: string; values: unknown[] }): Promise<{
    rows: Record<string, unknown>[];
    rowCount: number | null;
  }>;
  /** pg-pool keeps its options here, with `password` not enumerable (so it never shows up in a log). */
  readonly options: Record<string, unknown> & { password?: unknown };
  end(): Promise<void>;
  on(event: 'error', listener: (err: Error) => void): unknown;
  connect(...args: unknown[]): Promise<PgClient> | undefined;
}

interface PgClient {
  connect(): Promise<void>;
  /** Set by pg-pool at each checkout. */
  release?: (err?: unknown) => void;
  query(text: string, values?: unknown[]): Promise<unknown>;
  end(): Promise<void>;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

/** A transaction's control statements, whose failure leaves the connection's transaction state unknown. */
const TRANSACTION_CONTROL = /^\s*(begin|start transaction|commit|rollback|savepoint|release)\b/i;

/**
 * PostgreSQL: a connection whose BEGIN, COMMIT or ROLLBACK failed goes back to the pool as broken, and the pool
 * drops it (R71: an outage must not use up the pool for good). kysely, under MikroORM, never releases the
 * connection of a transaction whose BEGIN failed, nor of one whose ROLLBACK failed — after an outage (a reset
 * connection, a frozen server past the query timeout) each such transaction would hold one of the pool's
 * connections forever, until none is left and every call waits out the pool timeout though the database is back.
 * The connection's later release by kysely, if any, is then a no-op. Only checkouts through `pool.connect()`
 * without a callback (kysely's) are watched; `pool.query` releases its own.
 */
export function releaseBrokenTransactions(pool: PgPool): void {
  const connect = pool.connect.bind(pool);
  const watched = new WeakSet<PgClient>();
  pool.connect = (...args: unknown[]) => {
    if (args.length > 0) return connect(...args);
    return (connect() as Promise<PgClient>).then((client) => {
      if (!watched.has(client)) {
        watched.add(client);
        const query = client.query.bind(client) as (...a: unknown[]) => unknown;
        (client as { query: (...a: unknown[]) => unknown }).query = (...a: unknown[]) => {
          const result = query(...a);
          if (typeof a[0] !== 'string' || !TRANSACTION_CONTROL.test(a[0]) || !(result instanceof Promise))
            return result;
          return result.catch((err: unknown) => {
            const release = client.release;
            client.release = () => {};
            release?.(err instanceof Error ? err : new Error('transaction control failed'));
            throw err;
          });
        };
      }
      return client;
    });
  };
}

/** Connections of the pool that serves only authentication lookups (see `lookupPool`). */
const LOOKUP_POOL_SIZE = 2;

/**
 * PostgreSQL: a small pool of its own for the authentication lookup, beside MikroORM's. Every authenticated call
 * makes that read, and it needs no disk; the pool it would share holds writes waiting for their commit's WAL
 * flush (`IO:WALSync` was most of a login statement's time in pg_stat_activity under load), so when the disk
 * is slow, ten writers can hold all ten shared connections while reads that could answer at once queue behind
 * them. Same server, same credentials and type parsers: MikroORM's pool's own options, with its pool class.
 */
export function lookupPool(shared: PgPool): PgPool {
  const Pool = shared.constructor as new (options: Record<string, unknown>) => PgPool;
  const pool = new Pool({ ...shared.options, password: shared.options.password, min: 0, max: LOOKUP_POOL_SIZE });
  // An idle connection the server ends (a restart, an administrator) is an 'error' event on the pool, which
  // drops that connection; unheard, Node would throw it and end the process. A lookup in flight on a broken
  // connection fails on its own, and its callers fail closed (R42).
  pool.on('error', () => {});
  return pool;
}

/**
 * The pool options for `clientUrl` (db/database-url.ts reads the URL) and the timeouts that bound every wait (R71).
 * libpq's `connect_timeout` is in seconds; node-postgres's JavaScript client reads connectionTimeoutMillis, and
 * pg-pool bounds with it both a new connection and the wait for a pooled one to come free; libpq reads 0 as "wait
 * forever", and so does node-postgres. A frozen server (it accepts, never answers) would hold a query forever:
 * node-postgres's client-side read timeout ends the wait. The URL's own settings win.
 *
 * A host list or `target_session_attrs` (`sessionTarget`, issue 21) makes every connection of the pools — MikroORM's,
 * the lookup pool, the installer's — a `failoverClient` over node-postgres's `Client` (`Base`): the hosts are tried
 * in order, each within the connect timeout (per host, as libpq's `connect_timeout`).
 */
export async function pgConnectionOptions(
  clientUrl: string,
  timeouts: { connectMs: number; queryMs: number },
  failover?: { sessionTarget: PgSessionTarget | null; Base: PgClientClass },
): Promise<Record<string, unknown>> {
  const { options, connectTimeoutSeconds } = await pgClientConfig(clientUrl);
  options.connectionTimeoutMillis = connectTimeoutSeconds !== null ? connectTimeoutSeconds * 1000 : timeouts.connectMs;
  options.query_timeout ??= timeouts.queryMs;
  if (failover?.sessionTarget) options.Client = failoverClient(failover.Base, failover.sessionTarget);
  return options;
}

/**
 * PostgreSQL schema installation under an advisory lock (issue 14, item 1): instances started together over one
 * empty database would otherwise race to create the same tables (`duplicate key value violates unique constraint
 * "pg_type_typname_nsp_index"`, `relation "regstack_migrations" already exists`). The lock is held on a connection
 * of its own for the whole migrator run, so a second installer waits, then finds nothing to do. It is a
 * *transaction* lock in a transaction kept open meanwhile: a pooler in transaction mode (pgbouncer) keeps that
 * connection's server connection for the whole transaction, and the lock ends with it — at the commit, or when a
 * crashed installer's connection goes. (A session lock would outlive the client on a pooled server connection and
 * block every later install; R74.) The wait for the lock has no timeout: it lasts as long as the other instance's
 * migrations.
 */
export async function withInstallLock(pool: PgPool, work: () => Promise<void>): Promise<void> {
  const { query_timeout: _none, ...untimed } = pool.options;
  const client = new pool.Client({ ...untimed, password: pool.options.password });
  client.on('error', () => {}); // a broken connection fails the query in flight, which fails the install
  await client.connect();
  try {
    // Tried, not waited for: a waiting installer holds no server connection between its tries, so behind a small
    // pooler the installer that holds the lock still gets the connections its migrations need.
    for (let attempt = 1; ; attempt++) {
      await client.query('begin');
      // Idle in this transaction while the migrations run: a server-wide idle timeout must not end it (and the lock).
      await client.query('set local idle_in_transaction_session_timeout = 0');
      const { rows } = (await client.query('select pg_try_advisory_xact_lock($1, $2) as locked', INSTALL_LOCK_KEY)) as {
        rows: Array<{ locked?: boolean }>;
      };
      if (rows[0]?.locked) break;
      await client.query('rollback');
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * attempt) * (0.5 + Math.random())));
    }
    await work();
    await client.query('commit');
  } finally {
    // Ending the connection ends its transaction, and the lock with it, whether or not the commit could be sent.
    await client.end().catch(() => {});
  }
}

/** The advisory lock key of schema installation: "regs", "schm" as two int4. */
const INSTALL_LOCK_KEY = [0x72656773, 0x7363686d];
