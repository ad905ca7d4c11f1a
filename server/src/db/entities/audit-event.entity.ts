/**
 * audit_events — the security log (R63): who did what to whom, when, from where. Never a secret (R62):
 * `details` is a small JSON document of non-sensitive facts written by the audit service.
 */
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

export const AuditEventSchema = defineEntity({
  name: 'AuditEvent',
  tableName: 'audit_events',
  // The admin audit list filters by actor, and stats count one event type per day (issue 17).
  indexes: [{ properties: ['actorId'] }, { properties: ['event', 'createdAt'] }],
  properties: {
    id: p.string().primary().length(36),
    event: p.string().length(64).index(),
    actorId: p.string().length(36).nullable(),
    subjectId: p.string().length(36).nullable().index(),
    ip: p.string().length(64).nullable(),
    userAgent: p.string().length(512).nullable(),
    details: p.json<Record<string, unknown>>().nullable(),
    // Indexed for the purge's retention cutoff (audit_retention_days): a batch never scans the log.
    createdAt: p.datetime().length(3).index(),
  },
});

export type AuditEvent = InferEntity<typeof AuditEventSchema>;
