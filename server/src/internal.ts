/**
 * `@regstack/server/internal` — the storage layer, for regstack's own test suites and tools (`regstack
 * migrate`, the bench). Not part of the semver-stable API: hosts use `createRegstack()`.
 */
export {
  type BackendKind,
  type DatabaseTarget,
  DatabaseUrlError,
  parseDatabaseUrl,
  redactDatabaseUrl,
} from './db/database-url.ts';
export type { Dialect, SchemaState, SqliteSynchronous } from './db/drivers.ts';
export {
  ALL_ENTITIES,
  type AuditEvent,
  type Claim,
  type EmailOutbox,
  type LoginAttempt,
  type MfaCode,
  type OneTimeToken,
  type PendingRegistration,
  type Revocation,
  type Session,
  type TokenPurpose,
  type User,
  UserSchema,
} from './db/entities/index.ts';
export { newId } from './db/ids.ts';
export { startSqliteCheckpointer } from './db/sqlite-checkpointer.ts';
export { type OpenStorageOptions, openStorage, type Storage } from './db/storage.ts';
export { createNodeServer } from './http/node-server.ts';
export {
  createRepositories,
  type LoginSuccess,
  type Repositories,
  recordLoginStepByStep,
  reserveStepByStep,
  type TryWindow,
} from './repositories/index.ts';
export { defaultHashConcurrency } from './security/password-hasher.ts';
