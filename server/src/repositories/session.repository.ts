/**
 * Sessions (one row per login). Whether a session is revoked is not stored here but decided by the
 * revocation facts (revocation.repository.ts); this repository only creates, lists and expires rows, and
 * live-session.repository.ts joins the two. On the SQL backends the methods every login and authenticated call
 * run are prepared statements (`SESSION_SQL`, db/sql-runner.ts), beside the ORM call each one stands for.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Dialect } from '../db/dialect.ts';
import { type Session, SessionSchema } from '../db/entities/index.ts';
import { newId } from '../db/ids.ts';
import type { SqlRunner } from '../db/sql-runner.ts';

export interface NewSession {
  /** The session's id when the caller needs it before the row exists (a login's audit event names it). */
  id?: string;
  userId: string;
  expiresAt: Date;
  userAgent?: string | null;
  ip?: string | null;
  /** The administrator who opened this session as the user (impersonation, issue 17). */
  impersonatorId?: string | null;
}

/** The row a new session gets (the ORM insert and the prepared one write the same). */
export function newSessionRow(data: NewSession, now: Date): Session {
  return {
    id: data.id ?? newId(now.getTime()),
    userId: data.userId,
    createdAt: now,
    lastSeenAt: now,
    expiresAt: data.expiresAt,
    userAgent: data.userAgent ?? null,
    ip: data.ip ?? null,
    impersonatorId: data.impersonatorId ?? null,
  };
}

/**
 * When a session opened at `now` starts, given the user's latest "log out everywhere" cutoff. The cutoff kills
 * sessions created at or before it (R40), so a session opened in the cutoff's very millisecond (or while the
 * clock trails a cutoff written by another server) would be born revoked: it starts one millisecond after the
 * cutoff instead. "Log in right after logoutAll" keeps working and the cutoff is not weakened.
 */
export function sessionStart(now: Date, cutoff: Date | null): Date {
  return cutoff && cutoff.getTime() >= now.getTime() ? new Date(cutoff.getTime() + 1) : now;
}

/**
 * `sessionStart` in PostgreSQL, for the one-statement login (login.repository.ts): the instant `now` or one
 * millisecond after the user's latest bulk cutoff, whichever is later (`greatest` ignores the null of "no
 * cutoff"). `now` and `userId` are the statement's parameter references.
 */
export const pgSessionStartSql = (now: string, userId: string) =>
  `greatest(${now}::timestamptz, (select max(revoked_at) + interval '1 millisecond'
      from revocations where user_id = ${userId} and session_id is null))`;

/** The prepared statements of the session methods the login and every authenticated call run. */
export const SESSION_SQL = {
  insert: `insert into sessions (id, user_id, created_at, last_seen_at, expires_at, user_agent, ip, impersonator_id)
    values (?, ?, ?, ?, ?, ?, ?, ?)`,
  touch: 'update sessions set last_seen_at = ? where id = ?',
} as const;

/** `SESSION_SQL.insert`'s parameters for `row`. */
export const sessionParams = (sql: SqlRunner, row: Session) => [
  row.id,
  row.userId,
  sql.value(row.createdAt),
  sql.value(row.lastSeenAt),
  sql.value(row.expiresAt),
  row.userAgent,
  row.ip,
  row.impersonatorId,
];

export function createSessionRepository(em: EntityManager, dialect: Dialect) {
  const { sql } = dialect;
  return {
    async create(data: NewSession, now: Date): Promise<Session> {
      const row = newSessionRow(data, now);
      if (sql) await sql.run(em, SESSION_SQL.insert, sessionParams(sql, row));
      else await em.insert(SessionSchema, row);
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
      if (sql) await sql.run(em, SESSION_SQL.touch, [sql.value(now), id]);
      else await em.nativeUpdate(SessionSchema, { id }, { lastSeenAt: now });
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
