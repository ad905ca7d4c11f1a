/**
 * The second step of a sign-in (SPEC §4, R19, R48–R50).
 *
 * - `start` (called by `login` after a correct password) answers `mfa_required` with a pending token: HMAC-signed
 *   under its own key and `typ` (security/tokens, R50), naming the user and a fresh challenge id, valid for
 *   `mfa_pending_token_ttl_seconds`. When SMS is a method, a code for this challenge is sent.
 * - `confirm` accepts the token once: it is refused after its TTL, after a successful confirmation (a claim
 *   `mfa-login:<challenge>` — one winner whatever races), and once the user's bulk cutoff passes the challenge's
 *   creation (a password change or reset, sign out everywhere, a factor change: R40, R41). Each code check runs
 *   under the account's lockout (R19): a wrong code is a failure on the same counter as a wrong password, and the
 *   lock refuses even a right code. Each code is itself single-use (TOTP step, SMS code, recovery code).
 *   The session is then opened exactly as `login` opens it (policies/sign-in.ts).
 * - `resend` sends a new SMS code for the challenge; the earlier one dies (R48).
 */
import type { LoginResult, MfaCodeSentResult, MfaMethod } from '@regstack/shared';
import type { User } from '../db/entities/index.ts';
import { idTime, newId } from '../db/ids.ts';
import { RegstackError } from '../errors/regstack-error.ts';
import type { RequestMeta } from '../events.ts';
import type { Repositories } from '../repositories/index.ts';
import { generateOtpCode } from '../security/one-time-tokens.ts';
import { openRepos, type ServiceDeps } from './deps.ts';
import type { LockoutService, RateLimiter } from './lockout.service.ts';
import { limitClient } from './policies/client-limit.ts';
import { loginOutcomeOf } from './policies/login-outcome.ts';
import {
  type FactorState,
  factorStateOf,
  methodsOf,
  phoneHintOf,
  readFactors,
  spendRecoveryCode,
  spendTotpCode,
} from './policies/second-factor.ts';
import { type AuthenticatedResult, openSignInSession } from './policies/sign-in.ts';
import type { SessionService } from './session.service.ts';

const challengeInvalid = () =>
  // One answer for a forged, expired, used or revoked token: which one it was is of use only to an attacker.
  new RegstackError('MFA_CHALLENGE_INVALID', 'This sign-in has expired or was already completed; sign in again');

interface OpenChallenge {
  user: User;
  /** The account's stored hash, the sign-in's credential version (R68): null for one without a password. */
  storedHash: string | null;
  challengeId: string;
  factors: FactorState;
}

type CodeOutcome = true | false | 'exhausted';

