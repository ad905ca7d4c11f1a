/**
 * The token service: access tokens (compact JWS via jose, RFC 9068 `at+jwt`) plus the purpose-bound tokens, built
 * from the parts of this module. Rule: options arrive validated by the config schema (types.ts); construction
 * parses every key synchronously and throws a plain `Error` on a bad one, and starts the key imports at once — the
 * first call awaits them. Access-token checks are verify.ts's (R31–R35); a repeated token is answered from the
 * verified-token cache, which re-checks only time.
 */
import { randomBytes } from 'node:crypto';
import { HKDF_INFO } from '../key-derivation.ts';
import {
  asymmetricRing,
  hmacRing,
  isHmac,
  isSupportedAlgorithm,
  type KeyRing,
  planAsymmetricKeys,
} from './key-ring.ts';
import { createMfaPendingTokens, mfaPendingRing } from './purpose-tokens.ts';
import { sign } from './sign.ts';
import type { TokenService, TokenServiceOptions, VerifiedAccessToken } from './types.ts';
import { createVerifiedTokenCache } from './verified-token-cache.ts';
import { assertInputId, createVerifyCompact, invalidToken, isId } from './verify.ts';

/** `typ` of an access token (RFC 9068) — checked, so no other JWT kind can stand in for it (R33). */
export const ACCESS_TOKEN_TYP = 'at+jwt';

export function createTokenService(options: TokenServiceOptions): TokenService {
  const algorithm = options.algorithm ?? 'HS256';
  const { issuer, audience, ttlSeconds, clockToleranceSeconds, clock } = options;
  const secrets = [options.secret, ...(options.previousSecrets ?? [])];
  const previousKeys = options.previousKeys ?? [];

  if (!isSupportedAlgorithm(algorithm)) throw new Error(`regstack: unsupported JWT algorithm ${String(algorithm)}`);
  if (typeof issuer !== 'string' || issuer === '') throw new Error('regstack: the JWT issuer must be non-empty');
  if (typeof audience !== 'string' || audience === '') throw new Error('regstack: the JWT audience must be non-empty');
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1) {
    throw new Error('regstack: the access-token TTL must be a positive whole number of seconds');
  }

  const asymmetric = isHmac(algorithm) ? undefined : planAsymmetricKeys(algorithm, options.privateKey, previousKeys);
  if (asymmetric === undefined && previousKeys.length > 0) {
    throw new Error('regstack: previousKeys applies only to EdDSA/ES256; HS* rotate with previousSecrets');
  }

  async function importKeys(): Promise<{ access: KeyRing; mfa: KeyRing }> {
    const mfa = await mfaPendingRing(secrets, algorithm);
    const access = isHmac(algorithm)
      ? await hmacRing(secrets, HKDF_INFO.accessToken, algorithm, ACCESS_TOKEN_TYP)
      : await asymmetricRing(algorithm, asymmetric!, ACCESS_TOKEN_TYP);
    return { access, mfa };
  }
  const ready = importKeys();
  // A failure here surfaces (unchanged, not as UNAUTHENTICATED) from the first call that awaits `ready`; this only
  // stops Node from reporting an unhandled rejection if no call ever comes.
  ready.catch(() => undefined);

  const verified = createVerifiedTokenCache(ttlSeconds, clockToleranceSeconds, clock);
  const verifyCompact = createVerifyCompact({ issuer, audience, clockToleranceSeconds, clock });

  return {
    async issueAccessToken({ userId, sessionId, actorId, ttlSeconds: shorter }) {
      assertInputId(userId, 'userId');
      assertInputId(sessionId, 'sessionId');
      if (actorId !== undefined) assertInputId(actorId, 'actorId');
      const lifetime = Math.min(ttlSeconds, shorter ?? ttlSeconds);
      if (!Number.isSafeInteger(lifetime) || lifetime < 1) throw new TypeError('ttlSeconds must be a positive integer');
      const { access } = await ready;
      const nowMs = clock.now().getTime();
      const iat = Math.floor(nowMs / 1000);
      const exp = iat + lifetime;
      const jti = randomBytes(16).toString('base64url');
      // `iat_ms`: jose writes integer-second `iat`; bulk revocation needs the millisecond (R40).
      const token = await sign(access, {
        iss: issuer,
        aud: audience,
        sub: userId,
        sid: sessionId,
        jti,
        iat,
        iat_ms: nowMs,
        exp,
        // RFC 8693 §4.1: the party acting as `sub` (an administrator impersonating the user).
        ...(actorId === undefined ? {} : { act: { sub: actorId } }),
      });
      return { token, expiresAt: new Date(exp * 1000), expiresIn: lifetime, jti };
    },

    async verifyAccessToken(token) {
      const { access } = await ready;
      const known = typeof token === 'string' ? verified.get(token) : undefined;
      if (known) return known;
      let result: VerifiedAccessToken;
      try {
        const payload = await verifyCompact(access, token, ['sub', 'sid', 'jti', 'iat', 'iat_ms', 'exp'], ttlSeconds);
        const { sub, sid, jti, iat, iat_ms: iatMs, exp } = payload;
        if (!isId(sub) || !isId(sid) || !isId(jti)) throw new Error('sub, sid or jti is not a usable id');
        if (typeof exp !== 'number' || typeof iat !== 'number') throw new Error('exp or iat is not a number');
        if (typeof iatMs !== 'number' || !Number.isSafeInteger(iatMs) || Math.floor(iatMs / 1000) !== iat) {
          throw new Error('iat_ms is missing or disagrees with iat');
        }
        result = {
          userId: sub,
          sessionId: sid,
          jti,
          issuedAt: new Date(iatMs),
          expiresAt: new Date(exp * 1000),
          actorId: actorOf(payload.act),
        };
      } catch (cause) {
        throw invalidToken(cause);
      }
      verified.add(token, result);
      return result;
    },

    ...createMfaPendingTokens(ready, { issuer, audience, clock, verifyCompact }),

    async jwks() {
      return { keys: (asymmetric?.publicKeys ?? []).map((plan) => structuredClone(plan.jwk)) };
    },
  };
}

/** The actor's id from an `act` claim: absent is null; present, it must be `{ sub: <id> }` and nothing else. */
function actorOf(act: unknown): string | null {
  if (act === undefined) return null;
  if (typeof act !== 'object' || act === null || Array.isArray(act)) throw new Error('act is not an object');
  const keys = Object.keys(act);
  const { sub } = act as { sub?: unknown };
  if (keys.length !== 1 || !isId(sub)) throw new Error('act must hold exactly a usable sub');
  return sub;
}
