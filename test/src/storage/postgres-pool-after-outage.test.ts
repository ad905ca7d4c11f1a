/**
 * R71: after an outage the PostgreSQL pool is whole again. A transaction whose BEGIN (or ROLLBACK) fails — the
 * server frozen past the query timeout, or the connection reset — must give its connection back: kysely, under
 * MikroORM, never releases those, so each one would hold a pool connection for good, and after as many as the pool
 * holds every call would wait out the pool timeout although the database is back. A one-connection pool behind a
 * loopback proxy that freezes makes one such transaction enough to show it.
 */
import { openStorage, type Storage, UserSchema } from '@regstack/server/internal';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../harness/backends.ts';
import { type DbProxy, hostAndPort, startDbProxy, throughProxy } from '../http/db-proxy.ts';

const info = inject('backends');

describe.skipIf(!info.available.includes('postgres'))('PostgreSQL pool after an outage', () => {
  let db: TestDatabase;
  let proxy: DbProxy;
  let storage: Storage;

  beforeAll(async () => {
    db = await createTestDatabase('postgres', info.mongoUrls);
    const direct = await openStorage(db.url);
    await direct.installSchema();
    await direct.close();
    proxy = await startDbProxy(hostAndPort(db.url, 5432));
    storage = await openStorage(throughProxy(db.url, proxy), {
      poolSize: 1,
      connectTimeoutMs: 1000,
      queryTimeoutMs: 1000,
    });
  });
  afterAll(async () => {
    await proxy?.restore();
    await storage?.close();
    await proxy?.close();
    await db?.drop();
  });

  const countUsers = () => storage.atomically(async () => storage.fork().count(UserSchema, {}));

  it('a transaction that failed in the outage gives its connection back (R71)', async () => {
    expect(await countUsers()).toBe(0); // the pool's one connection is open, and idle
    proxy.freeze();
    // Its BEGIN gets no answer: the query timeout ends it.
    await expect(countUsers()).rejects.toSatisfy((err: unknown) => /timeout/i.test(String(err)));
    await proxy.restore();
    // The same pool, its one connection free again (or replaced): the database answers.
    expect(await countUsers()).toBe(0);
  });
});
