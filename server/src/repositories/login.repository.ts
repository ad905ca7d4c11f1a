/**
 * A login's own reads and writes, each as one call (auth.service.ts):
 *
 * - `reserve`: record a try on the account's lockout keys, count the window's tries and failures, and read the
 *   account's credentials (R17: the count follows the committed insert; login-attempt.repository.ts).
 * - `recordSuccess`: the try withdrawn and the lockout counter cleared (R18), the hash upgraded when its
 *   parameters are stale (R6),
 *   the session opened after any bulk cutoff (R40), `last_login_at` stamped and the `login` audit event
 *   recorded (R63) — atomically.
 *
 * The `…StepByStep` functions are the reference: the same work through the repositories, one call after
 * another (`recordLoginStepByStep` is atomic inside `Storage.atomically`; outside it, only on MongoDB, where
 * the order of its steps keeps it safe — see there). On the SQL backends the same work takes fewer round trips,
 * written below beside it — on PostgreSQL the reservation's insert also reads the account and the success is one
 * statement; on SQLite each is one synchronous transaction — because a login's ten statements capped login
 * throughput (bench/, scenario 3). test/src/storage/sql-hot-path.test.ts runs both and compares.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Dialect } from '../db/dialect.ts';
import type { Session, User } from '../db/entities/index.ts';
import type { SqlRunner } from '../db/sql-runner.ts';
import {
  type AuditEventRepository,
  auditParams,
  auditRow,
  INSERT_AUDIT_SQL,
  type NewAuditEvent,
} from './audit-event.repository.ts';
import {
  ATTEMPT_SQL,
  type LoginAttemptRepository,
  pgTries,
  pgTryParams,
  pgUnflushed,
  type RecordedTry,
  recordTryIn,
  type TryWindow,
} from './login-attempt.repository.ts';
import { CUTOFF_SQL, cutoffFrom, type RevocationRepository } from './revocation.repository.ts';
import {
  newSessionRow,
  pgSessionStartSql,
  SESSION_SQL,
  type SessionRepository,
  sessionParams,
  sessionStart,
} from './session.repository.ts';
import { credentialsFrom, USER_COLUMNS, USER_SQL, type UserRepository } from './user.repository.ts';

export interface LoginSuccess {
  userId: string;
  /** The lockout counter to clear. */
  attemptsKey: string;
  /** This login's try, withdrawn with it. */
  tryId: string;
  /**
   * The stored hash the password was checked against. The login commits only while it is still the stored one
   * (R68): a reset or change that landed during the check wins, and this login fails instead of opening a
   * session the reset would not have ended (or writing the old password back as an upgraded hash).
   */
  verifiedHash: string | null;
  /** A new hash of the same password under the current parameters, or null to keep the stored one. */
  upgradedHash: string | null;
  /** The session to open: its id (named by the audit event), lifetime and client. */
  session: { id: string; ttlMs: number; userAgent: string | null; ip: string | null };
  audit: NewAuditEvent;
  /** A second event recorded with it, at the same instant (the second step's `mfa_login_succeeded`). */
  alsoAudit?: NewAuditEvent | undefined;
  /** The login's instant: `last_login_at`, the audit event's time, and the session's start unless a cutoff is ahead. */
  now: Date;
}

/** A recorded try (see `RecordedTry`) and the account with its hash, if any. */
export interface LoginReservation extends RecordedTry {
  user: User | null;
}

export interface LoginRepository {
  /** Records a try (`LoginAttemptRepository.recordTry`) and reads `email`'s credentials. */
  reserve(window: TryWindow, email: string): Promise<LoginReservation>;
  /** All of a successful login's writes, atomically; the opened session, or null (and nothing written) when the
   * stored hash is no longer `verifiedHash`. */
  recordSuccess(success: LoginSuccess): Promise<Session | null>;
}

/** The repositories a login's steps use (the step-by-step functions below). */
export interface HotPathRepositories {
  users: UserRepository;
  sessions: SessionRepository;
  revocations: RevocationRepository;
  loginAttempts: LoginAttemptRepository;
  auditEvents: AuditEventRepository;
}

