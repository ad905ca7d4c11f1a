/**
 * Text measurement shared by the email, password, phone and name rules. Limits in SECURITY.md are
 * stated in two units — Unicode code points for what a person typed (R1, R2: "each Unicode code point
 * SHALL be counted as a single character") and UTF-8 octets for what a protocol or a KDF receives
 * (R2's byte cap, R55's 254/64-octet email limits) — and JavaScript's `.length` is neither (it counts
 * UTF-16 code units), so every rule measures through these helpers. They are pure and browser-safe:
 * no `Buffer`, no allocation of an encoded copy.
 */

/**
 * Counts Unicode code points (a surrogate pair is one; an emoji such as 😀 is one, R1). A lone
 * surrogate counts as one, which is moot because every caller rejects lone surrogates first.
 */
export function countCodePoints(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // A high surrogate followed by a low surrogate is a single code point: skip the low half.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

/**
 * Length of `text` once encoded as UTF-8, in octets, computed without encoding it. A lone surrogate
 * counts as 3 octets, the size of the U+FFFD that `TextEncoder` would write in its place.
 */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    } else bytes += 3;
  }
  return bytes;
}

/**
 * True when `text` holds an unpaired UTF-16 surrogate. Such a string has no UTF-8 encoding: encoders
 * silently substitute U+FFFD, so two different inputs would become one stored or hashed value.
 */
export function hasLoneSurrogate(text: string): boolean {
  return /\p{Cs}/u.test(text);
}
