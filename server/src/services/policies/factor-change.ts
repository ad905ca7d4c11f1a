/**
 * What every change of a user's second factors shares (mfa.service.ts, sms-factor.service.ts): a factor check
 * outside sign-in counts toward the account lockout (R19); after any enable or disable (R41, R44) the derived flag is
 * rewritten from the stored factors, the user's other sessions end (this one carries on), a notice is mailed and the
 * change is audited and emitted; the first factor brings a fresh set of recovery codes, the last takes them away.
 */
import type { MfaMethod } from '@regstack/shared';
import type { User } from '../../db/entities/index.ts';
import { RegstackError } from '../../errors/regstack-error.ts';
import type { RequestMeta } from '../../events.ts';
import type { Repositories } from '../../repositories/index.ts';
import { generateRecoveryCodes, hashRecoveryCode } from '../../security/recovery-codes.ts';
import type { ServiceDeps } from '../deps.ts';
import type { LockoutService } from '../lockout.service.ts';
import type { AuthenticatedSession } from '../session.service.ts';
import { type FactorState, hasFactor, syncMfaFlag } from './second-factor.ts';
import { sessionsLiveAt } from './session-leeway.ts';

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

export const codeInvalid = () => new RegstackError('MFA_CODE_INVALID', 'The code is wrong or was already used');

/** A second-factor check outside sign-in, on the account's lockout counter like every credential check (R19). */
export async function checkUnderLockout(
  lockout: LockoutService,
  repos: Repositories,
  user: User,
  check: () => Promise<boolean>,
): Promise<void> {
  const reservation = await lockout.reserve(repos.loginAttempts, lockout.keyFor(user.email));
  if ((await reservation.check(async () => (await check()) || false)) === false) throw codeInvalid();
  await reservation.withdraw(); // a right code proves the factor, not the password: the failures stay
}

/**
 * After a factor was enabled or disabled: the flag from the stored factors, the other sessions ended, the notice,
 * the audit event and the hook (R41, R44). Returns the factors as they now are.
 */
export async function factorChanged(
  deps: ServiceDeps,
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
  for (const session of await tx.liveSessions.listLive(user.id, sessionsLiveAt(deps.config, now))) {
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
export async function issueRecoveryCodes(deps: ServiceDeps, tx: Repositories, user: User): Promise<string[]> {
  const codes = generateRecoveryCodes();
  await tx.mfaFactors.replaceRecoveryCodes(
    user.id,
    codes.map((code) => hashRecoveryCode(deps.otpHasher, user.id, code)),
    deps.clock.now(),
  );
  return codes;
}