/** A login's reads and writes: the steps through `repos`, or on SQL the same in fewer round trips. */
export function createLoginRepository(
  em: EntityManager,
  dialect: Dialect,
  repos: HotPathRepositories,
): LoginRepository {
  const { sql } = dialect;
  return {
    reserve(window, email) {
      if (!sql) return reserveStepByStep(repos, window, email);
      if (sql.transaction) {
        return sql.transaction(
          em,
          (query) => ({
            ...recordTryIn(sql, query, window),
            user: credentialsFrom(sql, query(USER_SQL.credentialsByEmail, [email])[0]),
          }),
          { unflushed: true },
        );
      }
      if (!pgUnflushed(sql, em)) return reserveStepByStep(repos, window, email);
      return sql.all(em, PG_RESERVE_SQL, [...pgTryParams(window), email]).then(([row]) => ({
        ...pgTries(row, window.id),
        user: row?.id === null || !row ? null : credentialsFrom(sql, row),
      }));
    },
    recordSuccess(s) {
      if (!sql) return recordLoginStepByStep(repos, s);
      return sql.transaction ? loginInTransaction(sql, sql.transaction, em, s) : loginInOneStatement(sql, em, s);
    },
  };
}

/** `reserve` through the repositories. */
export async function reserveStepByStep(
  repos: HotPathRepositories,
  window: TryWindow,
  email: string,
): Promise<LoginReservation> {
  const recorded = await repos.loginAttempts.recordTry(window);
  return { ...recorded, user: await repos.users.findCredentialsByEmail(email) };
}

/**
 * `recordSuccess` through the repositories; atomic only inside `Storage.atomically`. Without transactions
 * (MongoDB) the hash is read again after the session is written, and a session that a reset overtook is revoked
 * at once: either the reset's cutoff reaches it, or this read sees the reset's hash.
 */
export async function recordLoginStepByStep(repos: HotPathRepositories, s: LoginSuccess): Promise<Session | null> {
  if (!(await repos.users.stampLoginIf(s.userId, s.verifiedHash, s.upgradedHash, s.now))) return null;
  await repos.loginAttempts.remove(s.tryId);
  await repos.loginAttempts.clear(s.attemptsKey);
  const start = sessionStart(s.now, await repos.revocations.cutoffFor(s.userId));
  const session = await repos.sessions.create(
    {
      id: s.session.id,
      userId: s.userId,
      expiresAt: new Date(start.getTime() + s.session.ttlMs),
      userAgent: s.session.userAgent,
      ip: s.session.ip,
    },
    start,
  );
  await repos.auditEvents.record(s.audit, s.now);
  if (s.alsoAudit) await repos.auditEvents.record(s.alsoAudit, s.now);
  if ((await repos.users.currentPasswordHash(s.userId)) !== (s.upgradedHash ?? s.verifiedHash)) {
    await repos.revocations.revokeSession(s.userId, session.id, s.now, 'password_reset');
    return null;
  }
  return session;
}

// ── The SQL versions ─────────────────────────────────────────────────────────────────────────────────────────

/** PostgreSQL: `regstack_record_try` (login-attempt.repository.ts) and the account read, in one statement. */
const PG_RESERVE_SQL = `select a.r, ${USER_COLUMNS} from (select regstack_record_try($1, $2, $3, $4, $5, $6) as r) a
  left join users on users.email = $7`;

/**
 * PostgreSQL: a successful login's writes (`recordLoginStepByStep`) as one statement. Its parts see one snapshot
 * and touch different tables, and the statement is atomic on its own. The session starts as `sessionStart` says.
 */
const PG_LOGIN_SUCCESS_WRITES = `with stamped as (update users set last_login_at = $2, hashed_password = coalesce($3, hashed_password),
      updated_at = case when $3 is null then updated_at else $2 end
    where id = $4 and hashed_password is not distinct from $17 returning id),
  cleared as (delete from login_attempts where ("key" = $1 or id = $16) and exists (select 1 from stamped)),
  opened as (insert into sessions (id, user_id, created_at, last_seen_at, expires_at, user_agent, ip)
    select $5, $4, t.at, t.at, t.at + $6::float8 * interval '1 millisecond', $7, $8
    from stamped, (select ${pgSessionStartSql('$2', '$4')} as at) t
    returning created_at, expires_at)`;

