/**
 * Managing second factors (SPEC §4 `auth.mfa.*`, R44, R48–R52): status, the authenticator app (TOTP), the SMS
 * factor and recovery codes. The SMS factor is `users.phone_number`: the number waits on its `phone_setup` code row
 * (6 digits, CSPRNG, keyed hash, `sms_code_ttl_seconds`, at most `sms_code_max_attempts` guesses, a newer code
 * retires the older: R48, R49) and reaches the user row, under its unique index, only once the code proved it.
 * SMS is a restricted authenticator (R51): it is off unless `enable_sms_2fa`.
 *
 * - Enrolling starts with the current password (through the login lockout, R19) and ends with a code from the
 *   new factor: nothing is a factor until it proved itself. `totp.start` again before confirming replaces the
 *   secret; a confirmed credential is never overwritten (disable first).
 * - Disabling takes the password and a code of the factor (or a recovery code, for a lost phone); the code check
 *   counts toward the account lockout like any second-factor check (R19).
 * - Every enable or disable (R41, R44): `is_mfa_enabled` is rewritten from the stored factors, the user's other
 *   sessions are ended (this one carries on), a notice is mailed, and `mfa_enabled` / `mfa_disabled` is audited
 *   and emitted. The first factor brings ten recovery codes, shown once; the last factor takes them away.
 */
import {
  type MfaCodeSentResult,
  type MfaDisabledResult,
  type MfaEnabledResult,
  type MfaMethod,
  type MfaStatus,
  maskPhone,
  type RecoveryCodesResult,
  type TotpEnrolment,
} from '@regstack/shared';
import QRCode from 'qrcode';
import type { User } from '../db/entities/index.ts';
import { newId } from '../db/ids.ts';
import { RegstackError } from '../errors/regstack-error.ts';
import type { RequestMeta } from '../events.ts';
import type { Repositories } from '../repositories/index.ts';
import { generateOtpCode } from '../security/one-time-tokens.ts';
import { generateRecoveryCodes, hashRecoveryCode } from '../security/recovery-codes.ts';
import { generateTotpSecret, totpUri } from '../security/totp.ts';
import { atomically, openRepos, type ServiceDeps } from './deps.ts';
import type { LockoutService, RateLimiter } from './lockout.service.ts';
import { limitClient } from './policies/client-limit.ts';
import { verifyCurrentPassword } from './policies/reauthentication.ts';
import {
  type FactorState,
  hasFactor,
  methodsOf,
  phoneHintOf,
  readFactors,
  spendRecoveryCode,
  spendTotpCode,
  syncMfaFlag,
} from './policies/second-factor.ts';
import type { AuthenticatedSession } from './session.service.ts';

const CHANGE_TEXT: Record<'enabled' | 'disabled', Record<Exclude<MfaMethod, 'recovery'>, string>> = {
  enabled: {
    totp: 'An authenticator app was added for two-factor sign-in',
    sms: 'A phone was added for two-factor sign-in',
  },
  disabled: {
    totp: 'The authenticator app was removed from two-factor sign-in',
    sms: 'The phone was removed from two-factor sign-in',
  },
};

const codeInvalid = () => new RegstackError('MFA_CODE_INVALID', 'The code is wrong or was already used');

