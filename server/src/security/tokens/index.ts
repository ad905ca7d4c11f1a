/**
 * Tokens, in the jose style: one job a file. Rule: importers use this index, never a file inside.
 * - types.ts — the public shapes; options are the config schema's validated values
 * - key-ring.ts — per-purpose keys, derived or parsed once at construction; `kid` only selects
 * - sign.ts — compact JWS, HMAC byte-for-byte as jose would
 * - verify.ts — every check of R31–R35 and the one uniform failure
 * - verified-token-cache.ts — a repeated access token re-checks only time
 * - purpose-tokens.ts — tokens bound to one narrow step (MFA-pending, R50)
 * - token-service.ts — the access tokens and the service that assembles the rest
 */
export { MAX_MFA_PENDING_TTL_SECONDS, MFA_PENDING_TOKEN_TYP } from './purpose-tokens.ts';
export { ACCESS_TOKEN_TYP, createTokenService } from './token-service.ts';
export type {
  AccessTokenAlgorithm,
  ClockToleranceSeconds,
  IssuedAccessToken,
  TokenService,
  TokenServiceOptions,
  VerifiedAccessToken,
} from './types.ts';
export { INVALID_TOKEN_MESSAGE, MAX_TOKEN_LENGTH } from './verify.ts';
