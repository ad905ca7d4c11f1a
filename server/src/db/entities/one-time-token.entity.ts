/**
 * one_time_tokens — email verification, password reset and email-change links. Only SHA-256(token) is
 * stored (R23), under a unique index so lookup is by hash. A token is bound to its purpose and subject
 * (a user id, or a pending registration id for sign-up verification) and, for email change, to the target
 * address (R24). `used_at` is set by one conditional write, which is what makes a token single-use (R26).
 *
 * `email_verification_password` is a verification link that completes only with its sign-up attempt's password
 * (R67): one sent by a resend, or one issued while another attempt for the address was pending. It is its own
 * purpose, not a flag, so it needs no new column (the value fits `purpose`'s 32 characters, and no constraint
 * lists the values), and every endpoint but verifyEmail refuses it without consuming it (R24).
 */
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

export const TOKEN_PURPOSES = [
  'email_verification',
  'email_verification_password',
  'password_reset',
  'email_change',
] as const;
export type TokenPurpose = (typeof TOKEN_PURPOSES)[number];

export const OneTimeTokenSchema = defineEntity({
  name: 'OneTimeToken',
  tableName: 'one_time_tokens',
  properties: {
    id: p.string().primary().length(36),
    tokenHash: p.string().length(64).unique(),
    purpose: p.string().$type<TokenPurpose>().length(32),
    subjectId: p.string().length(36).index(),
    targetEmail: p.string().length(254).nullable(),
    // Indexed for the purge's cutoffs (expired, or used/retired): a batch never scans the table.
    expiresAt: p.datetime().length(3).index(),
    usedAt: p.datetime().length(3).nullable().index(),
    createdAt: p.datetime().length(3),
  },
});

export type OneTimeToken = InferEntity<typeof OneTimeTokenSchema>;
