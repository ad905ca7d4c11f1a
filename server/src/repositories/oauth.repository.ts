/**
 * Provider identities and the server-side state of sign-ins with a provider (oauth-identity.entity.ts,
 * oauth-state.entity.ts). `take` is single-use on every backend: the claim `oauth:<id>` decides (claim.entity.ts),
 * then the row goes; a row past its expiry is never returned (R26).
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Dialect } from '../db/dialect.ts';
import {
  ClaimSchema,
  type OAuthIdentity,
  OAuthIdentitySchema,
  type OAuthState,
  type OAuthStateKind,
  OAuthStateSchema,
} from '../db/entities/index.ts';

export type NewOAuthState = Omit<OAuthState, 'createdAt'>;
export type NewOAuthIdentity = Omit<OAuthIdentity, 'lastUsedAt'>;

export function createOAuthRepository(em: EntityManager, dialect: Dialect) {
  return {
    async saveState(state: NewOAuthState, now: Date): Promise<void> {
      await em.insert(OAuthStateSchema, { ...state, createdAt: now });
    },

    /** The live row of `kind` under `id`, for exactly one caller however many race; null otherwise. */
    async takeState(id: string, kind: OAuthStateKind, now: Date): Promise<OAuthState | null> {
      const row = await em.findOne(OAuthStateSchema, { id, kind }, { disableIdentityMap: true });
      if (!row || row.expiresAt.getTime() <= now.getTime()) return null;
      try {
        await em.insert(ClaimSchema, { id: `oauth:${id}`, scope: 'oauth', createdAt: now, expiresAt: row.expiresAt });
      } catch (err) {
        if (dialect.isUniqueViolation(err)) return null;
        throw err;
      }
      await em.nativeDelete(OAuthStateSchema, { id });
      return row;
    },

    findIdentity(provider: string, subject: string): Promise<OAuthIdentity | null> {
      return em.findOne(OAuthIdentitySchema, { provider, subject }, { disableIdentityMap: true });
    },

    listIdentities(userId: string): Promise<OAuthIdentity[]> {
      return em.find(OAuthIdentitySchema, { userId }, { orderBy: { provider: 'asc' }, disableIdentityMap: true });
    },

    /** Inserts the identity; false when (provider, subject) already belongs to an account (the unique index). */
    async addIdentity(identity: NewOAuthIdentity): Promise<boolean> {
      try {
        await em.insert(OAuthIdentitySchema, { ...identity, lastUsedAt: identity.createdAt });
        return true;
      } catch (err) {
        if (dialect.isUniqueViolation(err)) return false;
        throw err;
      }
    },

    async touchIdentity(id: string, now: Date): Promise<void> {
      await em.nativeUpdate(OAuthIdentitySchema, { id }, { lastUsedAt: now });
    },

    async removeIdentity(userId: string, provider: string): Promise<boolean> {
      return (await em.nativeDelete(OAuthIdentitySchema, { userId, provider })) > 0;
    },

    deleteAllForUser(userId: string): Promise<number> {
      return em.nativeDelete(OAuthIdentitySchema, { userId });
    },
  };
}

export type OAuthRepository = ReturnType<typeof createOAuthRepository>;
