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
 * another (`recordLoginStepByStep` is atomic inside `Storage.atomically`). On the SQL backends
 * `repos.logins` (sql-hot-path.ts) does the same in fewer round trips — on PostgreSQL the reservation's
 * insert also reads the account and the success is one statement; on SQLite each is one synchronous
 * transaction — because a login's ten statements capped login throughput (bench/, scenario 3).
 * test/src/storage/sql-hot-path.test.ts runs both and compares.
 */
import type { Session, User } from '../db/entities/index.ts';
import type { AuditEventRepository, NewAuditEvent } from './audit-event.repository.ts';
import type { LoginAttemptRepository, RecordedTry, TryWindow } from './login-attempt.repository.ts';
import type { RevocationRepository } from './revocation.repository.ts';
import { type SessionRepository, sessionStart } from './session.repository.ts';
import type { UserRepository } from './user.repository.ts';

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
  verifiedHash: string;
  /** A new hash of the same password under the current parameters, or null to keep the stored one. */
  upgradedHash: string | null;
  /** The session to open: its id (named by the audit event), lifetime and client. */
  session: { id: string; ttlMs: number; userAgent: string | null; ip: string | null };
  audit: NewAuditEvent;
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

/**
 * The repositories a login's steps use (the step-by-step functions below, and sql-hot-path.ts, which replaces
 * their hot methods); declared here so that module imports this one and not the other way round.
 */
export interface HotPathRepositories {
  logins: LoginRepository | null;
  users: UserRepository;
  sessions: SessionRepository;
  revocations: RevocationRepository;
  loginAttempts: LoginAttemptRepository;
  auditEvents: AuditEventRepository;
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
  if ((await repos.users.currentPasswordHash(s.userId)) !== (s.upgradedHash ?? s.verifiedHash)) {
    await repos.revocations.revokeSession(s.userId, session.id, s.now, 'password_reset');
    return null;
  }
  return session;
}
