/**
 * The token module's public shapes. Rule: options arrive validated — the master secrets and the clock tolerance carry
 * the brands the config schema gives them (`JwtSecret`, `ClockToleranceSeconds`), so their checks (R32, R34) live in
 * config/config.schema.ts alone and an unchecked value does not typecheck here.
 */
import type { JWK } from 'jose';
import type { z } from 'zod';
import type { Clock } from '../clock.ts';
import type { JwtSecret } from '../key-derivation.ts';

/**
 * `jwtClockToleranceSeconds` after the config schema's 0–60 s check (R34), the only check of it: the schema's
 * `.brand<'ClockToleranceSeconds'>()` is what makes a number one.
 */
export type ClockToleranceSeconds = number & z.$brand<'ClockToleranceSeconds'>;

/** The algorithms an access token can be signed with (the config's `jwtAlgorithm`). */
export type AccessTokenAlgorithm = 'HS256' | 'HS384' | 'HS512' | 'EdDSA' | 'ES256';

export interface TokenServiceOptions {
  /** Master secret, checked by the config schema (R32); every HMAC key is derived from it with HKDF. Always required. */
  secret: JwtSecret;
  /**
   * Earlier master secrets, still accepted for verification (never for signing) during a rotation.
   * @default []
   */
  previousSecrets?: readonly JwtSecret[];
  /**
   * The one algorithm access tokens are signed and verified with (R31).
   * @default 'HS256'
   */
  algorithm?: AccessTokenAlgorithm;
  /** PKCS#8 PEM private key; required for `EdDSA` (Ed25519) and `ES256` (P-256), unused for `HS*`. */
  privateKey?: string;
  /**
   * PEM keys (SPKI public, or PKCS#8 private — only the public half is used) that signed access tokens before the
   * current `privateKey`: still accepted for verification and published by `jwks()` during a rotation.
   * Only for `EdDSA`/`ES256`.
   * @default []
   */
  previousKeys?: readonly string[];
  /** `iss` written and required. */
  issuer: string;
  /** `aud` written and required. */
  audience: string;
  /** Access-token lifetime in seconds (`exp` = `iat` + this). */
  ttlSeconds: number;
  /** Leeway for `exp`, `nbf` and a future `iat`, 0–60 seconds, checked by the config schema (R34). */
  clockToleranceSeconds: ClockToleranceSeconds;
  /** Time source for `iat`/`exp` and for verification. */
  clock: Clock;
}

export interface IssuedAccessToken {
  token: string;
  expiresAt: Date;
  /** Seconds the token is valid for (OAuth `expires_in`). */
  expiresIn: number;
  jti: string;
}

export interface VerifiedAccessToken {
  userId: string;
  sessionId: string;
  jti: string;
  /** Millisecond-precision issue time, from the `iat_ms` claim (R40). */
  issuedAt: Date;
  expiresAt: Date;
  /**
   * The administrator acting as the user in an impersonation session (the RFC 8693 `act` claim), else null. The
   * session row is what decides (services/session.service.ts); the claim must agree with it.
   */
  actorId: string | null;
}

export interface TokenService {
  /**
   * `actorId` marks an impersonation session's token (the `act` claim); `ttlSeconds` shortens its lifetime (never
   * beyond the configured one, which verification enforces as the maximum age).
   */
  issueAccessToken(input: {
    userId: string;
    sessionId: string;
    actorId?: string;
    ttlSeconds?: number;
  }): Promise<IssuedAccessToken>;
  /** Throws `RegstackError('UNAUTHENTICATED')` — the same one for every cause — unless the token is valid. */
  verifyAccessToken(token: string): Promise<VerifiedAccessToken>;
  /** `ttlSeconds` must be 1–`MAX_MFA_PENDING_TTL_SECONDS` (purpose-tokens.ts). */
  issueMfaPendingToken(input: {
    userId: string;
    challengeId: string;
    ttlSeconds: number;
  }): Promise<{ token: string; expiresAt: Date }>;
  /**
   * Checks signature, type and expiry only. Single use is the caller's job: the challenge row it names is consumed
   * once (R50).
   */
  verifyMfaPendingToken(token: string): Promise<{ userId: string; challengeId: string }>;
  /** Public keys for `EdDSA`/`ES256` (current first, then previous); `{ keys: [] }` for `HS*`. */
  jwks(): Promise<{ keys: JWK[] }>;
}
