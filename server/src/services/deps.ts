/**
 * What every service gets: plain dependencies, injected (STYLE "Services own every rule"). Nothing here
 * knows tRPC or HTTP. `repos()` opens a fresh unit of work; a service method uses one per call.
 */
import type { RegstackConfig } from '../config/index.ts';
import type { Storage } from '../db/storage.ts';
import type { Mailer } from '../email/mailer.ts';
import type { EmailTemplates } from '../email/templates.ts';
import type { EventBus } from '../events.ts';
import type { Logger } from '../logger.ts';
import { createRepositories, type Repositories } from '../repositories/index.ts';
import type { Clock } from '../security/clock.ts';
import type { OtpHasher } from '../security/one-time-tokens.ts';
import type { PasswordPolicyChecker } from '../security/password-blocklist.ts';
import type { PasswordHasher } from '../security/password-hasher.ts';
import type { Sealer } from '../security/sealing.ts';
import type { TokenService } from '../security/tokens/index.ts';
import type { SmsCodeSender } from '../sms/code-sender.ts';
import type { ServiceTelemetry } from '../telemetry/instruments.ts';

export interface ServiceDeps {
  config: RegstackConfig;
  storage: Storage;
  clock: Clock;
  hasher: PasswordHasher;
  passwordPolicy: PasswordPolicyChecker;
  tokens: TokenService;
  mailer: Mailer;
  events: EventBus;
  logger: Logger;
  templates: EmailTemplates;
  /** One-time codes by SMS (sms/code-sender.ts). */
  sms: SmsCodeSender;
  /** Keyed hashes of SMS and recovery codes (R48). */
  otpHasher: OtpHasher;
  /** Seals TOTP secrets at rest (its own derived key). */
  totpSealer: Sealer;
  /** Login outcomes and lockouts for the host's OpenTelemetry metrics (no-ops without an SDK). */
  telemetry: ServiceTelemetry;
}

export function openRepos(deps: Pick<ServiceDeps, 'storage'>): Repositories {
  return createRepositories(deps.storage.fork(), deps.storage.dialect);
}

/**
 * Runs `work` with repositories that all write in one transaction (see `Storage.atomically`): a multi-step
 * change commits whole or not at all (R26, R65). Never hash a password or call out to a provider inside it
 * (R7: no KDF while a connection or transaction is held), and never use repositories opened outside it.
 */
export function atomically<T>(
  deps: Pick<ServiceDeps, 'storage'>,
  work: (repos: Repositories) => Promise<T>,
): Promise<T> {
  return deps.storage.atomically(() => work(openRepos(deps)));
}
