/**
 * pending_registrations — one sign-up attempt waiting for its email to be verified (when
 * `require_verification` is on, the default). The account row is created only when the link is followed, so
 * an unverified address never occupies `users`. Each attempt is its own row with its own password hash, and
 * rows are never updated: a later sign-up for the same address adds a row instead of replacing the earlier
 * one's password (R67). So `email` has a plain index, not a unique one. The verification link's token lives in
 * one_time_tokens, bound to this row's id.
 */
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

export const PendingRegistrationSchema = defineEntity({
  name: 'PendingRegistration',
  tableName: 'pending_registrations',
  properties: {
    id: p.string().primary().length(36),
    email: p.string().length(254).index(),
    hashedPassword: p.string().length(255).hidden().lazy(),
    fullName: p.string().length(200).nullable(),
    expiresAt: p.datetime().length(3).index(),
    createdAt: p.datetime().length(3),
  },
});

export type PendingRegistration = InferEntity<typeof PendingRegistrationSchema>;
