/**
 * mfa_totp — one authenticator-app (TOTP, RFC 6238) credential per user. The shared secret is sealed at rest with
 * its own HKDF-derived AES-GCM key (security/sealing.ts), so a copy of the table alone cannot mint codes. A row
 * with `confirmed_at` null is an enrolment in progress (the secret was shown, no code proved it yet) and is not a
 * factor. `last_used_step` is the newest time step a code was accepted for: no code of that step or an earlier
 * one is accepted again (RFC 6238 §5.2); the exact-once decision per step is a claim (`totp:<user>:<step>`,
 * claim.entity.ts), which holds on every backend.
 */
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

export const TotpCredentialSchema = defineEntity({
  name: 'TotpCredential',
  tableName: 'mfa_totp',
  properties: {
    // The user's id again: MongoDB requires the primary key to be `id` (`_id`); one credential per user.
    id: p.string().primary().length(36),
    userId: p.string().length(36).unique(),
    sealedSecret: p.string().length(255).hidden(),
    confirmedAt: p.datetime().length(3).nullable(),
    lastUsedStep: p.integer().nullable(),
    createdAt: p.datetime().length(3),
    updatedAt: p.datetime().length(3),
  },
});

export type TotpCredential = InferEntity<typeof TotpCredentialSchema>;
