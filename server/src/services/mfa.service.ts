/**
 * Managing second factors (SPEC §4 `auth.mfa.*`, R44, R51): status, the authenticator app (TOTP) and recovery
 * codes. The SMS factor is `users.phone_number`, proven by a code before it is stored (R44).
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
import type {
  MfaDisabledResult,
  MfaEnabledResult,
  MfaMethod,
  MfaStatus,
  RecoveryCodesResult,
  TotpEnrolment,
} from '@regstack/shared';
import QRCode from 'qrcode';
import type { User } from '../db/entities/index.ts';
import { RegstackError } from '../errors/regstack-error.ts';
import type { RequestMeta } from '../events.ts';
import type { Repositories } from '../repositories/index.ts';
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
