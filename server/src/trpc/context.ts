/**
 * The context regstack's procedures need. Everything per instance — config, services, the ORM — reaches the
 * static router through `ctx.regstack`, built by `regstack.createContext(...)`; a host spreads it into its
 * own context. Namespaced under one key so it cannot collide with a host's fields.
 */
import type { RegstackConfig } from '../config/index.ts';
import type { RequestMeta } from '../events.ts';
import type { Logger } from '../logger.ts';
import type { AccountService } from '../services/account.service.ts';
import type { AdminService } from '../services/admin.service.ts';
import type { AuthService } from '../services/auth.service.ts';
import type { MfaService } from '../services/mfa.service.ts';
import type { MfaLoginService } from '../services/mfa-login.service.ts';
import type { OAuthService } from '../services/oauth.service.ts';
import type { PasswordResetService } from '../services/password-reset.service.ts';
import type { RegistrationService } from '../services/registration.service.ts';
import type { SessionService } from '../services/session.service.ts';
import type { SmsFactorService } from '../services/sms-factor.service.ts';
import type { Telemetry } from '../telemetry/instruments.ts';

export interface RegstackRuntime {
  readonly config: RegstackConfig;
  readonly logger: Logger;
  /** Spans and metrics (docs/observability.md). */
  readonly telemetry: Telemetry;
  readonly services: {
    readonly registration: RegistrationService;
    readonly auth: AuthService;
    readonly sessions: SessionService;
    readonly account: AccountService;
    readonly passwordReset: PasswordResetService;
    readonly admin: AdminService;
    readonly mfa: MfaService;
    readonly mfaLogin: MfaLoginService;
    readonly smsFactor: SmsFactorService;
    readonly oauth: OAuthService;
  };
}

export interface RegstackRequestContext {
  readonly runtime: RegstackRuntime;
  readonly request: RequestMeta;
  readonly headers: Headers;
  /** Response headers the HTTP layer will send (absent for server-side callers). */
  readonly resHeaders: Headers | undefined;
  /**
   * Set only by the server-rendered pages' caller: the value of this browser's sign-in binding cookie ('' when it
   * has none). When set, `auth.oauth.exchange` takes only a completion made for this browser (login CSRF); the
   * tRPC endpoint never reads a cookie and leaves it unset.
   */
  readonly oauthBrowserBinding?: string;
}

export interface RegstackContext {
  regstack: RegstackRequestContext;
}
