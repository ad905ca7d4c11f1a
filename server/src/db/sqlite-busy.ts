/**
 * SQLite's waits for another process's lock, off the event loop (R71, issue 14 item 3). better-sqlite3 is
 * synchronous: its `busy_timeout` waits on the event loop, and every request waits with it. So regstack's
 * connection has `busy_timeout = 0` — a statement that meets a lock fails at once with SQLITE_BUSY, having changed
 * nothing — and the waiting happens here, on timers, between short tries, with the connection free for other
 * requests meanwhile:
 *
 * - every transaction begins `BEGIN IMMEDIATE`: it takes the write lock first or not at all, so a BUSY can only
 *   come at its BEGIN, where nothing has run yet and trying again is always correct (a deferred BEGIN could fail
 *   at its first write, after reads the transaction already decided on — not safely repeatable);
 * - a statement outside a transaction that meets BUSY changed nothing: it is tried again;
 * - a COMMIT that meets BUSY leaves its transaction open (SQLite's rule): it is tried again, on its connection.
 *
 * Past `busyTimeoutMs` the call fails with `SqliteBusyTimeoutError`, which the tRPC layer answers with 503 +
 * `Retry-After`. The connection is one (SQLite has one writer); this driver's own lock hands it to one unit of work
 * at a time and gives it up between tries, so a read that needs no write lock (WAL lets it read while another
 * process writes) is served while a write waits.
 */

/** The parts of kysely's SQLite dialect used here (structural: regstack does not depend on kysely itself). */
interface CompiledQueryLike {
  readonly sql: string;
}
interface QueryResultLike {
  rows: unknown[];
}
export interface KyselyConnectionLike {
  executeQuery(query: CompiledQueryLike): Promise<QueryResultLike>;
  streamQuery?(query: CompiledQueryLike, chunkSize?: number): AsyncIterableIterator<QueryResultLike>;
}
interface KyselyDriverLike {
  init(): Promise<void>;
  acquireConnection(): Promise<KyselyConnectionLike>;
  beginTransaction(connection: KyselyConnectionLike, settings: unknown): Promise<void>;
  commitTransaction(connection: KyselyConnectionLike): Promise<void>;
  rollbackTransaction(connection: KyselyConnectionLike): Promise<void>;
  releaseConnection(connection: KyselyConnectionLike): Promise<void>;
  savepoint?(...args: unknown[]): Promise<void>;
  rollbackToSavepoint?(...args: unknown[]): Promise<void>;
  releaseSavepoint?(...args: unknown[]): Promise<void>;
  destroy(): Promise<void>;
}
export interface KyselyDialectLike {
  createAdapter(): object;
  createDriver(): KyselyDriverLike;
  createQueryCompiler(): unknown;
  createIntrospector(db: unknown): unknown;
}

/** A write (or COMMIT) that waited `busyTimeoutMs` for another process's lock in vain. */
export class SqliteBusyTimeoutError extends Error {
  override readonly name = 'SqliteBusyTimeoutError';
  readonly code = 'SQLITE_BUSY';
}

/** Whether better-sqlite3 says another connection holds the lock (SQLITE_BUSY or one of its extended codes). */
export function isSqliteBusy(err: unknown): boolean {
  return /^SQLITE_BUSY/.test(String((err as { code?: unknown } | null)?.code ?? ''));
}

/** Pause between tries: short at first (most locks are brief), then every 50 ms. */
function pause(attempt: number, deadline: number): Promise<void> {
  const ms = Math.max(0, Math.min(2 ** attempt, 50, deadline - Date.now()));
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `attempt` until it does not fail with SQLITE_BUSY or `busyTimeoutMs` has passed. `between` runs before each
 * pause and `resume` after it (to give the connection up while waiting). `attempt` must have changed nothing when
 * it fails with BUSY.
 */
export async function retryWhileBusy<T>(
  busyTimeoutMs: number,
  attempt: () => Promise<T> | T,
  between?: { before(): void; after(): Promise<void> },
): Promise<T> {
  const deadline = Date.now() + busyTimeoutMs;
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (!isSqliteBusy(err)) throw err;
      if (Date.now() >= deadline) {
        throw new SqliteBusyTimeoutError(`the SQLite database stayed locked for ${busyTimeoutMs} ms`, { cause: err });
      }
      between?.before();
      try {
        await pause(n, deadline);
      } finally {
        await between?.after();
      }
    }
  }
}

