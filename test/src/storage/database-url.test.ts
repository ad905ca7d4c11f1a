import { DatabaseUrlError, normalizeDatabaseUrl, parseDatabaseUrl, redactDatabaseUrl } from '@regstack/server/internal';
import { describe, expect, it } from 'vitest';

describe('parseDatabaseUrl', () => {
  it('reads sqlite paths relative to the working directory', () => {
    expect(parseDatabaseUrl('sqlite:./regstack.db', '/srv/app')).toEqual({
      kind: 'sqlite',
      path: '/srv/app/regstack.db',
    });
    expect(parseDatabaseUrl('sqlite:/var/lib/rs.db', '/srv/app')).toEqual({ kind: 'sqlite', path: '/var/lib/rs.db' });
    expect(parseDatabaseUrl('sqlite::memory:')).toEqual({ kind: 'sqlite', path: ':memory:' });
  });

  it('accepts the SQLAlchemy spellings a Python regstack config uses', () => {
    expect(parseDatabaseUrl('sqlite+aiosqlite:///./regstack.db', '/srv')).toEqual({
      kind: 'sqlite',
      path: '/srv/regstack.db',
    });
    expect(parseDatabaseUrl('sqlite:////abs/rs.db')).toEqual({ kind: 'sqlite', path: '/abs/rs.db' });
    expect(parseDatabaseUrl('postgresql+asyncpg://u:p@db:5432/app')).toMatchObject({
      kind: 'postgresql',
      dbName: 'app',
      clientUrl: 'postgresql://u:p@db:5432/app',
    });
  });

  it('keeps a postgres URL’s query for node-postgres, with asyncpg’s ssl= read as sslmode', () => {
    expect(parseDatabaseUrl('postgresql://u:p@db/app?sslmode=verify-full&application_name=web')).toMatchObject({
      clientUrl: 'postgresql://u:p@db/app?sslmode=verify-full&application_name=web',
    });
    expect(parseDatabaseUrl('postgresql+asyncpg://u:p@db/app?ssl=require')).toMatchObject({
      clientUrl: 'postgresql://u:p@db/app?sslmode=require',
    });
    // an explicit sslmode wins; node-postgres's own ssl=true|false|1|0 passes through untouched
    expect(parseDatabaseUrl('postgresql://u@db/app?ssl=require&sslmode=disable')).toMatchObject({
      clientUrl: 'postgresql://u@db/app?ssl=require&sslmode=disable',
    });
    expect(parseDatabaseUrl('postgresql://u@db/app?ssl=true')).toMatchObject({
      clientUrl: 'postgresql://u@db/app?ssl=true',
    });
    // the database the URL leaves out is named, so node-postgres does not fall back to the user's name
    expect(parseDatabaseUrl('postgresql://u@db')).toMatchObject({
      dbName: 'postgres',
      clientUrl: 'postgresql://u@db/postgres',
    });
    // libpq's empty host with credentials: a socket directory in the query (issue 14, item 13)
    expect(parseDatabaseUrl('postgresql://user:pass@/db?host=/var/run/postgresql')).toMatchObject({
      kind: 'postgresql',
      dbName: 'db',
      clientUrl: 'postgresql://user:pass@localhost/db?host=/var/run/postgresql',
    });
    expect(parseDatabaseUrl('postgresql:///db?host=/run/postgresql')).toMatchObject({ dbName: 'db' });
    expect(parseDatabaseUrl('postgresql://user@?host=/run/postgresql')).toMatchObject({ dbName: 'postgres' });
    expect(parseDatabaseUrl('postgresql://u@%2Frun%2Fpostgresql/app')).toMatchObject({
      dbName: 'app',
      clientUrl: 'postgresql://u@%2Frun%2Fpostgresql/app',
    });
  });

  it('refuses PostgreSQL query parameters it would not act on, and keeps a query password out', () => {
    // a misspelt sslmode must not quietly mean "in the clear"
    expect(() => parseDatabaseUrl('postgresql://u@db/app?sslmdoe=require')).toThrow(
      /unknown PostgreSQL parameter "sslmdoe"/,
    );
    // pool options are not URL parameters (node-postgres would take them as such)
    expect(() => parseDatabaseUrl('postgresql://u@db/app?max=500&log=x')).toThrow(/parameters "max", "log"/);
    const withPassword = (() => {
      try {
        parseDatabaseUrl('postgresql://u@db/app?password=hunter2');
      } catch (err) {
        return err as Error;
      }
    })();
    expect(withPassword).toBeInstanceOf(DatabaseUrlError);
    expect(withPassword?.message).toMatch(/before the host/);
    expect(withPassword?.message).not.toContain('hunter2');
    expect(() => parseDatabaseUrl('postgresql://u@db/app?connect_timeout=soon')).toThrow(
      /connect_timeout must be a whole number/,
    );
    expect(
      parseDatabaseUrl('postgresql://u@db/app?connect_timeout=5&statement_timeout=30000&schema=public'),
    ).toMatchObject({
      kind: 'postgresql',
    });
  });

  it('reads libpq host lists and target_session_attrs, which node-postgres lacks (issue 21)', () => {
    // the authority form: each host its own port (none: 5432), IPv6 in brackets
    expect(parseDatabaseUrl('postgresql://u:p@a:5432,b:5433,[::1],c/db?target_session_attrs=read-write')).toEqual({
      kind: 'postgresql',
      dbName: 'db',
      clientUrl: 'postgresql://u:p@a:5432/db',
      sessionTarget: {
        hosts: [
          { host: 'a', port: 5432 },
          { host: 'b', port: 5433 },
          { host: '::1', port: 5432 },
          { host: 'c', port: 5432 },
        ],
        targetSessionAttrs: 'read-write',
      },
    });
    // the query form: one port per host, or one for all; the other parameters stay for node-postgres
    expect(parseDatabaseUrl('postgresql://u:p@/db?host=a,b&port=1,2&sslmode=require')).toMatchObject({
      clientUrl: 'postgresql://u:p@a:1/db?sslmode=require',
      sessionTarget: {
        hosts: [
          { host: 'a', port: 1 },
          { host: 'b', port: 2 },
        ],
        targetSessionAttrs: 'any',
      },
    });
    expect(parseDatabaseUrl('postgres://u@x/db?host=a,b&port=6432&target_session_attrs=primary')).toMatchObject({
      sessionTarget: {
        hosts: [
          { host: 'a', port: 6432 },
          { host: 'b', port: 6432 },
        ],
        targetSessionAttrs: 'primary',
      },
    });
    // socket directories in a list; the first goes to node-postgres as ?host=
    expect(parseDatabaseUrl('postgresql://u@/db?host=/run/pg,/tmp')).toMatchObject({
      clientUrl: 'postgresql://u@localhost:5432/db?host=%2Frun%2Fpg',
      sessionTarget: { hosts: [{ host: '/run/pg' }, { host: '/tmp' }] },
    });
    // one host with attributes is checked too; `any` alone changes nothing
    expect(parseDatabaseUrl('postgresql://u@db/app?target_session_attrs=read-write')).toMatchObject({
      sessionTarget: { hosts: [{ host: 'db', port: 5432 }], targetSessionAttrs: 'read-write' },
    });
    expect(parseDatabaseUrl('postgresql://u@db/app?target_session_attrs=any')).toEqual({
      kind: 'postgresql',
      dbName: 'app',
      clientUrl: 'postgresql://u@db/app',
      sessionTarget: null,
    });
    expect(parseDatabaseUrl('postgresql://u@db/app')).toMatchObject({ sessionTarget: null });
    // what the configuration accepts is what storage opens
    const listed = 'postgresql://u:p@a:5432,b:5433/db?target_session_attrs=read-write';
    expect(parseDatabaseUrl(normalizeDatabaseUrl(listed))).toEqual(parseDatabaseUrl(listed));
  });

  it('refuses malformed host lists with CONFIG_INVALID and a message naming the fix (issue 21)', () => {
    const refused: Array<[string, RegExp]> = [
      ['postgresql://u:p@a,b/db?target_session_attrs=standby', /target_session_attrs "standby" is not supported/],
      ['postgresql://u:p@a,b/db?target_session_attrs=prefer-standby', /use any, read-write, primary/],
      ['postgresql://u@db/app?target_session_attrs=read_write', /not supported/],
      ['postgresql://u:p@a,,b/db', /empty entry/],
      ['postgresql://u:p@/db?host=a,&port=1', /empty entry/],
      ['postgresql://u:p@/db?host=a,b&port=1,2,3', /3 ports for 2 hosts/],
      ['postgresql://u:p@a:1,b:2,c:3/db?port=1,2', /2 ports for 3 hosts/],
      ['postgresql://u:p@a,b:99999/db', /port "99999" is not a port number/],
      ['postgresql://u:p@a,b:x/db', /port "x" is not a port number/],
      ['postgresql://u:p@a,b/db?host=c,d&sslmdoe=require', /unknown PostgreSQL parameter "sslmdoe"/],
    ];
    for (const [url, message] of refused) {
      let error: unknown;
      try {
        parseDatabaseUrl(url);
      } catch (err) {
        error = err;
      }
      expect(error, url).toBeInstanceOf(DatabaseUrlError);
      expect((error as DatabaseUrlError).code, url).toBe('CONFIG_INVALID');
      expect((error as Error).message, url).toMatch(message);
      expect((error as Error).message, url).not.toContain(':p@');
      expect(() => normalizeDatabaseUrl(url), url).toThrow(DatabaseUrlError);
    }
  });

  it('reads postgres and mongodb database names', () => {
    expect(parseDatabaseUrl('postgres://u@h/regstack')).toMatchObject({ kind: 'postgresql', dbName: 'regstack' });
    expect(parseDatabaseUrl('mongodb://h:27017/accounts')).toMatchObject({ kind: 'mongodb', dbName: 'accounts' });
    expect(parseDatabaseUrl('mongodb://h1,h2/accounts?replicaSet=rs')).toMatchObject({
      kind: 'mongodb',
      dbName: 'accounts',
      clientUrl: 'mongodb://h1,h2/accounts?replicaSet=rs',
    });
    expect(parseDatabaseUrl('mongodb://h:27017')).toMatchObject({ dbName: 'regstack' });
    // `mongodb_database` names the database when the URL's path does not; the URL's own name wins.
    expect(parseDatabaseUrl('mongodb://h:27017', '/', 'accounts')).toMatchObject({ dbName: 'accounts' });
    expect(parseDatabaseUrl('mongodb://h:27017/mine', '/', 'accounts')).toMatchObject({ dbName: 'mine' });
  });

  it('is the one grammar: what the configuration accepts is what storage opens (issue 15 item 2)', () => {
    const accepted = [
      'sqlite:./app.db',
      'sqlite+aiosqlite:///./app.db',
      'sqlite::memory:',
      'sqlite://',
      'postgres://u:p@db/app?sslmode=require',
      'postgresql+asyncpg://u:p@db/app',
      'mongodb://h:27017/app',
    ];
    for (const url of accepted) {
      const normalized = normalizeDatabaseUrl(url);
      expect(parseDatabaseUrl(normalized, '/srv')).toEqual(parseDatabaseUrl(url, '/srv'));
    }
    // Refused by both, with the same message: storage would not open them, so the configuration does not accept them.
    for (const url of [
      'mysql://u:p@h/db',
      'sqlite:',
      'sqlite+aiosqlite:app.db',
      'postgresql://h/db?max=5',
      'nonsense',
    ]) {
      expect(() => normalizeDatabaseUrl(url)).toThrow(DatabaseUrlError);
      expect(() => parseDatabaseUrl(url)).toThrow(DatabaseUrlError);
    }
  });

  it('rejects unknown schemes with a message naming the fix, without leaking a password', () => {
    expect(() => parseDatabaseUrl('mysql://root:hunter2@h/db')).toThrow(DatabaseUrlError);
    expect(() => parseDatabaseUrl('mysql://root:hunter2@h/db')).toThrow(/use sqlite:, postgresql:\/\/ or mongodb:\/\//);
    expect(() => parseDatabaseUrl('nonsense')).toThrow(/has no scheme/);
    try {
      parseDatabaseUrl('postgresql://root:hunter2@[bad');
    } catch (err) {
      expect(String((err as Error).message)).not.toContain('hunter2');
    }
    expect(redactDatabaseUrl('postgresql://root:hunter2@h/db')).toBe('postgresql://root:***@h/db');
  });
});
