/**
 * What the admin user search compares (issue 17): the one folding rule for stored name words, the email prefix and
 * the search text, shared by the repository, the migrations' backfill and the bench seeder, so the three backends
 * and a backfilled row all hold exactly what a live write would. Folding is NFKC, then JavaScript's locale-free
 * lower case (the same steps as the canonical email, R53), with the Greek final sigma read as a sigma (a lower case
 * that depends on the letter's position would keep "ΟΔΥΣ" from finding "Οδυσσεύς"). A word is a run of letters,
 * marks and digits; everything else separates words, so `%`, `_`, `.*` or `$where` in a search are no word at all.
 * Changing this rule means a migration that rebuilds `user_name_terms`.
 */

/** Longest stored word, in code points: an index key of bounded size; a longer search word is cut the same way. */
export const NAME_TERM_MAX = 64;

/**
 * The largest code point: a string starting with `prefix` sorts at or after `prefix` and before `prefix` +
 * U+10FFFF in code point order, which is the byte order of UTF-8 (SQLite's BINARY, PostgreSQL's "C", MongoDB's own).
 * Stored emails and words never hold it (a noncharacter: refused in emails, not a letter or digit).
 */
const PAST_EVERY_CHARACTER = '\u{10FFFF}';

const WORD = /[\p{L}\p{M}\p{N}]+/gu;

/** `text` folded as a canonical email is (see the header). */
function fold(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

/** The distinct words of a full name, folded and cut to `NAME_TERM_MAX`: the rows `user_name_terms` holds for it. */
export function nameTerms(fullName: string | null | undefined): string[] {
  if (!fullName) return [];
  const words = fold(fullName).replace(/ς/g, 'σ').match(WORD) ?? [];
  return [...new Set(words.map((w) => Array.from(w).slice(0, NAME_TERM_MAX).join('')))];
}

/** The half-open range `[from, to)` of every string that starts with `prefix`, in code point (UTF-8 byte) order. */
export function prefixRange(prefix: string): { from: string; to: string } {
  return { from: prefix, to: prefix + PAST_EVERY_CHARACTER };
}

/**
 * A search, as the list runs it: `emailPrefix` — the folded, trimmed text, matched as the start of the canonical
 * email; `words` — its words (as `nameTerms` cuts them), each of which must start some word of the name. A user
 * matches on either. Null when nothing is left to search for (every user matches).
 */
export interface UserSearch {
  emailPrefix: string;
  words: string[];
}

export function parseUserSearch(search: string | undefined): UserSearch | null {
  const emailPrefix = search === undefined ? '' : fold(search).trim();
  if (emailPrefix === '') return null;
  return { emailPrefix, words: nameTerms(emailPrefix) };
}
