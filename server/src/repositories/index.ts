/**
 * All repositories over one unit of work. Services ask for `createRepositories(storage.fork(), dialect)` per
 * request, so no entity manager or identity map is shared between requests. On the SQL backends (`dialect.sql`)
 * the methods every login and authenticated call run are prepared statements, each written beside the ORM
 * version it stands for, with the same contract; a dialect without `sql` gets the ORM versions everywhere.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Dialect } from '../db/dialect.ts';
import { createAuditEventRepository } from './audit-event.repository.ts';
import { createClaimRepository } from './claim.repository.ts';
import { createEmailOutboxRepository } from './email-outbox.repository.ts';
import { createLiveSessionRepository } from './live-session.repository.ts';
import { createLoginRepository } from './login.repository.ts';
import { createLoginAttemptRepository } from './login-attempt.repository.ts';
import { createMfaCodeRepository } from './mfa-code.repository.ts';
import { createOneTimeTokenRepository } from './one-time-token.repository.ts';
import { createPendingRegistrationRepository } from './pending-registration.repository.ts';
import { createRevocationRepository } from './revocation.repository.ts';
import { createSessionRepository } from './session.repository.ts';
import { createUserRepository } from './user.repository.ts';

export function createRepositories(em: EntityManager, dialect: Dialect) {
  const base = {
    users: createUserRepository(em, dialect),
    pendingRegistrations: createPendingRegistrationRepository(em, dialect),
    oneTimeTokens: createOneTimeTokenRepository(em, dialect),
    sessions: createSessionRepository(em, dialect),
    revocations: createRevocationRepository(em, dialect),
    claims: createClaimRepository(em, dialect),
    loginAttempts: createLoginAttemptRepository(em, dialect),
    mfaCodes: createMfaCodeRepository(em, dialect),
    emailOutbox: createEmailOutboxRepository(em, dialect),
    auditEvents: createAuditEventRepository(em, dialect),
  };
  return {
    ...base,
    /** Sessions that authenticate: one call per authenticated request (live-session.repository.ts). */
    liveSessions: createLiveSessionRepository(em, dialect, base),
    /** A login's reads and writes, each one call (login.repository.ts). */
    logins: createLoginRepository(em, dialect, base),
  };
}

export type Repositories = ReturnType<typeof createRepositories>;
export type { AuditEventRepository, NewAuditEvent } from './audit-event.repository.ts';
export type { ClaimRepository } from './claim.repository.ts';
export type { EmailOutboxRepository, NewOutboxMessage, OutboxLease } from './email-outbox.repository.ts';
export type { AuthRow, LiveSessionRepository } from './live-session.repository.ts';
export {
  type LoginRepository,
  type LoginReservation,
  type LoginSuccess,
  recordLoginStepByStep,
  reserveStepByStep,
} from './login.repository.ts';
export type { LoginAttemptRepository, RecordedTry, TryWindow } from './login-attempt.repository.ts';
export type { MfaCodeRepository, NewMfaCode } from './mfa-code.repository.ts';
export type { NewOneTimeToken, OneTimeTokenRepository } from './one-time-token.repository.ts';
export type { NewPendingRegistration, PendingRegistrationRepository } from './pending-registration.repository.ts';
export type { RevocationReason, RevocationRepository } from './revocation.repository.ts';
export { type NewSession, type SessionRepository, sessionStart } from './session.repository.ts';
export type { NewUser, UserRepository } from './user.repository.ts';
