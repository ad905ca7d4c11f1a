/**
 * email_outbox — durable mail delivery (SPEC §8). A message is written in the same unit of work as the change
 * that caused it and delivered later by a worker that first wins a lease — a claim `outbox:<id>:<attempt>#<k>` that
 * expires (claim.entity.ts) — so a crash after the API answered still delivers it, two workers never hold
 * the same attempt at once, and a lease abandoned by a dead worker is taken over once it lapses. `payload` holds the
 * rendered message, sealed by the service layer because it can carry a one-time link.
 */
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

export const OUTBOX_STATUSES = ['pending', 'sent', 'dead'] as const;
export type OutboxStatus = (typeof OUTBOX_STATUSES)[number];

export const EmailOutboxSchema = defineEntity({
  name: 'EmailOutbox',
  tableName: 'email_outbox',
  // (status, createdAt): the depth and oldest-pending age the observability gauges read are index seeks, not scans
  // of a backlog (docs/observability.md); (status, sent_at): the purge's "delivered before" cutoff is an index range.
  indexes: [
    { properties: ['status', 'nextAttemptAt'] },
    { properties: ['status', 'createdAt'] },
    { properties: ['status', 'sentAt'] },
  ],
  properties: {
    id: p.string().primary().length(36),
    kind: p.string().length(64),
    toAddress: p.string().length(254),
    payload: p.text(),
    status: p.string().$type<OutboxStatus>().length(16),
    attempts: p.integer().default(0),
    nextAttemptAt: p.datetime().length(3),
    lastError: p.string().length(500).nullable(),
    createdAt: p.datetime().length(3),
    sentAt: p.datetime().length(3).nullable(),
  },
});

export type EmailOutbox = InferEntity<typeof EmailOutboxSchema>;
