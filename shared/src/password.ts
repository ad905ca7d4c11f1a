/**
 * The password policy as far as the wire can see it (R1–R4): length only, measured in Unicode code points
 * after NFKC, plus a UTF-8 byte cap so that no oversized input ever reaches Argon2 (R2). There are no
 * composition rules — spaces, emoji and every script are welcome (R4) — and the blocklist and personal-info
 * checks (R5) live in the server because they need data the browser does not have. The only transformation
 * ever applied to a password is NFKC (R3): no trimming, case folding or space collapsing, identically at set
 * time and at verify time, so what the user types is what is verified. Two schemas: `createPasswordSchema`
 * for *new* passwords (enforces the policy with stable codes) and `passwordInputSchema` for *current*
 * passwords (login, re-authentication), which checks only type and the byte cap, so a login form never
 * reveals the policy and an account created under an older, laxer policy can still sign in.
 */
import { z } from 'zod';
import type { RegstackErrorCode } from './errors.ts';
import { countCodePoints, hasLoneSurrogate, utf8ByteLength } from './text.ts';

/** Length limits for new passwords. */
export interface PasswordPolicy {
  /**
   * Fewest Unicode code points (after NFKC) a new password may have. Never below 8 (R1); 15 is recommended
   * for deployments without 2FA (NIST SP 800-63B-4).
   * @default 12
   */
  readonly minLength: number;
  /**
   * Most Unicode code points (after NFKC) a new password may have. At least 64 (R2).
   * @default 128
   */
  readonly maxLength: number;
  /**
   * Most UTF-8 bytes a password may have, submitted or normalized: the cap that keeps oversized input away
   * from the KDF (R2). Applies at login too. At least 256, so 64 four-byte code points always fit.
   * @default 512
   */
  readonly maxBytes: number;
}

/** regstack's default policy: 12–128 code points, at most 512 UTF-8 bytes (R1, R2). */
export const DEFAULT_PASSWORD_POLICY: PasswordPolicy = Object.freeze({ minLength: 12, maxLength: 128, maxBytes: 512 });

/** The lowest `minLength` a deployment may configure (R1, ASVS5 6.2.1). */
export const PASSWORD_MIN_LENGTH_FLOOR = 8;
/** The lowest `maxLength` a deployment may configure: passwords of 64 characters must be allowed (R2). */
export const PASSWORD_MAX_LENGTH_FLOOR = 64;
/** The lowest `maxBytes`: 64 code points of up to 4 UTF-8 bytes each must fit (R2). */
const MAX_BYTES_FLOOR = 4 * PASSWORD_MAX_LENGTH_FLOOR;
/** The highest `maxBytes`: keeps "reject before hashing" meaningful and under the ~16 KB body limit (R2, R55). */
const MAX_BYTES_CEILING = 4096;

/** Why a new password's length was refused. */
export interface PasswordLengthProblem {
  readonly code: Extract<RegstackErrorCode, 'PASSWORD_TOO_SHORT' | 'PASSWORD_TOO_LONG'>;
  readonly message: string;
}

/**
 * Merges `partial` over `DEFAULT_PASSWORD_POLICY` and checks it. Throws a `RangeError` naming the key when a
 * limit is not a positive integer, when `minLength` < 8 (R1), `maxLength` < 64 (R2), `minLength` > `maxLength`,
 * or `maxBytes` is outside 256–4096. Meant for configuration time: a bad policy must fail fast, not weaken
 * registration silently.
 * @param partial Limits to override; missing keys take `DEFAULT_PASSWORD_POLICY`'s values.
 * @default {} (the defaults: 12–128 code points, 512 bytes)
 */
export function resolvePasswordPolicy(partial: Partial<PasswordPolicy> = {}): PasswordPolicy {
  const policy = {
    minLength: partial.minLength ?? DEFAULT_PASSWORD_POLICY.minLength,
    maxLength: partial.maxLength ?? DEFAULT_PASSWORD_POLICY.maxLength,
    maxBytes: partial.maxBytes ?? DEFAULT_PASSWORD_POLICY.maxBytes,
  };
  for (const [key, value] of Object.entries(policy)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`Password policy ${key} must be a positive integer, got ${String(value)}`);
    }
  }
  if (policy.minLength < PASSWORD_MIN_LENGTH_FLOOR) {
    throw new RangeError(
      `Password policy minLength must be at least ${PASSWORD_MIN_LENGTH_FLOOR} (R1), got ${policy.minLength}`,
    );
  }
  if (policy.maxLength < PASSWORD_MAX_LENGTH_FLOOR) {
    throw new RangeError(
      `Password policy maxLength must be at least ${PASSWORD_MAX_LENGTH_FLOOR} (R2), got ${policy.maxLength}`,
    );
  }
  if (policy.minLength > policy.maxLength) {
    throw new RangeError(
      `Password policy minLength (${policy.minLength}) must not exceed maxLength (${policy.maxLength})`,
    );
  }
  if (policy.maxBytes < MAX_BYTES_FLOOR || policy.maxBytes > MAX_BYTES_CEILING) {
    throw new RangeError(
      `Password policy maxBytes must be between ${MAX_BYTES_FLOOR} and ${MAX_BYTES_CEILING} (R2), got ${policy.maxBytes}`,
    );
  }
  return Object.freeze(policy);
}

/**
 * The one transformation applied to passwords: Unicode NFKC (R3, NIST SP 800-63B §5.1.1.2), so a password
 * typed with a different keyboard or input method (full-width letters, composed vs decomposed accents) still
 * verifies. Nothing is trimmed, case-folded or collapsed. Idempotent, so applying it twice is harmless.
 */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

