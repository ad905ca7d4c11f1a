/**
 * The one grammar of `database_url` (SPEC §6): which backend it names and what that backend is handed. Accepted forms:
 * - `sqlite:./regstack.db`, `sqlite:/abs/path.db`, `sqlite::memory:` — a file path after the colon;
 * - `sqlite:///relative.db` and `sqlite:////abs/path.db` — the SQLAlchemy spelling the Python regstack
 *   uses (also with a `+aiosqlite` suffix), so its `regstack.toml` loads unchanged;
 * - `postgresql://…` / `postgres://…` (an optional `+asyncpg`-style suffix is dropped). The whole URL reaches
 *   node-postgres, which reads its query the libpq way: `sslmode`, `sslrootcert`, `host` (a Unix-socket
 *   directory, also spelled as a percent-encoded host: `%2Frun%2Fpostgresql`), `application_name`, `options`…
 *   asyncpg's `ssl=<sslmode>` (the Python regstack's spelling) is read as `sslmode`. libpq's host lists, which
 *   node-postgres lacks, are read here (issue 21): `postgresql://u:p@a:5432,b:5433/db`, `?host=a,b&port=p,q`, with
 *   `target_session_attrs` (`any`, `read-write`, `primary`) — see `PgSessionTarget`;
 * - `mongodb://…` / `mongodb+srv://…` — the database name is the URL path (default `regstack`).
 */
import { isAbsolute, resolve } from 'node:path';

export type BackendKind = 'sqlite' | 'postgresql' | 'mongodb';

export type DatabaseTarget =
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgresql'; clientUrl: string; dbName: string; sessionTarget: PgSessionTarget | null }
  | { kind: 'mongodb'; clientUrl: string; dbName: string };

/** libpq's `target_session_attrs` values regstack acts on: it writes, so a standby is never what it wants. */
export const PG_TARGET_SESSION_ATTRS = ['any', 'read-write', 'primary'] as const;
export type PgTargetSessionAttrs = (typeof PG_TARGET_SESSION_ATTRS)[number];

/** One server of a host list: a name or address, or a Unix-socket directory (starting with `/`), and its port. */
export interface PgHost {
  host: string;
  port: number;
}

/**
 * libpq's host list and `target_session_attrs` (issue 21), which node-postgres does not read: the hosts are tried
 * in order for each new connection, and the first that answers and matches the attributes is used — `any`: any
 * server; `read-write`: one whose sessions accept writes (`show transaction_read_only` is `off`); `primary`: one
 * not in recovery (`pg_is_in_recovery()` is false). Null when the URL names one server and no attributes (or
 * `any`): node-postgres then connects as it always has.
 */
export interface PgSessionTarget {
  hosts: PgHost[];
  targetSessionAttrs: PgTargetSessionAttrs;
}

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
  'target_session_attrs',
  'schema',
]);

/** Those of them that are a count of milliseconds, which node-postgres takes as they are. */
const PG_URL_MILLISECOND_PARAMETERS: ReadonlySet<string> = new Set([
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'query_timeout',
]);

/** All its durations: those, and libpq's `connect_timeout` in seconds. */
const PG_URL_DURATIONS = ['connect_timeout', ...PG_URL_MILLISECOND_PARAMETERS];

/** A database URL read by the grammar above, before a relative SQLite path is resolved. */
type ReadUrl =
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgresql'; clientUrl: string; dbName: string; sessionTarget: PgSessionTarget | null; canonical: string }
  | { kind: 'mongodb'; clientUrl: string; dbName: string | null };

/**
 * The one grammar of `database_url`: which backend, and what it is handed. Every reader of the URL — the
 * configuration's validation (`normalizeDatabaseUrl`), the storage layer (`parseDatabaseUrl`), node-postgres's
 * options (`pgClientConfig`) and MongoDB's (`mongoUrlOptionNames`) — goes through this file.
 */
