/**
 * Every working key regstack uses is derived from the one master secret (`jwt_secret`) with HKDF-SHA256 and a
 * purpose-specific `info` string, so a key made for one purpose (signing access tokens, MFA-pending tokens,
 * hashing OTP codes, sealing the outbox) is useless for any other, and the master secret itself never signs
 * or encrypts anything.
 */
import { hkdfSync } from 'node:crypto';

/** Shortest accepted master secret, in characters (R32; mirrors `MIN_JWT_SECRET_LENGTH` in the config schema). */
export const MIN_SECRET_LENGTH = 32;

/**
 * HKDF-SHA256 salt for every key regstack derives from the master secret: the UTF-8 bytes of this string. Fixed and
 * public on purpose (RFC 5869 §3.1 allows a non-secret constant salt); the master secret is the only secret input.
 * Changing it, or an info string below, changes every derived key and invalidates every outstanding token.
 */
export const HKDF_SALT = 'regstack/v1/hkdf-salt';

/** HKDF `info` strings, one per purpose: a key derived for one purpose is useless for any other. */
export const HKDF_INFO = Object.freeze({
  accessToken: 'regstack/v1/access-token',
  mfaPending: 'regstack/v1/mfa-pending',
  otpCode: 'regstack/v1/otp-code',
  outboxSeal: 'regstack/v1/outbox-seal',
  adminCursor: 'regstack/v1/admin-cursor',
} as const);

/** Refuses a master secret shorter than {@link MIN_SECRET_LENGTH} characters (R32). */
export function assertSecretStrength(secret: unknown, label = 'secret'): asserts secret is string {
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) {
    throw new Error(
      `regstack: the JWT ${label} must be a string of at least ${MIN_SECRET_LENGTH} characters (R32: ≥ 256 bits of ` +
        'CSPRNG output), e.g. the output of: ' +
        `node -e "console.log(require('node:crypto').randomBytes(32).toString('base64url'))"`,
    );
  }
}

/**
 * HKDF-SHA256(ikm = UTF-8 of `secret`, salt = {@link HKDF_SALT}, info, length) — the one way regstack turns the
 * master secret into a working key.
 */
export function deriveSubkey(secret: string, info: string, length: number): Uint8Array<ArrayBuffer> {
  assertSecretStrength(secret);
  return new Uint8Array(hkdfSync('sha256', secret, HKDF_SALT, info, length));
}
