/**
 * Purging rows that can no longer decide anything, in bounded batches (issue 14 item 4; SPEC §6: correctness
 * never depends on purging). Each batch reads at most `limit` ids, then deletes exactly those, so a purge never
 * holds a long lock or a huge statement, and can stop between batches. Every rule here is "this row is past
 * mattering", never "this row is old":
 *
 * - an expired session and its own revocation fact: an expired session is refused by its expiry alone, so the
 *   fact that also refused it has nothing left to do (the bulk cutoffs stay — the newest one orders new sessions);
 * - expired one-time tokens, claims, pending sign-ups, MFA codes and OpenID sign-in states: each is refused once
 *   expired;
 * - login attempts older than the longest window any counter uses;
 * - used or retired one-time tokens, at once: `findLive` never matches a row with `usedAt` set, and what refuses a
 *   concurrent or replayed redemption is the claim `otk:<id>`, which stays until the token's own expiry (R26);
 * - mail delivered before `sentBefore` (undelivered and dead-lettered mail stays for inspection);
 * - audit events created before `auditBefore`, only when the host set `audit_retention_days` (how long to keep a
 *   security log is its decision; unset keeps them all).
 */
import type { EntityManager, EntityName, FilterQuery } from '@mikro-orm/core';
import {
  AuditEventSchema,
  ClaimSchema,
  EmailOutboxSchema,
  LoginAttemptSchema,
  MfaCodeSchema,
  OAuthStateSchema,
  OneTimeTokenSchema,
  PendingRegistrationSchema,
  RevocationSchema,
  SessionSchema,
} from '../db/entities/index.ts';

/** What one purge pass removes; each value is a count of rows. */
export interface PurgeCounts {
  sessions: number;
  revocations: number;
  oneTimeTokens: number;
  claims: number;
  pendingRegistrations: number;
  mfaCodes: number;
  oauthStates: number;
  loginAttempts: number;
  emailOutbox: number;
  auditEvents: number;
}

export type PurgeKind = keyof PurgeCounts;

export interface PurgeBounds {
  now: Date;
  /**
   * Sessions that ended at or before this instant go: `now` less the clock leeway their token's `exp` gets (R34),
   * since a session still authenticates during it (services/session.service.ts `sessionsLiveAt`).
   */
  sessionsBefore: Date;
  /** Login attempts at or before this instant are outside every counter's window. */
  attemptsBefore: Date;
  /** Delivered mail at or before this instant goes. */
  sentBefore: Date;
  /** Audit events at or before this instant go; undefined keeps every event (`audit_retention_days` = 0). */
  auditBefore: Date | undefined;
}

/** Expired, or used/retired before `usedBefore`: a one-time token row that decides nothing any more. */
function deadToken(now: Date, usedBefore: Date) {
  return { $or: [{ expiresAt: { $lte: now } }, { usedAt: { $lte: usedBefore } }] };
}

export function createPurgeRepository(em: EntityManager) {
  /** Deletes up to `limit` rows of `entity` matching `where`; the number deleted. */
  async function deleteSome<T extends { id: string }>(
    entity: EntityName<T>,
    where: FilterQuery<T>,
    limit: number,
  ): Promise<number> {
    const rows = (await em.find(entity, where, {
      fields: ['id'] as never,
      limit,
      disableIdentityMap: true,
    })) as { id: string }[];
    if (rows.length === 0) return 0;
    return em.nativeDelete(entity, { id: { $in: rows.map((r) => r.id) } } as unknown as FilterQuery<T>);
  }

  return {
    /**
     * How many rows of `kind` a pass with these bounds would remove (`regstack purge --dry-run`); reads only. The
     * revocation facts that go with expired sessions are not counted (0).
     */
    async countPurgeable(kind: PurgeKind, bounds: PurgeBounds): Promise<number> {
      const { now } = bounds;
      // The same conditions as purgeBatch below, counted instead of deleted.
      switch (kind) {
        case 'sessions':
          return em.count(SessionSchema, { expiresAt: { $lte: bounds.sessionsBefore } });
        case 'revocations':
          return 0;
        case 'oneTimeTokens':
          return em.count(OneTimeTokenSchema, deadToken(now, now));
        case 'claims':
          return em.count(ClaimSchema, { expiresAt: { $lte: now } });
        case 'pendingRegistrations':
          return em.count(PendingRegistrationSchema, { expiresAt: { $lte: now } });
        case 'mfaCodes':
          return em.count(MfaCodeSchema, { expiresAt: { $lte: now } });
        case 'oauthStates':
          return em.count(OAuthStateSchema, { expiresAt: { $lte: now } });
        case 'loginAttempts':
          return em.count(LoginAttemptSchema, { createdAt: { $lte: bounds.attemptsBefore } });
        case 'emailOutbox':
          return em.count(EmailOutboxSchema, { status: 'sent', sentAt: { $lte: bounds.sentBefore } });
        case 'auditEvents':
          return bounds.auditBefore ? em.count(AuditEventSchema, { createdAt: { $lte: bounds.auditBefore } }) : 0;
      }
    },

    /**
     * One batch of `kind`: up to `limit` rows. For sessions, the revocation facts of the deleted sessions go too,
     * and their count is the second element.
     */
    async purgeBatch(kind: PurgeKind, bounds: PurgeBounds, limit: number): Promise<[number, number]> {
      const { now } = bounds;
      switch (kind) {
        case 'sessions': {
          const expired = await em.find(
            SessionSchema,
            { expiresAt: { $lte: bounds.sessionsBefore } },
            { fields: ['id'], limit, disableIdentityMap: true },
          );
          if (expired.length === 0) return [0, 0];
          const ids = expired.map((s) => s.id);
          // The sessions first: without a transaction (MongoDB), a fact must never be gone while its session is
          // still there for an instance whose clock says it has not expired yet.
          const sessions = await em.nativeDelete(SessionSchema, { id: { $in: ids } });
          return [sessions, await em.nativeDelete(RevocationSchema, { id: { $in: ids.map((id) => `s:${id}`) } })];
        }
        case 'revocations':
          return [0, 0]; // purged with their sessions
        case 'oneTimeTokens':
          return [await deleteSome(OneTimeTokenSchema, deadToken(now, now), limit), 0];
        case 'claims':
          return [await deleteSome(ClaimSchema, { expiresAt: { $lte: now } }, limit), 0];
        case 'pendingRegistrations':
          return [await deleteSome(PendingRegistrationSchema, { expiresAt: { $lte: now } }, limit), 0];
        case 'mfaCodes':
          return [await deleteSome(MfaCodeSchema, { expiresAt: { $lte: now } }, limit), 0];
        case 'oauthStates':
          return [await deleteSome(OAuthStateSchema, { expiresAt: { $lte: now } }, limit), 0];
        case 'loginAttempts':
          return [await deleteSome(LoginAttemptSchema, { createdAt: { $lte: bounds.attemptsBefore } }, limit), 0];
        case 'emailOutbox':
          return [
            await deleteSome(EmailOutboxSchema, { status: 'sent', sentAt: { $lte: bounds.sentBefore } }, limit),
            0,
          ];
        case 'auditEvents':
          if (!bounds.auditBefore) return [0, 0];
          return [await deleteSome(AuditEventSchema, { createdAt: { $lte: bounds.auditBefore } }, limit), 0];
      }
    },
  };
}

export type PurgeRepository = ReturnType<typeof createPurgeRepository>;
