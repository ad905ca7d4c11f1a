/**
 * Hooks: `regstack.on(event, handler)`, typed per event. Handlers run after the change that caused the
 * event is stored, may be async, and can never break a flow: a throwing or rejecting handler is logged and
 * forgotten. Payloads carry public data only (a PublicUser, ids) — never a password, token or hash.
 */
import type { MfaMethod, PublicUser } from '@regstack/shared';
import type { Logger } from './logger.ts';

export interface RequestMeta {
  /** The canonical client address (R20), or null when unknown (server-side callers). */
  ip: string | null;
  userAgent: string | null;
  /** What per-client limits count against: the IPv4 address, or the IPv6 /64. Defaults to `ip`. */
  limitKey?: string | null;
}

export interface RegstackEvents {
  user_registered: { user: PublicUser; request: RequestMeta };
  verification_requested: { email: string; request: RequestMeta };
  registration_attempt_existing: { email: string; request: RequestMeta };
  user_verified: { user: PublicUser; request: RequestMeta };
  user_logged_in: { user: PublicUser; sessionId: string; request: RequestMeta };
  login_failed: { email: string; request: RequestMeta };
  login_locked_out: { email: string; retryAfterSeconds: number; request: RequestMeta };
  user_logged_out: { userId: string; sessionId: string; request: RequestMeta };
  sessions_revoked: { userId: string; reason: string; request: RequestMeta };
  session_revoked: { userId: string; sessionId: string; request: RequestMeta };
  password_reset_requested: { userId: string; request: RequestMeta };
  password_reset_completed: { userId: string; request: RequestMeta };
  password_changed: { userId: string; request: RequestMeta };
  email_change_requested: { userId: string; request: RequestMeta };
  email_changed: { user: PublicUser; request: RequestMeta };
  user_deleted: { userId: string; request: RequestMeta };
  // Two-factor authentication (issue 18). `method` names the factor; never a code, secret or number.
  mfa_enabled: { userId: string; method: MfaMethod; request: RequestMeta };
  mfa_disabled: { userId: string; method: MfaMethod; request: RequestMeta };
  /** A correct password for a user with a factor: the second step was asked for (no session yet, R50). */
  mfa_login_started: { userId: string; methods: MfaMethod[]; request: RequestMeta };
  mfa_login_succeeded: { userId: string; method: MfaMethod; sessionId: string; request: RequestMeta };
  mfa_login_failed: { userId: string; method: MfaMethod; request: RequestMeta };
  /** An SMS code went to a number being enrolled; `phoneHint` is masked. */
  phone_setup_started: { userId: string; phoneHint: string; request: RequestMeta };
  recovery_code_used: { userId: string; remaining: number; request: RequestMeta };
  // Sign-in with OpenID Connect providers (issue 22). `provider` is the configured name; never a token or code.
  /** A browser was sent to the provider (`linkUserId`: to link an identity to that signed-in account). */
  oauth_signin_started: { provider: string; linkUserId: string | null; request: RequestMeta };
  /** The provider's answer checked out and named this account (`created`: a new account was made for it). */
  oauth_signin_completed: { provider: string; userId: string; created: boolean; request: RequestMeta };
  oauth_account_linked: { provider: string; userId: string; byEmail: boolean; request: RequestMeta };
  oauth_account_unlinked: { provider: string; userId: string; request: RequestMeta };
  /** A callback or exchange was refused; `code` is the error code the app was sent back with. */
  oauth_failed: { provider: string | null; code: string; request: RequestMeta };
  email_failed: { messageId: string; kind: string; attempts: number; dead: boolean };
  /**
   * A bearer token was refused (R73), rate-limited like its audit event; `reason` is one of `malformed`,
   * `bad_signature`, `expired`, `wrong_type`, `invalid_claims`, `revoked_or_unknown_session`, `inactive_user`,
   * `impersonator_not_admin` (an impersonation session whose administrator was since demoted or disabled).
   * `claimedUserId` only when the token's signature verified. Never the token.
   */
  access_token_refused: { reason: string; claimedUserId: string | null; request: RequestMeta };
  // Admin actions (issue 17): `actorId` is the acting admin, null for `regstack.bootstrapAdmin`/`promotePending`.
  /** The fields an admin changed, with the user as it now is. */
  admin_user_updated: { actorId: string; user: PublicUser; changed: string[]; request: RequestMeta };
  admin_user_deleted: { actorId: string; userId: string; request: RequestMeta };
  admin_sessions_revoked: { actorId: string; userId: string; revoked: number; request: RequestMeta };
  admin_verification_resent: { actorId: string; userId: string; request: RequestMeta };
  admin_password_reset_sent: { actorId: string; userId: string; request: RequestMeta };
  admin_pending_promoted: { actorId: string | null; user: PublicUser; request: RequestMeta };
  admin_pending_deleted: { actorId: string; email: string; deleted: number; request: RequestMeta };
  /** An administrator opened a session as the user (`users.impersonate`); `reason` is the administrator's. */
  admin_impersonation_started: {
    actorId: string;
    userId: string;
    sessionId: string;
    reason: string;
    expiresAt: Date;
    request: RequestMeta;
  };
  /** `stopImpersonating` ended an impersonation session early. */
  admin_impersonation_ended: { actorId: string; userId: string; sessionId: string; request: RequestMeta };
  /** `bootstrapAdmin` made an account a superuser (`created`: a new account). */
  admin_bootstrapped: { user: PublicUser; created: boolean };
}

export type RegstackEventName = keyof RegstackEvents;
export type RegstackEventHandler<E extends RegstackEventName> = (payload: RegstackEvents[E]) => void | Promise<void>;

export interface EventBus {
  on<E extends RegstackEventName>(event: E, handler: RegstackEventHandler<E>): () => void;
  emit<E extends RegstackEventName>(event: E, payload: RegstackEvents[E]): void;
  /** Resolves when every handler started so far has settled (tests, shutdown). */
  idle(): Promise<void>;
}

/**
 * @param defer schedules a dispatch; regstack passes `storage.afterCommit`, so handlers see only committed
 * changes and never fire for a change that was rolled back.
 */
export function createEventBus(logger: Logger, defer: (dispatch: () => void) => void = (d) => d()): EventBus {
  const handlers = new Map<RegstackEventName, Set<RegstackEventHandler<never>>>();
  const running = new Set<Promise<void>>();
  return {
    on(event, handler) {
      const set = handlers.get(event) ?? new Set();
      handlers.set(event, set);
      set.add(handler as RegstackEventHandler<never>);
      return () => set.delete(handler as RegstackEventHandler<never>);
    },
    emit(event, payload) {
      defer(() => dispatch(event, payload));
    },
    async idle() {
      while (running.size) await Promise.allSettled([...running]);
    },
  };

  function dispatch<E extends RegstackEventName>(event: E, payload: RegstackEvents[E]) {
    for (const handler of handlers.get(event) ?? []) {
      const run = (async () => {
        try {
          await (handler as RegstackEventHandler<typeof event>)(payload);
        } catch (err) {
          logger.error('event handler failed', { event, err });
        }
      })();
      running.add(run);
      void run.finally(() => running.delete(run));
    }
  }
}
