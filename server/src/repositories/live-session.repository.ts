/**
 * Live sessions: a session is live while it has not expired and no revocation fact covers it (the rule,
 * revocation.repository.ts, R40), and only a live session of an existing user authenticates (R37).
 *
 * `authenticate` is the hot path of every authenticated call: the session, its user (read fresh) and whether it is
 * revoked, in one call. Through the repositories that is three queries; on the SQL backends it is one prepared
 * statement (`LOOKUP_SQL`, beside it), shared by the lookups that arrive in one turn of the event loop, because the
 * ORM's per-query cost dominated the request (bench/, scenario 1). test/src/storage/auth-lookup.test.ts holds the two
 * to the same answers.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Dialect } from '../db/dialect.ts';
import type { Session, User } from '../db/entities/index.ts';
import type { SqlRunner } from '../db/sql-runner.ts';
import { REVOKED_SQL, type RevocationRepository } from './revocation.repository.ts';
import type { SessionRepository } from './session.repository.ts';
import { type UserRepository, userFromRow } from './user.repository.ts';

/** What authenticating a session reads: the session, its user, and whether a revocation fact covers it. */
export interface AuthRow {
  user: User;
  sessionCreatedAt: Date;
  sessionLastSeenAt: Date;
  revoked: boolean;
  /** Set on an impersonation session: the administrator, and whether they are an active superuser right now. */
  impersonator: { id: string; isActiveSuperuser: boolean } | null;
}

export function createLiveSessionRepository(
  em: EntityManager,
  dialect: Dialect,
  repos: { sessions: SessionRepository; revocations: RevocationRepository; users: UserRepository },
) {
  const { sql } = dialect;
  return {
    /**
     * The unexpired session `sessionId` at `now`, with its user, and whether it is revoked; null when there is no
     * such session or its user is gone.
     */
    async authenticate(sessionId: string, now: Date): Promise<AuthRow | null> {
      if (sql) return batchedLookup(dialect, sql)(em, sessionId, now);
      const session = await repos.sessions.findUnexpired(sessionId, now);
      if (!session) return null;
      const revoked = await repos.revocations.isRevoked(session.userId, session.id, session.createdAt);
      const user = await repos.users.findById(session.userId);
      if (!user) return null;
      let impersonator: AuthRow['impersonator'] = null;
      if (session.impersonatorId) {
        const admin = await repos.users.findById(session.impersonatorId);
        impersonator = { id: session.impersonatorId, isActiveSuperuser: !!admin?.isActive && !!admin.isSuperuser };
      }
      return {
        user,
        sessionCreatedAt: session.createdAt,
        sessionLastSeenAt: session.lastSeenAt,
        revoked,
        impersonator,
      };
    },

    /** The user's sessions that would still authenticate at `now`, newest first. */
    async listLive(userId: string, now: Date): Promise<Session[]> {
      if (sql) {
        const rows = await sql.all(em, LIST_LIVE_SQL, [userId, sql.value(now)]);
        return rows.map((r) => sessionFromRow(sql, r));
      }
      const sessions = await repos.sessions.listUnexpiredForUser(userId, now);
      const revoked = await repos.revocations.revokedAmong(userId, sessions);
      return sessions.filter((s) => !revoked.has(s.id));
    },
  };
}

export type LiveSessionRepository = ReturnType<typeof createLiveSessionRepository>;

// ── The SQL versions ─────────────────────────────────────────────────────────────────────────────────────────

/** `listLive`: the unexpired sessions no fact covers. */
const LIST_LIVE_SQL = `select s.id, s.user_id, s.created_at, s.last_seen_at, s.expires_at, s.user_agent, s.ip,
  s.impersonator_id
from sessions s where s.user_id = ? and s.expires_at > ? and not ${REVOKED_SQL}
order by s.created_at desc`;

function sessionFromRow(sql: SqlRunner, r: Record<string, unknown>): Session {
  return {
    id: String(r.id),
    userId: String(r.user_id),
    createdAt: sql.date(r.created_at),
    lastSeenAt: sql.date(r.last_seen_at),
    expiresAt: sql.date(r.expires_at),
    userAgent: (r.user_agent as string | null) ?? null,
    ip: (r.ip as string | null) ?? null,
    impersonatorId: (r.impersonator_id as string | null) ?? null,
  };
}

/**
 * `authenticate` for a list of sessions: each with its user and whether a fact covers it. Expiry is returned, not
 * filtered, so each caller applies its own `now`. `ids` is the dialect's way to take a list of ids.
 */