/** A first-come, first-served lock on the one connection. */
class ConnectionLock {
  #held = false;
  #waiting: (() => void)[] = [];
  acquire(): Promise<void> {
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#held = false;
  }
}

/**
 * Wraps kysely's SQLite dialect (`base`) so that its transactions begin IMMEDIATE and a lock held by another
 * process is waited for as described above. The connection lock replaces kysely's own (the adapter now says it
 * supports several connections, so kysely takes none) — one lock, which this driver can give up between tries.
 */
export function busyWaitingDialect(
  base: KyselyDialectLike,
  busyTimeoutMs: number,
  raw: (sql: string) => CompiledQueryLike,
): KyselyDialectLike & {
  /** Runs `work` with the connection to itself (sqlite runner: prepared statements on the native connection). */
  withConnection<T>(work: () => Promise<T>): Promise<T>;
} {
  const lock = new ConnectionLock();
  let inTransaction = false;
  const waitingForLock = { before: () => lock.release(), after: () => lock.acquire() };
  const withConnection = async <T>(work: () => Promise<T>): Promise<T> => {
    await lock.acquire();
    try {
      return await work();
    } finally {
      lock.release();
    }
  };

  const driver = (inner: KyselyDriverLike): KyselyDriverLike => {
    let connection: KyselyConnectionLike | undefined;
    return {
      async init() {
        await inner.init();
        const raw = await inner.acquireConnection();
        connection = {
          // Outside a transaction a BUSY statement changed nothing: try it again, the connection given up meanwhile
          // (its holder keeps its place: it takes the lock back before it goes on).
          executeQuery: (query) =>
            inTransaction
              ? raw.executeQuery(query)
              : retryWhileBusy(busyTimeoutMs, () => raw.executeQuery(query), waitingForLock),
          ...(raw.streamQuery && { streamQuery: raw.streamQuery.bind(raw) }),
        };
      },
      async acquireConnection() {
        await lock.acquire();
        return connection as KyselyConnectionLike;
      },
      async releaseConnection() {
        lock.release();
      },
      async beginTransaction(conn) {
        try {
          await retryWhileBusy(busyTimeoutMs, () => conn.executeQuery(raw('begin immediate')), waitingForLock);
        } catch (err) {
          // kysely's controlled transactions (MikroORM's) never release a connection whose BEGIN failed: this
          // driver does, or the one connection would stay taken for good.
          lock.release();
          throw err;
        }
        inTransaction = true;
      },
      async commitTransaction(conn) {
        // A COMMIT that met BUSY keeps its transaction open: try it again, keeping the connection.
        await retryWhileBusy(busyTimeoutMs, () => conn.executeQuery(raw('commit')));
        inTransaction = false;
      },
      async rollbackTransaction(conn) {
        inTransaction = false;
        try {
          await inner.rollbackTransaction(conn);
        } catch (err) {
          // As for BEGIN: kysely would never release the connection of a failed ROLLBACK.
          lock.release();
          throw err;
        }
      },
      ...(inner.savepoint && { savepoint: inner.savepoint.bind(inner) }),
      ...(inner.rollbackToSavepoint && { rollbackToSavepoint: inner.rollbackToSavepoint.bind(inner) }),
      ...(inner.releaseSavepoint && { releaseSavepoint: inner.releaseSavepoint.bind(inner) }),
      destroy: () => inner.destroy(),
    };
  };

  return {
    createAdapter: () =>
      Object.create(base.createAdapter(), { supportsMultipleConnections: { get: () => true } }) as object,
    createDriver: () => driver(base.createDriver()),
    createQueryCompiler: () => base.createQueryCompiler(),
    createIntrospector: (db) => base.createIntrospector(db),
    withConnection,
  };
}
