/**
 * What every change of a user's second factors shares (mfa.service.ts, sms-factor.service.ts): a factor check
 * outside sign-in counts toward the account lockout (R19); after any enable or disable (R41, R44) the derived flag is
 * rewritten from the stored factors, the user's other sessions end (this one carries on), a notice is mailed and the
 * change is audited and emitted; the first factor brings a fresh set of recovery codes, the last takes them away.
 * One user's factor changes take turns (`inTurn`), so two first factors enabled at once bring one set of codes.
 */
import type { MfaEnabledResult, MfaMethod } from '@regstack/shared';
import type { User } from '../../db/entities/index.ts';
import { RegstackError } from '../../errors/regstack-error.ts';
import type { RequestMeta } from '../../events.ts';
import { BRIEF_WORK_LEASE, type Repositories, withLease } from '../../repositories/index.ts';
import { generateRecoveryCodes, hashRecoveryCode } from '../../security/recovery-codes.ts';
import { atomically, type ServiceDeps } from '../deps.ts';
import type { LockoutService } from '../lockout.service.ts';
import type { AuthenticatedSession } from '../session.service.ts';
import { type FactorState, hasFactor, methodsOf, readFactors, syncMfaFlag } from './second-factor.ts';
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

/**
 * Runs one change of `userId`'s factors or recovery codes (an enable, a disable, a regeneration) as one transaction,
 * after the changes before it have committed: the user's changes take turns under a lease, on every instance and
 * backend. Without turns, a phone and an authenticator app confirmed at once from two tabs would both read "no
 * factor yet" and both issue recovery codes: the set that lands second silently replaces the one the user was just
 * shown.
 */
export function inTurn<T>(
  deps: ServiceDeps,
  repos: Repositories,
  userId: string,
  change: (tx: Repositories) => Promise<T>,
): Promise<T> {
  return withLease(repos.claims, `mfa-change:${userId}`, BRIEF_WORK_LEASE, () => atomically(deps, change));
}

/**
 * Enables `method` for the session's user: `write` stores the factor inside one transaction with what follows it
 * — the first factor's recovery codes (shown once), the flag, the other sessions' end, the notice, the audit event
 * (`factorChanged`) — all in the user's turn, so "the first factor" is decided by what has committed before.
 */
export function enableFactor(
  deps: ServiceDeps,
  repos: Repositories,
  auth: AuthenticatedSession,
  method: Exclude<MfaMethod, 'recovery'>,
  request: RequestMeta,
  write: (tx: Repositories) => Promise<void>,
): Promise<MfaEnabledResult> {
  return inTurn(deps, repos, auth.user.id, async (tx) => {
    const before = await readFactors(tx, auth.user);
    await write(tx);
    const recoveryCodes = hasFactor(before) ? null : await issueRecoveryCodes(deps, tx, auth.user);
    const state = await factorChanged(deps, tx, auth, method, 'enabled', request);
    return { status: 'mfa_enabled', methods: methodsOf(state), recoveryCodes };
  });
}

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
