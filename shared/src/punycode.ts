/**
 * Punycode decoding (RFC 3492 §6.2), written from the RFC for one job: turning the A-labels that the
 * WHATWG `URL` parser produces back into the Unicode labels regstack stores as the canonical email domain
 * (R53). Browsers expose IDNA ToASCII through `URL` but no ToUnicode, and `node:punycode`/`node:url` are not
 * browser-safe, so `@regstack/shared` carries this small decoder. It never sees untrusted input unchecked:
 * callers pass only labels that `URL` has already accepted, and `email.ts` re-encodes the result through
 * `URL` and requires the original A-label back, so a decoding bug can only reject an address, never admit one.
 * Internal: not part of the package's public exports.
 */

const BASE = 36;
const T_MIN = 1;
const T_MAX = 26;
const SKEW = 38;
const DAMP = 700;
const INITIAL_BIAS = 72;
const INITIAL_N = 0x80;
// RFC 3492 §6.4 overflow handling, with a bound well inside JavaScript's exact-integer range.
const MAX_INT = 0x7fffffff;

/** Bias adaptation, RFC 3492 §6.1. */
function adapt(delta: number, numPoints: number, firstTime: boolean): number {
  let d = firstTime ? Math.floor(delta / DAMP) : Math.floor(delta / 2);
  d += Math.floor(d / numPoints);
  let k = 0;
  while (d > ((BASE - T_MIN) * T_MAX) >> 1) {
    d = Math.floor(d / (BASE - T_MIN));
    k += BASE;
  }
  return k + Math.floor(((BASE - T_MIN + 1) * d) / (d + SKEW));
}

/** The value of one base-36 Punycode digit (`a`–`z` = 0–25, `0`–`9` = 26–35, case-insensitive), or -1. */
function digitValue(codeUnit: number): number {
  if (codeUnit >= 0x30 && codeUnit <= 0x39) return codeUnit - 0x30 + 26;
  if (codeUnit >= 0x41 && codeUnit <= 0x5a) return codeUnit - 0x41;
  if (codeUnit >= 0x61 && codeUnit <= 0x7a) return codeUnit - 0x61;
  return -1;
}

/**
 * Decodes a Punycode string (the part of an A-label after `xn--`) to Unicode, or returns `undefined` when
 * it is malformed (bad digit, truncated, overflow, or a surrogate / out-of-range code point).
 */
export function decodePunycode(input: string): string | undefined {
  const output: number[] = [];
  // Basic code points are everything before the last delimiter; the delimiter itself is not copied.
  const delimiter = input.lastIndexOf('-');
  for (let j = 0; j < Math.max(delimiter, 0); j++) {
    const codeUnit = input.charCodeAt(j);
    if (codeUnit >= 0x80) return undefined;
    output.push(codeUnit);
  }

  let n = INITIAL_N;
  let bias = INITIAL_BIAS;
  let i = 0;
  let position = delimiter > 0 ? delimiter + 1 : 0;
  while (position < input.length) {
    const oldI = i;
    let weight = 1;
    for (let k = BASE; ; k += BASE) {
      if (position >= input.length) return undefined;
      const digit = digitValue(input.charCodeAt(position++));
      if (digit < 0) return undefined;
      if (digit > Math.floor((MAX_INT - i) / weight)) return undefined;
      i += digit * weight;
      const threshold = k <= bias ? T_MIN : k >= bias + T_MAX ? T_MAX : k - bias;
      if (digit < threshold) break;
      if (weight > Math.floor(MAX_INT / (BASE - threshold))) return undefined;
      weight *= BASE - threshold;
    }
    const length = output.length + 1;
    bias = adapt(i - oldI, length, oldI === 0);
    if (Math.floor(i / length) > MAX_INT - n) return undefined;
    n += Math.floor(i / length);
    i %= length;
    if (n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff)) return undefined;
    output.splice(i, 0, n);
    i++;
  }
  return String.fromCodePoint(...output);
}
