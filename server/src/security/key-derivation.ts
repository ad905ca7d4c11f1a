/**
 * Every working key regstack uses is derived from the one master secret (`jwt_secret`) with HKDF-SHA256 and a
 * purpose-specific `info` string, so a key made for one purpose (signing access tokens, MFA-pending tokens,
 * hashing OTP codes, sealing the outbox, the pages' CSRF tokens) is useless for any other, and the master secret itself never signs
 * or encrypts anything. The secret's strength (R32) is checked once, by the config schema: only a `JwtSecret`
 * that passed it can be derived from.
 */
import { hkdfSync } from 'node:crypto';
import type { z } from 'zod';

/**
 * A master secret (`jwtSecret` or one of `jwtPreviousSecrets`) that passed the config schema's length check (R32),
 * the only check of it: the schema's `.brand<'JwtSecret'>()` is what makes a string one. Key derivation — so tokens,
 * sealing and OTP hashing — takes only this type, so an unchecked string cannot reach it.
 */
export type JwtSecret = string & z.$brand<'JwtSecret'>;

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
  totpSeal: 'regstack/v1/totp-seal',
  adminCursor: 'regstack/v1/admin-cursor',
  pageCsrf: 'regstack/v1/page-csrf',
} as const);

/**
 * HKDF-SHA256(ikm = UTF-8 of `secret`, salt = {@link HKDF_SALT}, info, length) — the one way regstack turns the
 * master secret into a working key.
 */
export function deriveSubkey(secret: JwtSecret, info: string, length: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array(hkdfSync('sha256', secret, HKDF_SALT, info, length));
}
