/**
 * Parses `database_url` into a backend choice (SPEC §6). Accepted forms:
 * - `sqlite:./regstack.db`, `sqlite:/abs/path.db`, `sqlite::memory:` — a file path after the colon;
 * - `sqlite:///relative.db` and `sqlite:////abs/path.db` — the SQLAlchemy spelling the Python regstack
 *   uses (also with a `+aiosqlite` suffix), so its `regstack.toml` loads unchanged;
 * - `postgresql://…` / `postgres://…` (an optional `+asyncpg`-style suffix is dropped). The whole URL reaches
 *   node-postgres, which reads its query the libpq way: `sslmode`, `sslrootcert`, `host` (a Unix-socket
 *   directory, also spelled as a percent-encoded host: `%2Frun%2Fpostgresql`), `application_name`, `options`…
 *   asyncpg's `ssl=<sslmode>` (the Python regstack's spelling) is read as `sslmode`;
 * - `mongodb://…` / `mongodb+srv://…` — the database name is the URL path (default `regstack`).
 */
import { isAbsolute, resolve } from 'node:path';

export type BackendKind = 'sqlite' | 'postgresql' | 'mongodb';

export type DatabaseTarget =
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgresql'; clientUrl: string; dbName: string }
  | { kind: 'mongodb'; clientUrl: string; dbName: string };

export class DatabaseUrlError extends Error {
  override readonly name = 'DatabaseUrlError';
  readonly code = 'CONFIG_INVALID';
}

/** Describes a URL for logs and errors without its password. */
export function redactDatabaseUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

/** libpq's `sslmode` values, which asyncpg also takes as `ssl=`. */
const LIBPQ_SSL_MODES = new Set(['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']);

/**
 * The query parameters a PostgreSQL `database_url` may carry: libpq's that node-postgres acts on, and MikroORM's
 * `schema`. Anything else is refused rather than ignored (a misspelt `sslmode` must not mean "in the clear") or
 * handed on (node-postgres would take `max`, `log` or `Client` as pool options).
 */
export const PG_URL_PARAMETERS: ReadonlySet<string> = new Set([
  'host',
  'port',
  'user',
  'sslmode',
  'sslcert',
  'sslkey',
  'sslrootcert',
  'sslnegotiation',
  'uselibpqcompat',
  'ssl',
  'application_name',
  'fallback_application_name',
  'options',
  'client_encoding',
  'connect_timeout',
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'query_timeout',
  'schema',
]);

/** Those of them that are a count of milliseconds, which node-postgres takes as they are. */
export const PG_URL_MILLISECOND_PARAMETERS: ReadonlySet<string> = new Set([
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'query_timeout',
]);

/** All its durations: those, and libpq's `connect_timeout` in seconds. */
const PG_URL_DURATIONS = ['connect_timeout', ...PG_URL_MILLISECOND_PARAMETERS];

export function parseDatabaseUrl(url: string, cwd: string = process.cwd()): DatabaseTarget {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (!scheme) {
    throw new DatabaseUrlError(
      `database_url ${JSON.stringify(redactDatabaseUrl(url))} has no scheme; use sqlite:, postgresql:// or mongodb://`,
    );
  }
  const base = scheme.split('+')[0];
  const rest = url.slice(scheme.length + 1);
  if (base === 'sqlite') {
    let path: string;
    if (rest === ':memory:' || rest === '///:memory:' || rest === '') {
      path = ':memory:';
    } else if (rest.startsWith('//')) {
      // SQLAlchemy: sqlite:///relative.db, sqlite:////absolute.db
      const afterHost = rest.slice(2);
      if (!afterHost.startsWith('/')) {
        throw new DatabaseUrlError(`database_url ${JSON.stringify(url)}: a sqlite URL cannot name a host`);
      }
      path = afterHost.slice(1);
    } else {
      path = rest;
    }
    if (path !== ':memory:' && !isAbsolute(path)) path = resolve(cwd, path);
    return { kind: 'sqlite', path };
  }
  if (base === 'postgresql' || base === 'postgres') {
    const parsed = parseUrl(withPostgresHost(url), 'postgresql');
    const dbName = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || 'postgres';
    parsed.protocol = 'postgresql:';
    if (parsed.pathname === '' || parsed.pathname === '/') parsed.pathname = `/${dbName}`;
    const unknown = [...new Set(parsed.searchParams.keys())].filter((key) => !PG_URL_PARAMETERS.has(key));
    if (unknown.includes('password')) {
      throw new DatabaseUrlError(
        'database_url: put the PostgreSQL password in the URL before the host (postgresql://user:password@host/db), ' +
          'where it is kept out of logs, not in its query',
      );
    }
    if (unknown.length > 0) {
      const names = unknown.map((key) => JSON.stringify(key)).join(', ');
      throw new DatabaseUrlError(
        `database_url: unknown PostgreSQL parameter${unknown.length > 1 ? 's' : ''} ${names}; ` +
          `known: ${[...PG_URL_PARAMETERS].join(', ')}`,
      );
    }
    for (const key of PG_URL_DURATIONS) {
      const value = parsed.searchParams.get(key);
      if (value !== null && !/^\d{1,9}$/.test(value)) {
        throw new DatabaseUrlError(`database_url: ${key} must be a whole number, not ${JSON.stringify(value)}`);
      }
    }
    const ssl = parsed.searchParams.get('ssl');
    if (ssl !== null && LIBPQ_SSL_MODES.has(ssl) && !parsed.searchParams.has('sslmode')) {
      parsed.searchParams.delete('ssl');
      parsed.searchParams.set('sslmode', ssl);
    }
    return { kind: 'postgresql', clientUrl: parsed.toString(), dbName };
  }
  if (base === 'mongodb') {
    const parsed = parseUrl(url, 'mongodb');
    const dbName = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || 'regstack';
    if (scheme !== 'mongodb' && scheme !== 'mongodb+srv') {
      throw new DatabaseUrlError(`database_url scheme "${scheme}:" is not supported; use mongodb:// or mongodb+srv://`);
    }
    return { kind: 'mongodb', clientUrl: url, dbName };
  }
  throw new DatabaseUrlError(
    `database_url scheme "${scheme}:" is not supported; use sqlite:, postgresql:// or mongodb://`,
  );
}

/**
 * libpq allows an empty host (`postgresql://user:pass@/db?host=/var/run/postgresql`: a Unix socket, named in the
 * query), which the WHATWG URL parser refuses once the URL has credentials (issue 14, item 13). The empty host
 * becomes `localhost`, which is also what node-postgres connects to when no `host` parameter names a socket
 * directory; a `host` parameter still wins over it, in node-postgres's parser as in libpq.
 */
function withPostgresHost(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^/?#@]*@)?(?=[/?#]|$)/i, (_, scheme: string, userinfo?: string) =>
    userinfo ? `${scheme}${userinfo}localhost` : `${scheme}localhost`,
  );
}

function parseUrl(url: string, what: string): URL {
  try {
    // WHATWG URL cannot parse multi-host mongodb lists; only the path (database name) is read here.
    return new URL(url.replace(/^([a-z]+)\+[a-z0-9]+:/i, '$1:').replace(/@[^/?]*,[^/?]*/, '@multi-host'));
  } catch {
    throw new DatabaseUrlError(`database_url is not a valid ${what} URL: ${JSON.stringify(redactDatabaseUrl(url))}`);
  }
}
