/**
 * Outages (R71): whether an error says the database is unavailable — down, refusing, resetting, frozen past a
 * timeout, shutting down, or locked by another process — rather than that the request or the code is wrong, and
 * whether a transaction was aborted for a conflict it may simply run again. Every driver's way of saying so is
 * known here, and only here: the tRPC layer and `Storage.atomically` only ask these questions.
 */

/** `Retry-After` of a call refused because the database is unavailable: a retry soon may find it back. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/**
 * A write that waited too long for the lease on the document it updates (MongoDB: one user's writes take turns,
 * repositories/user.repository.ts): another instance's write holds it, or one whose answer never came until its
 * lease runs out. Nothing was written; the call answers 503 like an outage.
 */
export class WriteLeaseTimeoutError extends Error {
  override name = 'WriteLeaseTimeoutError';
}

/** Socket errors: the server is gone, refuses, resets, or never answers (a `connect` to a missing socket file too). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
]);

/**
 * PostgreSQL SQLSTATEs of an unavailable or overloaded server: class 08 (connection exception), 53 (insufficient
 * resources: too many connections, out of memory or disk), 57P01–57P05 (shutting down, crashed, starting up,
 * idle session timeout), 57014 (statement_timeout cancelled the query) and 55P03 (lock_timeout).
 */
const PG_UNAVAILABLE_STATES = /^(08|53|57P0[1-5]$|57014$|55P03$|40001$|40P01$)/;

/**
 * A transaction PostgreSQL aborted because it conflicted with another — a deadlock (40P01) or a serialization
 * failure (40001). It changed nothing, so `Storage.atomically` runs it again; one that keeps losing answers 503
 * like an outage (in PG_UNAVAILABLE_STATES above), never 500.
 */
export function isTransientConflict(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 8; depth++) {
    const { code, cause } = e as { code?: unknown; cause?: unknown };
    if (code === '40P01' || code === '40001') return true;
    e = cause;
  }
  return false;
}

/** node-postgres's own messages for a connection that ended or a wait that timed out (they carry no code). */
const PG_UNAVAILABLE_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Connection terminated due to connection timeout)/;

/** better-sqlite3: another connection holds the lock (SQLITE_BUSY, SQLITE_LOCKED and their extended codes). */
const SQLITE_UNAVAILABLE_CODES = /^SQLITE_(BUSY|LOCKED)/;

/**
 * The mongodb driver's errors for a server it cannot reach or whose connection broke, and server codes of a node
 * shutting down or stepping down (ShutdownInProgress, InterruptedAtShutdown, NotWritablePrimary, …).
 */
const MONGO_UNAVAILABLE_NAMES =
  /^Mongo(ServerSelection|Network|NetworkTimeout|PoolCleared|WaitQueueTimeout|ServerClosed|TopologyClosed)Error$/;
const MONGO_UNAVAILABLE_CODES = new Set([6, 7, 89, 91, 189, 9001, 10107, 11600, 11602, 13435, 13436]);
/**
 * MikroORM rewraps the mongodb driver's errors as a DriverException named after itself, copying the original's own
 * fields but not its name: a network error is then known by `beforeHandshake` (MongoNetworkError's own field),
 * a failed server selection by its `reason` (a topology description), or by the driver's messages.
 */
const MONGO_UNAVAILABLE_MESSAGES =
  /^(Server selection timed out|connection .* (timed out|closed)$|Timed out while checking out a connection)/;

/**
 * Whether `err` (or what it wraps) says the database is unavailable — down, refusing, resetting, frozen past a
 * timeout, shutting down, or locked by another process — rather than that the request or the code is wrong. Such
 * a failure is a 503 with `Retry-After`, never a 500 (R71): nothing was decided, and the same call may succeed
 * once the database is back. Driver knowledge stays here; the tRPC layer only asks this question.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const seen = new Set<unknown>();
  const visit = (e: unknown, depth: number): boolean => {
    if (typeof e !== 'object' || e === null || seen.has(e) || depth > 8) return false;
    seen.add(e);
    const x = e as {
      code?: unknown;
      name?: unknown;
      message?: unknown;
      syscall?: unknown;
      errors?: unknown;
      cause?: unknown;
    };
    const code = x.code;
    if (typeof code === 'string') {
      if (NETWORK_CODES.has(code)) return true;
      if (code === 'ENOENT' && x.syscall === 'connect') return true;
      if (/^[0-9A-Z]{5}$/.test(code) && PG_UNAVAILABLE_STATES.test(code)) return true;
      if (SQLITE_UNAVAILABLE_CODES.test(code)) return true;
    }
    if (typeof code === 'number' && MONGO_UNAVAILABLE_CODES.has(code) && /^Mongo/.test(String(x.name))) return true;
    if (typeof x.name === 'string' && MONGO_UNAVAILABLE_NAMES.test(x.name)) return true;
    if (x.name === 'SqliteBusyTimeoutError' || x.name === 'WriteLeaseTimeoutError') return true;
    // Every host of a PostgreSQL host list answered, but as a standby (postgres-failover.ts): mid-failover, no
    // primary yet. Hosts that failed otherwise are judged one by one (`errors` below).
    if (
      x.name === 'PgNoMatchingServerError' &&
      Array.isArray(x.errors) &&
      x.errors.length > 0 &&
      x.errors.every((inner) => (inner as { name?: unknown } | null)?.name === 'PgSessionMismatchError')
    ) {
      return true;
    }
    if (typeof (e as { beforeHandshake?: unknown }).beforeHandshake === 'boolean') return true;
    const reason = (e as { reason?: { servers?: unknown } }).reason;
    if (typeof reason === 'object' && reason !== null && reason.servers instanceof Map) return true;
    if (typeof x.message === 'string' && PG_UNAVAILABLE_MESSAGES.test(x.message)) return true;
    if (typeof x.message === 'string' && MONGO_UNAVAILABLE_MESSAGES.test(x.message)) return true;
    if (Array.isArray(x.errors) && x.errors.some((inner) => visit(inner, depth + 1))) return true;
    return visit(x.cause, depth + 1);
  };
  return visit(err, 0);
}
