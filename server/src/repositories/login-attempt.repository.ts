/**
 * Login attempts: the lockout counter (R14–R17, R70) and the per-client limits (R20), one row per event.
 *
 * A password check goes through two kinds of rows on one account (lockout.service.ts):
 * - a *try* (`tryKey`): inserted before the check, while it is in flight;
 * - a *failure* (`failKey`): what a wrong password leaves behind, in place of its try.
 * `recordTry` inserts the try *first* and then counts the window's tries and failures together. Whatever the
 * interleaving, the k-th row to commit sees at least k rows, so of N concurrent checks at most `threshold` see
 * a total within the threshold: a burst cannot buy more password checks than the limit (R17). A failure
 * replaces its try with the failure row written first (`settleFailure`), so a slot never looks free in
 * between. Because failures are told apart from tries, a caller over the total can see whether the account is
 * really locked (failures alone reach the threshold) or only busy with checks in flight, and wait for those
 * instead of being refused (R70). A try older than `staleBefore` was never settled — its process died, or the
 * database failed under it — and nobody got an answer from it: it stops counting, so a lost try can never hold
 * a slot, nor lock anyone out, for longer than that.
 *
 * `recordAndCount` is the single-key form the per-client limits and the mail limiter use (every request counts).
 * On SQL backends the hot path (sql-hot-path.ts) does the same in one round trip: one SQLite transaction, or
 * PostgreSQL's `regstack_record_try` / `regstack_record_attempt` (db/routines.ts).
 */
import type { EntityManager } from '@mikro-orm/core';
import { LoginAttemptSchema } from '../db/entities/index.ts';
import { newId } from '../db/ids.ts';

/** A try recorded by `recordTry`: its row id, the window's live tries and failures (its own included), and failures. */
export interface RecordedTry {
  id: string;
  total: number;
  failures: number;
}

/** The keys and bounds `recordTry` counts with. */
export interface TryWindow {
  /** The try's row id (chosen by the caller, so it can withdraw a try whose recording failed half-way). */
  id: string;
  tryKey: string;
  failKey: string;
  now: Date;
  /** Rows at or before this instant are outside the window. */
  windowStart: Date;
  /** Tries at or before this instant no longer count (their check never finished). */
  staleBefore: Date;
}

export function createLoginAttemptRepository(em: EntityManager) {
  return {
    /** Records one attempt for `key` at `now` and returns its id and the attempts in (windowStart, now]. */
    async recordAndCount(key: string, now: Date, windowStart: Date): Promise<{ id: string; count: number }> {
      const id = newId(now.getTime());
      await em.insert(LoginAttemptSchema, { id, key, createdAt: now });
      const count = await em.count(LoginAttemptSchema, { key, createdAt: { $gt: windowStart } });
      return { id, count };
    },

    /** Records a try on `w.tryKey`, then counts the window's tries and failures (see the header). */
    async recordTry(w: TryWindow): Promise<RecordedTry> {
      await em.insert(LoginAttemptSchema, { id: w.id, key: w.tryKey, createdAt: w.now });
      // One read of the window's rows (at most the threshold of failures plus the checks in flight), counted here.
      const rows = await em.find(
        LoginAttemptSchema,
        { key: { $in: [w.tryKey, w.failKey] }, createdAt: { $gt: w.windowStart } },
        { fields: ['key', 'createdAt'], disableIdentityMap: true },
      );
      const stale = w.staleBefore.getTime();
      const live = rows.filter((r) => r.key === w.failKey || r.createdAt.getTime() > stale);
      return { id: w.id, total: live.length, failures: live.filter((r) => r.key === w.failKey).length };
    },

    /**
     * Turns the try `tryId` into a failure on `failKey` at `at`: the failure row first, then the try goes, so
     * the slot is never free in between (R17).
     */
    async settleFailure(tryId: string, failKey: string, at: Date): Promise<void> {
      await em.insert(LoginAttemptSchema, { id: newId(at.getTime()), key: failKey, createdAt: at });
      await em.nativeDelete(LoginAttemptSchema, { id: tryId });
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

    /** Withdraws one recorded attempt or try (a try refused before its check, or one whose password was right). */
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
