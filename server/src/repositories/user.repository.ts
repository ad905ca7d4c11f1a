/**
 * Users. `insertIfEmailFree` relies on the unique index on the canonical email (R66): the database, not a
 * prior lookup, decides who wins a race, so N concurrent sign-ups of one address create one row.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Dialect } from '../db/drivers.ts';
import { type User, UserSchema } from '../db/entities/index.ts';
import { newId } from '../db/ids.ts';

export interface NewUser {
  email: string;
  hashedPassword: string | null;
  fullName?: string | null;
  isActive?: boolean;
  isVerified?: boolean;
  isSuperuser?: boolean;
}

export function createUserRepository(em: EntityManager, dialect: Dialect) {
  return {
    /** Inserts the user, or returns null when the canonical email is already taken. */
    async insertIfEmailFree(data: NewUser, now: Date): Promise<User | null> {
      const row = {
        id: newId(now.getTime()),
        email: data.email,
        hashedPassword: data.hashedPassword,
        fullName: data.fullName ?? null,
        isActive: data.isActive ?? true,
        isVerified: data.isVerified ?? false,
        isSuperuser: data.isSuperuser ?? false,
        isMfaEnabled: false,
        createdAt: now,
        updatedAt: now,
        lastLoginAt: null,
      };
      try {
        await em.insert(UserSchema, row);
      } catch (err) {
        if (dialect.isUniqueViolation(err)) return null;
        throw err;
      }
      // The stored row, as a plain load would return it: no password hash (it is lazy), no phone yet.
      return { ...row, hashedPassword: undefined, phoneNumber: null };
    },

    findById(id: string): Promise<User | null> {
      return em.findOne(UserSchema, { id });
    },

    findByEmail(email: string): Promise<User | null> {
      return em.findOne(UserSchema, { email });
    },

    /** The password hash is lazy (never loaded by accident); only credential checks ask for it. */
    async findCredentialsByEmail(email: string): Promise<User | null> {
      return em.findOne(UserSchema, { email }, { populate: ['hashedPassword'] });
    },

    async findCredentialsById(id: string): Promise<User | null> {
      return em.findOne(UserSchema, { id }, { populate: ['hashedPassword'] });
    },

    async updatePasswordHash(userId: string, hashedPassword: string, now: Date): Promise<boolean> {
      return (await em.nativeUpdate(UserSchema, { id: userId }, { hashedPassword, updatedAt: now })) === 1;
    },

    /** Moves the account to `email`; false when another account holds it (the unique index decides, R43). */
    async updateEmailIfFree(userId: string, email: string, now: Date): Promise<boolean> {
      try {
        return (await em.nativeUpdate(UserSchema, { id: userId }, { email, isVerified: true, updatedAt: now })) === 1;
      } catch (err) {
        if (dialect.isUniqueViolation(err)) return false;
        throw err;
      }
    },

    async updateProfile(userId: string, fields: { fullName: string | null }, now: Date): Promise<void> {
      await em.nativeUpdate(UserSchema, { id: userId }, { fullName: fields.fullName, updatedAt: now });
    },

    async markVerified(userId: string, now: Date): Promise<void> {
      await em.nativeUpdate(UserSchema, { id: userId }, { isVerified: true, updatedAt: now });
    },

    async recordLogin(userId: string, now: Date): Promise<void> {
      await em.nativeUpdate(UserSchema, { id: userId }, { lastLoginAt: now });
    },

    async deleteById(id: string): Promise<boolean> {
      return (await em.nativeDelete(UserSchema, { id })) === 1;
    },
  };
}

export type UserRepository = ReturnType<typeof createUserRepository>;
