/**
 * The exactly-once ledger (claim.entity.ts). `claimOnce` inserts a row under a primary key that names a
 * decision; the database's primary-key constraint lets exactly one caller succeed however many race, on
 * every backend — this is the atomic step under every "only one may win" rule in regstack. On the SQL backends the
 * insert is one prepared statement that skips a taken key (`on conflict do nothing`): a lost race is an answer,
 * not an error, so it never aborts the caller's transaction either.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Dialect } from '../db/dialect.ts';
import { type Claim, ClaimSchema } from '../db/entities/index.ts';
import { WriteLeaseTimeoutError } from '../db/outages.ts';

/** `claimOnce` in SQL (SQLite and PostgreSQL): inserts nothing when the key is taken. */
export const CLAIM_SQL =
  'insert into claims (id, scope, created_at, expires_at) values (?, ?, ?, ?) on conflict (id) do nothing';

export function createClaimRepository(em: EntityManager, dialect: Dialect) {
  const { sql } = dialect;
  return {
    /** Inserts the claim `id`; true for the one caller whose insert took effect. */
    async claimOnce(id: string, scope: string, now: Date, expiresAt: Date): Promise<boolean> {
      if (sql) return (await sql.run(em, CLAIM_SQL, [id, scope, sql.value(now), sql.value(expiresAt)])) === 1;
      try {
        await em.insert(ClaimSchema, { id, scope, createdAt: now, expiresAt });
        return true;
      } catch (err) {
        if (dialect.isUniqueViolation(err)) return false;
        throw err;
      }
    },

    /** Takes the lowest free slot `${scope}:1` … `${scope}:${cap}`; returns its number, or null when all are taken. */
    async takeSlot(scope: string, cap: number, now: Date, expiresAt: Date): Promise<number | null> {
      const taken = await em.count(ClaimSchema, { scope });
      for (let slot = taken + 1; slot <= cap; slot++) {
        if (await this.claimOnce(`${scope}:${slot}`, scope, now, expiresAt)) return slot;
      }
      return null;
    },

    countInScope(scope: string): Promise<number> {
      return em.count(ClaimSchema, { scope });
    },

    /** Every claim of a scope (scopes that use this hold a handful). */
    listInScope(scope: string): Promise<Claim[]> {
      return em.find(ClaimSchema, { scope }, { disableIdentityMap: true });
    },

    deleteScope(scope: string): Promise<number> {
      return em.nativeDelete(ClaimSchema, { scope });
    },

    /** Removes the claim `id` if it has expired (a lease whose holder died). */
    async deleteExpiredLock(id: string, now: Date): Promise<void> {
      await em.nativeDelete(ClaimSchema, { id, expiresAt: { $lte: now } });
    },

    /** Gives up the claim `id` (a lease released by its holder). */
    async release(id: string): Promise<void> {
      await em.nativeDelete(ClaimSchema, { id });
    },

    /**
     * Gives up the lease `id` only if it is still the one taken at `takenAt`: a holder that outlived its lease
     * must not release the lease another caller has taken since.
     */
    async releaseHeld(id: string, takenAt: Date): Promise<void> {
      await em.nativeDelete(ClaimSchema, { id, createdAt: takenAt });
    },

    purgeExpired(now: Date): Promise<number> {
      return em.nativeDelete(ClaimSchema, { expiresAt: { $lte: now } });
    },
  };
}

export type ClaimRepository = ReturnType<typeof createClaimRepository>;

/** How long a lease lasts, and how long a caller waits for it. */
export interface LeaseTiming {
  /** A lease whose holder never gave it up (its instance died, or its database call never answered) runs out then. */
  ttlMs: number;
  /** How long a caller waits for the holder before giving up with `WriteLeaseTimeoutError` (503 + Retry-After). */
  waitMs: number;
}

/**
 * The lease for work of a few database calls (a user's write, a factor change, an unlink): it runs out after 10 s,
 * far longer than the work takes, so only a holder that died or never got an answer loses it; a caller waits for
 * the holder up to 5 s, then answers 503.
 */
export const BRIEF_WORK_LEASE: LeaseTiming = Object.freeze({ ttlMs: 10_000, waitMs: 5_000 });

/**
 * Runs `work` while holding the lease `id`, so that the works under one lease follow each other, on every instance
 * and every backend. The lease is a claim (`claimOnce`) that expires after `timing.ttlMs`; a caller that finds it
 * taken removes it if it has run out and otherwise waits, in short, growing, jittered pauses, for up to
 * `timing.waitMs`, then throws `WriteLeaseTimeoutError` without running `work`. The holder gives the lease up when
 * `work` ends — only the lease it took, never a later holder's — except when `keepOnError` says a failure must
 * keep it until it runs out (an outage: the answer was lost, not necessarily the write). Wall-clock time, not a
 * service clock: the lease is about this work, not about a request's "now".
 */
export async function withLease<T>(
  claims: ClaimRepository,
  id: string,
  timing: LeaseTiming,
  work: () => Promise<T>,
  keepOnError: (err: unknown) => boolean = () => false,
): Promise<T> {
  const waitUntil = Date.now() + timing.waitMs;
  let takenAt: Date;
  for (let round = 0; ; round++) {
    takenAt = new Date();
    if (await claims.claimOnce(id, id, takenAt, new Date(takenAt.getTime() + timing.ttlMs))) break;
    await claims.deleteExpiredLock(id, takenAt);
    if (Date.now() >= waitUntil) throw new WriteLeaseTimeoutError(`another request holds the lease ${id}`);
    await new Promise((r) => setTimeout(r, Math.min(50, 2 * 2 ** Math.min(round, 5)) * (0.5 + Math.random())));
  }
  let result: T;
  try {
    result = await work();
  } catch (err) {
    if (!keepOnError(err)) await claims.releaseHeld(id, takenAt).catch(() => {});
    throw err;
  }
  // A release that fails leaves the lease to run out; the work itself is done.
  await claims.releaseHeld(id, takenAt).catch(() => {});
  return result;
}
