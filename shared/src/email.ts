/**
 * Email canonicalization (R53–R55). Every address regstack stores, compares, counts lockouts against or sends
 * mail to goes through `canonicalizeEmail` first, and uniqueness is enforced on its output, so two spellings
 * of one mailbox (`ＡＬＩＣＥ@Example.COM`, `alice@example.com`) can never become two accounts (R53, R66).
 * The order is the point: normalize *before* validating, because validating first is exactly how Auth.js let a
 * full-width `＠` through (GHSA-7rqj-j65f-68wh). The rules refuse, rather than repair, every construct that
 * mailers parse differently from us — quoted local parts, display names, comments, extra `@`, CR/LF
 * (R54, GHSA-5jpx-9hw9-2fx4, CVE-2022-35924) — and anything invisible that could make two addresses look alike.
 *
 * Canonical form (documented choice): the local part is NFKC-normalized and lowercased *in full*. RFC 5321 lets
 * a server treat `Alice` and `alice` as different mailboxes, but practically no provider does, and the Python
 * regstack lowercases the whole address too; treating them as one account is the safer error. The domain is
 * stored as Unicode text (U-labels), not Punycode: exactly the labels that IDNA (UTS #46, as implemented by
 * the WHATWG `URL` parser) maps it to, decoded back from their A-labels. So `BÜCHER.de`, `bücher.de` and
 * `xn--bcher-kva.de` all canonicalize to `bücher.de`, and a user sees the domain they typed. Mailers
 * (nodemailer) convert it back to Punycode when they need to. Browser-safe: only `String.prototype.normalize`,
 * regular expressions and the global `URL` are used — never `node:url` or `node:punycode`.
 */
import { z } from 'zod';
import { decodePunycode } from './punycode.ts';
import { hasLoneSurrogate, utf8ByteLength } from './text.ts';

/** RFC 5321 §4.5.3.1.3: a 256-octet path minus the angle brackets (R55). */
export const EMAIL_MAX_BYTES = 254;
/** RFC 5321 §4.5.3.1.1: the local part is at most 64 octets (R55). */
export const EMAIL_LOCAL_PART_MAX_BYTES = 64;

/**
 * Inputs longer than this many UTF-16 code units are refused before any Unicode work is done. NFKC can expand
 * a code point up to 18-fold, so the 254-octet limit is checked on the normalized text too; this bound only
 * keeps an oversized request from costing a normalization pass (R55).
 */
const MAX_RAW_INPUT_LENGTH = 1024;
/** DNS limits: 63 octets per label, 253 for the dotted name (RFC 1035 §2.3.4, without the root dot). */
const MAX_LABEL_LENGTH = 63;
const MAX_DOMAIN_LENGTH = 253;

/** Why an address was refused. A closed set: the server and the pages may map these to their own wording. */
export type EmailRejectionReason =
  | 'not_a_string'
  | 'empty'
  | 'too_long'
  | 'line_break'
  | 'control_character'
  | 'invisible_character'
  | 'invalid_character'
  | 'quoted_local_part'
  | 'display_name'
  | 'comment'
  | 'whitespace'
  | 'at_sign'
  | 'forbidden_character'
  | 'ip_literal'
  | 'local_part_empty'
  | 'local_part_too_long'
  | 'local_part_dots'
  | 'domain_missing'
  | 'domain_dots'
  | 'domain_no_dot'
  | 'domain_invalid_character'
  | 'domain_numeric_tld'
  | 'domain_label_too_long'
  | 'domain_hyphen'
  | 'domain_too_long'
  | 'domain_invalid';

/** The outcome of `canonicalizeEmail`: the canonical address, or the first rule it broke. */
export type CanonicalEmailResult =
  | { readonly ok: true; readonly email: string }
  | { readonly ok: false; readonly reason: EmailRejectionReason; readonly message: string };

