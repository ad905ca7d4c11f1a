/**
 * MongoDB indexes that an older regstack created and this one must not keep. MongoDB has no migrations:
 * `installSchema` creates the indexes the entities declare but never removes one they stopped declaring, so a
 * retired index is dropped here, before the declared ones are created. Idempotent, and safe when several
 * instances install at once: an index another instance dropped first is not an error.
 */
import type { MikroORM } from '@mikro-orm/core';

interface RetiredIndex {
  collection: string;
  /** The index's key, in order. */
  key: Record<string, 1 | -1>;
  unique: boolean;
}

const RETIRED: readonly RetiredIndex[] = [
  // R67 (issue 14 item 7): every sign-up attempt keeps its own pending row, so a second attempt for an address
  // must not fail on a unique email. The entity now declares a plain index on `email` in its place.
  { collection: 'pending_registrations', key: { email: 1 }, unique: true },
];

/** MongoDB's "index not found" and "namespace not found": someone else got there first. */
const ALREADY_GONE = new Set([26, 27]);

export async function dropRetiredMongoIndexes(orm: MikroORM): Promise<void> {
  const connection = orm.em.getConnection();
  await connection.ensureConnection();
  const db = (connection as unknown as { getDb(): MongoDbLike }).getDb();
  const collections = new Set((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
  for (const retired of RETIRED) {
    if (!collections.has(retired.collection)) continue;
    const collection = db.collection(retired.collection);
    for (const index of await collection.listIndexes().toArray()) {
      if ((index.unique === true) !== retired.unique || !sameKey(index.key, retired.key)) continue;
      try {
        await collection.dropIndex(index.name);
      } catch (err) {
        if (!ALREADY_GONE.has((err as { code?: unknown }).code as number)) throw err;
      }
    }
  }
}

function sameKey(actual: Record<string, unknown>, wanted: Record<string, 1 | -1>): boolean {
  const a = Object.entries(actual);
  const w = Object.entries(wanted);
  return a.length === w.length && a.every(([field, order], i) => field === w[i]?.[0] && order === w[i]?.[1]);
}

/** The part of the mongodb driver's `Db` used here. */
interface MongoDbLike {
  listCollections(filter: object, options: { nameOnly: true }): { toArray(): Promise<{ name: string }[]> };
  collection(name: string): {
    listIndexes(): { toArray(): Promise<{ name: string; key: Record<string, unknown>; unique?: boolean }[]> };
    dropIndex(name: string): Promise<unknown>;
  };
}
