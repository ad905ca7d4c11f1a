/**
 * Revocation facts (revocation.entity.ts, R38–R42). Revoking inserts; checking reads. `isRevoked` is one
 * indexed query answering "is this session dead?": either its own revocation row exists, or a bulk cutoff
 * at or after the session's creation does (millisecond precision, R40). Errors propagate: the caller must
 * fail closed (R42).
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Dialect } from '../db/drivers.ts';
import { RevocationSchema } from '../db/entities/index.ts';
import { newId } from '../db/ids.ts';

/** Why sessions were revoked, for the audit trail and hooks. */
export type RevocationReason =
  | 'logout'
  | 'logout_all'
  | 'session_revoked'
  | 'password_changed'
  | 'password_reset'
  | 'email_changed'
  | 'mfa_changed'
  | 'admin_disabled'
  | 'admin_revoked'
  | 'account_deleted';

const sessionFactId = (sessionId: string) => `s:${sessionId}`;

export function createRevocationRepository(em: EntityManager, dialect: Dialect) {
  return {
    /** Revokes one session; true only for the caller whose revocation took effect. */
    async revokeSession(userId: string, sessionId: string, now: Date, reason: RevocationReason): Promise<boolean> {
      try {
        await em.insert(RevocationSchema, { id: sessionFactId(sessionId), userId, sessionId, revokedAt: now, reason });
        return true;
      } catch (err) {
        if (dialect.isUniqueViolation(err)) return false;
        throw err;
      }
    },

    /** Kills every session of the user created at or before `at` (the bulk cutoff). */
    async revokeAllForUser(userId: string, at: Date, reason: RevocationReason): Promise<void> {
      await em.insert(RevocationSchema, { id: newId(at.getTime()), userId, sessionId: null, revokedAt: at, reason });
    },

    /** Whether a session created at `sessionCreatedAt` is dead. */
    async isRevoked(userId: string, sessionId: string, sessionCreatedAt: Date): Promise<boolean> {
      const hit = await em.findOne(
        RevocationSchema,
        {
          userId,
          $or: [{ id: sessionFactId(sessionId) }, { sessionId: null, revokedAt: { $gte: sessionCreatedAt } }],
        },
        { fields: ['id'], disableIdentityMap: true },
      );
      return hit !== null;
    },

    /** The latest bulk cutoff of a user, or null. */
    async cutoffFor(userId: string): Promise<Date | null> {
      const row = await em.findOne(
        RevocationSchema,
        { userId, sessionId: null },
        { orderBy: { revokedAt: 'desc' }, disableIdentityMap: true },
      );
      return row?.revokedAt ?? null;
    },

    /** The latest bulk cutoff of a user made for one of `reasons`, or null. */
    async cutoffForReasons(userId: string, reasons: readonly RevocationReason[]): Promise<Date | null> {
      const row = await em.findOne(
        RevocationSchema,
        { userId, sessionId: null, reason: { $in: [...reasons] } },
        { orderBy: { revokedAt: 'desc' }, disableIdentityMap: true },
      );
      return row?.revokedAt ?? null;
    },

    /** The ids of revoked sessions among `sessionIds` (for listing live sessions). */
    async revokedSessionIds(userId: string, sessionIds: readonly string[]): Promise<Set<string>> {
      if (sessionIds.length === 0) return new Set();
      const rows = await em.find(
        RevocationSchema,
        { userId, id: { $in: sessionIds.map(sessionFactId) } },
        { disableIdentityMap: true },
      );
      return new Set(rows.map((r) => r.sessionId).filter((s): s is string => s !== null));
    },

    deleteAllForUser(userId: string): Promise<number> {
      return em.nativeDelete(RevocationSchema, { userId });
    },

    /** Facts older than every token they could still concern can go (`olderThan` = now − max token TTL). */
    purgeOlderThan(olderThan: Date): Promise<number> {
      return em.nativeDelete(RevocationSchema, { revokedAt: { $lt: olderThan } });
    },
  };
}

export type RevocationRepository = ReturnType<typeof createRevocationRepository>;
