/**
 * Re-authentication for sensitive changes (change password or email, delete the account, enable or disable a second
 * factor, new recovery codes), in one place for all of them (R43–R45):
 *
 * - An account **with a password** proves it with `currentPassword`. Every such check goes through the same lockout
 *   counter as login, keyed by the account's canonical email (R19): a thief with a stolen session cannot guess the
 *   password here faster than at the login form, and a wrong password here counts toward the same lock. Leaving it
 *   out is REAUTHENTICATION_REQUIRED, counted nowhere (there was no guess).
 * - An account **without a password** (made by an OpenID Connect sign-in, or by an administrator without one) has
 *   nothing to type: a sign-in of this session within `reauthentication_max_age_seconds` stands in for it, as a sign-in
 *   is the only proof such an owner can give (better-auth's "fresh session"). It is weaker than a password typed now:
 *   the provider may sign the browser in again without asking anything. What it does stop is an old, stolen session.
 *   Older sessions get REAUTHENTICATION_REQUIRED: sign in again. A password sent for such an account is checked like
 *   any other, and is wrong. So that an old session cannot make itself a recent sign-in, linking or unlinking a
 *   provider needs the recent sign-in too for such an account (`requireRecentSignInWithoutPassword`).
 * - An impersonation session never re-authenticates: an administrator acting as the user is not the owner (the
 *   routers refuse it earlier; this is the rule's own guard).
 */
import type { ReauthenticationInfo } from '@regstack/shared';
import { RegstackError } from '../../errors/regstack-error.ts';
import type { Repositories } from '../../repositories/index.ts';
import type { ServiceDeps } from '../deps.ts';
import type { LockoutService } from '../lockout.service.ts';
import type { AuthenticatedSession } from '../session.service.ts';
import { INVALID_CREDENTIALS_MESSAGE } from './invalid-credentials.ts';

/**
 * Re-authenticates the owner of `auth` before a sensitive change and returns the credential version the change
 * depends on: the stored hash the password was checked against, or null for an account without a password. A change
 * that commits must re-check it where it commits (`replacePasswordHashIf`, `holdIfPasswordHash`…), so a reset or
 * another change in between makes it fail instead of undoing them (R68) — for an account without a password, a
 * password set meanwhile does.
 */
export async function reauthenticate(
  deps: ServiceDeps,
  lockout: LockoutService,
  repos: Repositories,
  auth: AuthenticatedSession,
  password: string | undefined,
): Promise<string | null> {
  if (auth.impersonatorId !== null) throw impersonationRestricted();
  if (password === undefined) {
    const info = await reauthenticationOf(deps, repos, auth);
    if (info.method === 'password') {
      throw new RegstackError('REAUTHENTICATION_REQUIRED', 'Enter your current password to make this change');
    }
    if (!info.fresh) throw signInAgain(info.maxAgeSeconds);
    return null;
  }
  const key = lockout.keyFor(auth.user.email);
  const reservation = await lockout.reserve(repos.loginAttempts, key);
  const verified = await reservation.check(async () => {
    const hash = await repos.users.currentPasswordHash(auth.user.id);
    const ok = hash ? await deps.hasher.verify(hash, password) : await deps.hasher.verifyDummy(password);
    return ok && hash ? hash : false;
  });
  if (verified === false) throw new RegstackError('INVALID_CREDENTIALS', INVALID_CREDENTIALS_MESSAGE);
  await reservation.release();
  return verified;
}

/**
 * For an account without a password, a recent sign-in of this session, else REAUTHENTICATION_REQUIRED; nothing for
 * an account with one. Linking or unlinking a provider changes how such an account signs in (R44): an old, stolen
 * session must not link its holder's own provider and sign in with it to get a recent sign-in of its own.
 */
export async function requireRecentSignInWithoutPassword(
  deps: ServiceDeps,
  repos: Repositories,
  auth: AuthenticatedSession,
): Promise<void> {
  const info = await reauthenticationOf(deps, repos, auth);
  if (info.method === 'recent_sign_in' && !info.fresh) throw signInAgain(info.maxAgeSeconds);
}

/**
 * How `auth`'s owner re-authenticates now (`account.reauthentication`), from the account's stored hash read fresh.
 * An impersonation session is never a recent sign-in of the owner.
 */
export async function reauthenticationOf(
  deps: ServiceDeps,
  repos: Repositories,
  auth: AuthenticatedSession,
): Promise<ReauthenticationInfo> {
  if ((await repos.users.currentPasswordHash(auth.user.id)) !== null) return { method: 'password' };
  const maxAgeSeconds = deps.config.reauthenticationMaxAgeSeconds;
  const until = new Date(auth.sessionCreatedAt.getTime() + maxAgeSeconds * 1000);
  const fresh = auth.impersonatorId === null && deps.clock.now() <= until;
  return { method: 'recent_sign_in', until, fresh, maxAgeSeconds };
}

function signInAgain(maxAgeSeconds: number): RegstackError {
  return new RegstackError(
    'REAUTHENTICATION_REQUIRED',
    `Sign in again to make this change: it needs a sign-in within the last ${maxAgeSeconds} seconds`,
  );
}

function impersonationRestricted(): RegstackError {
  return new RegstackError('IMPERSONATION_RESTRICTED', 'An impersonation session cannot make this change');
}

/** The error of a change whose re-authenticated credential was replaced before it committed (R68). */
export function credentialsChanged(): RegstackError {
  return new RegstackError(
    'CREDENTIALS_CHANGED',
    'Your password was changed (or reset) while this request was in progress; sign in again',
  );
}
