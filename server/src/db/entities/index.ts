export { type AuditEvent, AuditEventSchema } from './audit-event.entity.ts';
export { type Claim, ClaimSchema } from './claim.entity.ts';
export { type EmailOutbox, EmailOutboxSchema, OUTBOX_STATUSES, type OutboxStatus } from './email-outbox.entity.ts';
export { type LoginAttempt, LoginAttemptSchema } from './login-attempt.entity.ts';
export { MFA_PURPOSES, type MfaCode, MfaCodeSchema, type MfaPurpose } from './mfa-code.entity.ts';
export { type OAuthIdentity, OAuthIdentitySchema } from './oauth-identity.entity.ts';
export { OAUTH_STATE_KINDS, type OAuthState, type OAuthStateKind, OAuthStateSchema } from './oauth-state.entity.ts';
export {
  type OneTimeToken,
  OneTimeTokenSchema,
  TOKEN_PURPOSES,
  type TokenPurpose,
} from './one-time-token.entity.ts';
export { type PendingRegistration, PendingRegistrationSchema } from './pending-registration.entity.ts';
export { type RecoveryCode, RecoveryCodeSchema } from './recovery-code.entity.ts';
export { type Revocation, RevocationSchema } from './revocation.entity.ts';
export { type Session, SessionSchema } from './session.entity.ts';
export { type TotpCredential, TotpCredentialSchema } from './totp-credential.entity.ts';
export { type User, UserSchema } from './user.entity.ts';
export { type UserNameTerm, UserNameTermSchema } from './user-name-term.entity.ts';

import { AuditEventSchema } from './audit-event.entity.ts';
import { ClaimSchema } from './claim.entity.ts';
import { EmailOutboxSchema } from './email-outbox.entity.ts';
import { LoginAttemptSchema } from './login-attempt.entity.ts';
import { MfaCodeSchema } from './mfa-code.entity.ts';
import { OAuthIdentitySchema } from './oauth-identity.entity.ts';
import { OAuthStateSchema } from './oauth-state.entity.ts';
import { OneTimeTokenSchema } from './one-time-token.entity.ts';
import { PendingRegistrationSchema } from './pending-registration.entity.ts';
import { RecoveryCodeSchema } from './recovery-code.entity.ts';
import { RevocationSchema } from './revocation.entity.ts';
import { SessionSchema } from './session.entity.ts';
import { TotpCredentialSchema } from './totp-credential.entity.ts';
import { UserSchema } from './user.entity.ts';
import { UserNameTermSchema } from './user-name-term.entity.ts';

/** Every entity regstack owns, in one list for the ORM. */
export const ALL_ENTITIES = [
  UserSchema,
  PendingRegistrationSchema,
  OneTimeTokenSchema,
  SessionSchema,
  RevocationSchema,
  ClaimSchema,
  LoginAttemptSchema,
  MfaCodeSchema,
  TotpCredentialSchema,
  RecoveryCodeSchema,
  EmailOutboxSchema,
  AuditEventSchema,
  UserNameTermSchema,
  OAuthIdentitySchema,
  OAuthStateSchema,
] as const;
