/**
 * Re-authentication for sensitive changes (change password, change email, delete account — and phone setup
 * later). Every such password check goes through the same lockout counter as login, keyed by the
 * account's canonical email (R19): a thief with a stolen session cannot guess the password here faster
 * than at the login form, and a wrong password here counts toward the same lock.
 */
import type { User } from '../db/entities/index.ts';
import { RegstackError } from '../errors/regstack-error.ts';
import type { Repositories } from '../repositories/index.ts';
import { INVALID_CREDENTIALS_MESSAGE } from './auth.service.ts';
import type { ServiceDeps } from './deps.ts';
import type { LockoutService, RateLimiter } from './lockout.service.ts';

export async function verifyCurrentPassword(
  deps: ServiceDeps,
  lockout: LockoutService,
  repos: Repositories,
  user: User,
  password: string,
): Promise<void> {
  const key = lockout.keyFor(user.email);
  const reservation = await lockout.reserve(repos.loginAttempts, key);
  let ok: boolean;
  try {
    const withHash = await repos.users.findCredentialsById(user.id);
    const hash = withHash?.hashedPassword ?? null;
    ok = hash ? await deps.hasher.verify(hash, password) : await deps.hasher.verifyDummy(password);
  } catch (err) {
    // No check happened (the hasher shed it, the database failed): it must not count as a failure.
    await reservation.withdraw().catch(() => {});
    throw err;
  }
  if (!ok) {
    await reservation.fail();
    throw new RegstackError('INVALID_CREDENTIALS', INVALID_CREDENTIALS_MESSAGE);
  }
  await reservation.release();
}

/** Per-client limit for a procedure (R20), when the client is known. */
export async function limitClient(
  rateLimiter: RateLimiter,
  repos: Repositories,
  request: { ip: string | null; limitKey?: string | null | undefined },
  procedure: string,
  rules: readonly { limit: number; windowSeconds: number }[],
): Promise<void> {
  const client = request.limitKey ?? request.ip;
  if (client && rules.length) await rateLimiter.hit(repos.loginAttempts, `ip:${procedure}:${client}`, rules);
}
