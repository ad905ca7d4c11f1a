/**
 * Second factors other than the phone (which is `users.phone_number`): the TOTP credential and the recovery codes.
 * Every "only once" decision is a claim (claim.entity.ts) — an insert under a primary key, the one guarantee that
 * holds on every backend, FerretDB included (its conditional updates are not atomic):
 * - `spendTotpStep`: a TOTP time step is accepted once per user (`totp:<user>:<step>`), and never at or below the
 *   newest step already accepted (`last_used_step`, RFC 6238 §5.2);
 * - `spendRecoveryCode`: a recovery code is used once (`recovery:<id>`).
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Dialect } from '../db/dialect.ts';
import {
  type RecoveryCode,
  RecoveryCodeSchema,
  type TotpCredential,
  TotpCredentialSchema,
} from '../db/entities/index.ts';
import { newId } from '../db/ids.ts';
import { createClaimRepository } from './claim.repository.ts';

/** How long a spent recovery code's claim is kept: longer than any request that read the code as unused. */
const RECOVERY_CLAIM_MS = 24 * 60 * 60 * 1000;
/** How long an enrolment confirmation's claim is kept: past any racing request; the confirmed credential then
 * refuses another confirmation by itself. */
const CONFIRM_CLAIM_MS = 10 * 60 * 1000;

export function createMfaFactorRepository(em: EntityManager, dialect: Dialect) {
  const claims = createClaimRepository(em, dialect);
  return {
    /** The user's TOTP credential (confirmed or in enrolment), read fresh, with its sealed secret. */
    findTotp(userId: string): Promise<TotpCredential | null> {
      return em.findOne(TotpCredentialSchema, { userId }, { disableIdentityMap: true });
    },

    /**
     * Starts (or restarts) an enrolment with a new sealed secret. False when a confirmed credential exists: the
     * primary key (the user id) refuses the insert, so a confirmed factor is never overwritten.
     */
    async startTotp(userId: string, sealedSecret: string, now: Date): Promise<boolean> {
      await em.nativeDelete(TotpCredentialSchema, { userId, confirmedAt: null });
      try {
        await em.insert(TotpCredentialSchema, {
          id: userId,
          userId,
          sealedSecret,
          confirmedAt: null,
          lastUsedStep: null,
          createdAt: now,
          updatedAt: now,
        });
        return true;
      } catch (err) {
        if (dialect.isUniqueViolation(err)) return false;
        throw err;
      }
    },

    /**
     * Confirms the pending authenticator with the time step of the code that proved it; false when it already was
     * confirmed. Two confirmations racing both see it unconfirmed: a claim (`totp-confirm:<user>`, gone with the
     * credential) picks the winner before anything is written, and the step is spent by the same claim-then-write
     * as sign-in (so the code cannot sign in afterwards). Only the winner writes the credential, once: a
     * MongoDB-wire server that does not apply concurrent updates of one document atomically (FerretDB 1.x,
     * docs/storage.md) has nothing to lose.
     */
    async confirmTotp(userId: string, step: number, now: Date, stepExpiresAt: Date): Promise<boolean> {
      if (
        !(await claims.claimOnce(
          `totp-confirm:${userId}`,
          `totp:${userId}`,
          now,
          new Date(now.getTime() + CONFIRM_CLAIM_MS),
        ))
      ) {
        return false;
      }
      await claims.claimOnce(`totp:${userId}:${step}`, `totp:${userId}`, now, stepExpiresAt);
      await em.nativeUpdate(
        TotpCredentialSchema,
        { userId, confirmedAt: null },
        { confirmedAt: now, lastUsedStep: step, updatedAt: now },
      );
      return true;
    },

    /**
     * Accepts time step `step` for `userId` once: false when `lastUsedStep` (as the caller read it) is at or after
     * it, or when another request took the step first. `expiresAt` is when no code of the step can match any more.
     */
    async spendTotpStep(
      userId: string,
      step: number,
      lastUsedStep: number | null,
      now: Date,
      expiresAt: Date,
    ): Promise<boolean> {
      if (lastUsedStep !== null && step <= lastUsedStep) return false;
      if (!(await claims.claimOnce(`totp:${userId}:${step}`, `totp:${userId}`, now, expiresAt))) return false;
      // Only moves forward; the claim above already made this step's decision.
      await em.nativeUpdate(
        TotpCredentialSchema,
        { userId, $or: [{ lastUsedStep: null }, { lastUsedStep: { $lt: step } }] },
        { lastUsedStep: step },
      );
      return true;
    },

    async deleteTotp(userId: string): Promise<number> {
      await claims.deleteScope(`totp:${userId}`);
      return em.nativeDelete(TotpCredentialSchema, { userId });
    },

    countUnusedRecoveryCodes(userId: string): Promise<number> {
      return em.count(RecoveryCodeSchema, { userId, usedAt: null });
    },

    /** Replaces every recovery code of the user with the given hashes. */
    async replaceRecoveryCodes(userId: string, hashes: readonly string[], now: Date): Promise<void> {
      await this.deleteRecoveryCodes(userId);
      for (const codeHash of hashes) {
        await em.insert(RecoveryCodeSchema, {
          id: newId(now.getTime()),
          userId,
          codeHash,
          usedAt: null,
          createdAt: now,
        });
      }
    },

    findUnusedRecoveryCode(userId: string, codeHash: string): Promise<RecoveryCode | null> {
      return em.findOne(RecoveryCodeSchema, { userId, codeHash, usedAt: null }, { disableIdentityMap: true });
    },

    /** Spends the code; true for exactly one caller. */
    async spendRecoveryCode(id: string, now: Date): Promise<boolean> {
      const expiresAt = new Date(now.getTime() + RECOVERY_CLAIM_MS);
      if (!(await claims.claimOnce(`recovery:${id}`, `recovery:${id}`, now, expiresAt))) return false;
      await em.nativeUpdate(RecoveryCodeSchema, { id }, { usedAt: now });
      return true;
    },

    async deleteRecoveryCodes(userId: string): Promise<void> {
      const rows = await em.find(RecoveryCodeSchema, { userId }, { fields: ['id'], disableIdentityMap: true });
      for (const { id } of rows) await claims.deleteScope(`recovery:${id}`);
      await em.nativeDelete(RecoveryCodeSchema, { userId });
    },

    /** Every factor row of the user (account deletion, R45). */
    async deleteAllForUser(userId: string): Promise<void> {
      await this.deleteTotp(userId);
      await this.deleteRecoveryCodes(userId);
    },
  };
}

export type MfaFactorRepository = ReturnType<typeof createMfaFactorRepository>;
