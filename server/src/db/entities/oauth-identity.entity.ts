/**
 * oauth_identities — an account's identities at OpenID Connect providers (issue 22). One row per (provider,
 * subject): the unique index is what makes one provider account belong to at most one regstack account on every
 * backend, however many sign-ins race. `subject` is the ID token's `sub` (stable at the provider, unlike the email);
 * `email` is what the provider said at link time, for display only — never what an account is found by.
 * Deleting an account deletes its identities (account.service.ts `removeUserRows`).
 */
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

export const OAuthIdentitySchema = defineEntity({
  name: 'OAuthIdentity',
  tableName: 'oauth_identities',
  uniques: [{ properties: ['provider', 'subject'] }],
  properties: {
    id: p.string().primary().length(36),
    userId: p.string().length(36).index(),
    provider: p.string().length(64),
    subject: p.string().length(255),
    email: p.string().length(254).nullable(),
    createdAt: p.datetime().length(3),
    lastUsedAt: p.datetime().length(3).nullable(),
  },
});

export type OAuthIdentity = InferEntity<typeof OAuthIdentitySchema>;
