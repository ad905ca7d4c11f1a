/**
 * Login (SPEC §4, R6, R9, R10, R14–R20).
 *
 * Order matters: the per-client limit and the lockout are checked before any password work (R15); a
 * password check first reserves a lockout try (so a burst cannot exceed the threshold, R17, while correct
 * logins in flight at once all succeed, R70 — lockout.service.ts); then
 * exactly one argon2 verification runs whatever the account's state — against the stored hash, or against
 * a dummy hash with the same parameters when there is no user or no password (R10). Unknown email, wrong
 * password, disabled account and password-less account all end in the same INVALID_CREDENTIALS error with
 * the same message (R9); a disabled account is not revealed even after a correct password.
 */
import type { LoginResult } from '@regstack/shared';
import type { Session } from '../db/entities/index.ts';
import { newId } from '../db/ids.ts';
import { RegstackError } from '../errors/regstack-error.ts';
import type { RequestMeta } from '../events.ts';
import type { LoginReservation, LoginSuccess } from '../repositories/index.ts';
import { openRepos, type ServiceDeps } from './deps.ts';
import type { LockoutService, RateLimiter } from './lockout.service.ts';
import { toPublicUser } from './mappers.ts';
import { limitClient } from './policies/client-limit.ts';
import { INVALID_CREDENTIALS_MESSAGE } from './policies/invalid-credentials.ts';
import { type SessionService, sessionClient } from './session.service.ts';

export function createAuthService(
  deps: ServiceDeps,
  parts: { lockout: LockoutService; rateLimiter: RateLimiter; sessions: SessionService },
) {
  const { lockout, rateLimiter, sessions } = parts;

  return {
    async login(input: { email: string; password: string }, request: RequestMeta): Promise<LoginResult> {
      const repos = openRepos(deps);
      await limitClient(rateLimiter, repos, request, 'login', deps.config.loginRateLimit);
      const key = lockout.keyFor(input.email);
      let reserved: LoginReservation & { at: Date };
      try {
        // The try becomes this attempt's failure record unless the password turns out right (R17); the
        // account's credentials are read along with it.
        reserved = await lockout.admit(repos.loginAttempts, key, (window) => repos.logins.reserve(window, input.email));
      } catch (err) {
        if (RegstackError.is(err) && err.code === 'TOO_MANY_ATTEMPTS') {
          await repos.auditEvents.record(
            { event: 'login_locked_out', ...request, details: { retryAfterSeconds: err.retryAfterSeconds } },
            deps.clock.now(),
          );
          deps.events.emit('login_locked_out', {
            email: input.email,
            retryAfterSeconds: err.retryAfterSeconds ?? 0,
            request,
          });
        }
        throw err;
      }

      const reservation = lockout.reservationOf(repos.loginAttempts, key, reserved);
      const account = await reservation.check(async () => {
        const { user } = reserved;
        const hash = user?.hashedPassword ?? null;
        // Exactly one KDF call on every path (R10): a missing user or password verifies against the dummy.
        const ok = hash
          ? await deps.hasher.verify(hash, input.password)
          : await deps.hasher.verifyDummy(input.password);
        return ok && user && hash && user.isActive ? { user, hash } : false;
      });
      if (account === false) {
        await repos.auditEvents.record(
          { event: 'login_failed', subjectId: reserved.user?.id ?? null, ...request },
          deps.clock.now(),
        );
        deps.events.emit('login_failed', { email: input.email, request });
        throw new RegstackError('INVALID_CREDENTIALS', INVALID_CREDENTIALS_MESSAGE);
      }
      const { user, hash } = account;

      // Any rehash happens before the transaction: no KDF while a transaction is held (R7).
      let upgradedHash: string | null = null;
      if (deps.hasher.needsRehash(hash)) {
        // Upgrade stored parameters to current policy (R6); a failure here must not fail the login.
        upgradedHash = await deps.hasher.hash(input.password).catch((err) => {
          deps.logger.warn('password rehash failed; login continues', { userId: user.id, err });
          return null;
        });
      }
      const now = deps.clock.now();
      const sessionId = newId(now.getTime());
      const success: LoginSuccess = {
        userId: user.id,
        attemptsKey: key, // success clears the counter (R18)
        verifiedHash: hash,
        tryId: reserved.id,
        upgradedHash,
        session: { id: sessionId, ...sessionClient(request), ttlMs: deps.config.jwtTtlSeconds * 1000 },
        audit: { event: 'login', actorId: user.id, subjectId: user.id, ...request, details: { sessionId } },
        now,
      };
      // One atomic change, one call (login.repository.ts).
      let session: Session | null;
      try {
        session = await repos.logins.recordSuccess(success);
      } catch (err) {
        await reservation.withdraw().catch(() => {}); // nothing was decided: the try must not linger (R70)
        throw err;
      }
      if (!session) {
        // A reset or change replaced the password during the check (R68): it is not this password any more.
        await reservation.fail();
        await repos.auditEvents.record({ event: 'login_failed', subjectId: user.id, ...request }, deps.clock.now());
        deps.events.emit('login_failed', { email: input.email, request });
        throw new RegstackError('INVALID_CREDENTIALS', INVALID_CREDENTIALS_MESSAGE);
      }
      const { accessToken, expiresIn } = await sessions.tokenFor(session);
      const dto = toPublicUser({ ...user, lastLoginAt: now });
      deps.events.emit('user_logged_in', { user: dto, sessionId: session.id, request });
      return { status: 'authenticated', accessToken, tokenType: 'Bearer', expiresIn, user: dto };
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
