/**
 * mfa_recovery_codes — the single-use recovery codes of a user with a second factor. Only an HMAC of each code is
 * stored (keyed from the master secret and bound to the user, security/one-time-tokens.ts), under a unique index;
 * a code is spent by a claim (`recovery:<id>`, claim.entity.ts) so N concurrent uses of one code give one success
 * on every backend, and `used_at` records it for counting.
 */
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

export const RecoveryCodeSchema = defineEntity({
  name: 'RecoveryCode',
  tableName: 'mfa_recovery_codes',
  properties: {
    id: p.string().primary().length(36),
    userId: p.string().length(36).index(),
    codeHash: p.string().length(64).unique(),
    usedAt: p.datetime().length(3).nullable(),
    createdAt: p.datetime().length(3),
  },
});

export type RecoveryCode = InferEntity<typeof RecoveryCodeSchema>;
