/**
 * The writes of a successful login, as one change (auth.service.ts): the lockout counter cleared (R18), the
 * hash upgraded when its parameters are stale (R6), the session opened after any bulk cutoff (R40), the
 * user's `last_login_at` stamped and the `login` audit event recorded (R63).
 *
 * `recordLoginStepByStep` is the reference: the same writes through the repositories, one after another,
 * atomic when run inside `Storage.atomically`. On the SQL backends `repos.logins.recordSuccess`
 * (sql-hot-path.ts) makes the same writes atomic on its own and in one round trip — one statement on
 * PostgreSQL, one synchronous transaction on SQLite — because a login's ten statements capped login
 * throughput (bench/, scenario 3). test/src/storage/sql-hot-path.test.ts runs both and compares the rows.
 */
import type { Session } from '../db/entities/index.ts';
import type { NewAuditEvent } from './audit-event.repository.ts';
import { sessionStart } from './session.repository.ts';
import type { HotPathRepositories } from './sql-hot-path.ts';

export interface LoginSuccess {
  userId: string;
  /** The lockout counter to clear. */
  attemptsKey: string;
  /** A new hash of the same password under the current parameters, or null to keep the stored one. */
  upgradedHash: string | null;
  /** The session to open: its id (named by the audit event), lifetime and client. */
  session: { id: string; ttlMs: number; userAgent: string | null; ip: string | null };
  audit: NewAuditEvent;
  /** The login's instant: `last_login_at`, the audit event's time, and the session's start unless a cutoff is ahead. */
  now: Date;
}

export interface LoginRepository {
  /** All of a successful login's writes, atomically; the opened session. */
  recordSuccess(success: LoginSuccess): Promise<Session>;
}

/** The same writes through the repositories; atomic only inside `Storage.atomically`. */
export async function recordLoginStepByStep(repos: HotPathRepositories, s: LoginSuccess): Promise<Session> {
  await repos.loginAttempts.clear(s.attemptsKey);
  if (s.upgradedHash) await repos.users.updatePasswordHash(s.userId, s.upgradedHash, s.now);
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
  await repos.users.recordLogin(s.userId, s.now);
  await repos.auditEvents.record(s.audit, s.now);
  return session;
}
