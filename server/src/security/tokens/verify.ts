/**
 * Verification: every check of SECURITY.md E (R31–R35) a token passes before its claims are read. Rule: exactly one
 * algorithm per ring (R31); only `alg`, `typ` and `kid` may appear in the header, so key material named in a token
 * (`jwk`, `jku`, `x5u`, `x5c`) is never used (R32); and every failure, whatever its cause, is the same
 * `UNAUTHENTICATED` error, so a caller learns nothing about why (the original is kept as `cause` for server logs
 * only — services/refused-tokens.ts classifies it; R35, R64).
 */
import { type CryptoKey, type JWTHeaderParameters, type JWTPayload, jwtVerify } from 'jose';
import { RegstackError } from '../../errors/regstack-error.ts';
import type { Clock } from '../clock.ts';
import type { KeyRing } from './key-ring.ts';

/** Tokens longer than this are rejected before any parsing (R35). */
export const MAX_TOKEN_LENGTH = 8192;
/** The one message of every verification failure. Deliberately vague: the cause stays in `cause` (R35, R64). */
export const INVALID_TOKEN_MESSAGE = 'Invalid or expired access token';

/**
 * Three non-empty base64url segments and nothing else: rejects JWE (5 segments), JWS JSON serialization, padding,
 * whitespace and non-ASCII up front (R35). The classes exclude '.', so matching is linear.
 */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** The only header parameters regstack writes; any other one (`jwk`, `jku`, `x5u`, `x5c`, `crit`, `b64`…) is refused. */
const ALLOWED_HEADER_PARAMETERS = new Set(['alg', 'typ', 'kid']);

/** The shape every `kid` regstack issues has; anything else is rejected before a key lookup (R32). */
const KID_PATTERN = /^[0-9a-f]{16}$/;

/** Upper bound on string claims we read (`sub`, `sid`, `cid`, `jti`); ids in regstack are far shorter. */
const MAX_ID_LENGTH = 255;

export function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH;
}

/** Refuses an id a caller asks to put into a token (a programming error, not a bad token). */
export function assertInputId(value: unknown, name: string): asserts value is string {
  if (!isId(value)) throw new TypeError(`${name} must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
}

/** The vague, uniform error of R35: same code and message for every cause. */
export function invalidToken(cause: unknown): RegstackError {
  return new RegstackError('UNAUTHENTICATED', INVALID_TOKEN_MESSAGE, { cause });
}

/** The `getKey` of jwtVerify: picks a configured key by `kid`, after checking the header holds nothing else. */
function selectKey(ring: KeyRing, header: JWTHeaderParameters | Record<string, unknown>): CryptoKey {
  for (const name of Object.keys(header)) {
    if (!ALLOWED_HEADER_PARAMETERS.has(name)) throw new Error(`header parameter "${name}" is not accepted`);
  }
  // jose already enforced `algorithms`; checked again so this function alone is enough to reason about (R31).
  if (header.alg !== ring.alg) throw new Error('unexpected alg');
  const { kid } = header;
  if (typeof kid !== 'string' || !KID_PATTERN.test(kid)) throw new Error('kid missing or malformed');
  const key = ring.verifying.get(kid);
  // services/refused-tokens.ts reads this exact message as "signed by a key this instance does not hold".
  if (key === undefined) throw new Error('unknown kid');
  return key;
}

export interface VerifyContext {
  issuer: string;
  audience: string;
  clockToleranceSeconds: number;
  clock: Clock;
}

/**
 * Everything up to and including jose's checks. Throws the *cause* (a plain or jose error): callers add their own
 * claim checks inside their `try` and wrap every failure with {@link invalidToken}.
 */
export type VerifyCompact = (
  ring: KeyRing,
  token: unknown,
  requiredClaims: string[],
  maxTokenAge: number,
) => Promise<JWTPayload>;

export function createVerifyCompact({ issuer, audience, clockToleranceSeconds, clock }: VerifyContext): VerifyCompact {
  return async (ring, token, requiredClaims, maxTokenAge) => {
    // Size and shape first, before anything is decoded or parsed (R35).
    if (typeof token !== 'string') throw new Error('token is not a string');
    if (token.length > MAX_TOKEN_LENGTH) throw new Error('token exceeds the size cap');
    if (!COMPACT_JWS.test(token)) throw new Error('token is not a compact JWS');
    const { payload } = await jwtVerify(token, (header) => selectKey(ring, header), {
      algorithms: [ring.alg],
      typ: ring.typ,
      issuer,
      audience,
      requiredClaims,
      // jose adds clockTolerance on top of maxTokenAge, so a token is refused once older than ttl + tolerance —
      // the same instant `exp` + tolerance falls, giving an absolute lifetime even if `exp` were ever too far out.
      maxTokenAge,
      clockTolerance: clockToleranceSeconds,
      currentDate: clock.now(),
    });
    return payload;
  };
}
