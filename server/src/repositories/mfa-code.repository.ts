/**
 * SMS one-time codes (R48, R49). `takeAttempt` is the attempt cap: each guess must first win one of the
 * slot claims `mfa:<id>:1` … `mfa:<id>:<cap>` (claim.entity.ts), so of N concurrent guesses exactly `cap`
 * get a slot and the rest are refused without a comparison, and no spent guess is lost — on every backend.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Dialect } from '../db/dialect.ts';
import { type MfaCode, MfaCodeSchema, type MfaPurpose } from '../db/entities/index.ts';
import { newId } from '../db/ids.ts';
import { createClaimRepository } from './claim.repository.ts';

export interface NewMfaCode {
  userId: string;
  purpose: MfaPurpose;
  challengeId: string;
  codeHash: string;
  phoneNumber?: string | null;
  expiresAt: Date;
}

type CodeRef = Pick<MfaCode, 'id' | 'expiresAt'>;

export function createMfaCodeRepository(em: EntityManager, dialect: Dialect) {
  const claims = createClaimRepository(em, dialect);
  return {
    /** Stores a code and retires the user's earlier live codes of the same purpose (a resend replaces: R48). */
    async issue(data: NewMfaCode, now: Date): Promise<MfaCode> {
      await em.nativeUpdate(
        MfaCodeSchema,
        { userId: data.userId, purpose: data.purpose, consumedAt: null },
        { consumedAt: now },
      );
      const row = {
        id: newId(now.getTime()),
        ...data,
        phoneNumber: data.phoneNumber ?? null,
        consumedAt: null,
        createdAt: now,
      };
      await em.insert(MfaCodeSchema, row);
      return row;
    },

    findLiveByChallenge(challengeId: string, purpose: MfaPurpose, now: Date): Promise<MfaCode | null> {
      return em.findOne(
        MfaCodeSchema,
        { challengeId, purpose, consumedAt: null, expiresAt: { $gt: now } },
        { disableIdentityMap: true },
      );
    },

    /** The user's live code of `purpose` (a newer code retires the older ones, so there is at most one). */
    findLiveForUser(userId: string, purpose: MfaPurpose, now: Date): Promise<MfaCode | null> {
      return em.findOne(
        MfaCodeSchema,
        { userId, purpose, consumedAt: null, expiresAt: { $gt: now } },
        { disableIdentityMap: true, orderBy: { createdAt: 'desc' } },
      );
    },

    /** Spends one guess on the code; the slot number (1..cap), or null when the code is exhausted. */
    takeAttempt(code: CodeRef, cap: number, now: Date): Promise<number | null> {
      return claims.takeSlot(`mfa:${code.id}`, cap, now, code.expiresAt);
    },

    attemptsSpent(id: string): Promise<number> {
      return claims.countInScope(`mfa:${id}`);
    },

    /** Marks the code used; true for exactly one caller. */
    async consumeOnce(code: CodeRef, now: Date): Promise<boolean> {
      if (!(await claims.claimOnce(`mfa-used:${code.id}`, `mfa-used:${code.id}`, now, code.expiresAt))) return false;
      await em.nativeUpdate(MfaCodeSchema, { id: code.id }, { consumedAt: now });
      return true;
    },

    /** Removes the user's codes and the guess/use claims recorded against them (account deletion, R45). */
    async deleteAllForUser(userId: string): Promise<number> {
      const codes = await em.find(MfaCodeSchema, { userId }, { fields: ['id'], disableIdentityMap: true });
      for (const { id } of codes) {
        await claims.deleteScope(`mfa:${id}`);
        await claims.deleteScope(`mfa-used:${id}`);
      }
      return em.nativeDelete(MfaCodeSchema, { userId });
    },

    purgeExpired(now: Date): Promise<number> {
      return em.nativeDelete(MfaCodeSchema, { expiresAt: { $lte: now } });
    },
  };
}

export type MfaCodeRepository = ReturnType<typeof createMfaCodeRepository>;
