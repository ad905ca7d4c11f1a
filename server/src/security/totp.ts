/**
 * Authenticator-app codes (TOTP, RFC 6238: HMAC-SHA1, 6 digits, 30-second steps — what every authenticator app
 * reads from an `otpauth://` URI) through the maintained `otpauth` library, which compares in constant time.
 * Rule: a code is accepted for the current step or one step either side (±30 s of clock drift, RFC 6238 §5.2),
 * and `verifyTotp` returns the *step* it matched, so the caller can refuse that step — and every earlier one —
 * ever after (a code cannot be used twice). Time comes from the injected clock. The secret is 160 bits of CSPRNG
 * output (RFC 4226 §4 recommends 160); it is only ever stored sealed (sealing.ts) and never logged.
 */
import { Secret, TOTP } from 'otpauth';

const PERIOD_SECONDS = 30;
const DIGITS = 6;
/** Steps either side of now that still match (RFC 6238 §5.2 recommends at most one). */
const WINDOW = 1;
const SECRET_BYTES = 20;

/** A new shared secret, base32 (the form apps and `otpauth://` URIs use). */
export function generateTotpSecret(): string {
  return new Secret({ size: SECRET_BYTES }).base32;
}

/** The `otpauth://totp/…` URI an authenticator app enrols from. */
export function totpUri(secret: string, issuer: string, label: string): string {
  return new TOTP({
    issuer,
    label,
    secret: Secret.fromBase32(secret),
    digits: DIGITS,
    period: PERIOD_SECONDS,
    algorithm: 'SHA1',
  }).toString();
}

/** The time step `code` is valid for at `now` (±1 step), or null. */
export function verifyTotp(secret: string, code: string, now: Date): number | null {
  const timestamp = now.getTime();
  const delta = TOTP.validate({
    token: code,
    secret: Secret.fromBase32(secret),
    digits: DIGITS,
    period: PERIOD_SECONDS,
    timestamp,
    window: WINDOW,
  });
  return delta === null ? null : TOTP.counter({ period: PERIOD_SECONDS, timestamp }) + delta;
}

/** The instant after which no code of `step` can match any more (its window has passed). */
export function totpStepExpiry(step: number): Date {
  return new Date((step + WINDOW + 1) * PERIOD_SECONDS * 1000);
}
