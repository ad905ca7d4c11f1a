/**
 * Sessions and access tokens (SPEC §7, R37–R42). Every login creates a session row and a JWT naming it
 * (`sid`). `authenticate` accepts a token only if: the signature and claims verify (security/tokens); the
 * session exists and has not expired (with the clock leeway of the token's `exp`: a session ends at the instant its
 * token expires, R34); no revocation fact covers it — its own logout, or a bulk cutoff at or
 * after its creation in milliseconds (R40); and the user exists and is active, read fresh from the
 * database (R37). Any failure to *check* — the database is down — is SERVICE_UNAVAILABLE, never a pass
 * (fail closed, R42). Every refusal of a presented token is recorded, rate-limited and without the token
 * (refused-tokens.ts, R73).
 */
import type { User } from '../db/entities/index.ts';
import { DATABASE_RETRY_AFTER_SECONDS } from '../db/outages.ts';
import { RegstackError } from '../errors/regstack-error.ts';
import type { RequestMeta } from '../events.ts';
import { type RevocationReason, sessionStart } from '../repositories/index.ts';
import { atomically, openRepos, type ServiceDeps } from './deps.ts';
import { toSessionInfo } from './mappers.ts';
import { mfaEnrolmentRequired } from './policies/require-mfa.ts';
import { sessionsLiveAt } from './policies/session-leeway.ts';
import { classifyTokenFailure, createRefusedTokenRecorder, type TokenRefusalReason } from './refused-tokens.ts';

export interface AuthenticatedSession {
  user: User;
  sessionId: string;
  sessionCreatedAt: Date;
  /**
   * The administrator acting as `user` when this is an impersonation session (issue 17), else null. Such a session
   * is restricted (trpc/procedures.ts `ownerProcedure`) and lives only while that administrator is an active
   * superuser, checked on every call like the user (R46).
   */
  impersonatorId: string | null;
  /**
   * The user must enable a second factor before anything else (`require_mfa`, services/policies/require-mfa.ts):
   * the session reaches only `account.me`, `logout` and `auth.mfa.*`.
   */
  mfaEnrolmentRequired: boolean;
}

/** What makes a session an impersonation session (admin.service.ts). */
export interface Impersonation {
  impersonatorId: string;
  /** Lifetime of the session and its token, in seconds; never longer than `jwt_ttl_seconds`. */
  ttlSeconds: number;
}

const UNAUTHENTICATED = () => new RegstackError('UNAUTHENTICATED', 'Invalid or expired access token');
/** How stale `last_seen_at` may get before a request refreshes it (one write per session per minute at most). */
const TOUCH_INTERVAL_MS = 60_000;
/** Largest Authorization header value considered at all (R35). */
const MAX_AUTHORIZATION_LENGTH = 8192;

/** Extracts a bearer token; anything malformed is simply "no token" (R35: never a 500). */
export function bearerToken(authorization: string | null | undefined): string | null {
  if (!authorization || authorization.length > MAX_AUTHORIZATION_LENGTH) return null;
  const match = /^Bearer[ ]+([A-Za-z0-9._~+/=-]+)[ ]*$/i.exec(authorization);
  return match?.[1] ?? null;
}

/** What a session row keeps of the client that opened it, cut to the columns' sizes. */
export function sessionClient(request: RequestMeta): { userAgent: string | null; ip: string | null } {
  return { userAgent: request.userAgent?.slice(0, 512) ?? null, ip: request.ip?.slice(0, 64) ?? null };
}

