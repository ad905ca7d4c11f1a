/**
 * `require_mfa` (issue 18 item 6): which users must have a second factor. A user who must and has none gets a
 * restricted session at login — it reaches `account.me`, `logout` and `auth.mfa.*` only (trpc/procedures.ts) — until
 * a factor is enabled. Decided from the user row read fresh on every call, so enrolling lifts the restriction on the
 * very next request and turning the setting on restricts existing sessions at once; no session state is kept.
 */
import type { RegstackConfig } from '../../config/index.ts';
import type { User } from '../../db/entities/index.ts';

/** Whether this deployment requires a second factor of `user`. */
export function mfaRequiredFor(config: Pick<RegstackConfig, 'requireMfa'>, user: Pick<User, 'isSuperuser'>): boolean {
  return config.requireMfa === 'all' || (config.requireMfa === 'superusers' && user.isSuperuser);
}

/** Whether `user` must enrol a second factor before anything else. */
export function mfaEnrolmentRequired(
  config: Pick<RegstackConfig, 'requireMfa'>,
  user: Pick<User, 'isSuperuser' | 'isMfaEnabled'>,
): boolean {
  return !user.isMfaEnabled && mfaRequiredFor(config, user);
}
