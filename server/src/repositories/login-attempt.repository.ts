/**
 * Login attempts: the lockout counter (R14–R17). `recordAndCount` inserts this attempt's row *first* and
 * then counts the window, in two autocommitted statements. Whatever the interleaving, the k-th row to commit
 * sees at least k rows, so of N concurrent callers at most `threshold` can see a count within the threshold:
 * a burst cannot buy more password checks than the limit (R17), and no failure is lost. On SQL backends the hot
 * path (sql-hot-path.ts) does the same in one round trip: one SQLite transaction, or PostgreSQL's
 * `regstack_record_attempt` (db/routines.ts).
 */
import type { EntityManager } from '@mikro-orm/core';
import { LoginAttemptSchema } from '../db/entities/index.ts';
import { newId } from '../db/ids.ts';

export function createLoginAttemptRepository(em: EntityManager) {
  return {
    /** Records one attempt for `key` at `now` and returns its id and the attempts in (windowStart, now]. */
    async recordAndCount(key: string, now: Date, windowStart: Date): Promise<{ id: string; count: number }> {
      const id = newId(now.getTime());
      await em.insert(LoginAttemptSchema, { id, key, createdAt: now });
      const count = await em.count(LoginAttemptSchema, { key, createdAt: { $gt: windowStart } });
      return { id, count };
    },

    countSince(key: string, windowStart: Date): Promise<number> {
      return em.count(LoginAttemptSchema, { key, createdAt: { $gt: windowStart } });
    },

    /** The newest `limit` attempt times in the window, newest first (to compute when a lock lifts). */
    async recentTimes(key: string, windowStart: Date, limit: number): Promise<Date[]> {
      const rows = await em.find(
        LoginAttemptSchema,
        { key, createdAt: { $gt: windowStart } },
        { orderBy: { createdAt: 'desc' }, limit, fields: ['createdAt'] },
      );
      return rows.map((r) => r.createdAt);
    },

    /** Withdraws one recorded attempt (a reserved slot whose password turned out right). */
    async remove(id: string): Promise<void> {
      await em.nativeDelete(LoginAttemptSchema, { id });
    },

    /** Clears the counter for a key (successful login, completed reset: R18). */
    clear(key: string): Promise<number> {
      return em.nativeDelete(LoginAttemptSchema, { key });
    },

    purgeOlderThan(cutoff: Date): Promise<number> {
      return em.nativeDelete(LoginAttemptSchema, { createdAt: { $lte: cutoff } });
    },
  };
}

export type LoginAttemptRepository = ReturnType<typeof createLoginAttemptRepository>;