function readDatabaseUrl(url: string): ReadUrl {
  const value = url.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1]?.toLowerCase();
  if (!scheme) {
    // Nothing of the value is echoed: without a scheme it may be anything, a password pasted in the wrong place too.
    throw new DatabaseUrlError('database_url has no scheme; use sqlite:, postgresql:// or mongodb://');
  }
  const [base, driverSuffix] = scheme.split('+');
  const rest = value.slice(scheme.length + 1);
  if (base === 'sqlite') {
    if (rest.startsWith('//')) {
      // SQLAlchemy: sqlite:///relative.db, sqlite:////absolute.db; `sqlite://` alone is an in-memory database.
      const afterHost = rest.slice(2);
      if (afterHost === '' || afterHost === '/' || afterHost === '/:memory:')
        return { kind: 'sqlite', path: ':memory:' };
      if (!afterHost.startsWith('/')) {
        throw new DatabaseUrlError(`database_url ${JSON.stringify(value)}: a sqlite URL cannot name a host`);
      }
      return { kind: 'sqlite', path: afterHost.slice(1) };
    }
    if (driverSuffix !== undefined) {
      throw new DatabaseUrlError(
        `database_url ${JSON.stringify(value)}: a driver suffix (sqlite+${driverSuffix}:) needs the URL form sqlite:///file.db`,
      );
    }
    if (rest === '')
      throw new DatabaseUrlError('database_url "sqlite:" names no file; use sqlite:./regstack.db or sqlite::memory:');
    return { kind: 'sqlite', path: rest };
  }
  if (base === 'postgresql' || base === 'postgres') {
    if (!rest.startsWith('//')) throw new DatabaseUrlError('database_url: a PostgreSQL URL starts with postgresql://');
    return { kind: 'postgresql', ...readPostgresUrl(value), canonical: `postgresql:${rest}` };
  }
  if (base === 'mongodb') {
    if (scheme !== 'mongodb' && scheme !== 'mongodb+srv') {
      throw new DatabaseUrlError(`database_url scheme "${scheme}" is not supported; use mongodb:// or mongodb+srv://`);
    }
    if (!rest.startsWith('//') || rest.length === 2)
      throw new DatabaseUrlError('database_url: a MongoDB URL names a host');
    const parsed = parseUrl(value, 'mongodb');
    return {
      kind: 'mongodb',
      clientUrl: value,
      dbName: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || null,
    };
  }
  throw new DatabaseUrlError(
    `database_url scheme "${scheme.slice(0, 30)}" is not supported; use sqlite:, postgresql:// or mongodb://`,
  );
}

/**
 * The canonical spelling of a database URL, as the configuration keeps it: `sqlite:<path as written>`,
 * `sqlite::memory:`, `postgresql://…` (any `postgres`/`+driver` spelling) or the MongoDB URL as given. Throws
 * `DatabaseUrlError` for anything the storage layer would not open.
 */
export function normalizeDatabaseUrl(url: string): string {
  const read = readDatabaseUrl(url);
  if (read.kind === 'sqlite') return `sqlite:${read.path}`;
  if (read.kind === 'postgresql') return read.canonical;
  return read.clientUrl;
}

/**
 * The backend a URL opens, with a relative SQLite path resolved against `cwd` and MongoDB's database name
 * defaulting to `defaultMongoDatabase` (`mongodb_database`) when the URL's path names none.
 */
export function parseDatabaseUrl(
  url: string,
  cwd: string = process.cwd(),
  defaultMongoDatabase = 'regstack',
): DatabaseTarget {
  const read = readDatabaseUrl(url);
  if (read.kind === 'sqlite') {
    return {
      kind: 'sqlite',
      path: read.path === ':memory:' || isAbsolute(read.path) ? read.path : resolve(cwd, read.path),
    };
  }
  if (read.kind === 'postgresql') {
    return { kind: 'postgresql', clientUrl: read.clientUrl, dbName: read.dbName, sessionTarget: read.sessionTarget };
  }
  return { kind: 'mongodb', clientUrl: read.clientUrl, dbName: read.dbName ?? defaultMongoDatabase };
}

