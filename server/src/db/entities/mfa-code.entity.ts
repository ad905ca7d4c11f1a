/**
 * mfa_codes — SMS one-time codes, stored hashed (R48), bound to their purpose (login or phone setup), to
 * the user and to the challenge they were issued for (the pending-login or setup token id). Guesses are
 * counted as claims `mfa:<id>:<slot>` (claim.entity.ts): slot numbers 1..cap can each be taken once, so a
 * burst cannot buy extra guesses on any backend (R49).
 */
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

export const MFA_PURPOSES = ['login', 'phone_setup'] as const;
export type MfaPurpose = (typeof MFA_PURPOSES)[number];

export const MfaCodeSchema = defineEntity({
  name: 'MfaCode',
  tableName: 'mfa_codes',
  properties: {
    id: p.string().primary().length(36),
    userId: p.string().length(36).index(),
    purpose: p.string().$type<MfaPurpose>().length(32),
    challengeId: p.string().length(64).unique(),
    codeHash: p.string().length(64),
    phoneNumber: p.string().length(16).nullable(),
    // Indexed for the purge's expiry cutoff.
    expiresAt: p.datetime().length(3).index(),
    consumedAt: p.datetime().length(3).nullable(),
    createdAt: p.datetime().length(3),
  },
});

export type MfaCode = InferEntity<typeof MfaCodeSchema>;
