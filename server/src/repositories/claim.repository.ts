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
