/**
 * revocations — append-only facts that kill access tokens (R38–R42). A row either revokes one session
 * (`session_id` set; its primary key is derived from the session id, so a session is revoked exactly once)
 * or, with `session_id` null, revokes every session of the user created at or before `revoked_at` — the
 * bulk cutoff, kept in milliseconds so a token minted earlier in the same second is caught (R40). Facts are
 * only ever inserted, never updated: concurrent revocations cannot overwrite each other on any backend, and
 * the newest cutoff always wins because the check takes them all into account.
 */
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

export const RevocationSchema = defineEntity({
  name: 'Revocation',
  tableName: 'revocations',
  // Every read is by user: the bulk cutoff (`session_id` null, the newest `revoked_at`), a session's own fact, the
  // facts of a list of sessions. With `session_id` second, the cutoff read stays one index probe however many
  // per-session facts (logouts) the user has piled up (issue 14, item 4).
  indexes: [{ properties: ['userId', 'sessionId', 'revokedAt'] }],
  properties: {
    id: p.string().primary().length(40),
    userId: p.string().length(36),
    sessionId: p.string().length(36).nullable(),
    revokedAt: p.datetime().length(3),
    reason: p.string().length(64),
  },
});

export type Revocation = InferEntity<typeof RevocationSchema>;