/**
 * A PostgreSQL URL checked against the parameters above, as node-postgres is handed it. A host list (or
 * `target_session_attrs`) is taken out first (`readHostList`): node-postgres is handed the first host, and the list
 * goes to the pool's connections (postgres-pool.ts `failoverClient`).
 */
function readPostgresUrl(url: string): { clientUrl: string; dbName: string; sessionTarget: PgSessionTarget | null } {
  const { url: singleHost, sessionTarget } = readHostList(url);
  const parsed = parseUrl(withPostgresHost(singleHost), 'postgresql');
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
  return { clientUrl: parsed.toString(), dbName, sessionTarget };
}

/** libpq's default port, for a host of a list that names none. */
const PG_DEFAULT_PORT = 5432;

/**
 * libpq's multi-host forms (issue 21): hosts in the authority (`a:5432,[::1]:5433,b`) or in the query
 * (`host=a,b&port=p,q`; the query's lists win over the authority's, as in libpq), one port for every host or one
 * per host (an empty entry or none: 5432), and `target_session_attrs`. When the URL names one server with no
 * attributes (or `any`) it is returned as written; otherwise with its first host alone in the authority (a socket
 * directory as `?host=`), `host`, `port` and `target_session_attrs` removed from the query, and the list beside it.
 */
function readHostList(url: string): { url: string; sessionTarget: PgSessionTarget | null } {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#@]*@)?([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/i.exec(url);
  if (!m) return { url, sessionTarget: null };
  const [, scheme = '', userinfo = '', authority = '', path = '', search = ''] = m;
  const query = new URLSearchParams(search.slice(1));
  const attrsValues = query.getAll('target_session_attrs');
  const hostValues = query.getAll('host');
  const portValues = query.getAll('port');
  const listed =
    authority.includes(',') || hostValues.some((h) => h.includes(',')) || portValues.some((p) => p.includes(','));
  const attrs = attrsValues.at(-1) ?? 'any';
  if (!(PG_TARGET_SESSION_ATTRS as readonly string[]).includes(attrs)) {
    throw new DatabaseUrlError(
      `database_url: target_session_attrs ${JSON.stringify(attrs.slice(0, 30))} is not supported; use ` +
        `${PG_TARGET_SESSION_ATTRS.join(', ')} (regstack writes, so it never targets a standby)`,
    );
  }
  if (!listed && attrs === 'any') {
    if (attrsValues.length === 0) return { url, sessionTarget: null };
    query.delete('target_session_attrs');
    const rest = query.toString();
    return { url: `${scheme}${userinfo}${authority}${path}${rest ? `?${rest}` : ''}`, sessionTarget: null };
  }
  // The authority's entries: `host`, `host:port`, `[v6]`, `[v6]:port`, percent-encoded (a socket directory).
  const authorityHosts: string[] = [];
  const authorityPorts: string[] = [];
  if (authority !== '') {
    for (const entry of authority.split(',')) {
      const e = /^(\[[^\]]*\]|[^:[\]]*)(?::(.*))?$/.exec(entry);
      if (!e) throw new DatabaseUrlError(`database_url: ${JSON.stringify(entry.slice(0, 60))} is not a host[:port]`);
      authorityHosts.push(decodeHost(e[1] ?? ''));
      authorityPorts.push(e[2] ?? '');
    }
  }
  // No host at all: node-postgres's and withPostgresHost's default.
  const hosts =
    hostValues.length > 0 ? (hostValues.at(-1) ?? '').split(',') : authority === '' ? ['localhost'] : authorityHosts;
  const portList = portValues.length > 0 ? (portValues.at(-1) ?? '').split(',') : authorityPorts;
  if (hosts.length === 0 || hosts.some((h) => h.trim() === '')) {
    throw new DatabaseUrlError('database_url: a PostgreSQL host list has an empty entry; name every host');
  }
  if (portList.length > 1 && portList.length !== hosts.length) {
    throw new DatabaseUrlError(
      `database_url: ${portList.length} ports for ${hosts.length} hosts; give one port for all, or one per host`,
    );
  }
  const ports = portList.map((p) => {
    if (p === '') return PG_DEFAULT_PORT;
    const port = /^\d{1,5}$/.test(p) ? Number(p) : 0;
    if (port < 1 || port > 65535)
      throw new DatabaseUrlError(`database_url: port ${JSON.stringify(p.slice(0, 10))} is not a port number`);
    return port;
  });
  const list = hosts.map((host, i) => ({
    host: host.trim(),
    port: ports.length === 0 ? PG_DEFAULT_PORT : ports.length === 1 ? (ports[0] as number) : (ports[i] as number),
  }));
  const first = list[0] as PgHost;
  query.delete('host');
  query.delete('port');
  query.delete('target_session_attrs');
  let firstAuthority: string;
  if (first.host.startsWith('/')) {
    query.set('host', first.host);
    firstAuthority = 'localhost';
  } else {
    firstAuthority = first.host.includes(':') && !first.host.startsWith('[') ? `[${first.host}]` : first.host;
  }
  const rest = query.toString();
  return {
    url: `${scheme}${userinfo}${firstAuthority}:${first.port}${path}${rest ? `?${rest}` : ''}`,
    sessionTarget: { hosts: list, targetSessionAttrs: attrs as PgTargetSessionAttrs },
  };
}

