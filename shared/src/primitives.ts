/**
 * Small reusable field schemas for procedure inputs: one-time tokens, OTP codes, display names and ids. Each is
 * exact rather than permissive (R55: "OTP exactly 6 ASCII digits; one-time tokens exactly their encoded
 * length; names and free text bounded"), so malformed input is a cheap 400 at the edge instead of a database
 * lookup, and only strings pass (R56: `{ "$ne": null }` is a type error, not a query operator).
 */
import { z } from 'zod';
import { countCodePoints, hasLoneSurrogate } from './text.ts';

/** A one-time token is 32 random bytes, base64url without padding: 43 characters (R22, R55). */
export const ONE_TIME_TOKEN_LENGTH = 43;
/** SMS codes are exactly 6 ASCII digits (R48, R55). */
export const OTP_CODE_LENGTH = 6;
/** The longest display name accepted, in code points after NFKC and trimming (R55). */
export const FULL_NAME_MAX_LENGTH = 200;
/** The longest id accepted (see `idSchema`). */
export const ID_MAX_LENGTH = 64;

// 42 characters carry 252 bits; the 43rd carries the last 4 bits of the 256 plus 2 padding bits that a
// canonical encoder leaves at zero, so it can only be one of 16 characters. Requiring that rejects the three
// non-canonical spellings of every token, so exactly one string can ever match a stored token.
const ONE_TIME_TOKEN = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;
const OTP_CODE = /^[0-9]{6}$/;
const ID = /^[A-Za-z0-9_-]{1,64}$/;
// Raw inputs longer than this are refused before normalization (NFKC can expand, and trimming can shrink, so
// the real limit is checked afterwards; this only bounds the work).
const MAX_RAW_NAME_LENGTH = 1024;
// Line breaks and C0/C1 controls (header and log injection in emails that greet the user by name), unpaired
// surrogates (no UTF-8 form), and the bidi embedding/override/isolate controls, which can make a name render
// as something else in admin lists and emails. Zero-width joiner/non-joiner stay allowed: Persian, Indic
// scripts and emoji sequences need them.
const FORBIDDEN_IN_NAME = /[\p{Cc}\u2028\u2029\u202A-\u202E\u2066-\u2069]/u;

type StringSchema = z.ZodPipe<z.ZodString, z.ZodTransform<string, string>>;

/** `z.string()` whose type errors name the field. */
function typedString(field: string): z.ZodString {
  return z.string({
    error: (issue) => (issue.input === undefined ? `${field} is required` : `${field} must be a string`),
  });
}

/**
 * A one-time token from an emailed link (verify email, reset password, confirm email change): exactly 43
 * base64url characters in canonical form. Anything else fails validation before the server hashes and looks
 * it up, and looks the same whatever was wrong with it, so the error says nothing about the token's state.
 */
export const oneTimeTokenSchema: z.ZodString = typedString('Token').regex(ONE_TIME_TOKEN, {
  error: 'Token is malformed',
});

/** A 6-digit SMS code: ASCII digits only (no full-width or other-script digits, no spaces). */
export const otpCodeSchema: z.ZodString = typedString('Code').regex(OTP_CODE, {
  error: `Code must be exactly ${OTP_CODE_LENGTH} digits`,
});

/**
 * A person's display name: NFKC-normalized (so full-width and compatibility forms store one way), trimmed
 * of surrounding whitespace, then 1–200 code points with no control, line-break or bidi-control characters.
 * The output is the normalized, trimmed name.
 */
export const fullNameSchema: StringSchema = typedString('Full name').transform((value, ctx) => {
  const fail = (message: string) => {
    ctx.addIssue({ code: 'custom', message, params: { regstackCode: 'VALIDATION_FAILED' } });
    return z.NEVER;
  };
  const tooLong = `Full name must be at most ${FULL_NAME_MAX_LENGTH} characters long`;
  if (value.length > MAX_RAW_NAME_LENGTH) return fail(tooLong);
  const name = value.normalize('NFKC').trim();
  if (name.length === 0) return fail('Full name must not be empty');
  if (countCodePoints(name) > FULL_NAME_MAX_LENGTH) return fail(tooLong);
  if (FORBIDDEN_IN_NAME.test(name) || hasLoneSurrogate(name)) {
    return fail('Full name must not contain line breaks, control characters or text-direction overrides');
  }
  return name;
});

/**
 * A regstack entity id (users, sessions, …) as it appears on the wire: 1–64 characters of `A–Z a–z 0–9 _ -`.
 * The server generates ids (UUIDs, ULIDs, nanoids and MongoDB ObjectId hex all fit); this schema only makes
 * sure a client-supplied id is a plain, bounded, URL- and log-safe token before any lookup.
 */
export const idSchema: z.ZodString = typedString('Id').regex(ID, {
  error: `Id must be 1-${ID_MAX_LENGTH} characters of letters, digits, "_" or "-"`,
});
