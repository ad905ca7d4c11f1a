/**
 * Re-authentication for sensitive changes (change password, change email, delete account — and phone setup
 * later). Every such password check goes through the same lockout counter as login, keyed by the
 * account's canonical email (R19): a thief with a stolen session cannot guess the password here faster
 * than at the login form, and a wrong password here counts toward the same lock.
 */
import type { User } from '../../db/entities/index.ts';
import { RegstackError } from '../../errors/regstack-error.ts';
import type { Repositories } from '../../repositories/index.ts';
import type { ServiceDeps } from '../deps.ts';
import type { LockoutService } from '../lockout.service.ts';
import { INVALID_CREDENTIALS_MESSAGE } from './invalid-credentials.ts';

/**
 * Checks `password` against the account's stored hash through the lockout (R19) and returns that hash: the
 * credential version the caller's change depends on. A change that commits must re-check it where it commits
 * (`replacePasswordHashIf`, `holdIfPasswordHash`…), so a reset or another change in between makes it fail
 * instead of undoing them (R68).
 */
export async function verifyCurrentPassword(
  deps: ServiceDeps,
  lockout: LockoutService,
  repos: Repositories,
  user: User,
  password: string,
): Promise<string> {
  const key = lockout.keyFor(user.email);
  const reservation = await lockout.reserve(repos.loginAttempts, key);
  const verified = await reservation.check(async () => {
    const hash = await repos.users.currentPasswordHash(user.id);
    const ok = hash ? await deps.hasher.verify(hash, password) : await deps.hasher.verifyDummy(password);
    return ok && hash ? hash : false;
  });
  if (verified === false) throw new RegstackError('INVALID_CREDENTIALS', INVALID_CREDENTIALS_MESSAGE);
  await reservation.release();
  return verified;
}

/** The error of a change whose re-authenticated credential was replaced before it committed (R68). */
export function credentialsChanged(): RegstackError {
  return new RegstackError(
    'CREDENTIALS_CHANGED',
    'Your password was changed (or reset) while this request was in progress; sign in again',
  );
}
