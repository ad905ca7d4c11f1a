/**
 * The one way a sign-in ends in a session — the password login (auth.service.ts) and the second-factor step
 * (mfa-login.service.ts) both end here, so both open the session the same way: the try withdrawn and the lockout
 * counter cleared (R18), the session opened after any bulk cutoff (R40), `last_login_at` stamped, the `login` audit
 * event (and the second step's own, `mfa_login_succeeded`), all in one atomic write (login.repository.ts) — and only
 * while the stored hash is still the one the password was checked against (R68): a reset or change that landed
 * meanwhile makes this sign-in fail instead.
 */
import type { LoginResult } from '@regstack/shared';
import type { Session, User } from '../../db/entities/index.ts';
import { newId } from '../../db/ids.ts';
import { RegstackError } from '../../errors/regstack-error.ts';
import type { RequestMeta } from '../../events.ts';
import type { LoginSuccess, NewAuditEvent, Repositories } from '../../repositories/index.ts';
import type { ServiceDeps } from '../deps.ts';
import type { Reservation } from '../lockout.service.ts';
import { toPublicUser } from '../mappers.ts';
import { type SessionService, sessionClient } from '../session.service.ts';
import { INVALID_CREDENTIALS_MESSAGE } from './invalid-credentials.ts';

export interface SignIn {
  user: User;
  /**
   * The stored hash the password was checked against; at the second step, the one the account has (null for an
   * account without a password, signed in with a provider): the session opens only while it still is.
   */
  verifiedHash: string | null;
  /** A new hash of the same password under current parameters, or null. */
  upgradedHash: string | null;
  /** The lockout key whose counter a success clears, and this attempt's try on it. */
  attemptsKey: string;
  tryId: string;
  reservation: Reservation;
  /** The address the events name (the submitted one at login). */
  email: string;
  request: RequestMeta;
  /** Extra details of the `login` audit event (e.g. the second-factor method). */
  auditDetails?: Record<string, unknown>;
  /** A second audit event of the sign-in, recorded in the same write (the second step's own event). */
  alsoAudit?: (sessionId: string) => NewAuditEvent;
}

export type AuthenticatedResult = Extract<LoginResult, { status: 'authenticated' }>;

export async function openSignInSession(
  deps: ServiceDeps,
  sessions: SessionService,
  repos: Repositories,
  s: SignIn,
): Promise<{ result: AuthenticatedResult; sessionId: string }> {
  const { user, request } = s;
  const now = deps.clock.now();
  const sessionId = newId(now.getTime());
  const success: LoginSuccess = {
    userId: user.id,
    attemptsKey: s.attemptsKey, // success clears the counter (R18)
    verifiedHash: s.verifiedHash,
    tryId: s.tryId,
    upgradedHash: s.upgradedHash,
    session: { id: sessionId, ...sessionClient(request), ttlMs: deps.config.jwtTtlSeconds * 1000 },
    audit: {
      event: 'login',
      actorId: user.id,
      subjectId: user.id,
      ...request,
      details: { sessionId, ...s.auditDetails },
    },
    alsoAudit: s.alsoAudit?.(sessionId),
    now,
  };
  // One atomic change, one call (login.repository.ts).
  let session: Session | null;
  try {
    session = await repos.logins.recordSuccess(success);
  } catch (err) {
    await s.reservation.withdraw().catch(() => {}); // nothing was decided: the try must not linger (R70)
    throw err;
  }
  if (!session) {
    // A reset or change replaced the password during the check (R68): it is not this password any more.
    await s.reservation.fail();
    await repos.auditEvents.record({ event: 'login_failed', subjectId: user.id, ...request }, deps.clock.now());
    deps.events.emit('login_failed', { email: s.email, request });
    throw new RegstackError('INVALID_CREDENTIALS', INVALID_CREDENTIALS_MESSAGE);
  }
  const { accessToken, expiresIn } = await sessions.tokenFor(session);
  const dto = toPublicUser({ ...user, lastLoginAt: now });
  deps.events.emit('user_logged_in', { user: dto, sessionId: session.id, request });
  return {
    result: { status: 'authenticated', accessToken, tokenType: 'Bearer', expiresIn, user: dto },
    sessionId: session.id,
  };
}
