/**
 * The two-factor contract (SPEC §4 `auth.mfa.*`): input schemas and DTOs. Codes are exact (R55): an SMS or
 * authenticator code is six ASCII digits; a recovery code is ten characters of a fixed 32-letter alphabet,
 * accepted with or without its dash and in either case, and canonicalized here so the server hashes one spelling.
 * The MFA-pending token is only bounded here (a JWT's characters and size); its signature and purpose are the
 * server's to check (R50).
 */
import { z } from 'zod';
import { passwordInputSchema } from './password.ts';
import { phoneNumberSchema } from './phone.ts';
import { otpCodeSchema } from './primitives.ts';

/** The ways a user can prove the second factor. `recovery` is a fallback, never a factor on its own. */
export const MFA_METHODS = ['totp', 'sms', 'recovery'] as const;
export type MfaMethod = (typeof MFA_METHODS)[number];

/** How many recovery codes a set holds. */
export const RECOVERY_CODE_COUNT = 10;
/** The recovery-code alphabet: Crockford's base32 in lower case (no i, l, o, u — easy to misread): 32 symbols. */
export const RECOVERY_CODE_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
/** Symbols in a recovery code (5 bits each: 50 bits). */
export const RECOVERY_CODE_LENGTH = 10;

const RECOVERY_INPUT = new RegExp(`^[${RECOVERY_CODE_ALPHABET}]{5}-?[${RECOVERY_CODE_ALPHABET}]{5}$`);

/** A recovery code as typed (`abcde-fghjk`, any case, dash optional) → its canonical form `abcdefghjk`. */
export const recoveryCodeSchema = z
  .string({ error: 'Recovery code must be a string' })
  .max(32, { error: 'Recovery code is too long' })
  .transform((value) => value.trim().toLowerCase())
  .refine((value) => RECOVERY_INPUT.test(value), {
    error: 'Recovery code must be 10 letters and digits, as xxxxx-xxxxx',
  })
  .transform((value) => value.replace('-', ''));

/** A compact JWS as regstack issues it; anything else is refused before it reaches a verifier (R35). */
export const mfaPendingTokenSchema = z
  .string({ error: 'mfaPendingToken must be a string' })
  .min(1)
  .max(2048)
  .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, { error: 'mfaPendingToken is malformed' });

export const confirmMfaLoginInput = z.discriminatedUnion('method', [
  z.strictObject({ mfaPendingToken: mfaPendingTokenSchema, method: z.literal('totp'), code: otpCodeSchema }),
  z.strictObject({ mfaPendingToken: mfaPendingTokenSchema, method: z.literal('sms'), code: otpCodeSchema }),
  z.strictObject({ mfaPendingToken: mfaPendingTokenSchema, method: z.literal('recovery'), code: recoveryCodeSchema }),
]);
export type ConfirmMfaLoginInput = z.input<typeof confirmMfaLoginInput>;
export const resendMfaLoginCodeInput = z.strictObject({ mfaPendingToken: mfaPendingTokenSchema });

/**
 * `currentPassword` re-authenticates every sensitive change (R44). An account without a password (signed up with an
 * OpenID Connect provider) leaves it out and re-authenticates by a recent sign-in instead
 * (`account.reauthentication`, REAUTHENTICATION_REQUIRED otherwise).
 */
const currentPassword = passwordInputSchema.optional();

export const totpStartInput = z.strictObject({ currentPassword });
export const totpConfirmInput = z.strictObject({ code: otpCodeSchema });
/** `code`: a current authenticator code, or one of the recovery codes (a lost phone must not lock the factor in). */
export const totpDisableInput = z.strictObject({
  currentPassword,
  code: z.union([otpCodeSchema, recoveryCodeSchema]),
});
/** `phoneNumber` is canonicalized to E.164 (R52); a bad one is PHONE_NUMBER_INVALID. */
export const smsStartInput = z.strictObject({ phoneNumber: phoneNumberSchema, currentPassword });
export const smsConfirmInput = z.strictObject({ code: otpCodeSchema });
/** `code`, when given, is an authenticator or recovery code and must be right; re-authentication alone suffices (R44). */
export const smsDisableInput = z.strictObject({
  currentPassword,
  code: z.union([otpCodeSchema, recoveryCodeSchema]).optional(),
});
export const regenerateRecoveryCodesInput = z.strictObject({ currentPassword });

/** `auth.mfa.status`. */
export interface MfaStatus {
  /** Whether any second factor is enabled. */
  enabled: boolean;
  /** The methods a sign-in may use now (`recovery` while unused recovery codes remain and a factor is enabled). */
  methods: MfaMethod[];
  /** The masked phone of the SMS factor, or null. */
  phoneHint: string | null;
  recoveryCodesRemaining: number;
  /** Whether this deployment requires a second factor of this user (`require_mfa`). */
  required: boolean;
}

/** `auth.mfa.totp.start`: show `qrSvg` (or `secret`) once; nothing is enabled until `totp.confirm`. */
export interface TotpEnrolment {
  /** Base32 shared secret, for typing into an app by hand. */
  secret: string;
  otpauthUri: string;
  /** The `otpauthUri` as an SVG QR code. */
  qrSvg: string;
}

/** A factor was enabled. `recoveryCodes` is the new set when this was the first factor (shown once), else null. */
export interface MfaEnabledResult {
  status: 'mfa_enabled';
  methods: MfaMethod[];
  recoveryCodes: string[] | null;
}

export interface MfaDisabledResult {
  status: 'mfa_disabled';
  /** The methods left; empty when two-factor is now off. */
  methods: MfaMethod[];
}

/** A new set of recovery codes, replacing every earlier one; shown once. */
export interface RecoveryCodesResult {
  recoveryCodes: string[];
}

/** `auth.mfa.resendLoginCode` and `auth.mfa.sms.start`: a new SMS code went out; the earlier one is dead (R48). */
export interface MfaCodeSentResult {
  status: 'code_sent';
  phoneHint: string;
}
