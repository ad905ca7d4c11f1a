/**
 * users — one row per account. `email` holds the canonical address (R53) under a unique index (R66);
 * `phone_number` the canonical E.164 number, unique where present (R52). Revocation state is not kept here but in the
 * append-only `revocations` table (see revocation.entity.ts).
 * The password hash is hidden from serialization and lazily loaded, so it never leaves through a DTO by
 * accident. Column names follow the Python regstack.
 */
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

export const UserSchema = defineEntity({
  name: 'User',
  tableName: 'users',
  // The admin list pages by keyset on (sort key, id) in either direction (issue 17): each sort an index of its own.
  // `email` already has its unique index.
  indexes: [{ properties: ['createdAt', 'id'] }, { properties: ['lastLoginAt', 'id'] }],
  properties: {
    id: p.string().primary().length(36),
    // Collated "C" on PostgreSQL (the search migration): an email prefix is a range of its index in byte order.
    email: p.string().length(254).unique().ignoreSchemaChanges('collation'),
    hashedPassword: p.string().length(255).nullable().hidden().lazy(),
    fullName: p.string().length(200).nullable(),
    phoneNumber: p.string().length(16).nullable().unique(),
    isActive: p.boolean().default(true),
    isVerified: p.boolean().default(false),
    isSuperuser: p.boolean().default(false),
    isMfaEnabled: p.boolean().default(false),
    createdAt: p.datetime().length(3),
    updatedAt: p.datetime().length(3),
    lastLoginAt: p.datetime().length(3).nullable(),
  },
});

export type User = InferEntity<typeof UserSchema>;