/** A host of the authority as node-postgres takes it: percent-decoded, an IPv6 address without its brackets. */
function decodeHost(host: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(host);
  } catch {
    throw new DatabaseUrlError(`database_url: ${JSON.stringify(host.slice(0, 60))} is not a valid host`);
  }
  return decoded.startsWith('[') && decoded.endsWith(']') ? decoded.slice(1, -1) : decoded;
}

/** The connection options node-postgres takes from a parsed URL (the password stays MikroORM's). */
const PG_CONNECTION_KEYS = [
  'host',
  'port',
  'user',
  'database',
  'ssl',
  'sslnegotiation',
  'options',
  'application_name',
  'fallback_application_name',
  'client_encoding',
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'query_timeout',
] as const;

/**
 * What a PostgreSQL `clientUrl` (from `parseDatabaseUrl`) means to node-postgres, read by node-postgres's own
 * parser, the libpq way (TLS modes and files, a socket directory, application_name, options…): only the options
 * it acts on for a connection (the libpq-only ones, such as `sslmode`, have become `ssl`), durations as numbers,
 * and libpq's `connect_timeout` (seconds) apart. MikroORM reads only host, port, user, password and database out
 * of a URL and drops its query, so these go to the pool over MikroORM's; the password stays MikroORM's.
 */
export async function pgClientConfig(
  clientUrl: string,
): Promise<{ options: Record<string, unknown>; connectTimeoutSeconds: number | null }> {
  const { default: connectionString } = await import('pg-connection-string');
  let parsed: Record<string, unknown>;
  try {
    parsed = { ...connectionString.parseIntoClientConfig(clientUrl) };
  } catch (err) {
    // The parser leaves the URL out of its errors; a TLS file it cannot read names only its path.
    throw new DatabaseUrlError(`database_url: ${(err as Error).message}`);
  }
  const options: Record<string, unknown> = {};
  for (const key of PG_CONNECTION_KEYS) {
    const value = parsed[key];
    if (value === undefined || value === null || value === '') continue;
    options[key] = PG_URL_MILLISECOND_PARAMETERS.has(key) ? Number(value) : value;
  }
  const connectTimeout = typeof parsed.connect_timeout === 'string' ? Number(parsed.connect_timeout) : null;
  return { options, connectTimeoutSeconds: connectTimeout };
}

/** The option names a MongoDB URL's query sets, lower-cased (the driver reads them case-insensitively). */
export function mongoUrlOptionNames(clientUrl: string): Set<string> {
  const query = clientUrl.includes('?') ? clientUrl.slice(clientUrl.indexOf('?') + 1) : '';
  return new Set([...new URLSearchParams(query).keys()].map((name) => name.toLowerCase()));
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