export function createMfaLoginService(
  deps: ServiceDeps,
  parts: { lockout: LockoutService; rateLimiter: RateLimiter; sessions: SessionService },
) {
  const { lockout, rateLimiter, sessions } = parts;

  /** The pending sign-in the token names, if it can still be completed. */
  async function openChallenge(repos: Repositories, token: string): Promise<OpenChallenge> {
    let claims: { userId: string; challengeId: string };
    try {
      claims = await deps.tokens.verifyMfaPendingToken(token);
    } catch {
      throw challengeInvalid();
    }
    const { userId, challengeId } = claims;
    const read = await repos.mfaLogins.readChallenge(userId, `mfa-login:${challengeId}`);
    if (read.settled) throw challengeInvalid();
    const { user } = read;
    if (!user?.isActive) throw challengeInvalid();
    // The challenge dies with the user's sessions: a cutoff at or after its creation ends it (R40, R41).
    if (read.cutoff && read.cutoff.getTime() >= idTime(challengeId)) throw challengeInvalid();
    return {
      user,
      storedHash: user.hashedPassword ?? null,
      challengeId,
      factors: factorStateOf(read.factors),
    };
  }

  /** Issues and sends an SMS code for the challenge; a newer code retires the older one (R48). */
  async function sendLoginCode(
    repos: Repositories,
    user: User,
    phone: string,
    challengeId: string,
    request: RequestMeta,
  ) {
    const now = deps.clock.now();
    const code = generateOtpCode();
    // A code row per send, bound to this challenge (`<challenge>.<n>`, the column is unique).
    const codeChallenge = `${challengeId}.${newId(now.getTime()).slice(-12)}`;
    await repos.mfaCodes.issue(
      {
        userId: user.id,
        purpose: 'login',
        challengeId: codeChallenge,
        codeHash: deps.otpHasher.hashOtpCode(code, codeChallenge),
        phoneNumber: phone,
        expiresAt: new Date(now.getTime() + deps.config.smsCodeTtlSeconds * 1000),
      },
      now,
    );
    await deps.sms.sendCode({ to: phone, code, purpose: 'login', userId: user.id, ip: request.ip });
  }

  /** Checks `code` by `method`, spending what it uses; never throws for a wrong code. */
  async function checkCode(
    repos: Repositories,
    c: OpenChallenge,
    method: MfaMethod,
    code: string,
  ): Promise<CodeOutcome> {
    if (method === 'totp') return c.factors.totp ? spendTotpCode(deps, repos, c.factors.totp, code) : false;
    if (method === 'recovery') return spendRecoveryCode(deps, repos, c.user.id, code);
    const now = deps.clock.now();
    const live = await repos.mfaCodes.findLiveForUser(c.user.id, 'login', now);
    // Only a code sent for this very challenge counts (R48: bound to its originating challenge).
    if (!live?.challengeId.startsWith(`${c.challengeId}.`)) return false;
    if ((await repos.mfaCodes.takeAttempt(live, deps.config.smsCodeMaxAttempts, now)) === null) return 'exhausted';
    if (!deps.otpHasher.verifyOtpCode(code, live.challengeId, live.codeHash)) return false;
    return repos.mfaCodes.consumeOnce(live, now);
  }

  return {
    /** After a correct password: the `mfa_required` answer, or null when the user has no factor after all. */
    async start(user: User, request: RequestMeta): Promise<LoginResult | null> {
      const repos = openRepos(deps);
      const factors = await readFactors(repos, user);
      const methods = methodsOf(factors);
      if (!factors.totp && !factors.phone) return null;
      const now = deps.clock.now();
      const challengeId = newId(now.getTime());
      const ttlSeconds = deps.config.mfaPendingTokenTtlSeconds;
      const { token } = await deps.tokens.issueMfaPendingToken({ userId: user.id, challengeId, ttlSeconds });
      if (factors.phone) {
        try {
          await sendLoginCode(repos, user, factors.phone, challengeId, request);
        } catch (err) {
          // A send refused up front (the SMS limits) must not fail a sign-in whose password was right: the user can
          // use another method, or `resendLoginCode` later, which reports the refusal.
          if (!RegstackError.is(err)) throw err;
          deps.logger.warn('login SMS code not sent', { userId: user.id, code: err.code });
        }
      }
      await repos.auditEvents.record(
        { event: 'mfa_login_started', actorId: user.id, subjectId: user.id, ...request, details: { methods } },
        now,
      );
      deps.events.emit('mfa_login_started', { userId: user.id, methods, request });
      return {
        status: 'mfa_required',
        mfaPendingToken: token,
        expiresIn: ttlSeconds,
        methods,
        phoneHint: phoneHintOf(factors),
      };
    },

    async confirm(
      input: { mfaPendingToken: string; method: MfaMethod; code: string },
      request: RequestMeta,
    ): Promise<AuthenticatedResult> {
      try {
        const result = await confirm(input, request);
        deps.telemetry.login('second_factor', 'success');
        return result;
      } catch (err) {
        // A wrong code is `mfa_code_invalid` (or `mfa_attempts_exceeded`): only the password step has refusal reasons.
        deps.telemetry.login('second_factor', loginOutcomeOf(err, 'wrong_password'));
        throw err;
      }
    },

    async resend(input: { mfaPendingToken: string }, request: RequestMeta): Promise<MfaCodeSentResult> {
      const repos = openRepos(deps);
      await limitClient(rateLimiter, repos, request, 'mfa-resend', deps.config.mfaResendLoginCodeRateLimit);
      const challenge = await openChallenge(repos, input.mfaPendingToken);
      const phone = challenge.factors.phone;
      if (!phone) throw new RegstackError('MFA_METHOD_NOT_AVAILABLE', 'SMS is not enabled for this account');
      await sendLoginCode(repos, challenge.user, phone, challenge.challengeId, request);
      return { status: 'code_sent', phoneHint: phoneHintOf(challenge.factors) ?? '' };
    },
  };

  /** The second step itself; `confirm` above counts its outcome. */
  async function confirm(
    input: { mfaPendingToken: string; method: MfaMethod; code: string },
    request: RequestMeta,
  ): Promise<AuthenticatedResult> {
    const repos = openRepos(deps);
    await limitClient(rateLimiter, repos, request, 'mfa-confirm', deps.config.loginMfaConfirmRateLimit);
    const challenge = await openChallenge(repos, input.mfaPendingToken);
    const { user } = challenge;
    if (!methodsOf(challenge.factors).includes(input.method)) {
      throw new RegstackError('MFA_METHOD_NOT_AVAILABLE', 'That method is not enabled for this account');
    }
    const key = lockout.keyFor(user.email);
    // The code check is a credential check like a password's: same counter, same lock (R19).
    const recorded = await lockout.admit(repos.loginAttempts, key, (window) => repos.loginAttempts.recordTry(window));
    const reservation = lockout.reservationOf(repos.loginAttempts, key, recorded);
    const outcome = await reservation.check(
      async () => (await checkCode(repos, challenge, input.method, input.code)) || false,
    );
    if (outcome !== true) {
      if (outcome === 'exhausted') await reservation.fail();
      const now = deps.clock.now();
      await repos.auditEvents.record(
        {
          event: 'mfa_login_failed',
          actorId: user.id,
          subjectId: user.id,
          ...request,
          details: { method: input.method },
        },
        now,
      );
      deps.events.emit('mfa_login_failed', { userId: user.id, method: input.method, request });
      if (outcome === 'exhausted') {
        throw new RegstackError('MFA_ATTEMPTS_EXCEEDED', 'Too many wrong codes; ask for a new code');
      }
      throw new RegstackError('MFA_CODE_INVALID', 'The code is wrong or was already used');
    }
    // The pending sign-in completes once, whichever code won (single-use token, R50).
    const now = deps.clock.now();
    const tokenExpiry = new Date(idTime(challenge.challengeId) + deps.config.mfaPendingTokenTtlSeconds * 1000 + 60_000);
    if (
      !(await repos.claims.claimOnce(
        `mfa-login:${challenge.challengeId}`,
        `mfa-login:${challenge.challengeId}`,
        now,
        tokenExpiry,
      ))
    ) {
      await reservation.withdraw();
      throw challengeInvalid();
    }
    const { result, sessionId } = await openSignInSession(deps, sessions, repos, {
      user,
      verifiedHash: challenge.storedHash,
      upgradedHash: null,
      attemptsKey: key,
      tryId: recorded.id,
      reservation,
      email: user.email,
      request,
      auditDetails: { mfaMethod: input.method },
      alsoAudit: (opened) => ({
        event: 'mfa_login_succeeded',
        actorId: user.id,
        subjectId: user.id,
        ...request,
        details: { method: input.method, sessionId: opened },
      }),
    });
    deps.events.emit('mfa_login_succeeded', { userId: user.id, method: input.method, sessionId, request });
    if (input.method === 'recovery') await recoveryCodeUsed(repos, user, request);
    return result;
  }

  /** A recovery code was spent: audit, hook, and a mail to the owner (they may not have been the one). */
  async function recoveryCodeUsed(repos: Repositories, user: User, request: RequestMeta) {
    const remaining = await repos.mfaFactors.countUnusedRecoveryCodes(user.id);
    await repos.auditEvents.record(
      { event: 'recovery_code_used', actorId: user.id, subjectId: user.id, ...request, details: { remaining } },
      deps.clock.now(),
    );
    await deps.mailer.enqueue(
      'recovery_code_used',
      user.email,
      deps.templates.recoveryCodeUsed({ fullName: user.fullName, remaining }),
    );
    deps.events.emit('recovery_code_used', { userId: user.id, remaining, request });
  }
}

export type MfaLoginService = ReturnType<typeof createMfaLoginService>;
