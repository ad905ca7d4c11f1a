/**
 * One-time secrets: the link tokens of email verification, password reset and email change (R22–R24), and the
 * 6-digit SMS codes of MFA (R48). A link token is 32 bytes of CSPRNG output in base64url (256 bits, 43 characters);
 * the raw token exists only in the outgoing email — regstack stores and looks up SHA-256(token) and never logs the
 * token (R23). A plain, unsalted SHA-256 is enough here because the token carries 256 bits of entropy: nothing short
 * of breaking SHA-256 recovers it from the hash (ASVS5 6.5.2 allows a standard hash from 112 bits up). A 6-digit code
 * has only ~20 bits, so its plain hash would fall to a million guesses offline; codes are therefore hashed with
 * HMAC-SHA256 under a key derived from the master secret (HKDF, its own `info`), and bound to their challenge id so a
 * code is worth nothing outside the challenge it was sent for (R48).
 */
import { createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { deriveSubkey, HKDF_INFO, type JwtSecret } from './key-derivation.ts';

/** Bytes of CSPRNG output in a one-time token (R22: ≥ 128 bits; 32 bytes = 256 bits). */
export const ONE_TIME_TOKEN_BYTES = 32;
/** Length of a one-time token: 32 bytes in unpadded base64url. */
export const ONE_TIME_TOKEN_LENGTH = 43;
/** What a well-formed one-time token looks like; anything else can be refused before a lookup (R55). */
export const ONE_TIME_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** What a well-formed SMS code looks like: exactly six ASCII digits (R55). */
export const OTP_CODE_PATTERN = /^[0-9]{6}$/;

/** A fresh link token and the hash to store for it. Put `token` in the email; persist only `hash`. */
export function generateOneTimeToken(): { token: string; hash: string } {
  const token = randomBytes(ONE_TIME_TOKEN_BYTES).toString('base64url');
  return { token, hash: hashOneTimeToken(token) };
}

/**
 * SHA-256 of a link token, as 64 lowercase hex characters — the lookup key at rest (R23). The lookup is an indexed
 * equality on this hash, so its timing can at most leak bits of the hash, never of the token; no constant-time
 * compare is needed.
 */
export function hashOneTimeToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A 6-digit SMS code, uniform over 000000–999999 from the CSPRNG (`randomInt` rejects modulo bias) (R48). */
export function generateOtpCode(): string {
  return randomInt(0, 1_000_000).toString().padStart(6, '0');
}

export interface OtpHasher {
  /** HMAC-SHA256(k_otp, [challengeId, code]) as 64 lowercase hex characters: the value stored for a code. */
  hashOtpCode(code: string, challengeId: string): string;
  /** True when `code` hashes, for `challengeId`, to `storedHash`; compared in constant time. */
  verifyOtpCode(code: string, challengeId: string, storedHash: string): boolean;
}

/**
 * Binds code hashes to the master secret: the key is HKDF-SHA256(secret, info `regstack/v1/otp-code`), so a leaked
 * `mfa_codes` table cannot be brute-forced without the secret. The HMAC input is the JSON array
 * `[challengeId, code]` — an unambiguous encoding, so no (challengeId, code) pair can collide with another.
 */
export function createOtpHasher(secret: JwtSecret): OtpHasher {
  const key = deriveSubkey(secret, HKDF_INFO.otpCode, 32);

  function hashOtpCode(code: string, challengeId: string): string {
    return createHmac('sha256', key)
      .update(JSON.stringify([challengeId, code]), 'utf8')
      .digest('hex');
  }

  return {
    hashOtpCode,
    verifyOtpCode(code, challengeId, storedHash) {
      const actual = Buffer.from(hashOtpCode(code, challengeId), 'hex');
      const expected = Buffer.from(storedHash, 'hex');
      // Constant-time: an early-exit compare would tell an attacker, through timing, how many leading bytes of
      // their guess's HMAC match the stored one. Lengths are public (always 32 bytes for a well-formed hash).
      return expected.length === actual.length && timingSafeEqual(actual, expected);
    },
  };
}
