/**
 * `describeEachBackend(title, body)` runs one behavioural suite once per available backend, each with a
 * database of its own that is created before and dropped after. A skipped backend shows as skipped, never
 * as passed.
 */
import { type OpenStorageOptions, openStorage, type Storage } from '@regstack/server/internal';
import { afterAll, beforeAll, describe, inject } from 'vitest';
import { ALL_BACKENDS, createTestDatabase, type TestBackend, type TestDatabase } from './backends.ts';

export interface BackendContext {
  readonly backend: TestBackend;
  /** URL of this suite's own database. */
  readonly url: string;
  /** The suite's opened storage (schema installed). */
  readonly storage: Storage;
  /** Opens another independent connection (pool) to the same database; closed after the suite. */
  openAnother(options?: OpenStorageOptions): Promise<Storage>;
}

export function describeEachBackend(title: string, body: (ctx: BackendContext) => void): void {
  const info = inject('backends');
  for (const backend of ALL_BACKENDS) {
    const available = info.available.includes(backend);
    const wanted = available || info.skipped.some((s) => s.backend === backend);
    if (!wanted) continue;
    describe.skipIf(!available)(`${title} [${backend}]`, () => {
      let db: TestDatabase | undefined;
      let storage: Storage | undefined;
      const extra: Storage[] = [];
      beforeAll(async () => {
        db = await createTestDatabase(backend, info.mongoUrls);
        storage = await openStorage(db.url);
        await storage.installSchema();
      });
      afterAll(async () => {
        await Promise.all(extra.map((s) => s.close()));
        await storage?.close();
        await db?.drop();
      });
      body({
        backend,
        get url() {
          if (!db) throw new Error('database not ready (use it inside a test or hook)');
          return db.url;
        },
        get storage() {
          if (!storage) throw new Error('storage not ready (use it inside a test or hook)');
          return storage;
        },
        async openAnother(options) {
          if (!db) throw new Error('database not ready');
          const s = await openStorage(db.url, options);
          extra.push(s);
          return s;
        },
      });
    });
  }
}
