/**
 * The second factors of one user and how each is checked — shared by enrolment (mfa.service.ts) and the login
 * step (mfa-login.service.ts), so a code is judged the same way wherever it is presented.
 *
 * - A factor is enabled when it is proven: a *confirmed* TOTP credential, or a phone number on the user row (only
 *   ever written after the number proved itself with a code, R44). `is_mfa_enabled` is derived from them and
 *   rewritten after every factor change (`syncMfaFlag`), from what is stored, never from what the request thinks.
 * - Recovery codes are a method only while a factor is enabled and unused codes remain.
 * - A TOTP code is accepted for one step either side of now, once (repositories/mfa-factor.repository.ts).
 */
import { type MfaMethod, maskPhone } from '@regstack/shared';
import type { TotpCredential, User } from '../../db/entities/index.ts';
import type { EnrolledFactors, Repositories } from '../../repositories/index.ts';
import { hashRecoveryCode } from '../../security/recovery-codes.ts';
import { totpStepExpiry, verifyTotp } from '../../security/totp.ts';
import type { ServiceDeps } from '../deps.ts';

export interface FactorState {
  /** The confirmed TOTP credential, or null (an enrolment in progress is not a factor). */
  totp: TotpCredential | null;
  /** The verified phone of the SMS factor, or null. */
  phone: string | null;
  recoveryCodesRemaining: number;
}

export async function readFactors(repos: Repositories, user: Pick<User, 'id'>): Promise<FactorState> {
  return factorStateOf(await repos.mfaFactors.factorsOf(user.id));
}

/** The factors a user can sign in with, from what is stored (a TOTP credential counts once confirmed). */
export function factorStateOf(enrolled: EnrolledFactors): FactorState {
  return {
    totp: enrolled.totp?.confirmedAt ? enrolled.totp : null,
    phone: enrolled.phoneNumber,
    recoveryCodesRemaining: enrolled.recoveryCodesRemaining,
  };
}

export function hasFactor(state: FactorState): boolean {
  return state.totp !== null || state.phone !== null;
}

/** The methods a sign-in may use, strongest first. */
export function methodsOf(state: FactorState): MfaMethod[] {
  const methods: MfaMethod[] = [];
  if (state.totp) methods.push('totp');
  if (state.phone) methods.push('sms');
  if (hasFactor(state) && state.recoveryCodesRemaining > 0) methods.push('recovery');
  return methods;
}

export function phoneHintOf(state: FactorState): string | null {
  return state.phone ? maskPhone(state.phone) : null;
}

/** Rewrites `is_mfa_enabled` from the stored factors; returns them. */
export async function syncMfaFlag(
  deps: ServiceDeps,
  repos: Repositories,
  user: Pick<User, 'id'>,
): Promise<FactorState> {
  const state = await readFactors(repos, user);
  await repos.users.setMfaEnabled(user.id, hasFactor(state), deps.clock.now());
  return state;
}

/** Whether `code` is a current code of `credential` whose step was never used; spends the step. */
export async function spendTotpCode(
  deps: ServiceDeps,
  repos: Repositories,
  credential: TotpCredential,
  code: string,
): Promise<boolean> {
  const now = deps.clock.now();
  const step = verifyTotp(deps.totpSealer.open(credential.sealedSecret), code, now);
  if (step === null) return false;
  return repos.mfaFactors.spendTotpStep(
    credential.userId,
    step,
    credential.lastUsedStep ?? null,
    now,
    totpStepExpiry(step),
  );
}

/**
 * Confirms a pending authenticator with `code`: 'invalid' when the code does not match the secret now,
 * 'already' when it is (or, racing, has just been) confirmed, else 'confirmed' with the code's step spent.
 */
export async function confirmTotpEnrolment(
  deps: ServiceDeps,
  tx: Repositories,
  credential: TotpCredential,
  code: string,
): Promise<'invalid' | 'already' | 'confirmed'> {
  const now = deps.clock.now();
  const step = verifyTotp(deps.totpSealer.open(credential.sealedSecret), code, now);
  if (step === null) return 'invalid';
  return (await tx.mfaFactors.confirmTotp(credential.userId, step, now, totpStepExpiry(step)))
    ? 'confirmed'
    : 'already';
}

/** Whether `code` (canonical form) is one of the user's unused recovery codes; spends it. */
export async function spendRecoveryCode(
  deps: ServiceDeps,
  repos: Repositories,
  userId: string,
  code: string,
): Promise<boolean> {
  const row = await repos.mfaFactors.findUnusedRecoveryCode(userId, hashRecoveryCode(deps.otpHasher, userId, code));
  return row !== null && (await repos.mfaFactors.spendRecoveryCode(row.id, deps.clock.now()));
}
