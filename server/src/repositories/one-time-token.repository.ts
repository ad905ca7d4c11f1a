/**
 * One-time tokens (R22–R27). Only the SHA-256 of a token is ever stored or looked up (R23). Redemption is
 * `consumeOnce`: the token must be found by hash *for this purpose*, unexpired and unretired, and then the
 * one write that decides is the insert of the claim `otk:<id>` (claim.entity.ts) — so N concurrent
 * redemptions give one success on every backend (R26), and a token presented for another purpose matches
 * nothing and is *not* consumed (R24).
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Dialect } from '../db/dialect.ts';
import { type OneTimeToken, OneTimeTokenSchema, type TokenPurpose } from '../db/entities/index.ts';
import { newId } from '../db/ids.ts';
import { createClaimRepository } from './claim.repository.ts';

export interface NewOneTimeToken {
  tokenHash: string;
  purpose: TokenPurpose;
  subjectId: string;
  targetEmail?: string | null;
  expiresAt: Date;
}

export function createOneTimeTokenRepository(em: EntityManager, dialect: Dialect) {
  const claims = createClaimRepository(em, dialect);
  return {
    /**
     * Stores a new token and retires every older unconsumed token of the same purpose for the same subject
     * (R27: the newest link replaces older ones).
     */
    async issue(data: NewOneTimeToken, now: Date): Promise<OneTimeToken> {
      await em.nativeUpdate(
        OneTimeTokenSchema,
        { subjectId: data.subjectId, purpose: data.purpose, usedAt: null },
        { usedAt: now },
      );
      const row = {
        id: newId(now.getTime()),
        tokenHash: data.tokenHash,
        purpose: data.purpose,
        subjectId: data.subjectId,
        targetEmail: data.targetEmail ?? null,
        expiresAt: data.expiresAt,
        usedAt: null,
        createdAt: now,
      };
      await em.insert(OneTimeTokenSchema, row);
      return row;
    },

    /** Redeems the token if it is live and of this purpose; returns it to the one caller that won. */
    async consumeOnce(tokenHash: string, purpose: TokenPurpose, now: Date): Promise<OneTimeToken | null> {
      const token = await this.findLive(tokenHash, purpose, now);
      if (!token) return null;
      if (!(await claims.claimOnce(`otk:${token.id}`, `otk:${token.subjectId}`, now, token.expiresAt))) return null;
      // Bookkeeping only: the claim above is what made this redemption unique.
      await em.nativeUpdate(OneTimeTokenSchema, { id: token.id }, { usedAt: now });
      return { ...token, usedAt: now };
    },

    /** Retires every outstanding token of a subject (R27: password/email change, disable, deletion). */
    revokeAllForSubject(subjectId: string, now: Date, purposes?: readonly TokenPurpose[]): Promise<number> {
      return em.nativeUpdate(
        OneTimeTokenSchema,
        purposes ? { subjectId, usedAt: null, purpose: { $in: [...purposes] } } : { subjectId, usedAt: null },
        { usedAt: now },
      );
    },

    /** Removes the subject's tokens and their redemption claims (account deletion, R45). */
    async deleteAllForSubject(subjectId: string): Promise<number> {
      await claims.deleteScope(`otk:${subjectId}`);
      return em.nativeDelete(OneTimeTokenSchema, { subjectId });
    },

    /**
     * A live token of this purpose (or of one of these purposes), without consuming it (to check a password
     * before redeeming). The caller redeems it with `consumeOnce` under the purpose the token was found with.
     */
    findLive(
      tokenHash: string,
      purpose: TokenPurpose | readonly TokenPurpose[],
      now: Date,
    ): Promise<OneTimeToken | null> {
      return em.findOne(
        OneTimeTokenSchema,
        {
          tokenHash,
          purpose: typeof purpose === 'string' ? purpose : { $in: [...purpose] },
          usedAt: null,
          expiresAt: { $gt: now },
        },
        { disableIdentityMap: true },
      );
    },

    purgeExpired(now: Date): Promise<number> {
      return em.nativeDelete(OneTimeTokenSchema, { expiresAt: { $lte: now } });
    },
  };
}

export type OneTimeTokenRepository = ReturnType<typeof createOneTimeTokenRepository>;
