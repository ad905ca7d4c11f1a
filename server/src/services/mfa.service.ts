/**
 * Managing second factors (SPEC §4 `auth.mfa.*`, R44, R51): status, the authenticator app (TOTP) and recovery codes.
 * The SMS factor has its own service (sms-factor.service.ts); what every factor change shares is
 * policies/factor-change.ts.
 *
 * - Enrolling starts with the current password (through the login lockout, R19) and ends with a code from the
 *   new factor: nothing is a factor until it proved itself. `totp.start` again before confirming replaces the
 *   secret; a confirmed credential is never overwritten (disable first).
 * - Disabling takes the password and a code of the factor (or a recovery code, for a lost phone); the code check
 *   counts toward the account lockout like any second-factor check (R19).
 * - The first factor brings ten recovery codes, shown once; `recoveryCodes.regenerate` replaces the set.
 */
import type {
  MfaDisabledResult,
  MfaEnabledResult,
  MfaStatus,
  RecoveryCodesResult,
  TotpEnrolment,
} from '@regstack/shared';
import QRCode from 'qrcode';
import { RegstackError } from '../errors/regstack-error.ts';
import type { RequestMeta } from '../events.ts';
import type { Repositories } from '../repositories/index.ts';
import { generateTotpSecret, totpUri } from '../security/totp.ts';
import { openRepos, type ServiceDeps } from './deps.ts';
import type { LockoutService, RateLimiter } from './lockout.service.ts';
import { limitClient } from './policies/client-limit.ts';
import {
  checkUnderLockout,
  codeInvalid,
  enableFactor,
  factorChanged,
  inTurn,
  issueRecoveryCodes,
} from './policies/factor-change.ts';
import { reauthenticate } from './policies/reauthentication.ts';
import { mfaRequiredFor } from './policies/require-mfa.ts';
import {
  confirmTotpEnrolment,
  hasFactor,
  methodsOf,
  phoneHintOf,
  readFactors,
  spendRecoveryCode,
  spendTotpCode,
} from './policies/second-factor.ts';
import type { AuthenticatedSession } from './session.service.ts';

export function createMfaService(deps: ServiceDeps, parts: { lockout: LockoutService; rateLimiter: RateLimiter }) {
  const { lockout, rateLimiter } = parts;
  const limit = (repos: Repositories, request: RequestMeta) =>
    limitClient(rateLimiter, repos, request, 'mfa-manage', deps.config.mfaManageRateLimit);

  return {
    async status(auth: AuthenticatedSession): Promise<MfaStatus> {
      const state = await readFactors(openRepos(deps), auth.user);
      return {
        enabled: hasFactor(state),
        methods: methodsOf(state),
        phoneHint: phoneHintOf(state),
        recoveryCodesRemaining: hasFactor(state) ? state.recoveryCodesRemaining : 0,
        required: mfaRequiredFor(deps.config, auth.user),
      };
    },

    async startTotp(
      auth: AuthenticatedSession,
      input: { currentPassword?: string | undefined },
      request: RequestMeta,
    ): Promise<TotpEnrolment> {
      const repos = openRepos(deps);
      await limit(repos, request);
      await reauthenticate(deps, lockout, repos, auth, input.currentPassword);
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
      const alreadyEnabled = () => new RegstackError('MFA_ALREADY_ENABLED', 'An authenticator app is already enabled');
      if (credential.confirmedAt) throw alreadyEnabled();
      return enableFactor(deps, repos, auth, 'totp', request, async (tx) => {
        // Two confirmations with codes of adjacent time steps can both match; one confirms, so only one set of
        // recovery codes is issued and shown.
        const outcome = await confirmTotpEnrolment(deps, tx, credential, input.code);
        if (outcome === 'invalid') throw codeInvalid();
        if (outcome === 'already') throw alreadyEnabled();
      });
    },

    async disableTotp(
      auth: AuthenticatedSession,
      input: { currentPassword?: string | undefined; code: string },
      request: RequestMeta,
    ): Promise<MfaDisabledResult> {
      const repos = openRepos(deps);
      await limit(repos, request);
      await reauthenticate(deps, lockout, repos, auth, input.currentPassword);
      const { totp } = await readFactors(repos, auth.user);
      if (!totp) throw new RegstackError('MFA_NOT_ENABLED', 'No authenticator app is enabled');
      await checkUnderLockout(lockout, repos, auth.user, () =>
        /^[0-9]{6}$/.test(input.code)
          ? spendTotpCode(deps, repos, totp, input.code)
          : spendRecoveryCode(deps, repos, auth.user.id, input.code),
      );
      return inTurn(deps, repos, auth.user.id, async (tx) => {
        await tx.mfaFactors.deleteTotp(auth.user.id);
        const state = await factorChanged(deps, tx, auth, 'totp', 'disabled', request);
        return { status: 'mfa_disabled', methods: methodsOf(state) };
      });
    },

    async regenerateRecoveryCodes(
      auth: AuthenticatedSession,
      input: { currentPassword?: string | undefined },
      request: RequestMeta,
    ): Promise<RecoveryCodesResult> {
      const repos = openRepos(deps);
      await limit(repos, request);
      await reauthenticate(deps, lockout, repos, auth, input.currentPassword);
      if (!hasFactor(await readFactors(repos, auth.user))) {
        throw new RegstackError('MFA_NOT_ENABLED', 'Enable a second factor first');
      }
      return inTurn(deps, repos, auth.user.id, async (tx) => {
        const recoveryCodes = await issueRecoveryCodes(deps, tx, auth.user);
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
