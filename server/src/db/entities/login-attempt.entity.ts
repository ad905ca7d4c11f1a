/**
 * login_attempts — one row per failed (or in-flight) password check, keyed by the canonical submitted
 * identifier, never by user id (R13), plus an optional IP key for the per-IP limit (R20). Counting rows in
 * the window after inserting one's own is what makes lockout atomic under concurrency (R17).
 */
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

export const LoginAttemptSchema = defineEntity({
  name: 'LoginAttempt',
  tableName: 'login_attempts',
  indexes: [{ properties: ['key', 'createdAt'] }],
  properties: {
    id: p.string().primary().length(36),
    key: p.string().length(300),
    // Indexed alone too: the purge's cutoff has no key, so (key, created_at) cannot serve it.
    createdAt: p.datetime().length(3).index(),
  },
});

export type LoginAttempt = InferEntity<typeof LoginAttemptSchema>;