export function createMfaService(deps: ServiceDeps, parts: { lockout: LockoutService; rateLimiter: RateLimiter }) {
  const { lockout, rateLimiter } = parts;
  const limit = (repos: Repositories, request: RequestMeta) =>
    limitClient(rateLimiter, repos, request, 'mfa-manage', deps.config.mfaManageRateLimit);

  /** A second-factor check outside sign-in, on the account's lockout counter like every credential check (R19). */
  async function checkUnderLockout(repos: Repositories, user: User, check: () => Promise<boolean>): Promise<void> {
    const reservation = await lockout.reserve(repos.loginAttempts, lockout.keyFor(user.email));
    if ((await reservation.check(async () => (await check()) || false)) === false) throw codeInvalid();
    await reservation.withdraw(); // a right code proves the factor, not the password: the failures stay
  }

  /**
   * After a factor was enabled or disabled: the flag from the stored factors, the other sessions ended, the notice,
   * the audit event and the hook (R41, R44). Returns the factors as they now are.
   */
  async function factorChanged(
    tx: Repositories,
    auth: AuthenticatedSession,
    method: Exclude<MfaMethod, 'recovery'>,
    change: 'enabled' | 'disabled',
    request: RequestMeta,
  ): Promise<FactorState> {
    const { user } = auth;
    const now = deps.clock.now();
    const state = await syncMfaFlag(deps, tx, user);
    if (!hasFactor(state)) await tx.mfaFactors.deleteRecoveryCodes(user.id);
    for (const session of await tx.liveSessions.listLive(user.id, now)) {
      if (session.id !== auth.sessionId) await tx.revocations.revokeSession(user.id, session.id, now, 'mfa_changed');
    }
    await deps.mailer.enqueue(
      'mfa_changed',
      user.email,
      deps.templates.mfaChanged({ change: CHANGE_TEXT[change][method], fullName: user.fullName }),
    );
    const event = change === 'enabled' ? 'mfa_enabled' : 'mfa_disabled';
    await tx.auditEvents.record({ event, actorId: user.id, subjectId: user.id, ...request, details: { method } }, now);
    deps.events.emit(event, { userId: user.id, method, request });
    return hasFactor(state) ? state : { ...state, recoveryCodesRemaining: 0 };
  }

  /** A new set of recovery codes for the user, replacing the old; the codes as shown. */
  async function issueRecoveryCodes(tx: Repositories, user: User): Promise<string[]> {
    const codes = generateRecoveryCodes();
    await tx.mfaFactors.replaceRecoveryCodes(
      user.id,
      codes.map((code) => hashRecoveryCode(deps.otpHasher, user.id, code)),
      deps.clock.now(),
    );
    return codes;
  }

  return {
    async status(auth: AuthenticatedSession): Promise<MfaStatus> {
      const state = await readFactors(openRepos(deps), auth.user);
      return {
        enabled: hasFactor(state),
        methods: methodsOf(state),
        phoneHint: phoneHintOf(state),
        recoveryCodesRemaining: hasFactor(state) ? state.recoveryCodesRemaining : 0,
        required: false,
      };
    },

    async startTotp(
      auth: AuthenticatedSession,
      input: { currentPassword: string },
      request: RequestMeta,
    ): Promise<TotpEnrolment> {
      const repos = openRepos(deps);
      await limit(repos, request);
      await verifyCurrentPassword(deps, lockout, repos, auth.user, input.currentPassword);
      const secret = generateTotpSecret();
      if (!(await repos.mfaFactors.startTotp(auth.user.id, deps.totpSealer.seal(secret), deps.clock.now()))) {
        throw new RegstackError('MFA_ALREADY_ENABLED', 'An authenticator app is already enabled; disable it first');
      }
      const otpauthUri = totpUri(secret, deps.config.appName, auth.user.email);
      const qrSvg = await QRCode.toString(otpauthUri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
      return { secret, otpauthUri, qrSvg };
    },

    async confirmTotp(
      auth: AuthenticatedSession,
      input: { code: string },
      request: RequestMeta,
    ): Promise<MfaEnabledResult> {
      const repos = openRepos(deps);
      await limit(repos, request);
      const credential = await repos.mfaFactors.findTotp(auth.user.id);
      if (!credential) throw new RegstackError('MFA_ENROLMENT_NOT_STARTED', 'Start the authenticator enrolment first');
      if (credential.confirmedAt) {
        throw new RegstackError('MFA_ALREADY_ENABLED', 'An authenticator app is already enabled');
      }
      const before = await readFactors(repos, auth.user);
      if (!(await spendTotpCode(deps, repos, credential, input.code))) throw codeInvalid();
      return atomically(deps, async (tx) => {
        await tx.mfaFactors.confirmTotp(auth.user.id, deps.clock.now());
        const recoveryCodes = hasFactor(before) ? null : await issueRecoveryCodes(tx, auth.user);
        const state = await factorChanged(tx, auth, 'totp', 'enabled', request);
        return { status: 'mfa_enabled', methods: methodsOf(state), recoveryCodes };
      });
    },

    async disableTotp(
      auth: AuthenticatedSession,
      input: { currentPassword: string; code: string },
      request: RequestMeta,
    ): Promise<MfaDisabledResult> {
      const repos = openRepos(deps);
      await limit(repos, request);
      await verifyCurrentPassword(deps, lockout, repos, auth.user, input.currentPassword);
      const { totp } = await readFactors(repos, auth.user);
      if (!totp) throw new RegstackError('MFA_NOT_ENABLED', 'No authenticator app is enabled');
      await checkUnderLockout(repos, auth.user, () =>
        /^[0-9]{6}$/.test(input.code)
          ? spendTotpCode(deps, repos, totp, input.code)
          : spendRecoveryCode(deps, repos, auth.user.id, input.code),
      );
      return atomically(deps, async (tx) => {
        await tx.mfaFactors.deleteTotp(auth.user.id);
        const state = await factorChanged(tx, auth, 'totp', 'disabled', request);
        return { status: 'mfa_disabled', methods: methodsOf(state) };
      });
    },

    /**
     * Sends a code to the number being enrolled (R44: the number proves itself before it is used). The number is
     * kept on the code row only; the user row gets it at `confirmSms`, under the unique index (R52).
     */
    async startSms(
      auth: AuthenticatedSession,
      input: { phoneNumber: string; currentPassword: string },
      request: RequestMeta,
    ): Promise<MfaCodeSentResult> {
      if (!deps.config.enableSms2fa) {
        throw new RegstackError('FEATURE_DISABLED', 'SMS two-factor authentication is disabled (enable_sms_2fa)');
      }
      const repos = openRepos(deps);
      await limitClient(rateLimiter, repos, request, 'phone-start', deps.config.phoneStartRateLimit);
      await verifyCurrentPassword(deps, lockout, repos, auth.user, input.currentPassword);
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
    async confirmSms(
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
      const before = await readFactors(repos, auth.user);
      return atomically(deps, async (tx) => {
        if (!(await tx.users.setPhoneIfFree(auth.user.id, phone, deps.clock.now()))) {
          throw new RegstackError('PHONE_NUMBER_TAKEN', 'This number is already used by another account');
        }
        const recoveryCodes = hasFactor(before) ? null : await issueRecoveryCodes(tx, auth.user);
        const state = await factorChanged(tx, auth, 'sms', 'enabled', request);
        return { status: 'mfa_enabled', methods: methodsOf(state), recoveryCodes };
      });
    },

    async disableSms(
      auth: AuthenticatedSession,
      input: { currentPassword: string; code?: string | undefined },
      request: RequestMeta,
    ): Promise<MfaDisabledResult> {
      const repos = openRepos(deps);
      await limitClient(rateLimiter, repos, request, 'phone-disable', deps.config.phoneDisableRateLimit);
      await verifyCurrentPassword(deps, lockout, repos, auth.user, input.currentPassword);
      const factors = await readFactors(repos, auth.user);
      if (!factors.phone) throw new RegstackError('MFA_NOT_ENABLED', 'SMS is not enabled');
      const { code } = input;
      if (code !== undefined) {
        await checkUnderLockout(repos, auth.user, async () =>
          /^[0-9]{6}$/.test(code)
            ? factors.totp !== null && spendTotpCode(deps, repos, factors.totp, code)
            : spendRecoveryCode(deps, repos, auth.user.id, code),
        );
      }
      return atomically(deps, async (tx) => {
        await tx.users.clearPhone(auth.user.id, deps.clock.now());
        const state = await factorChanged(tx, auth, 'sms', 'disabled', request);
        return { status: 'mfa_disabled', methods: methodsOf(state) };
      });
    },

    async regenerateRecoveryCodes(
      auth: AuthenticatedSession,
      input: { currentPassword: string },
      request: RequestMeta,
    ): Promise<RecoveryCodesResult> {
      const repos = openRepos(deps);
      await limit(repos, request);
      await verifyCurrentPassword(deps, lockout, repos, auth.user, input.currentPassword);
      if (!hasFactor(await readFactors(repos, auth.user))) {
        throw new RegstackError('MFA_NOT_ENABLED', 'Enable a second factor first');
      }
      return atomically(deps, async (tx) => {
        const recoveryCodes = await issueRecoveryCodes(tx, auth.user);
        await tx.auditEvents.record(
          { event: 'recovery_codes_regenerated', actorId: auth.user.id, subjectId: auth.user.id, ...request },
          deps.clock.now(),
        );
        return { recoveryCodes };
      });
    },
  };
}

export type MfaService = ReturnType<typeof createMfaService>;
