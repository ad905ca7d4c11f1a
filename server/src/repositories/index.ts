/**
 * All repositories over one unit of work. Services ask for `createRepositories(storage.fork(), dialect)` per
 * request, so no entity manager or identity map is shared between requests. On the SQL backends (`dialect.sql`)
 * the methods every login and authenticated call run are prepared statements, each written beside the ORM
 * version it stands for, with the same contract; a dialect without `sql` gets the ORM versions everywhere.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Dialect } from '../db/dialect.ts';
import { type AuditEventRepository, createAuditEventRepository } from './audit-event.repository.ts';
import { type ClaimRepository, createClaimRepository } from './claim.repository.ts';
import { createEmailOutboxRepository, type EmailOutboxRepository } from './email-outbox.repository.ts';
import { createLiveSessionRepository, type LiveSessionRepository } from './live-session.repository.ts';
import { createLoginRepository, type LoginRepository } from './login.repository.ts';
import { createLoginAttemptRepository, type LoginAttemptRepository } from './login-attempt.repository.ts';
import { createMfaCodeRepository, type MfaCodeRepository } from './mfa-code.repository.ts';
import { createMfaFactorRepository, type MfaFactorRepository } from './mfa-factor.repository.ts';
import { createMfaLoginRepository, type MfaLoginRepository } from './mfa-login.repository.ts';
import { createOAuthRepository, type OAuthRepository } from './oauth.repository.ts';
import { createOneTimeTokenRepository, type OneTimeTokenRepository } from './one-time-token.repository.ts';
import {
  createPendingRegistrationRepository,
  type PendingRegistrationRepository,
} from './pending-registration.repository.ts';
import { createRevocationRepository, type RevocationRepository } from './revocation.repository.ts';
import { createSessionRepository, type SessionRepository } from './session.repository.ts';
import { createUserRepository, type UserRepository } from './user.repository.ts';

/**
 * The repositories of one unit of work, each built on first use: a request builds only what it touches (an
 * authenticated call, which runs on every request, touches one — `liveSessions`).
 */
class RepositorySet {
  readonly #em: EntityManager;
  readonly #dialect: Dialect;
  #users?: UserRepository;
  #pendingRegistrations?: PendingRegistrationRepository;
  #oneTimeTokens?: OneTimeTokenRepository;
  #sessions?: SessionRepository;
  #revocations?: RevocationRepository;
  #claims?: ClaimRepository;
  #loginAttempts?: LoginAttemptRepository;
  #mfaCodes?: MfaCodeRepository;
  #mfaFactors?: MfaFactorRepository;
  #emailOutbox?: EmailOutboxRepository;
  #auditEvents?: AuditEventRepository;
  #liveSessions?: LiveSessionRepository;
  #logins?: LoginRepository;
  #mfaLogins?: MfaLoginRepository;
  #oauth?: OAuthRepository;

  constructor(em: EntityManager, dialect: Dialect) {
    this.#em = em;
    this.#dialect = dialect;
  }

  get users(): UserRepository {
    this.#users ??= createUserRepository(this.#em, this.#dialect);
    return this.#users;
  }

  get pendingRegistrations(): PendingRegistrationRepository {
    this.#pendingRegistrations ??= createPendingRegistrationRepository(this.#em, this.#dialect);
    return this.#pendingRegistrations;
  }

  get oneTimeTokens(): OneTimeTokenRepository {
    this.#oneTimeTokens ??= createOneTimeTokenRepository(this.#em, this.#dialect);
    return this.#oneTimeTokens;
  }

  get sessions(): SessionRepository {
    this.#sessions ??= createSessionRepository(this.#em, this.#dialect);
    return this.#sessions;
  }

  get revocations(): RevocationRepository {
    this.#revocations ??= createRevocationRepository(this.#em, this.#dialect);
    return this.#revocations;
  }

  get claims(): ClaimRepository {
    this.#claims ??= createClaimRepository(this.#em, this.#dialect);
    return this.#claims;
  }

  get loginAttempts(): LoginAttemptRepository {
    this.#loginAttempts ??= createLoginAttemptRepository(this.#em, this.#dialect);
    return this.#loginAttempts;
  }

  get mfaCodes(): MfaCodeRepository {
    this.#mfaCodes ??= createMfaCodeRepository(this.#em, this.#dialect);
    return this.#mfaCodes;
  }

  get mfaFactors(): MfaFactorRepository {
    this.#mfaFactors ??= createMfaFactorRepository(this.#em, this.#dialect);
    return this.#mfaFactors;
  }

  get emailOutbox(): EmailOutboxRepository {
    this.#emailOutbox ??= createEmailOutboxRepository(this.#em, this.#dialect);
    return this.#emailOutbox;
  }

  get auditEvents(): AuditEventRepository {
    this.#auditEvents ??= createAuditEventRepository(this.#em, this.#dialect);
    return this.#auditEvents;
  }

  /** Sessions that authenticate: one call per authenticated request (live-session.repository.ts). */
  get liveSessions(): LiveSessionRepository {
    this.#liveSessions ??= createLiveSessionRepository(this.#em, this.#dialect, this);
    return this.#liveSessions;
  }

  /** Provider identities and sign-in state (oauth.repository.ts). */
  get oauth(): OAuthRepository {
    this.#oauth ??= createOAuthRepository(this.#em, this.#dialect);
    return this.#oauth;
  }

  /** A login's reads and writes, each one call (login.repository.ts). */
  get logins(): LoginRepository {
    this.#logins ??= createLoginRepository(this.#em, this.#dialect, this);
    return this.#logins;
  }

  /** The reads that open a second sign-in step, one call (mfa-login.repository.ts). */
  get mfaLogins(): MfaLoginRepository {
    this.#mfaLogins ??= createMfaLoginRepository(this.#em, this.#dialect, this);
    return this.#mfaLogins;
  }
}

export function createRepositories(em: EntityManager, dialect: Dialect): Repositories {
  return new RepositorySet(em, dialect);
}

export type Repositories = RepositorySet;
export type { AuditEventRepository, NewAuditEvent } from './audit-event.repository.ts';
export { BRIEF_WORK_LEASE, type ClaimRepository, type LeaseTiming, withLease } from './claim.repository.ts';
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
export type { EnrolledFactors, MfaFactorRepository } from './mfa-factor.repository.ts';
export {
  type ChallengeRead,
  type MfaLoginRepository,
  readChallengeStepByStep,
} from './mfa-login.repository.ts';
export type { NewOAuthIdentity, NewOAuthState, OAuthRepository } from './oauth.repository.ts';
export type { NewOneTimeToken, OneTimeTokenRepository } from './one-time-token.repository.ts';
export type { NewPendingRegistration, PendingRegistrationRepository } from './pending-registration.repository.ts';
export type { RevocationReason, RevocationRepository } from './revocation.repository.ts';
export { type NewSession, type SessionRepository, sessionStart } from './session.repository.ts';
export type { NewUser, UserRepository } from './user.repository.ts';
