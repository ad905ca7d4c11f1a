/**
 * @regstack/server — production-grade user accounts as a tRPC router. This is the package's public,
 * semver-stable surface: `createRegstack()` and the router, configuration, email transports and templates,
 * the clock, the logger and the error shape. Everything not exported here is internal (the storage layer and
 * what regstack's own suites and tools need are in `@regstack/server/internal`, with no stability promise).
 */
// First, before any other module runs: an older Node gets a sentence naming Node ≥ 22.17 (require-node.ts).
import './require-node.ts';

export {
  ConfigError,
  type ConfigIssue,
  configSchema,
  type EnsureDevSecretOptions,
  type EnsureDevSecretResult,
  ensureDevSecret,
  formatConfigIssues,
  type LoadConfigOptions,
  loadConfig,
  parseConfig,
  type RateLimitRule,
  type RegstackConfig,
  type RegstackConfigInput,
} from './config/index.ts';
export {
  type CreateContextOptions,
  type CreateRegstackOptions,
  createRegstack,
  type Regstack,
} from './create-regstack.ts';
export { DatabaseUrlError } from './db/database-url.ts';
export { DatabaseUnreachableError } from './db/storage.ts';
export {
  type CreateTemplatesOptions,
  createSesTransport,
  createSmtpTransport,
  createTemplates,
  createTransportFromConfig,
  EMAIL_KINDS,
  type EmailKind,
  type EmailLinkOptions,
  type EmailTemplates,
  type SesTransportOptions,
  type SmtpTransportOptions,
  TEMPLATE_VARIABLES,
  TemplateError,
} from './email/index.ts';
export type { EmailMessage, EmailTransport } from './email/transport.ts';
export { createConsoleTransport } from './email/transport.ts';
export { RegstackError } from './errors/regstack-error.ts';
export type { RegstackEventHandler, RegstackEventName, RegstackEvents, RequestMeta } from './events.ts';
export {
  type RegstackFetchHandler,
  regstackResponseMeta,
  type StandaloneRouter,
  standaloneRouter,
} from './http/fetch-handler.ts';
export { createJsonLogger, type Logger, silentLogger } from './logger.ts';
export { type RegstackRouter, regstackRouter } from './routers/auth.ts';
export { type Clock, createManualClock, systemClock } from './security/clock.ts';
export type { BootstrapAdminInput, BootstrapAdminResult } from './services/admin.service.ts';
export { isSmsDestinationAllowed, type SmsCodeRequest, type SmsCodeSender } from './sms/code-sender.ts';
export { createSnsSmsTransport, type SnsSmsTransportOptions } from './sms/sns.ts';
export type { SmsMessage, SmsTransport } from './sms/transport.ts';
export { createConsoleSmsTransport, createNoneSmsTransport, SmsSendError } from './sms/transport.ts';
export { createSmsTransportFromConfig } from './sms/transport-from-config.ts';
export { createTwilioSmsTransport, type TwilioSmsTransportOptions } from './sms/twilio.ts';
export type { RegstackContext } from './trpc/context.ts';
export { TRPC_CODE_OF } from './trpc/error-codes.ts';
export { formatRegstackError, type RegstackErrorShapeData } from './trpc/error-formatter.ts';
export { regstackTransformer } from './trpc/wire-envelope.ts';
