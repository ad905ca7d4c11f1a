/**
 * `@regstack/server/internal` — the storage layer and the building blocks below the router (mailer, event bus,
 * sealing, tokens, password hashing and policy), for regstack's own test suites and tools (`regstack migrate`,
 * the bench), so they never reach into `src/` by path. Not part of the semver-stable API: hosts use
 * `createRegstack()`.
 */
// First, before any other module runs: an older Node gets a sentence naming Node ≥ 22.17 (require-node.ts).
import './require-node.ts';

// The derived key tree, for the test that proves every config key is read (issue 20).
export { type ConfigNode, configTree, type SectionNode } from './config/config-keys.ts';
export {
  type BackendKind,
  type DatabaseTarget,
  DatabaseUrlError,
  normalizeDatabaseUrl,
  parseDatabaseUrl,
  redactDatabaseUrl,
} from './db/database-url.ts';
export type { Dialect } from './db/dialect.ts';
export {
  ALL_ENTITIES,
  type AuditEvent,
  AuditEventSchema,
  type Claim,
  type EmailOutbox,
  EmailOutboxSchema,
  type LoginAttempt,
  LoginAttemptSchema,
  type MfaCode,
  OAuthStateSchema,
  type OneTimeToken,
  type PendingRegistration,
  RecoveryCodeSchema,
  type Revocation,
  type Session,
  SessionSchema,
  type TokenPurpose,
  TotpCredentialSchema,
  type User,
  UserNameTermSchema,
  UserSchema,
} from './db/entities/index.ts';
export { newId } from './db/ids.ts';
export { NAME_TERM_MAX, nameTerms } from './db/name-terms.ts';
export type { PendingMigration, SchemaInventory, SchemaState } from './db/schema.ts';
export type { SqliteSynchronous } from './db/sql-runner.ts';
export { startSqliteCheckpointer } from './db/sqlite-checkpointer.ts';
export { type OpenStorageOptions, openStorage, type Storage } from './db/storage.ts';
export {
  accountExistsEmail,
  BUILT_IN_TEMPLATES,
  checkTemplateSource,
  createMailer,
  formatDuration,
  type Mailer,
  type MailerOptions,
  placeholdersOf,
  type RenderedEmail,
  sanitizeSubject,
  verificationEmail,
} from './email/index.ts';
export { DEFAULT_OUTBOX_RETRY, outboxRetry, outboxRetryDelayMs } from './email/mailer.ts';
export { createEventBus, type EventBus } from './events.ts';
export { createNodeServer } from './http/node-server.ts';
export { pageMessageTexts } from './http/pages/messages.ts';
export { linkPageTexts, passwordRules } from './http/pages/views-public.ts';
export {
  createRepositories,
  type LoginSuccess,
  type Repositories,
  readChallengeStepByStep,
  recordLoginStepByStep,
  reserveStepByStep,
  type TryWindow,
  withLease,
} from './repositories/index.ts';
export {
  Argon2ProcessExitedError,
  argon2ProcessPid,
  hashingPoolThreads,
  startArgon2Process,
  verifyInArgon2Process,
} from './security/argon2-process.ts';
export type { JwtSecret } from './security/key-derivation.ts';
export {
  createOtpHasher,
  generateOneTimeToken,
  generateOtpCode,
  hashOneTimeToken,
} from './security/one-time-tokens.ts';
export { createPasswordPolicyChecker } from './security/password-blocklist.ts';
export {
  createPasswordHasher,
  DEFAULT_ARGON2_PARAMETERS,
  defaultHashConcurrency,
} from './security/password-hasher.ts';
export { createSealer, type Sealer } from './security/sealing.ts';
export {
  type AccessTokenAlgorithm,
  type ClockToleranceSeconds,
  createTokenService,
  type TokenService,
  type TokenServiceOptions,
} from './security/tokens/index.ts';
export {
  PER_CLIENT_PER_WINDOW,
  PER_PROCESS_PER_WINDOW,
  REFUSED_TOKEN_WINDOW_MS,
} from './services/refused-tokens.ts';