/**
 * True when the password, as submitted or after NFKC, exceeds `maxBytes` UTF-8 bytes. The submitted form is
 * measured first and by UTF-16 length alone where possible (UTF-8 never takes fewer bytes than UTF-16 code
 * units), so a megabyte of input is refused without being normalized (R2).
 */
function exceedsByteCap(password: string, maxBytes: number): boolean {
  if (password.length > maxBytes || utf8ByteLength(password) > maxBytes) return true;
  return utf8ByteLength(normalizePassword(password)) > maxBytes;
}

/**
 * Checks a *new* password's length against the policy: code points after NFKC between `minLength` and
 * `maxLength`, and no more than `maxBytes` UTF-8 bytes. Returns `null` when it fits, otherwise the stable
 * code and a message that states the limit (R5: a rejection gives its reason).
 * @param policy A policy already checked by `resolvePasswordPolicy`.
 * @default DEFAULT_PASSWORD_POLICY
 */
export function checkPasswordLength(
  password: string,
  policy: PasswordPolicy = DEFAULT_PASSWORD_POLICY,
): PasswordLengthProblem | null {
  if (exceedsByteCap(password, policy.maxBytes)) {
    return { code: 'PASSWORD_TOO_LONG', message: `Password must be at most ${policy.maxBytes} bytes long` };
  }
  const length = countCodePoints(normalizePassword(password));
  if (length < policy.minLength) {
    return { code: 'PASSWORD_TOO_SHORT', message: `Password must be at least ${policy.minLength} characters long` };
  }
  if (length > policy.maxLength) {
    return { code: 'PASSWORD_TOO_LONG', message: `Password must be at most ${policy.maxLength} characters long` };
  }
  return null;
}

/** A string schema whose output is the normalized string (the shape of every password schema here). */
export type NormalizingStringSchema = z.ZodPipe<z.ZodString, z.ZodTransform<string, string>>;

const LONE_SURROGATE_MESSAGE = 'Password contains an invalid character';

/**
 * `z.string()` with messages that name the password field. Type juggling (`{ "$ne": null }`, numbers,
 * arrays) fails here (R56). Zod omits the input from issues unless a caller asks for `reportInput`, which
 * regstack never does, so a rejected password does not travel back in an error body or into a log (R62).
 */
function passwordString(): z.ZodString {
  return z.string({
    error: (issue) => (issue.input === undefined ? 'Password is required' : 'Password must be a string'),
  });
}

/**
 * A zod schema for a *new* password (registration, change, reset). Enforces `policy` (merged over the
 * defaults and checked by `resolvePasswordPolicy`, so a bad policy throws here, at startup) and outputs the
 * NFKC-normalized password that the server hashes. A refusal is one custom issue with
 * `params: { regstackCode }` set to PASSWORD_TOO_SHORT or PASSWORD_TOO_LONG (VALIDATION_FAILED for an
 * unpaired surrogate, which has no UTF-8 form and would hash like U+FFFD).
 * @param policy Limits to override, merged over the defaults.
 * @default DEFAULT_PASSWORD_POLICY
 */
export function createPasswordSchema(
  policy: Partial<PasswordPolicy> = DEFAULT_PASSWORD_POLICY,
): NormalizingStringSchema {
  const resolved = resolvePasswordPolicy(policy);
  return passwordString().transform((value, ctx) => {
    const problem = checkPasswordLength(value, resolved);
    if (problem) {
      ctx.addIssue({ code: 'custom', message: problem.message, params: { regstackCode: problem.code } });
      return z.NEVER;
    }
    if (hasLoneSurrogate(value)) {
      ctx.addIssue({ code: 'custom', message: LONE_SURROGATE_MESSAGE, params: { regstackCode: 'VALIDATION_FAILED' } });
      return z.NEVER;
    }
    return normalizePassword(value);
  });
}

/**
 * A zod schema for a *current* password (login, re-authentication). Deliberately no minimum length: a login
 * form must not reveal the policy, and an account created under an older policy must still sign in. It does
 * require at least one character and enforce the byte cap of `policy` (default 512), so an oversized input
 * is refused before the server spends a KDF call on it (R2). Outputs the NFKC-normalized password (R3).
 * @param policy Only `maxBytes` matters here; pass the same policy as registration so the caps agree.
 * @default DEFAULT_PASSWORD_POLICY
 */
export function createPasswordInputSchema(
  policy: Partial<PasswordPolicy> = DEFAULT_PASSWORD_POLICY,
): NormalizingStringSchema {
  const { maxBytes } = resolvePasswordPolicy(policy);
  return passwordString().transform((value, ctx) => {
    if (value.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'Password is required', params: { regstackCode: 'VALIDATION_FAILED' } });
      return z.NEVER;
    }
    if (exceedsByteCap(value, maxBytes)) {
      ctx.addIssue({
        code: 'custom',
        message: `Password must be at most ${maxBytes} bytes long`,
        params: { regstackCode: 'PASSWORD_TOO_LONG' },
      });
      return z.NEVER;
    }
    if (hasLoneSurrogate(value)) {
      ctx.addIssue({ code: 'custom', message: LONE_SURROGATE_MESSAGE, params: { regstackCode: 'VALIDATION_FAILED' } });
      return z.NEVER;
    }
    return normalizePassword(value);
  });
}

/** `createPasswordSchema()` with the default policy. */
export const passwordSchema: NormalizingStringSchema = createPasswordSchema();

/** `createPasswordInputSchema()` with the default byte cap: the schema for login's `password` field. */
export const passwordInputSchema: NormalizingStringSchema = createPasswordInputSchema();
