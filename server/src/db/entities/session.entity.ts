/**
 * sessions — one row per login (SPEC §7). An access token carries the session id (`sid`); it is honoured
 * only while the row exists, has not expired, and no revocation fact covers it (revocation.entity.ts) —
 * so logout revokes exactly one session, keyed by id and never by the token string (R38, R39), and every
 * instance sees it at once (R42). `last_seen_at`, user agent and ip are informational. `impersonator_id` marks a
 * session an administrator opened as this user (issue 17): short-lived, restricted, and only while that administrator
 * stays an active superuser (services/session.service.ts).
 */
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

export const SessionSchema = defineEntity({
  name: 'Session',
  tableName: 'sessions',
  // Per-user reads go by creation: the live list, newest first (a bulk cutoff must reach the newest), read
  // in index order (issue 14, item 4).
  indexes: [{ properties: ['userId', 'createdAt'] }],
  properties: {
    id: p.string().primary().length(36),
    userId: p.string().length(36),
    createdAt: p.datetime().length(3),
    lastSeenAt: p.datetime().length(3),
    expiresAt: p.datetime().length(3).index(),
    userAgent: p.string().length(512).nullable(),
    ip: p.string().length(64).nullable(),
    impersonatorId: p.string().length(36).nullable(),
  },
});

export type Session = InferEntity<typeof SessionSchema>;
