/**
 * Sessions (one row per login). Whether a session is revoked is not stored here but decided by the
 * revocation facts (revocation.repository.ts); this repository only creates, lists and expires rows.
 */
import type { EntityManager } from '@mikro-orm/core';
import { type Session, SessionSchema } from '../db/entities/index.ts';
import { newId } from '../db/ids.ts';

export interface NewSession {
  /** The session's id when the caller needs it before the row exists (a login's audit event names it). */
  id?: string;
  userId: string;
  expiresAt: Date;
  userAgent?: string | null;
  ip?: string | null;
}

/** The row a new session gets (shared with the prepared-SQL insert in sql-hot-path.ts). */
export function newSessionRow(data: NewSession, now: Date): Session {
  return {
    id: data.id ?? newId(now.getTime()),
    userId: data.userId,
    createdAt: now,
    lastSeenAt: now,
    expiresAt: data.expiresAt,
    userAgent: data.userAgent ?? null,
    ip: data.ip ?? null,
  };
}

/**
 * When a session opened at `now` starts, given the user's latest "log out everywhere" cutoff. The cutoff kills
 * sessions created at or before it (R40), so a session opened in the cutoff's very millisecond (or while the
 * clock trails a cutoff written by another server) would be born revoked: it starts one millisecond after the
 * cutoff instead. "Log in right after logoutAll" keeps working and the cutoff is not weakened. The SQL of
 * sql-hot-path.ts spells the same rule in SQL.
 */
export function sessionStart(now: Date, cutoff: Date | null): Date {
  return cutoff && cutoff.getTime() >= now.getTime() ? new Date(cutoff.getTime() + 1) : now;
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
