/**
 * The server-side half of the new-password policy (R1, R2, R5): the length limits from `@regstack/shared`,
 * then a common/breached-password list, then context words (the service name, the email's local part and
 * "regstack"). Each refusal carries a stable code and a message that says why (NIST SP 800-63B: the verifier
 * "SHALL provide the reason for rejection"). The list is the `passwords-common` dictionary of
 * `@zxcvbn-ts/language-common` (4.x: 49,233 lowercase entries, 3–20 characters, ordered by frequency),
 * the list the zxcvbn-ts strength estimator ships; it is decompressed and loaded into a `Set` on the first
 * check and shared by every checker in the process (it is immutable data). Because padding a short common
 * password with digits is the first thing a guessing tool tries, a password is also refused when it is a
 * listed password with only non-letters (digits, symbols, spaces, emoji) before or after it, or a listed
 * password repeated (`password1234`, `!!dragon2024`, `qwertyqwerty`). Every check is bounded (R5, Kratos
 * HackerOne #3866310): it runs only on passwords that already passed the length limit; the variant search
 * looks at no more than ~4,200 candidate cores of a password of at most 128 code points, each costing a set
 * look-up and an early-exit repetition scan, so even the worst input costs a small fixed amount; the context
 * check is a plain substring test against a handful of words capped at 64 characters. No edit distance anywhere.
 */
import { createRequire } from 'node:module';
import {
  checkPasswordLength,
  normalizePassword,
  type RegstackErrorCode,
  resolvePasswordPolicy,
} from '@regstack/shared';

export type PasswordPolicyProblemCode = Extract<
  RegstackErrorCode,
  'PASSWORD_TOO_SHORT' | 'PASSWORD_TOO_LONG' | 'PASSWORD_TOO_COMMON' | 'PASSWORD_CONTAINS_PERSONAL_INFO'
>;

/** Why a new password was refused: a stable code, and a message for the user that states the reason. */
export interface PasswordPolicyProblem {
  readonly code: PasswordPolicyProblemCode;
  readonly message: string;
}

/** What the checker knows about the account, for the context-word check. */
export interface PasswordContext {
  /** The account's email address (canonical or as typed); its local part is a context word when ≥ 4 characters. */
  email?: string;
}

export interface PasswordPolicyChecker {
  /**
   * Checks a *new* password (registration, change, reset). Returns `null` when it is acceptable, otherwise
   * the first problem found, in this order: length, common list, context words. `password` may be raw or
   * already NFKC-normalized (normalization is idempotent); comparisons are case-insensitive.
   */
  check(password: string, context?: PasswordContext): PasswordPolicyProblem | null;
}

export interface PasswordPolicyCheckerOptions {
  /**
   * Fewest code points (after NFKC); never below 8 (R1).
   * @default 12
   */
  minLength?: number;
  /**
   * Most code points (after NFKC); at least 64 (R2).
   * @default 128
   */
  maxLength?: number;
  /**
   * Most UTF-8 bytes, the cap that keeps oversized input away from the KDF (R2).
   * @default 512
   */
  maxBytes?: number;
  /**
   * The service's name (the `app_name` setting): a password containing it, or any of its words of four or
   * more characters, is refused. "regstack" is always refused as well.
   * @default undefined (only "regstack")
   */
  appName?: string;
}

// ── The common-password list ───────────────────────────────────────────────────────────────────────────────

interface CommonPasswordList {
  readonly entries: ReadonlySet<string>;
  readonly shortest: number;
  readonly longest: number;
}

/** The list must be at least this big, so a package update that empties or renames it fails loudly. */
const MIN_LIST_SIZE = 10_000;
let commonPasswordList: CommonPasswordList | undefined;

function loadCommonPasswords(): CommonPasswordList {
  if (commonPasswordList) return commonPasswordList;
  // Loaded on first use rather than at import: decompressing ~49k entries costs noticeable start-up time and
  // several MB, which a process that never registers anyone (a worker, the CLI) should not pay.
  const require = createRequire(import.meta.url);
  const { dictionary } = require('@zxcvbn-ts/language-common') as typeof import('@zxcvbn-ts/language-common');
  const raw: unknown = dictionary?.['passwords-common'];
  if (!Array.isArray(raw) || raw.length < MIN_LIST_SIZE) {
    throw new Error('@zxcvbn-ts/language-common no longer ships its passwords-common list; cannot check passwords');
  }
  const entries = new Set<string>();
  let shortest = Number.POSITIVE_INFINITY;
  let longest = 0;
  for (const item of raw) {
    if (typeof item !== 'string' || item.length === 0) continue;
    const entry = foldCase(item);
    entries.add(entry);
    const length = countCodePoints(entry);
    shortest = Math.min(shortest, length);
    longest = Math.max(longest, length);
  }
  commonPasswordList = { entries, shortest, longest };
  return commonPasswordList;
}

/** The comparison form: NFKC (as stored passwords get, R3) then locale-independent lowercase. */
function foldCase(text: string): string {
  return normalizePassword(text).toLowerCase();
}

