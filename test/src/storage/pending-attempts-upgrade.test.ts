/**
 * Issue 14 item 7 (R67) on an existing deployment: before, `pending_registrations.email` was unique (one
 * pending sign-up per address); now each sign-up attempt keeps its own row. `installSchema` must move an old
 * database over — a migration on SQLite and PostgreSQL, dropping the unique index on MongoDB, where
 * `installSchema` only ever creates indexes — idempotently and with several instances at once, keeping the
 * rows already there.
 */
import { ALL_ENTITIES, type OpenStorageOptions, openStorage, type Storage } from '@regstack/server/internal';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../harness/backends.ts';
import { describeEachBackend } from '../harness/each-backend.ts';
import { repos } from './concurrency.ts';

const PENDING = ALL_ENTITIES.find((e) => e.meta.tableName === 'pending_registrations')!;

/** A row written straight through the entity manager, past the repository. */
function rawInsert(storage: Storage, id: string): Promise<unknown> {
  const em = storage.fork() as unknown as { insert(entity: unknown, data: object): Promise<unknown> };
  return em.insert(PENDING, {
    id,
    email: 'upgraded@example.com',
    hashedPassword: `raw-${id}`,
    fullName: null,
    expiresAt: new Date(Date.now() + 3600_000),
    createdAt: new Date(),
  });
}

/** The first migration, which made `pending_registrations.email` unique. */
const BEFORE_R67 = 'Migration20261123164002';

interface MongoIndexes {
  getDb(): {
    collection(n: string): {
      indexes(): Promise<{ name: string; key: Record<string, number>; unique?: boolean }[]>;
      dropIndex(name: string): Promise<unknown>;
      createIndex(key: Record<string, number>, options: { unique: boolean }): Promise<string>;
    };
  };
}

describeEachBackend('pending attempts: upgrading a database from one pending row per address', (ctx) => {
  let db: TestDatabase;
  const opened: Storage[] = [];
  async function open(options?: OpenStorageOptions): Promise<Storage> {
    const s = await openStorage(db.url, options);
    opened.push(s);
    return s;
  }
  beforeAll(async () => {
    db = await createTestDatabase(ctx.backend, inject('backends').mongoUrls);
  });
  afterAll(async () => {
    await Promise.all(opened.map((s) => s.close()));
    await db?.drop();
  });

  const now = new Date();
  const attempt = (hashedPassword: string) => ({
    email: 'upgraded@example.com',
    hashedPassword,
    expiresAt: new Date(now.getTime() + 3600_000),
  });
  it('installSchema lets a second attempt for an address in, keeps the old row, and is idempotent', async () => {
    const first = await open();
    // The database as the previous release left it: one pending row, and a unique email.
    if (ctx.backend === 'sqlite' || ctx.backend === 'postgres') {
      await first.orm.migrator.up({ to: BEFORE_R67 });
    } else {
      await first.installSchema();
      const collection = (first.fork().getConnection() as unknown as MongoIndexes)
        .getDb()
        .collection('pending_registrations');
      for (const index of await collection.indexes()) {
        if (index.key.email === 1) await collection.dropIndex(index.name);
      }
      await collection.createIndex({ email: 1 }, { unique: true });
    }
    const old = await repos(first).pendingRegistrations.insertAttempt(attempt('old-hash'), now, 5);
    await expect(rawInsert(first, 'dup-before')).rejects.toSatisfy((err: unknown) =>
      first.dialect.isUniqueViolation(err),
    );
    expect((await first.schemaState()).current).toBe(false);

    // Two instances upgrade, then again. On MongoDB at once; SQL installs under a database lock are issue 14
    // item 1, not this change, so they take turns here.
    const [a, b] = await Promise.all([open(), open()]);
    if (ctx.backend === 'sqlite' || ctx.backend === 'postgres') {
      await a.installSchema();
      await b.installSchema();
    } else {
      await Promise.all([a.installSchema(), b.installSchema()]);
    }
    await a.installSchema();
    expect(await a.schemaState()).toEqual({ current: true });

    await rawInsert(a, 'dup-after');
    const second = await repos(a).pendingRegistrations.insertAttempt(attempt('new-hash'), now, 5);
    expect((await repos(a).pendingRegistrations.findById(old.id))?.hashedPassword).toBe('old-hash');
    expect((await repos(a).pendingRegistrations.findById(second.id))?.hashedPassword).toBe('new-hash');
    expect(await repos(a).pendingRegistrations.countLive('upgraded@example.com', now)).toBe(3);
    if (ctx.backend !== 'sqlite' && ctx.backend !== 'postgres') {
      const indexes = await (a.fork().getConnection() as unknown as MongoIndexes)
        .getDb()
        .collection('pending_registrations')
        .indexes();
      const onEmail = indexes.filter((i) => Object.keys(i.key).join() === 'email');
      expect(onEmail.map((i) => i.unique === true)).toEqual([false]);
    }
  });
});