/** The default human message for each reason; a few reasons name the offending character instead. */
const MESSAGES: Readonly<Record<EmailRejectionReason, string>> = {
  not_a_string: 'Email address must be a string',
  empty: 'Email address is required',
  too_long: `Email address is longer than ${EMAIL_MAX_BYTES} bytes`,
  line_break: 'Email address must not contain line breaks',
  control_character: 'Email address must not contain control characters',
  invisible_character: 'Email address must not contain invisible or text-direction characters',
  invalid_character: 'Email address contains an unassigned, private-use or malformed character',
  quoted_local_part: 'Quoted local parts are not accepted',
  display_name: 'Enter only the email address, without a name or angle brackets',
  comment: 'Comments in parentheses are not accepted in an email address',
  whitespace: 'Email address must not contain spaces',
  at_sign: 'Email address must contain exactly one @',
  forbidden_character: 'Email address contains a character that is not allowed',
  ip_literal: 'IP addresses are not accepted as an email domain',
  local_part_empty: 'Email address needs a name before the @',
  local_part_too_long: `The part before the @ is longer than ${EMAIL_LOCAL_PART_MAX_BYTES} bytes`,
  local_part_dots: 'The part before the @ must not start or end with a dot or contain two dots in a row',
  domain_missing: 'Email address needs a domain after the @',
  domain_dots: 'The domain must not start or end with a dot or contain two dots in a row',
  domain_no_dot: 'The domain must contain a dot, as in example.com',
  domain_invalid_character: 'The domain may contain only letters, digits, hyphens and dots',
  domain_numeric_tld: 'The domain must end in a name, not a number',
  domain_label_too_long: `Each part of the domain must be at most ${MAX_LABEL_LENGTH} characters long`,
  domain_hyphen: 'Parts of the domain must not start or end with a hyphen',
  domain_too_long: `The domain is longer than ${MAX_DOMAIN_LENGTH} characters`,
  domain_invalid: 'The domain is not a valid domain name',
};

/** A refusal, shaped so both the address and the domain results can return it. */
type Rejection = Extract<CanonicalEmailResult, { ok: false }>;

function reject(reason: EmailRejectionReason, message: string = MESSAGES[reason]): Rejection {
  return { ok: false, reason, message };
}

// WHATWG "ASCII whitespace": the only characters trimmed, and only at the ends. Anything else is an error.
const SURROUNDING_ASCII_WHITESPACE = /^[\t\n\f\r ]+|[\t\n\f\r ]+$/g;
// CR/LF are the header-injection characters (`a@b.com\r\nBcc: x@y`); NEL and the Unicode line/paragraph
// separators are line breaks to some parsers too.
const LINE_BREAK = /[\r\n\u0085\u2028\u2029]/u;
// C0 controls, DEL and C1 controls.
const CONTROL = /\p{Cc}/u;
// Invisible and direction-changing characters: zero-width U+200B–U+200F, bidi embeddings/overrides
// U+202A–U+202E and isolates U+2066–U+2069, word joiner and invisible operators U+2060–U+2064, BOM U+FEFF,
// soft hyphen U+00AD — all listed explicitly — plus every other format character (Cf) and every
// default-ignorable code point (Hangul fillers, variation selectors, tag characters, CGJ), none of which
// renders, so each could make two distinct stored addresses look identical.
const INVISIBLE =
  /[\u00AD\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF\p{Cf}\p{Default_Ignorable_Code_Point}]/u;
// Unassigned code points and noncharacters (Cn) may be assigned — and change meaning under NFKC — in a later
// Unicode version; private-use characters (Co) mean nothing portable.
const UNASSIGNED_OR_PRIVATE = /[\p{Cn}\p{Co}]/u;
const WHITESPACE = /[\s\p{Z}]/u;
// RFC 5322 "specials" that are never legal outside a quoted string; quotes, angle brackets, parentheses and
// `@` have their own, more specific reasons above.
const FORBIDDEN_CHARACTER = /[<>,;:\\[\]]/;
// Printable ASCII other than letters, digits, `-` and `.` (controls and DEL were refused earlier): `URL` would
// percent-decode, cut at `/?#`, or accept `_`, so none of it may reach the parser.
const DOMAIN_FORBIDDEN_ASCII = /[\u0020-\u002C\u002F\u003A-\u0040\u005B-\u0060\u007B-\u007E]/;
const ALL_DIGITS = /^[0-9]+$/;
const LDH_LABEL = /^[a-z0-9-]+$/;
// Ideographic full stop: a label separator in IDNA (UTS #46 maps it to `.`), typed by CJK input methods;
// NFKC already maps the full-width and half-width full stops (U+FF0E, U+FF61) to `.` and U+3002.
const IDEOGRAPHIC_FULL_STOP = /\u3002/g;

