/**
 * Refused bearer tokens leave a trace (R73, R63; issue 14 item 12): each refusal is one audit event
 * `access_token_refused` and one structured warning, with the reason class, the client address and user agent, and
 * the claimed user id only when the token's signature verified. Never the token or any part of it (R62): nothing
 * here is ever handed the token, only the classified failure.
 *
 * Rate-limited so a flood of garbage cannot fill the audit table or the log: at most {@link PER_CLIENT_PER_WINDOW}
 * per client key and {@link PER_PROCESS_PER_WINDOW} per process in each one-minute window; what is left out is
 * counted and logged once the window ends. Recording never slows or changes the refusal: the budget is taken at
 * once, the line and the audit insert follow after the 401 is decided, unawaited, and a failure is only logged.
 * A claimed user that no longer exists is not named (R45).
 */
import type { EventBus, RequestMeta } from '../events.ts';
import type { Logger } from '../logger.ts';
import type { Clock } from '../security/clock.ts';
import { openRepos, type ServiceDeps } from './deps.ts';

/** Why a bearer token was refused; coarse on purpose — enough to tell an attack from a stale client. */
export type TokenRefusalReason =
  | 'malformed'
  | 'bad_signature'
  | 'expired'
  | 'wrong_type'
  | 'invalid_claims'
  | 'revoked_or_unknown_session'
  | 'inactive_user'
  | 'impersonator_not_admin';

export const REFUSED_TOKEN_WINDOW_MS = 60_000;
/** Recorded refusals per client key (the IPv4 address or IPv6 /64) per window. */
export const PER_CLIENT_PER_WINDOW = 5;
/** Recorded refusals per process per window, whatever the client. */
export const PER_PROCESS_PER_WINDOW = 60;

/** Longest claimed user id or user agent kept: the audit columns' sizes (regstack's ids are 36 characters). */
const MAX_ID = 36;
const MAX_USER_AGENT = 512;

interface JoseLikeError {
  code?: unknown;
  claim?: unknown;
  payload?: { sub?: unknown };
  message?: unknown;
}

/**
 * Classifies the `cause` that security/tokens keeps behind its one uniform UNAUTHENTICATED error. jose checks the
 * signature before any claim, so a claim failure (expired, wrong `typ`, issuer, audience) comes from a token this
 * instance signed: only then is its `sub` reported, as the claimed user.
 */
export function classifyTokenFailure(cause: unknown): { reason: TokenRefusalReason; claimedUserId: string | null } {
  const err = (cause ?? {}) as JoseLikeError;
  const sub = typeof err.payload?.sub === 'string' ? err.payload.sub.slice(0, MAX_ID) : null;
  switch (err.code) {
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return { reason: 'bad_signature', claimedUserId: null };
    case 'ERR_JWT_EXPIRED':
      return { reason: 'expired', claimedUserId: sub };
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (err.claim === 'typ') return { reason: 'wrong_type', claimedUserId: sub };
      // The maximum age (`iat` + ttl) is the same lifetime as `exp`, seen from the other end.
      if (err.claim === 'iat') return { reason: 'expired', claimedUserId: sub };
      return { reason: 'invalid_claims', claimedUserId: sub };
  }
  // A well-formed token whose `kid` names no key this instance holds was signed by someone else's key.
  if (err.message === 'unknown kid') return { reason: 'bad_signature', claimedUserId: null };
  return { reason: 'malformed', claimedUserId: null };
}

export interface TokenRefusal {
  reason: TokenRefusalReason;
  /** Only when the signature verified (a token this instance issued). */
  claimedUserId: string | null;
  request: RequestMeta | undefined;
}

export interface RefusedTokenRecorder {
  /** Records one refusal (rate-limited); returns at once, never throws. */
  record(refusal: TokenRefusal): void;
  /** Resolves when every audit write started so far has settled (tests, shutdown). */
  idle(): Promise<void>;
}

export function createRefusedTokenRecorder(
  deps: Pick<ServiceDeps, 'storage'> & { clock: Clock; logger: Logger; events: EventBus },
): RefusedTokenRecorder {
  const { clock, logger } = deps;
  let windowStart = Number.NEGATIVE_INFINITY;
  let recordedInWindow = 0;
  let suppressed = 0;
  /** Per client key, this window only: at most PER_PROCESS_PER_WINDOW entries, so a flood cannot grow it. */
  const perClient = new Map<string, number>();
  const writes = new Set<Promise<void>>();
  let flushTimer: NodeJS.Timeout | undefined;

  /** Ends the window if its minute is over, logging how many refusals it left out. */
  function rollWindow(now: number) {
    // A clock stepped backwards (NTP) also ends the window, or it could last far longer than a minute.
    if (now >= windowStart && now < windowStart + REFUSED_TOKEN_WINDOW_MS) return;
    if (suppressed > 0) {
      logger.warn('refused access tokens not recorded (rate limit)', {
        suppressed,
        windowStart: new Date(windowStart).toISOString(),
        windowSeconds: REFUSED_TOKEN_WINDOW_MS / 1000,
      });
    }
    if (flushTimer) clearTimeout(flushTimer);
    flushTimer = undefined;
    windowStart = now;
    recordedInWindow = 0;
    suppressed = 0;
    perClient.clear();
  }

  function suppress() {
    suppressed += 1;
    // The count is logged when the window ends, even if no further refusal comes to end it.
    if (!flushTimer) {
      flushTimer = setTimeout(() => rollWindow(clock.now().getTime()), REFUSED_TOKEN_WINDOW_MS);
      flushTimer.unref();
    }
  }

  return {
    record({ reason, claimedUserId: claimed, request }) {
      try {
        const claimedUserId = claimed?.slice(0, MAX_ID) ?? null;
        const now = clock.now();
        rollWindow(now.getTime());
        const clientKey = request?.limitKey ?? request?.ip ?? 'unknown';
        const fromClient = perClient.get(clientKey) ?? 0;
        if (recordedInWindow >= PER_PROCESS_PER_WINDOW || fromClient >= PER_CLIENT_PER_WINDOW) {
          suppress();
          return;
        }
        recordedInWindow += 1;
        perClient.set(clientKey, fromClient + 1);
        const ip = request?.ip?.slice(0, 64) ?? null;
        const userAgent = request?.userAgent?.slice(0, MAX_USER_AGENT) ?? null;
        const write = (async () => {
          const repos = openRepos(deps);
          // A deleted user is not named again (R45: no row of them stays behind), nor one that never existed.
          let subjectId = claimedUserId;
          if (subjectId && !(await repos.users.findById(subjectId).catch(() => null))) subjectId = null;
          // JSON lines encode every value, so an attacker's user agent cannot forge a line (R63).
          logger.warn('access token refused', { reason, ip, userAgent, claimedUserId: subjectId });
          deps.events.emit('access_token_refused', {
            reason,
            claimedUserId: subjectId,
            request: { ip: request?.ip ?? null, userAgent: request?.userAgent ?? null },
          });
          await repos.auditEvents.record(
            { event: 'access_token_refused', subjectId, ip, userAgent, details: { reason } },
            now,
          );
        })()
          .catch((err: unknown) => {
            logger.error('could not record a refused access token', { reason, err });
          })
          .finally(() => {
            writes.delete(write);
          });
        writes.add(write);
      } catch (err) {
        // Recording is best effort: the caller's answer is the 401 whatever happens here.
        logger.error('could not record a refused access token', { reason, err });
      }
    },
    async idle() {
      while (writes.size) await Promise.allSettled([...writes]);
    },
  };
}
