/**
 * The verified-token cache: access tokens whose signature and claims verified, by their exact string. Rule: a hit
 * re-checks only time, with jose's own rules; nothing about revocation is cached (R37, R42).
 *
 * Why it exists: a client presents the same token on every call for its whole lifetime, and the signature check (an
 * HMAC through WebCrypto, or an EdDSA/ES256 verification) is then the largest cost of authenticating it. A hit is
 * byte-for-byte the string that verified under a key this instance still holds (keys never change while it runs),
 * so nothing but time is re-checked — `exp` and the maximum age, both with the clock tolerance (R34). A forged or
 * altered token never matches an entry. The session, user and revocation facts are still read on every call.
 * Bounded; the oldest entry goes first.
 */
import type { Clock } from '../clock.ts';
import type { VerifiedAccessToken } from './types.ts';

/** How many verified access tokens one instance remembers (≈ 1 KiB each). */
const VERIFIED_CACHE_SIZE = 10_000;

export interface VerifiedTokenCache {
  /** The cached result for `token` if it is still within its lifetime; an expired entry is dropped. */
  get(token: string): VerifiedAccessToken | undefined;
  /** Remembers (frozen) a token that just passed every check. */
  add(token: string, result: VerifiedAccessToken): void;
}

export function createVerifiedTokenCache(
  ttlSeconds: number,
  clockToleranceSeconds: number,
  clock: Clock,
): VerifiedTokenCache {
  const verified = new Map<string, VerifiedAccessToken>();
  /** jose's `exp`, `maxTokenAge` and future-`iat` checks, in whole seconds as jose computes them. */
  const withinLifetime = (t: VerifiedAccessToken, now: Date): boolean => {
    const nowSeconds = Math.floor(now.getTime() / 1000);
    const iat = Math.floor(t.issuedAt.getTime() / 1000);
    const exp = Math.floor(t.expiresAt.getTime() / 1000);
    return (
      exp > nowSeconds - clockToleranceSeconds &&
      nowSeconds - iat - clockToleranceSeconds <= ttlSeconds &&
      iat <= nowSeconds + clockToleranceSeconds
    );
  };
  return {
    get(token) {
      const known = verified.get(token);
      if (known === undefined) return undefined;
      // The same string already passed every signature and claim check; only time can have changed since.
      if (withinLifetime(known, clock.now())) return known;
      verified.delete(token);
      return undefined;
    },
    add(token, result) {
      if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value!);
      verified.set(token, Object.freeze(result));
    },
  };
}