const lookupSql = (ids: string) => `select s.id as s_id, s.user_id as s_user_id,
  s.created_at as s_created_at, s.last_seen_at as s_last_seen_at, s.expires_at as s_expires_at,
  u.email, u.full_name, u.phone_number, u.is_active, u.is_verified, u.is_superuser, u.is_mfa_enabled,
  u.created_at, u.updated_at, u.last_login_at,
  ${REVOKED_SQL} as revoked,
  s.impersonator_id as s_impersonator_id, (a.is_active and a.is_superuser) as impersonator_is_admin
from sessions s join users u on u.id = s.user_id left join users a on a.id = s.impersonator_id
where s.id ${ids}`;

/** How each SQL dialect binds a list of session ids: a PostgreSQL array, or JSON unpacked by SQLite's json_each. */
const LOOKUP_SQL = {
  sqlite: { text: lookupSql('in (select value from json_each(?))'), bind: (ids: string[]) => JSON.stringify(ids) },
  postgresql: { text: lookupSql('= any(?::varchar[])'), bind: (ids: string[]) => ids },
} as const;

/** Most sessions one batched lookup asks for. */
const MAX_LOOKUP_BATCH = 64;

type Lookup = (unit: EntityManager, sessionId: string, now: Date) => Promise<AuthRow | null>;

/** One batcher per opened database: the batch is shared by every unit of work on it. */
const batchers = new WeakMap<SqlRunner, Lookup>();

function batchedLookup(dialect: Dialect, sql: SqlRunner): Lookup {
  let lookup = batchers.get(sql);
  if (!lookup) {
    lookup = batchedAuthLookup(sql, dialect.reader ?? sql, LOOKUP_SQL[sql.kind]);
    batchers.set(sql, lookup);
  }
  return lookup;
}

function authRowFrom(sql: SqlRunner, r: Record<string, unknown>): AuthRow {
  return {
    user: userFromRow(sql, r, r.s_user_id),
    sessionCreatedAt: sql.date(r.s_created_at),
    sessionLastSeenAt: sql.date(r.s_last_seen_at),
    revoked: Boolean(r.revoked),
    impersonator:
      r.s_impersonator_id == null
        ? null
        : { id: String(r.s_impersonator_id), isActiveSuperuser: Boolean(r.impersonator_is_admin) },
  };
}

/**
 * The authentication lookups that arrive in one turn of the event loop share one statement. On PostgreSQL
 * each lookup cost the main thread far more in the `pg` driver and the socket (a write, a read, a parse) than
 * in the row itself; on SQLite each one waited for the connection on its own. Batched, a loaded server does
 * that once per turn instead of once per request. Nothing is cached or delayed beyond that turn: every request
 * still reads the database after it arrived (R37), and a failed batch fails each of its callers (who fail
 * closed, R42). Lookups inside a transaction run alone, in it; outside one they run on `reader` (db/dialect.ts).
 */
function batchedAuthLookup(
  sql: SqlRunner,
  reader: SqlRunner,
  statement: { text: string; bind(ids: string[]): unknown },
): Lookup {
  type Waiter = { sessionId: string; now: Date; resolve(row: AuthRow | null): void; reject(err: unknown): void };
  let pending: Waiter[] = [];

  async function lookUp(unit: EntityManager, batch: Waiter[]): Promise<void> {
    try {
      const ids = [...new Set(batch.map((w) => w.sessionId))];
      const runner = unit.getTransactionContext() ? sql : reader;
      const rows = await runner.all(unit, statement.text, [statement.bind(ids)]);
      const byId = new Map(rows.map((r) => [String(r.s_id), r]));
      for (const w of batch) {
        const r = byId.get(w.sessionId);
        // A session is live while `expires_at > now`, for this caller's `now`.
        w.resolve(r && sql.date(r.s_expires_at).getTime() > w.now.getTime() ? authRowFrom(sql, r) : null);
      }
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  }

  function flush(unit: EntityManager): void {
    const batch = pending;
    pending = [];
    if (batch.length > 0) void lookUp(unit, batch);
  }

  return (unit, sessionId, now) =>
    new Promise((resolve, reject) => {
      const waiter: Waiter = { sessionId, now, resolve, reject };
      // Inside a transaction: alone, on that transaction's connection.
      if (unit.getTransactionContext()) return void lookUp(unit, [waiter]);
      pending.push(waiter);
      if (pending.length >= MAX_LOOKUP_BATCH) flush(unit);
      else if (pending.length === 1) setImmediate(() => flush(unit));
    });
}