/** Trims surrounding ASCII whitespace (only), after NFKC so that U+3000 and friends count as spaces. */
function normalizeInput(raw: string): string {
  return raw.normalize('NFKC').replace(SURROUNDING_ASCII_WHITESPACE, '');
}

/**
 * "Equal up to case", compared both ways because UTS #46 case-*folds* while `toLowerCase` lower-cases: typed
 * `ΑΣ` folds to `ασ` but lowercases to `ας` (final sigma), yet both sides upper-case to `ΑΣ`.
 */
function equalIgnoringCase(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase() || a.toUpperCase() === b.toUpperCase();
}

/** The ASCII hostname the WHATWG URL parser (UTS #46 ToASCII) makes of `domain`, or `undefined` if it refuses. */
function toAsciiHostname(domain: string): string | undefined {
  try {
    return new URL(`http://${domain}/`).hostname;
  } catch {
    return undefined;
  }
}

/**
 * Validates the part after `@` (already NFKC-normalized) and returns its canonical Unicode form. IDNA validity
 * is delegated to the platform's `URL` parser, which implements UTS #46 in every browser and in Node; regstack
 * adds the DNS rules `URL` deliberately skips (hyphens, label lengths, LDH characters) and refuses any mapping
 * beyond case and Punycode, so what is stored is what the user typed.
 */
function canonicalizeDomain(input: string): { readonly ok: true; readonly domain: string } | Rejection {
  if (input.length === 0) return reject('domain_missing');
  const domain = input.replace(IDEOGRAPHIC_FULL_STOP, '.');
  const labels = domain.split('.');
  if (labels.some((label) => label.length === 0)) return reject('domain_dots');
  if (labels.length < 2) return reject('domain_no_dot');
  const badAscii = DOMAIN_FORBIDDEN_ASCII.exec(domain);
  if (badAscii) {
    return reject('domain_invalid_character', `The domain must not contain "${badAscii[0]}"`);
  }
  // A numeric last label is what the URL parser reads as an IPv4 address (`127.0.0.1`, `0x7f.1`); refuse it
  // before the parser gets to rewrite it. All-numeric labels throughout means the user typed an IP.
  const topLevel = labels[labels.length - 1]!;
  if (ALL_DIGITS.test(topLevel)) {
    return labels.every((label) => ALL_DIGITS.test(label)) ? reject('ip_literal') : reject('domain_numeric_tld');
  }

  const hostname = toAsciiHostname(domain);
  if (hostname === undefined) return reject('domain_invalid');
  const asciiLabels = hostname.split('.');
  // UTS #46 may map a character to a dot or to nothing; either changes the domain's shape: refuse.
  if (asciiLabels.length !== labels.length) return reject('domain_invalid');
  if (hostname.length > MAX_DOMAIN_LENGTH) return reject('domain_too_long');

  const unicodeLabels: string[] = [];
  for (const [index, asciiLabel] of asciiLabels.entries()) {
    const typed = labels[index]!;
    if (asciiLabel.length > MAX_LABEL_LENGTH) return reject('domain_label_too_long');
    if (!LDH_LABEL.test(asciiLabel)) return reject('domain_invalid');
    if (asciiLabel.startsWith('-') || asciiLabel.endsWith('-')) return reject('domain_hyphen');
    const isALabel = asciiLabel.startsWith('xn--');
    // IDNA2008 reserves "??--" labels for encodings; only `xn--` is one.
    if (!isALabel && asciiLabel.slice(2, 4) === '--') return reject('domain_invalid');
    const unicode = isALabel ? decodePunycode(asciiLabel.slice(4)) : asciiLabel;
    if (unicode === undefined) return reject('domain_invalid');
    // The typed label must differ from IDNA's result only by case (or be that very A-label). Any other
    // mapping (`STRAẞE` → `strasse`, a compatibility character NFKC left alone) would store a domain the user
    // never typed, so it is refused rather than silently applied.
    const typedIsALabel = typed.toLowerCase().startsWith('xn--');
    if (typedIsALabel ? typed.toLowerCase() !== asciiLabel : !equalIgnoringCase(typed, unicode)) {
      return reject('domain_invalid');
    }
    unicodeLabels.push(unicode);
  }
  const canonical = unicodeLabels.join('.');
  // Round trip: the stored form must map to the same A-labels again, so storage and delivery agree (and a
  // decoder bug can only ever reject).
  if (toAsciiHostname(canonical) !== hostname) return reject('domain_invalid');
  return { ok: true, domain: canonical };
}

