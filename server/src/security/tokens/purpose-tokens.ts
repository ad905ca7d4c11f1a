/**
 * Purpose-bound tokens: short-lived tokens that grant one narrow step and nothing else — today the MFA-pending token
 * (R50), which only lets its holder finish a sign-in. Rule: each purpose has its own HKDF-derived key and its own
 * `typ` (R33), so an access key can never verify a purpose-bound token or the reverse; and these tokens never leave
 * regstack, so they are always HMAC-signed — also in EdDSA/ES256 mode, where signing them with the published key
 * pair would make them verifiable by anyone.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { HKDF_INFO, type JwtSecret } from '../key-derivation.ts';
import { type HmacAlgorithm, hmacRing, isHmac, type KeyRing } from './key-ring.ts';
import { sign } from './sign.ts';
import type { AccessTokenAlgorithm, TokenService } from './types.ts';
import { assertInputId, invalidToken, isId, type VerifyCompact } from './verify.ts';

/** `typ` of an MFA-pending token — a token that grants nothing but the right to finish a sign-in (R50). */
export const MFA_PENDING_TOKEN_TYP = 'regstack-mfa-pending+jwt';
/** Longest lifetime an MFA-pending token may be issued with (R48: the SMS code it waits for lives ≤ 10 min). */
export const MAX_MFA_PENDING_TTL_SECONDS = 600;

/** The MFA-pending key ring: HMAC with the access algorithm when that is HMAC, else HS256; its own HKDF `info`. */
export function mfaPendingRing(secrets: readonly JwtSecret[], accessAlgorithm: AccessTokenAlgorithm): Promise<KeyRing> {
  const alg: HmacAlgorithm = isHmac(accessAlgorithm) ? accessAlgorithm : 'HS256';
  return hmacRing(secrets, HKDF_INFO.mfaPending, alg, MFA_PENDING_TOKEN_TYP);
}

export interface PurposeTokenContext {
  issuer: string;
  audience: string;
  clock: Clock;
  verifyCompact: VerifyCompact;
}

/** The MFA-pending half of the {@link TokenService}, signing with the `mfa` ring once `ready` resolves. */
export function createMfaPendingTokens(
  ready: Promise<{ mfa: KeyRing }>,
  { issuer, audience, clock, verifyCompact }: PurposeTokenContext,
): Pick<TokenService, 'issueMfaPendingToken' | 'verifyMfaPendingToken'> {
  return {
    async issueMfaPendingToken({ userId, challengeId, ttlSeconds }) {
      assertInputId(userId, 'userId');
      assertInputId(challengeId, 'challengeId');
      if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_MFA_PENDING_TTL_SECONDS) {
        throw new RangeError(`ttlSeconds must be 1–${MAX_MFA_PENDING_TTL_SECONDS}`);
      }
      const { mfa } = await ready;
      const iat = Math.floor(clock.now().getTime() / 1000);
      const exp = iat + ttlSeconds;
      const token = await sign(mfa, {
        iss: issuer,
        aud: audience,
        sub: userId,
        cid: challengeId,
        jti: randomBytes(16).toString('base64url'),
        iat,
        exp,
      });
      return { token, expiresAt: new Date(exp * 1000) };
    },

    async verifyMfaPendingToken(token) {
      const { mfa } = await ready;
      try {
        const payload = await verifyCompact(
          mfa,
          token,
          ['sub', 'cid', 'jti', 'iat', 'exp'],
          MAX_MFA_PENDING_TTL_SECONDS,
        );
        const { sub, cid, jti } = payload;
        if (!isId(sub) || !isId(cid) || !isId(jti)) throw new Error('sub, cid or jti is not a usable id');
        return { userId: sub, challengeId: cid };
      } catch (cause) {
        throw invalidToken(cause);
      }
    },
  };
}