export function createSessionService(deps: ServiceDeps) {
  const refusals = createRefusedTokenRecorder(deps);

  async function failClosed<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (RegstackError.is(err)) throw err;
      deps.logger.error('revocation check failed; refusing the request', { err });
      throw new RegstackError('SERVICE_UNAVAILABLE', 'Authentication is temporarily unavailable', {
        retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS,
        cause: err,
      });
    }
  }

  const liveAt = (now: Date) => sessionsLiveAt(deps.config, now);

  return {
    /**
     * Opens a session for a user who just proved who they are. Runs inside the caller's transaction, if any;
     * its access token is minted afterwards with `tokenFor`, outside the transaction, because signing with an
     * asymmetric key is a thread-pool job (WebCrypto) and a transaction must never wait on the thread pool (R7).
     */
    async start(user: User, request: RequestMeta, impersonation?: Impersonation) {
      return atomically(deps, async (repos) => {
        const now = sessionStart(deps.clock.now(), await repos.revocations.cutoffFor(user.id));
        const ttlSeconds = impersonation?.ttlSeconds ?? deps.config.jwtTtlSeconds;
        const expiresAt = new Date(now.getTime() + ttlSeconds * 1000);
        return repos.sessions.create(
          { userId: user.id, expiresAt, ...sessionClient(request), impersonatorId: impersonation?.impersonatorId },
          now,
        );
      });
    },

    /**
     * The access token of a session `start` opened (call it once that session is committed). An impersonation
     * session's token names the administrator (`act`) and lives as long as its session.
     */
    async tokenFor(session: { id: string; userId: string }, impersonation?: Impersonation) {
      const issued = await deps.tokens.issueAccessToken({
        userId: session.userId,
        sessionId: session.id,
        ...(impersonation && { actorId: impersonation.impersonatorId, ttlSeconds: impersonation.ttlSeconds }),
      });
      return { accessToken: issued.token, expiresIn: issued.expiresIn, expiresAt: issued.expiresAt };
    },

    /**
     * Checks a bearer token in full. `request` (the client) is what a refusal is recorded with; `presented` says an
     * Authorization header was sent even if no token could be read from it (garbage is recorded as `malformed`).
     */
    async authenticate(
      token: string | null,
      request?: RequestMeta,
      options: { presented?: boolean } = {},
    ): Promise<AuthenticatedSession> {
      const refuse = (reason: TokenRefusalReason, claimedUserId: string | null = null) => {
        refusals.record({ reason, claimedUserId, request });
        return UNAUTHENTICATED();
      };
      if (!token) {
        // No credential at all is not a refused credential; an unreadable one is.
        if (options.presented) throw refuse('malformed');
        throw UNAUTHENTICATED();
      }
      let claims: Awaited<ReturnType<typeof deps.tokens.verifyAccessToken>>;
      try {
        claims = await deps.tokens.verifyAccessToken(token);
      } catch (err) {
        if (!RegstackError.is(err) || err.code !== 'UNAUTHENTICATED') throw err;
        const { reason, claimedUserId } = classifyTokenFailure(err.cause);
        refusals.record({ reason, claimedUserId, request });
        throw err;
      }
      return failClosed(async () => {
        const repos = openRepos(deps);
        const now = deps.clock.now();
        const row = await repos.liveSessions.authenticate(claims.sessionId, liveAt(now));
        if (!row || row.user.id !== claims.userId || row.revoked) {
          throw refuse('revoked_or_unknown_session', claims.userId);
        }
        if (!row.user.isActive) throw refuse('inactive_user', claims.userId);
        // The token's `act` must name the session's impersonator (both absent on an ordinary session), and an
        // impersonation lasts only while its administrator is an active superuser, read fresh like the user.
        if (claims.actorId !== (row.impersonator?.id ?? null)) throw refuse('invalid_claims', claims.userId);
        // It is never a superuser's session either: a user promoted during an impersonation ends it (issue 17).
        if (row.impersonator && (!row.impersonator.isActiveSuperuser || row.user.isSuperuser)) {
          throw refuse('impersonator_not_admin', claims.userId);
        }
        if (now.getTime() - row.sessionLastSeenAt.getTime() > TOUCH_INTERVAL_MS) {
          await repos.sessions.touch(claims.sessionId, now);
        }
        return {
          user: row.user,
          sessionId: claims.sessionId,
          sessionCreatedAt: row.sessionCreatedAt,
          impersonatorId: row.impersonator?.id ?? null,
          mfaEnrolmentRequired: mfaEnrolmentRequired(deps.config, row.user),
        };
      });
    },

    /** Resolves when every refused-token audit write started so far has settled (tests, shutdown). */
    refusalsIdle: () => refusals.idle(),

    /** Ends the presented session only (R38). */
    async logout(auth: AuthenticatedSession, request: RequestMeta): Promise<number> {
      return atomically(deps, async (repos) => {
        const revoked = await repos.revocations.revokeSession(auth.user.id, auth.sessionId, deps.clock.now(), 'logout');
        await repos.auditEvents.record(
          {
            event: 'logout',
            // An impersonation session's logout is its administrator's act.
            actorId: auth.impersonatorId ?? auth.user.id,
            subjectId: auth.user.id,
            ...request,
            details: { sessionId: auth.sessionId },
          },
          deps.clock.now(),
        );
        deps.events.emit('user_logged_out', { userId: auth.user.id, sessionId: auth.sessionId, request });
        return revoked ? 1 : 0;
      });
    },

    /**
     * Ends every session of the user that exists now, this one included (R41). The cutoff is now, or the newest
     * session's start if that is later — a session another instance (whose clock may run ahead) opened a moment
     * ago must die too (R68); `sessionStart` puts every later session after it.
     */
    async revokeAll(userId: string, reason: RevocationReason, request: RequestMeta, actorId: string = userId) {
      return atomically(deps, async (repos) => {
        const now = deps.clock.now();
        const live = await this.listLive(userId);
        // Only live sessions matter: a dead one needs no cutoff, and an expired one started long before now.
        const newest = Math.max(now.getTime(), ...live.map((s) => s.createdAt.getTime()));
        const cutoff = newest > now.getTime() ? new Date(newest) : now;
        await repos.revocations.revokeAllForUser(userId, cutoff, reason);
        await repos.auditEvents.record(
          { event: 'sessions_revoked', actorId, subjectId: userId, ...request, details: { reason } },
          now,
        );
        deps.events.emit('sessions_revoked', { userId, reason, request });
        return live.length;
      });
    },

    /** Sessions that would still authenticate. */
    async listLive(userId: string) {
      return openRepos(deps).liveSessions.listLive(userId, liveAt(deps.clock.now()));
    },

    async list(auth: AuthenticatedSession) {
      return (await this.listLive(auth.user.id)).map((s) => toSessionInfo(s, auth.sessionId));
    },

    /** Ends one of the caller's own sessions by id; another user's id is indistinguishable from an unknown one. */
    async revokeOwn(auth: AuthenticatedSession, sessionId: string, request: RequestMeta): Promise<void> {
      return atomically(deps, async (repos) => {
        const session = await repos.sessions.findById(sessionId);
        if (!session || session.userId !== auth.user.id) {
          throw new RegstackError('SESSION_NOT_FOUND', 'No such session');
        }
        const now = deps.clock.now();
        await repos.revocations.revokeSession(auth.user.id, sessionId, now, 'session_revoked');
        await repos.auditEvents.record(
          {
            event: 'session_revoked',
            actorId: auth.user.id,
            subjectId: auth.user.id,
            ...request,
            details: { sessionId },
          },
          now,
        );
        deps.events.emit('session_revoked', { userId: auth.user.id, sessionId, request });
      });
    },
  };
}

export type SessionService = ReturnType<typeof createSessionService>;
