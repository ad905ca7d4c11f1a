/**
 * The security log (R63). Rows are append-only; `details` must never hold a secret (R62). On the SQL backends
 * `record` (every login writes one) is a prepared statement, beside the ORM insert it stands for.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Dialect } from '../db/dialect.ts';
import { type AuditEvent, AuditEventSchema } from '../db/entities/index.ts';
import { newId } from '../db/ids.ts';
import type { SqlRunner } from '../db/sql-runner.ts';

export interface NewAuditEvent {
  event: string;
  actorId?: string | null;
  subjectId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  details?: Record<string, unknown> | null;
}

/** `record` as a prepared statement. */
export const INSERT_AUDIT_SQL = `insert into audit_events (id, event, actor_id, subject_id, ip, user_agent, details, created_at)
    values (?, ?, ?, ?, ?, ?, ?, ?)`;

/** `INSERT_AUDIT_SQL`'s parameters, in order, but for the time. */
export const auditParams = (data: NewAuditEvent, now: Date) =>
  [
    newId(now.getTime()),
    data.event,
    data.actorId ?? null,
    data.subjectId ?? null,
    data.ip ?? null,
    data.userAgent ?? null,
    data.details ? JSON.stringify(data.details) : null,
  ] as const;

/** All of `INSERT_AUDIT_SQL`'s parameters. */
export const auditRow = (sql: SqlRunner, data: NewAuditEvent, now: Date) => [...auditParams(data, now), sql.value(now)];

/** The admin audit list's filters (issue 17): all optional, combined with "and". */
export interface AuditQuery {
  limit: number;
  subjectId?: string | undefined;
  actorId?: string | undefined;
  types?: readonly string[] | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  /** The id of the last row of the previous page: ids are time-ordered (db/ids.ts), so newest first is id order. */
  beforeId?: string | undefined;
}

export function createAuditEventRepository(em: EntityManager, dialect: Dialect) {
  const { sql } = dialect;
  return {
    async record(data: NewAuditEvent, now: Date): Promise<void> {
      if (sql) return void (await sql.run(em, INSERT_AUDIT_SQL, auditRow(sql, data, now)));
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

    /** A page of the log, newest first, by keyset on the time-ordered id. */
    listPage(query: AuditQuery): Promise<AuditEvent[]> {
      const createdAt = {
        ...(query.from && { $gte: query.from }),
        ...(query.to && { $lt: query.to }),
      };
      return em.find(
        AuditEventSchema,
        {
          ...(query.subjectId !== undefined && { subjectId: query.subjectId }),
          ...(query.actorId !== undefined && { actorId: query.actorId }),
          ...(query.types && { event: { $in: [...query.types] } }),
          ...((query.from || query.to) && { createdAt }),
          ...(query.beforeId !== undefined && { id: { $lt: query.beforeId } }),
        },
        { orderBy: { id: 'desc' }, limit: query.limit, disableIdentityMap: true },
      );
    },

    /** Events of one type in [from, to) (index on event, created_at). */
    countBetween(event: string, from: Date, to: Date): Promise<number> {
      return em.count(AuditEventSchema, { event, createdAt: { $gte: from, $lt: to } });
    },

    /**
     * Removes the user's own history at account deletion (R45): every row about them, and rows they caused with
     * no other subject. Rows where they acted on someone else (an administrator's changes to other accounts) stay:
     * they are the other account's history, and the audit log must still say who did it.
     */
    deleteForUser(userId: string): Promise<number> {
      return em.nativeDelete(AuditEventSchema, { $or: [{ subjectId: userId }, { actorId: userId, subjectId: null }] });
    },
  };
}

export type AuditEventRepository = ReturnType<typeof createAuditEventRepository>;