/** The part recording an audit event from `auditParams` at `$first`…`$first + 6`, at the login's instant. */
function pgAuditPart(name: string, first: number): string {
  const params = Array.from({ length: 7 }, (_, n) => `$${first + n}`).join(', ');
  return `${name} as (insert into audit_events (id, event, actor_id, subject_id, ip, user_agent, details, created_at)
    select ${params}, $2 from stamped)`;
}

const PG_LOGIN_SUCCESS_SQL = `${PG_LOGIN_SUCCESS_WRITES},
  ${pgAuditPart('audited', 9)}
select created_at, expires_at from opened`;

/** The same with `alsoAudit` ($18–$24), recorded by the same statement (one round trip, one commit). */
const PG_LOGIN_SUCCESS_TWO_EVENTS_SQL = `${PG_LOGIN_SUCCESS_WRITES},
  ${pgAuditPart('audited', 9)},
  ${pgAuditPart('audited_too', 18)}
select created_at, expires_at from opened`;

/** SQLite: the steps of `recordLoginStepByStep`, run synchronously in one transaction (the cutoff read included). */
function loginInTransaction(
  sql: SqlRunner,
  transaction: NonNullable<SqlRunner['transaction']>,
  em: EntityManager,
  s: LoginSuccess,
): Promise<Session | null> {
  const v = sql.value;
  return transaction(em, (query) => {
    // Only over the hash the password was checked against (R68); SQLite has one writer, so nothing lands between.
    if (query(USER_SQL.storedHash, [s.userId])[0]?.hashed_password !== s.verifiedHash) return null;
    query(ATTEMPT_SQL.clear, [s.attemptsKey]);
    query(ATTEMPT_SQL.remove, [s.tryId]);
    if (s.upgradedHash) query(USER_SQL.upgradeHash, [s.upgradedHash, v(s.now), s.userId]);
    const start = sessionStart(s.now, cutoffFrom(sql, query(CUTOFF_SQL, [s.userId])));
    const row = newSessionRow(
      { ...s.session, userId: s.userId, expiresAt: new Date(start.getTime() + s.session.ttlMs) },
      start,
    );
    query(SESSION_SQL.insert, sessionParams(sql, row));
    query(USER_SQL.recordLogin, [v(s.now), s.userId]);
    query(INSERT_AUDIT_SQL, auditRow(sql, s.audit, s.now));
    if (s.alsoAudit) query(INSERT_AUDIT_SQL, auditRow(sql, s.alsoAudit, s.now));
    return row;
  });
}

/**
 * PostgreSQL: one round trip (`PG_LOGIN_SUCCESS_SQL`). The stamp updates the user row only while its hash is still
 * the verified one (the row's lock orders it against a reset's); everything else hangs on that row, so a login
 * that a reset overtook writes nothing and returns null.
 */
async function loginInOneStatement(sql: SqlRunner, em: EntityManager, s: LoginSuccess): Promise<Session | null> {
  const rows = await sql.all(em, s.alsoAudit ? PG_LOGIN_SUCCESS_TWO_EVENTS_SQL : PG_LOGIN_SUCCESS_SQL, [
    s.attemptsKey,
    s.now,
    s.upgradedHash,
    s.userId,
    s.session.id,
    s.session.ttlMs,
    s.session.userAgent,
    s.session.ip,
    ...auditParams(s.audit, s.now),
    s.tryId,
    s.verifiedHash,
    ...(s.alsoAudit ? auditParams(s.alsoAudit, s.now) : []),
  ]);
  const opened = rows[0];
  if (!opened) return null;
  const createdAt = sql.date(opened.created_at);
  return {
    id: s.session.id,
    userId: s.userId,
    createdAt,
    lastSeenAt: createdAt,
    expiresAt: sql.date(opened.expires_at),
    userAgent: s.session.userAgent,
    ip: s.session.ip,
    impersonatorId: null,
  };
}
