/**
 * Sessions (one row per login). Whether a session is revoked is not stored here but decided by the
 * revocation facts (revocation.repository.ts); this repository only creates, lists and expires rows.
 */
import type { EntityManager } from '@mikro-orm/core';
import { type Session, SessionSchema } from '../db/entities/index.ts';
import { newId } from '../db/ids.ts';

export interface NewSession {
  userId: string;
  expiresAt: Date;
  userAgent?: string | null;
  ip?: string | null;
}

/** The row a new session gets (shared with the prepared-SQL insert in sql-hot-path.ts). */
export function newSessionRow(data: NewSession, now: Date): Session {
  return {
    id: newId(now.getTime()),
    userId: data.userId,
    createdAt: now,
    lastSeenAt: now,
    expiresAt: data.expiresAt,
    userAgent: data.userAgent ?? null,
    ip: data.ip ?? null,
  };
}

export function createSessionRepository(em: EntityManager) {
  return {
    async create(data: NewSession, now: Date): Promise<Session> {
      const row = newSessionRow(data, now);
      await em.insert(SessionSchema, row);
      return row;
    },

    findById(id: string): Promise<Session | null> {
      return em.findOne(SessionSchema, { id });
    },

    /** The session if it has not expired at `now` (revocation is checked separately). */
    findUnexpired(id: string, now: Date): Promise<Session | null> {
      return em.findOne(SessionSchema, { id, expiresAt: { $gt: now } }, { disableIdentityMap: true });
    },

    listUnexpiredForUser(userId: string, now: Date): Promise<Session[]> {
      return em.find(
        SessionSchema,
        { userId, expiresAt: { $gt: now } },
        { orderBy: { createdAt: 'desc' }, disableIdentityMap: true },
      );
    },

    async touch(id: string, now: Date): Promise<void> {
      await em.nativeUpdate(SessionSchema, { id }, { lastSeenAt: now });
    },

    deleteAllForUser(userId: string): Promise<number> {
      return em.nativeDelete(SessionSchema, { userId });
    },

    purgeExpired(now: Date): Promise<number> {
      return em.nativeDelete(SessionSchema, { expiresAt: { $lte: now } });
    },
  };
}

export type SessionRepository = ReturnType<typeof createSessionRepository>;
