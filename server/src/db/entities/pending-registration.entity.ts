/**
 * pending_registrations — a sign-up waiting for its email to be verified (when `require_verification` is on,
 * the default). The account row is created only when the link is followed, so an unverified address never
 * occupies `users`. One pending row per canonical email (unique): a newer sign-up replaces the older one.
 * The verification link's token lives in one_time_tokens, bound to this row's id.
 */
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

export const PendingRegistrationSchema = defineEntity({
  name: 'PendingRegistration',
  tableName: 'pending_registrations',
  properties: {
    id: p.string().primary().length(36),
    email: p.string().length(254).unique(),
    hashedPassword: p.string().length(255).hidden().lazy(),
    fullName: p.string().length(200).nullable(),
    expiresAt: p.datetime().length(3).index(),
    createdAt: p.datetime().length(3),
  },
});

export type PendingRegistration = InferEntity<typeof PendingRegistrationSchema>;