function countCodePoints(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

const LETTER = /^\p{L}$/u;
/** Shortest listed password that a variant may be built around: shorter cores ("abc") are everywhere. */
const MIN_VARIANT_CORE = 4;
/** The variant search is skipped above this many code points (the configurable maximum is 128 anyway). */
const MAX_VARIANT_ANALYSIS = 128;

/**
 * True when `chars[start..end)` is a listed password, or a listed password repeated two or more times. The
 * repetition test compares in place with an early exit, once per unit length that divides the span, so a
 * candidate costs O(longest × length) in the worst case and usually far less.
 */
function isListedOrRepeated(chars: readonly string[], start: number, end: number, list: CommonPasswordList): boolean {
  const length = end - start;
  if (length <= list.longest && list.entries.has(chars.slice(start, end).join(''))) return true;
  const maxUnit = Math.min(list.longest, Math.floor(length / 2));
  for (let unit = list.shortest; unit <= maxUnit; unit += 1) {
    if (length % unit !== 0) continue;
    let repeats = true;
    for (let i = start + unit; i < end && repeats; i += 1) repeats = chars[i] === chars[i - unit];
    if (repeats && list.entries.has(chars.slice(start, start + unit).join(''))) return true;
  }
  return false;
}

/**
 * Finds whether the case-folded password is a listed password (`'listed'`), or a listed password — possibly
 * repeated — with only non-letters around it (`'variant'`). The letters anchor the search: a candidate core
 * keeps every letter and drops some of the leading and trailing non-letters, so the number of candidates is
 * at most (leading + 1) × (trailing + 1). A password with no letters at all (digits, symbols, emoji) matches
 * only when the listed part is at least half of it, otherwise every long random PIN would contain some
 * listed run of digits.
 */
function matchCommonPassword(folded: string, list: CommonPasswordList): 'listed' | 'variant' | null {
  if (list.entries.has(folded)) return 'listed';
  const chars = Array.from(folded);
  const n = chars.length;
  if (n > MAX_VARIANT_ANALYSIS) return null;
  const firstLetter = chars.findIndex((c) => LETTER.test(c));
  const hasLetters = firstLetter !== -1;
  const lastLetter = chars.findLastIndex((c) => LETTER.test(c));
  const maxStart = hasLetters ? firstLetter : n;
  const minEnd = hasLetters ? lastLetter + 1 : 0;
  const minCore = hasLetters ? MIN_VARIANT_CORE : Math.max(MIN_VARIANT_CORE, Math.ceil(n / 2));
  for (let start = 0; start <= maxStart; start += 1) {
    for (let end = n; end >= Math.max(minEnd, start + minCore); end -= 1) {
      if (isListedOrRepeated(chars, start, end, list)) return 'variant';
    }
  }
  return null;
}

// ── Context words ──────────────────────────────────────────────────────────────────────────────────────────

/** Context words shorter than this are not checked: "jo" or "app" would refuse half of all passwords. */
const MIN_CONTEXT_WORD = 4;
/** Context words are cut to this many UTF-16 units, which bounds the substring test (R5). */
const MAX_CONTEXT_WORD = 64;
/** An email or service name is looked at only up to this many UTF-16 units (email addresses are at most 254). */
const MAX_CONTEXT_INPUT = 320;

/** The name itself, the name without separators, and each word of it, all case-folded and bounded. */
function contextWordsOf(text: string): string[] {
  const folded = foldCase(text.slice(0, MAX_CONTEXT_INPUT));
  const parts = folded.split(/[^\p{L}\p{N}]+/u).filter((part) => part.length > 0);
  const words = new Set([folded, parts.join(''), ...parts]);
  return [...words]
    .map((word) => word.slice(0, MAX_CONTEXT_WORD))
    .filter((word) => countCodePoints(word) >= MIN_CONTEXT_WORD);
}

/** The local part of an email (before the last `@`), without a `+tag`; undefined when there is none. */
function emailLocalPart(email: string): string | undefined {
  const bounded = email.slice(0, MAX_CONTEXT_INPUT);
  const at = bounded.lastIndexOf('@');
  if (at <= 0) return undefined;
  const local = bounded.slice(0, at);
  const plus = local.indexOf('+');
  return plus > 0 ? local.slice(0, plus) : local;
}

const MESSAGES = {
  listed:
    'This password is on a list of common or breached passwords, so it would be among the first guessed: ' +
    'choose a different one (a few unrelated words make a strong password)',
  variant:
    'This password is a common password with only digits or symbols added, or repeated, which guessing tools ' +
    'try first: choose a different one (a few unrelated words make a strong password)',
  email: 'This password contains part of your email address, which is easy to guess: choose a different one',
  service: 'This password contains the name of this service, which is easy to guess: choose a different one',
} as const;

/**
 * Creates the new-password checker. Throws a `RangeError` at construction when the length limits break R1/R2
 * (via `resolvePasswordPolicy`), so a bad configuration fails at startup.
 * @param options Length limits and the service name.
 * @default {} (12–128 code points, 512 bytes, context word "regstack")
 */
export function createPasswordPolicyChecker(options: PasswordPolicyCheckerOptions = {}): PasswordPolicyChecker {
  // resolvePasswordPolicy takes `undefined` as "use the default".
  const { minLength, maxLength, maxBytes } = options;
  const policy = resolvePasswordPolicy({ minLength, maxLength, maxBytes });
  const serviceWords = [...new Set([...contextWordsOf(options.appName ?? ''), 'regstack'])];

  return {
    check(password, context = {}) {
      // Length first, with the shared rules (R1, R2): it also bounds every check below.
      const lengthProblem = checkPasswordLength(password, policy);
      if (lengthProblem) return { code: lengthProblem.code, message: lengthProblem.message };

      const folded = foldCase(password);
      const match = matchCommonPassword(folded, loadCommonPasswords());
      if (match) return { code: 'PASSWORD_TOO_COMMON', message: MESSAGES[match] };

      const local = context.email === undefined ? undefined : emailLocalPart(context.email);
      if (local !== undefined && contextWordsOf(local).some((word) => folded.includes(word))) {
        return { code: 'PASSWORD_CONTAINS_PERSONAL_INFO', message: MESSAGES.email };
      }
      if (serviceWords.some((word) => folded.includes(word))) {
        return { code: 'PASSWORD_CONTAINS_PERSONAL_INFO', message: MESSAGES.service };
      }
      return null;
    },
  };
}
