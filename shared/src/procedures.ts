/**
 * The procedure contract: one strict zod schema per procedure input (unknown keys, `__proto__` and
 * non-string values are refused: R56) and the DTO types every procedure returns. Procedures never return
 * entities, so no ORM type reaches a client (STYLE "Types and packages").
 *
 * New passwords are only type- and byte-checked here: the length floor is a server setting, so the server
 * checks the policy before hashing (R1, R2) and answers PASSWORD_TOO_SHORT / _TOO_LONG / _TOO_COMMON.
 */
import { z } from 'zod';
import { emailSchema } from './email.ts';
import type { MfaMethod } from './mfa.ts';
import { passwordInputSchema } from './password.ts';
import { fullNameSchema, idSchema, oneTimeTokenSchema } from './primitives.ts';

export const registerInput = z.strictObject({
  email: emailSchema,
  password: passwordInputSchema,
  fullName: fullNameSchema.optional(),
});
/**
 * `password` is the one chosen at the sign-up the link belongs to. It is needed when more than one sign-up for the
 * address is pending, or the link was resent (the server then answers PASSWORD_REQUIRED), so that a link never
 * creates an account with a password its clicker did not choose (R67).
 */
export const verifyEmailInput = z.strictObject({ token: oneTimeTokenSchema, password: passwordInputSchema.optional() });
export const resendVerificationInput = z.strictObject({ email: emailSchema });
export const loginInput = z.strictObject({ email: emailSchema, password: passwordInputSchema });
export const revokeSessionInput = z.strictObject({ id: idSchema });
export const forgotPasswordInput = z.strictObject({ email: emailSchema });
export const resetPasswordInput = z.strictObject({ token: oneTimeTokenSchema, newPassword: passwordInputSchema });
export const updateAccountInput = z.strictObject({ fullName: fullNameSchema.nullable() });
/**
 * `currentPassword` re-authenticates a sensitive change (R43–R45). An account without a password (signed up with an
 * OpenID Connect provider) leaves it out and re-authenticates by a recent sign-in instead — see
 * `account.reauthentication`; for it, `changePassword` sets the first password.
 */
const currentPassword = passwordInputSchema.optional();
export const changePasswordInput = z.strictObject({ currentPassword, newPassword: passwordInputSchema });
export const changeEmailInput = z.strictObject({ newEmail: emailSchema, currentPassword });
export const confirmEmailChangeInput = z.strictObject({ token: oneTimeTokenSchema });
export const deleteAccountInput = z.strictObject({ currentPassword });

export type RegisterInput = z.input<typeof registerInput>;
export type LoginInput = z.input<typeof loginInput>;

/** The user as every procedure shows it. `phoneNumber` is masked everywhere but `account.me`. */
export interface PublicUser {
  id: string;
  email: string;
  fullName: string | null;
  phoneNumber: string | null;
  isActive: boolean;
  isVerified: boolean;
  isSuperuser: boolean;
  isMfaEnabled: boolean;
  createdAt: Date;
  lastLoginAt: Date | null;
}

export type RegisterResult =
  | { status: 'pending_verification'; email: string; expiresAt: Date }
  | { status: 'registered'; user: PublicUser };

export interface VerifyEmailResult {
  user: PublicUser;
}

/** Always the same, whether or not the address has an account (R11). */
export interface AcceptedResult {
  status: 'accepted';
}

export type LoginResult =
  | { status: 'authenticated'; accessToken: string; tokenType: 'Bearer'; expiresIn: number; user: PublicUser }
  | {
      status: 'mfa_required';
      /** Grants nothing but `mfa.confirmLogin` / `mfa.resendLoginCode` (R50); single-use. */
      mfaPendingToken: string;
      expiresIn: number;
      methods: MfaMethod[];
      /** The masked number an SMS code was sent to, when `sms` is a method; else null. */
      phoneHint: string | null;
    };

/** After a password change every earlier session is dead; the caller continues with this new token (R8, R41). */
export interface PasswordChangedResult {
  status: 'password_changed';
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
}

/** Identical whether or not the new address is free (R13). */
export interface EmailChangeRequestedResult {
  status: 'confirmation_sent';
  email: string;
  expiresAt: Date;
}

export interface SessionInfo {
  id: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  userAgent: string | null;
  ip: string | null;
  current: boolean;
  /** The administrator's id when an administrator opened this session as the user (impersonation), else null. */
  impersonatedBy: string | null;
}

/** `account.me`: the user (phone unmasked: it is their own) and, in an impersonation session, who is acting. */
export interface AccountMe extends PublicUser {
  impersonatedBy: { id: string; email: string } | null;
}

/**
 * `account.reauthentication`: how this account proves it is the owner before a sensitive change (change password or
 * email, delete the account, enable or disable a second factor, new recovery codes).
 * - `password`: send `currentPassword`.
 * - `recent_sign_in` (an account without a password): no password to send; the change is allowed until `until`
 *   (this session's sign-in + `reauthentication_max_age_seconds`). `fresh` is false once that has passed: sign in
 *   again (with the provider) first.
 */
export type ReauthenticationInfo =
  | { method: 'password' }
  | { method: 'recent_sign_in'; until: Date; fresh: boolean; maxAgeSeconds: number };

export interface LogoutResult {
  status: 'logged_out';
  /** Sessions ended by this call. */
  revoked: number;
}
