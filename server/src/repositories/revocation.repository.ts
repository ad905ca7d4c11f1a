/**
 * Revocation facts (revocation.entity.ts, R38–R42). Revoking inserts; checking reads. Errors propagate: the
 * caller must fail closed (R42).
 *
 * The rule, written here once in each of its two forms — `covers` for the repositories and `REVOKED_SQL` for
 * the prepared statements of the SQL backends (live-session.repository.ts) — is: **a session is dead if its own
 * revocation fact exists, or if a bulk cutoff falls at or after its creation** (millisecond precision, R40).
 * test/src/storage/auth-lookup.test.ts holds the two forms to the same answers. The cutoff a new session must
 * start after (`sessionStart`, session.repository.ts) reads `cutoffFor`, here too in both forms.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Dialect } from '../db/dialect.ts';
import { type Revocation, RevocationSchema } from '../db/entities/index.ts';
import { newId } from '../db/ids.ts';
import type { SqlRunner } from '../db/sql-runner.ts';

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
  | 'account_deleted'
  | 'impersonation_ended';

/** A session's own revocation fact has the id `s:<session id>`: one per session, so revoking twice is a no-op. */
const SESSION_FACT_PREFIX = 's:';
const sessionFactId = (sessionId: string) => `${SESSION_FACT_PREFIX}${sessionId}`;

/** What the rule reads of a session. */
export interface SessionStamp {
  id: string;
  createdAt: Date;
}

/** The rule, for the repositories: whether `fact` kills `session`. */
function covers(fact: Pick<Revocation, 'id' | 'sessionId' | 'revokedAt'>, session: SessionStamp): boolean {
  return (
    fact.id === sessionFactId(session.id) ||
    (fact.sessionId === null && fact.revokedAt.getTime() >= session.createdAt.getTime())
  );
}

/**
 * The rule, for SQL: true when a revocation fact covers the `sessions` row aliased `s`. Column names are the
 * entities' (the schema test proves the migrations match them); portable between SQLite and PostgreSQL.
 */
export const REVOKED_SQL = `exists (select 1 from revocations r where r.user_id = s.user_id
    and (r.id = '${SESSION_FACT_PREFIX}' || s.id or (r.session_id is null and r.revoked_at >= s.created_at)))`;

/** `cutoffFor` in SQL: the user's latest bulk cutoff (`max` of no rows is null). */
export const CUTOFF_SQL = 'select max(revoked_at) as cutoff from revocations where user_id = ? and session_id is null';

/** The cutoff in `CUTOFF_SQL`'s rows. */
export function cutoffFrom(sql: SqlRunner, rows: Record<string, unknown>[]): Date | null {
  const cutoff = rows[0]?.cutoff;
  return cutoff === null || cutoff === undefined ? null : sql.date(cutoff);
}

export function createRevocationRepository(em: EntityManager, dialect: Dialect) {
  const { sql } = dialect;

  /** The ids among `sessions` (all the user's) that a revocation fact covers. */
  async function revokedAmong(userId: string, sessions: readonly SessionStamp[]): Promise<Set<string>> {
    if (sessions.length === 0) return new Set();
    const earliest = new Date(Math.min(...sessions.map((s) => s.createdAt.getTime())));
    // The candidates: the sessions' own facts, and bulk cutoffs that could reach the earliest of them; `covers`
    // decides. For one session the candidates are exactly the facts that cover it.
    const facts = await em.find(
      RevocationSchema,
      {
        userId,
        $or: [
          { id: { $in: sessions.map((s) => sessionFactId(s.id)) } },
          { sessionId: null, revokedAt: { $gte: earliest } },
        ],
      },
      { fields: ['id', 'sessionId', 'revokedAt'], disableIdentityMap: true },
    );
    return new Set(sessions.filter((s) => facts.some((f) => covers(f, s))).map((s) => s.id));
  }

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

    /** Whether the user's session `sessionId`, created at `sessionCreatedAt`, is dead. */
    async isRevoked(userId: string, sessionId: string, sessionCreatedAt: Date): Promise<boolean> {
      return (await revokedAmong(userId, [{ id: sessionId, createdAt: sessionCreatedAt }])).size > 0;
    },

    revokedAmong,

    /** The latest bulk cutoff of a user, or null. */
    async cutoffFor(userId: string): Promise<Date | null> {
      if (sql) return cutoffFrom(sql, await sql.all(em, CUTOFF_SQL, [userId]));
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
