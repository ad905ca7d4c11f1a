/**
 * Login (SPEC §4, R6, R9, R10, R14–R20).
 *
 * Order matters: the per-client limit and the lockout are checked before any password work (R15); a
 * password check first reserves a lockout try (so a burst cannot exceed the threshold, R17, while correct
 * logins in flight at once all succeed, R70 — lockout.service.ts); then
 * exactly one argon2 verification runs whatever the account's state — against the stored hash, or against
 * a dummy hash with the same parameters when there is no user or no password (R10). Unknown email, wrong
 * password, disabled account and password-less account all end in the same INVALID_CREDENTIALS error with
 * the same message (R9); a disabled account is not revealed even after a correct password. A user with a second
 * factor gets `mfa_required` and a pending token instead of a session (R50, mfa-login.service.ts); the session
 * itself is opened by policies/sign-in.ts, the one path both steps share. Each login's outcome is counted for the
 * host's metrics (policies/login-outcome.ts) — finer than the answer, which stays the same for every refusal (R9).
 */
import type { LoginResult } from '@regstack/shared';
import { RegstackError } from '../errors/regstack-error.ts';
import type { RequestMeta } from '../events.ts';
import type { LoginReservation } from '../repositories/index.ts';
import { openRepos, type ServiceDeps } from './deps.ts';
import type { LockoutService, RateLimiter } from './lockout.service.ts';
import type { MfaLoginService } from './mfa-login.service.ts';
import { limitClient } from './policies/client-limit.ts';
import { INVALID_CREDENTIALS_MESSAGE } from './policies/invalid-credentials.ts';
import { type CredentialRefusal, loginOutcomeOf } from './policies/login-outcome.ts';
import { openSignInSession } from './policies/sign-in.ts';
import type { SessionService } from './session.service.ts';

export function createAuthService(
  deps: ServiceDeps,
  parts: { lockout: LockoutService; rateLimiter: RateLimiter; sessions: SessionService; mfaLogin: MfaLoginService },
) {
  const { lockout, rateLimiter, sessions, mfaLogin } = parts;

  /** The password hashed under the current parameters when `hash` was made with others (R6), else null; a
   * failure here never fails the login. Called outside any transaction: no KDF while one is held (R7). */
  async function upgradedHashOf(userId: string, hash: string, password: string): Promise<string | null> {
    if (!deps.hasher.needsRehash(hash)) return null;
    return deps.hasher.hash(password).catch((err) => {
      deps.logger.warn('password rehash failed; login continues', { userId, err });
      return null;
    });
  }

  return {
    async login(input: { email: string; password: string }, request: RequestMeta): Promise<LoginResult> {
      const refusal: { reason: CredentialRefusal } = { reason: 'wrong_password' };
      try {
        const result = await login(input, request, refusal);
        deps.telemetry.login('password', result.status === 'mfa_required' ? 'mfa_required' : 'success');
        return result;
      } catch (err) {
        deps.telemetry.login('password', loginOutcomeOf(err, refusal.reason));
        throw err;
      }
    },
  };

  async function login(
    input: { email: string; password: string },
    request: RequestMeta,
    refusal: { reason: CredentialRefusal },
  ): Promise<LoginResult> {
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
      const ok = hash ? await deps.hasher.verify(hash, input.password) : await deps.hasher.verifyDummy(input.password);
      // For the metric only (the answer is the same whichever it is, R9).
      refusal.reason = !user ? 'unknown_account' : !hash ? 'no_password' : !ok ? 'wrong_password' : 'inactive_account';
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

    // A second factor: the password was right, but it is only the first factor. The answer grants nothing but
    // the second step (R50) — no session, no rehash yet. The try is withdrawn and the failures are NOT cleared,
    // so a thief with the password cannot reset the lockout between guesses of the second factor (R19).
    let challenge: LoginResult | null = null;
    if (user.isMfaEnabled) {
      try {
        challenge = await mfaLogin.start(user, request);
      } catch (err) {
        await reservation.withdraw().catch(() => {});
        throw err;
      }
    }
    if (challenge) {
      await reservation.withdraw();
      // The password is in hand only at this step, so its stored parameters are upgraded now (R6) rather than
      // at the second one, compare-and-set: a change of password in between wins. The hash is the same secret
      // under stronger parameters, so it grants nothing before the second factor is proven.
      const upgraded = await upgradedHashOf(user.id, hash, input.password);
      if (upgraded) {
        await repos.users.replacePasswordHashIf(user.id, hash, upgraded, deps.clock.now()).catch((err) => {
          deps.logger.warn('password rehash failed; login continues', { userId: user.id, err });
        });
      }
      return challenge;
    }

    const upgradedHash = await upgradedHashOf(user.id, hash, input.password);
    const { result } = await openSignInSession(deps, sessions, repos, {
      user,
      verifiedHash: hash,
      upgradedHash,
      attemptsKey: key,
      tryId: reserved.id,
      reservation,
      email: input.email,
      request,
    });
    return result;
  }
}

export type AuthService = ReturnType<typeof createAuthService>;
