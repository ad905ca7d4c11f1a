/**
 * Phone numbers for SMS 2FA, canonical E.164 (R52). Input may carry the formatting people type — spaces,
 * dashes, dots, parentheses — and nothing else is repaired: full-width or Arabic-Indic digits, letters and
 * control characters are refused rather than mapped, because a number that only becomes valid after
 * Unicode folding is not one the user can be assumed to mean, and the canonical form is what the unique index
 * (R66) and the SMS provider see. After the strict `^\+[1-9][0-9]{1,14}$` check, libphonenumber-js (its
 * small `min` metadata, browser-safe) rejects numbers no country could issue and re-formats the rest, which
 * also folds a trunk `0` typed after the country code (`+44 020…` → `+4420…`) into one canonical number.
 * `maskPhone` is the only form of a number that may appear in logs or outside the owner's own profile (R62).
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js/min';
import { z } from 'zod';

/** ITU-T E.164: at most 15 digits after the `+`. */
export const PHONE_MAX_DIGITS = 15;

/** Inputs longer than this are refused before any parsing (formatting included, no real number comes close). */
const MAX_RAW_INPUT_LENGTH = 64;
/** The only formatting characters stripped (R52): ASCII space, hyphen-minus, full stop and parentheses. */
const FORMATTING = /[ ().-]/g;
const E164 = /^\+[1-9][0-9]{1,14}$/;

/** Why a phone number was refused. A closed set. */
export type PhoneRejectionReason =
  | 'not_a_string'
  | 'empty'
  | 'too_long'
  | 'non_ascii_digit'
  | 'invalid_character'
  | 'missing_plus'
  | 'country_code_zero'
  | 'too_many_digits'
  | 'too_few_digits'
  | 'not_a_valid_number';

/** The outcome of `canonicalizePhone`: the E.164 number, or the first rule it broke. */
export type CanonicalPhoneResult =
  | { readonly ok: true; readonly phone: string }
  | { readonly ok: false; readonly reason: PhoneRejectionReason; readonly message: string };

const MESSAGES: Readonly<Record<PhoneRejectionReason, string>> = {
  not_a_string: 'Phone number must be a string',
  empty: 'Phone number is required',
  too_long: 'Phone number is too long',
  non_ascii_digit: 'Phone number must use the digits 0-9 only (no full-width or other-script digits)',
  invalid_character: 'Phone number may contain only digits, a leading +, spaces, dashes, dots and parentheses',
  missing_plus: 'Phone number must start with + and the country code, as in +44 20 7946 0958',
  country_code_zero: 'Country codes never start with 0: replace the leading 0 with your country code',
  too_many_digits: `Phone number must have at most ${PHONE_MAX_DIGITS} digits`,
  too_few_digits: 'Phone number is too short',
  not_a_valid_number: 'This is not a valid phone number for its country',
};

function reject(reason: PhoneRejectionReason): CanonicalPhoneResult {
  return { ok: false, reason, message: MESSAGES[reason] };
}

/**
 * Canonicalizes a phone number to E.164 (R52): strips spaces, dashes, dots and parentheses, requires `+`, a
 * country code not starting with 0 and 2–15 ASCII digits, then asks libphonenumber-js whether the number is
 * valid and returns its E.164 form.
 */
export function canonicalizePhone(raw: string): CanonicalPhoneResult {
  if (typeof raw !== 'string') return reject('not_a_string');
  if (raw.length > MAX_RAW_INPUT_LENGTH) return reject('too_long');
  const compact = raw.replace(FORMATTING, '');
  if (compact.length === 0) return reject('empty');
  // Named before the generic character check because it is the likeliest honest mistake with a foreign keyboard.
  if (/\p{Nd}/u.test(compact.replace(/[0-9]/g, ''))) return reject('non_ascii_digit');
  if (/[^+0-9]/.test(compact)) return reject('invalid_character');
  if (!compact.startsWith('+') || compact.lastIndexOf('+') !== 0) return reject('missing_plus');
  const digits = compact.slice(1);
  if (digits.startsWith('0')) return reject('country_code_zero');
  if (digits.length > PHONE_MAX_DIGITS) return reject('too_many_digits');
  if (!E164.test(compact)) return reject('too_few_digits');

  // libphonenumber-js is lenient by design (it extracts numbers from text); it only ever sees a string that
  // already is strict E.164, and its output is held to the same pattern.
  const parsed = parsePhoneNumberFromString(compact);
  if (parsed === undefined || !parsed.isValid()) return reject('not_a_valid_number');
  const phone: string = parsed.number;
  if (!E164.test(phone)) return reject('not_a_valid_number');
  return { ok: true, phone };
}

/**
 * A zod schema for a phone number field: strings only (R56), output is the canonical E.164 number. A refused
 * number becomes one custom issue with `params: { regstackCode: 'PHONE_NUMBER_INVALID', reason }`.
 */
export const phoneNumberSchema: z.ZodPipe<z.ZodString, z.ZodTransform<string, string>> = z
  .string({ error: (issue) => (issue.input === undefined ? MESSAGES.empty : MESSAGES.not_a_string) })
  .transform((value, ctx) => {
    const result = canonicalizePhone(value);
    if (result.ok) return result.phone;
    ctx.addIssue({
      code: 'custom',
      message: result.message,
      params: { regstackCode: 'PHONE_NUMBER_INVALID', reason: result.reason },
    });
    return z.NEVER;
  });

/** What `maskPhone` returns for anything that is not canonical E.164: nothing of the input is echoed. */
const UNMASKABLE = '+•••';

/**
 * Masks an E.164 number for logs, notifications and non-owner views (R62): keeps the first three characters
 * (`+` and the first two digits, which for most numbers is the country code or part of it) and the last two
 * digits, and replaces every digit in between with one `•`, so `+447911123456` → `+44••••••••56`. The owner
 * can recognise their number; a reader learns the country and little else. Short numbers keep only the `+`
 * and the last two digits, so at least half of the digits are always hidden. Input that is not canonical E.164
 * is never echoed.
 */
export function maskPhone(e164: string): string {
  if (typeof e164 !== 'string' || !E164.test(e164)) return UNMASKABLE;
  const digits = e164.length - 1;
  const keepStart = digits >= 8 ? 3 : 1;
  const keepEnd = digits >= 4 ? 2 : 0;
  return `${e164.slice(0, keepStart)}${'•'.repeat(e164.length - keepStart - keepEnd)}${e164.slice(e164.length - keepEnd)}`;
}

/**
 * The ISO 3166-1 alpha-2 region a canonical E.164 number belongs to, as libphonenumber-js reads it (`+442079460958`
 * → `GB`, `+15146667777` → `CA`), or `undefined` when no single region can be told — a number that is not valid, or a
 * non-geographic one such as `+800`. The SMS country allowlist (R21) matches on this.
 */
export function phoneRegion(e164: string): string | undefined {
  if (typeof e164 !== 'string' || !E164.test(e164)) return undefined;
  const parsed = parsePhoneNumberFromString(e164);
  if (parsed === undefined || !parsed.isValid()) return undefined;
  return parsed.country;
}
