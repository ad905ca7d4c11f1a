/**
 * The SMS factor (SPEC §4 `auth.mfa.sms.*`, R44, R48–R52): `users.phone_number`. The number being enrolled waits on
 * its `phone_setup` code row (6 digits from the CSPRNG, keyed hash, `sms_code_ttl_seconds`, at most
 * `sms_code_max_attempts` guesses by slot claims, a newer code retires the older: R48, R49) and reaches the user row,
 * under its unique index (R52), only once the code proved it (R44). SMS is a restricted authenticator (R51): it is
 * off unless `enable_sms_2fa`. Codes go out through `deps.sms.sendCode` only (sms/code-sender.ts).
 */
import { type MfaCodeSentResult, type MfaDisabledResult, type MfaEnabledResult, maskPhone } from '@regstack/shared';
import { newId } from '../db/ids.ts';
import { RegstackError } from '../errors/regstack-error.ts';
import type { RequestMeta } from '../events.ts';
import { generateOtpCode } from '../security/one-time-tokens.ts';
import { openRepos, type ServiceDeps } from './deps.ts';
import type { LockoutService, RateLimiter } from './lockout.service.ts';
import { limitClient } from './policies/client-limit.ts';
import { checkUnderLockout, codeInvalid, enableFactor, factorChanged, inTurn } from './policies/factor-change.ts';
import { reauthenticate } from './policies/reauthentication.ts';
import { methodsOf, readFactors, spendRecoveryCode, spendTotpCode } from './policies/second-factor.ts';
import type { AuthenticatedSession } from './session.service.ts';

export function createSmsFactorService(
  deps: ServiceDeps,
  parts: { lockout: LockoutService; rateLimiter: RateLimiter },
) {
  const { lockout, rateLimiter } = parts;
  return {
    /**
     * Sends a code to the number being enrolled (R44: the number proves itself before it is used). The number is
     * kept on the code row only; the user row gets it at `confirmSms`, under the unique index (R52).
     */
    async start(
      auth: AuthenticatedSession,
      input: { phoneNumber: string; currentPassword?: string | undefined },
      request: RequestMeta,
    ): Promise<MfaCodeSentResult> {
      if (!deps.config.enableSms2fa) {
        throw new RegstackError('FEATURE_DISABLED', 'SMS two-factor authentication is disabled (enable_sms_2fa)');
      }
      const repos = openRepos(deps);
      await limitClient(rateLimiter, repos, request, 'phone-start', deps.config.phoneStartRateLimit);
      await reauthenticate(deps, lockout, repos, auth, input.currentPassword);
      if ((await readFactors(repos, auth.user)).phone) {
        throw new RegstackError('MFA_ALREADY_ENABLED', 'SMS is already enabled; disable it first to change the number');
      }
      const now = deps.clock.now();
      const code = generateOtpCode();
      const challengeId = newId(now.getTime());
      await repos.mfaCodes.issue(
        {
          userId: auth.user.id,
          purpose: 'phone_setup',
          challengeId,
          codeHash: deps.otpHasher.hashOtpCode(code, challengeId),
          phoneNumber: input.phoneNumber,
          expiresAt: new Date(now.getTime() + deps.config.smsCodeTtlSeconds * 1000),
        },
        now,
      );
      await deps.sms.sendCode({
        to: input.phoneNumber,
        code,
        purpose: 'phone_setup',
        userId: auth.user.id,
        ip: request.ip,
      });
      const phoneHint = maskPhone(input.phoneNumber);
      await repos.auditEvents.record(
        {
          event: 'phone_setup_started',
          actorId: auth.user.id,
          subjectId: auth.user.id,
          ...request,
          details: { phoneHint },
        },
        now,
      );
      deps.events.emit('phone_setup_started', { userId: auth.user.id, phoneHint, request });
      return { status: 'code_sent', phoneHint };
    },

    /** The code sent by `startSms`: at most `sms_code_max_attempts` guesses, then it is dead (R49). */
    async confirm(
      auth: AuthenticatedSession,
      input: { code: string },
      request: RequestMeta,
    ): Promise<MfaEnabledResult> {
      const repos = openRepos(deps);
      await limitClient(rateLimiter, repos, request, 'phone-confirm', deps.config.phoneConfirmRateLimit);
      const now = deps.clock.now();
      const live = await repos.mfaCodes.findLiveForUser(auth.user.id, 'phone_setup', now);
      if (!live?.phoneNumber) {
        throw new RegstackError('MFA_ENROLMENT_NOT_STARTED', 'No phone enrolment is waiting; start it (again) first');
      }
      if ((await repos.mfaCodes.takeAttempt(live, deps.config.smsCodeMaxAttempts, now)) === null) {
        throw new RegstackError('MFA_ATTEMPTS_EXCEEDED', 'Too many wrong codes; ask for a new code');
      }
      if (!deps.otpHasher.verifyOtpCode(input.code, live.challengeId, live.codeHash)) throw codeInvalid();
      if (!(await repos.mfaCodes.consumeOnce(live, now))) throw codeInvalid();
      const phone = live.phoneNumber;
      return enableFactor(deps, repos, auth, 'sms', request, async (tx) => {
        if (!(await tx.users.setPhoneIfFree(auth.user.id, phone, deps.clock.now()))) {
          throw new RegstackError('PHONE_NUMBER_TAKEN', 'This number is already used by another account');
        }
      });
    },

    async disable(
      auth: AuthenticatedSession,
      input: { currentPassword?: string | undefined; code?: string | undefined },
      request: RequestMeta,
    ): Promise<MfaDisabledResult> {
      const repos = openRepos(deps);
      await limitClient(rateLimiter, repos, request, 'phone-disable', deps.config.phoneDisableRateLimit);
      await reauthenticate(deps, lockout, repos, auth, input.currentPassword);
      const factors = await readFactors(repos, auth.user);
      if (!factors.phone) throw new RegstackError('MFA_NOT_ENABLED', 'SMS is not enabled');
      const { code } = input;
      if (code !== undefined) {
        await checkUnderLockout(lockout, repos, auth.user, async () =>
          /^[0-9]{6}$/.test(code)
            ? factors.totp !== null && spendTotpCode(deps, repos, factors.totp, code)
            : spendRecoveryCode(deps, repos, auth.user.id, code),
        );
      }
      return inTurn(deps, repos, auth.user.id, async (tx) => {
        await tx.users.clearPhone(auth.user.id, deps.clock.now());
        const state = await factorChanged(deps, tx, auth, 'sms', 'disabled', request);
        return { status: 'mfa_disabled', methods: methodsOf(state) };
      });
    },
  };
}

export type SmsFactorService = ReturnType<typeof createSmsFactorService>;
