/** The security log (R63). Rows are append-only; `details` must never hold a secret (R62). */
import type { EntityManager } from '@mikro-orm/core';
import { type AuditEvent, AuditEventSchema } from '../db/entities/index.ts';
import { newId } from '../db/ids.ts';

export interface NewAuditEvent {
  event: string;
  actorId?: string | null;
  subjectId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  details?: Record<string, unknown> | null;
}

export function createAuditEventRepository(em: EntityManager) {
  return {
    async record(data: NewAuditEvent, now: Date): Promise<void> {
      await em.insert(AuditEventSchema, {
        id: newId(now.getTime()),
        event: data.event,
        actorId: data.actorId ?? null,
        subjectId: data.subjectId ?? null,
        ip: data.ip ?? null,
        userAgent: data.userAgent ?? null,
        details: data.details ?? null,
        createdAt: now,
      });
    },

    listForSubject(subjectId: string, limit = 100): Promise<AuditEvent[]> {
      return em.find(AuditEventSchema, { subjectId }, { orderBy: { createdAt: 'desc', id: 'desc' }, limit });
    },

    /** Removes every row naming the user as subject or actor (account deletion, R45). */
    deleteForUser(userId: string): Promise<number> {
      return em.nativeDelete(AuditEventSchema, { $or: [{ subjectId: userId }, { actorId: userId }] });
    },
  };
}

export type AuditEventRepository = ReturnType<typeof createAuditEventRepository>;