/**
 * Canonicalizes an email address: NFKC, trim surrounding ASCII whitespace, validate, lowercase (R53–R55).
 * Returns the canonical address, or the first rule it broke with a specific human message. The result is
 * idempotent: canonicalizing a canonical address returns it unchanged.
 */
export function canonicalizeEmail(raw: string): CanonicalEmailResult {
  if (typeof raw !== 'string') return reject('not_a_string');
  if (raw.length > MAX_RAW_INPUT_LENGTH) return reject('too_long');
  const text = normalizeInput(raw);
  if (text.length === 0) return reject('empty');
  if (utf8ByteLength(text) > EMAIL_MAX_BYTES) return reject('too_long');

  // Character classes first: these are the characters that hide or inject, whatever the structure.
  if (LINE_BREAK.test(text)) return reject('line_break');
  if (CONTROL.test(text)) return reject('control_character');
  if (INVISIBLE.test(text)) return reject('invisible_character');
  if (hasLoneSurrogate(text) || UNASSIGNED_OR_PRIVATE.test(text)) return reject('invalid_character');

  // Then the constructs mailers parse differently from us (R54), each named, before the generic checks
  // would report them less helpfully (a display name also contains a space, a quoted local part two `@`s).
  if (text.includes('"')) return reject('quoted_local_part');
  if (text.includes('<') && text.includes('>')) return reject('display_name');
  if (text.includes('(') || text.includes(')')) return reject('comment');
  if (WHITESPACE.test(text)) return reject('whitespace');

  const at = text.indexOf('@');
  if (at === -1 || at !== text.lastIndexOf('@')) return reject('at_sign');
  const localInput = text.slice(0, at);
  const domainInput = text.slice(at + 1);
  if (domainInput.startsWith('[')) return reject('ip_literal');
  const forbidden = FORBIDDEN_CHARACTER.exec(text);
  if (forbidden) return reject('forbidden_character', `Email address must not contain "${forbidden[0]}"`);

  if (localInput.length === 0) return reject('local_part_empty');
  if (localInput.startsWith('.') || localInput.endsWith('.') || localInput.includes('..')) {
    return reject('local_part_dots');
  }

  const domain = canonicalizeDomain(domainInput);
  if (!domain.ok) return domain;

  // Lowercasing can change length (`İ` → `i̇`) and, in principle, normalization: measure and check the
  // final form, and refuse the rare input whose lowercase is not itself NFKC-stable, so the stored value is a
  // fixed point and two spellings can never canonicalize to two different strings.
  const local = localInput.toLowerCase();
  if (local.normalize('NFKC') !== local) return reject('invalid_character');
  if (utf8ByteLength(local) > EMAIL_LOCAL_PART_MAX_BYTES) return reject('local_part_too_long');
  const email = `${local}@${domain.domain}`;
  if (utf8ByteLength(email) > EMAIL_MAX_BYTES) return reject('too_long');
  return { ok: true, email };
}

/**
 * A zod schema for an email address field: accepts only strings (so `{ "$ne": null }` fails, R56) and outputs
 * the canonical address from `canonicalizeEmail`. A refused address becomes one custom issue whose message is
 * the specific reason and whose `params` carry `{ regstackCode: 'VALIDATION_FAILED', reason }`.
 */
export const emailSchema = z
  .string({
    error: (issue) => (issue.input === undefined ? MESSAGES.empty : MESSAGES.not_a_string),
  })
  .transform((value, ctx) => {
    const result = canonicalizeEmail(value);
    if (result.ok) return result.email;
    ctx.addIssue({
      code: 'custom',
      message: result.message,
      params: { regstackCode: 'VALIDATION_FAILED', reason: result.reason },
    });
    return z.NEVER;
  });
