/**
 * Access tokens and MFA-pending tokens: compact JWS via jose, with every check of SECURITY.md E (R31–R35) in one
 * place. Keys are derived per purpose from the master secret with HKDF-SHA256, so an access key can never verify
 * an MFA-pending token or the reverse (R33, R50); each token kind also carries its own `typ`. The header's `kid` is
 * a non-secret fingerprint of the key and only *selects* among configured keys (current + previous secrets, for
 * rotation); key material named in a token (`jwk`, `jku`, `x5u`, `x5c`) is never used — any header parameter other
 * than `alg`, `typ` and `kid` makes the token invalid (R32). Exactly one algorithm is accepted per kind (R31).
 * Every verification failure, whatever its cause, is the same `UNAUTHENTICATED` error so a caller learns nothing
 * about why (the original is kept as `cause` for server logs only). Keys are imported once, at construction:
 * importing an HMAC key per call would cost most of the verify throughput (SPEC §2).
 */
import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import {
  type CryptoKey,
  importPKCS8,
  importSPKI,
  type JWK,
  type JWSAlgorithm,
  type JWTHeaderParameters,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose';
import { RegstackError } from '../errors/regstack-error.ts';
import type { Clock } from './clock.ts';

// Key derivation lives in key-derivation.ts; re-exported here for existing importers.
export {
  assertSecretStrength,
  deriveSubkey,
  HKDF_INFO,
  HKDF_SALT,
  MIN_SECRET_LENGTH,
} from './key-derivation.ts';

import { assertSecretStrength, deriveSubkey, HKDF_INFO } from './key-derivation.ts';

/** Label hashed in front of key bytes to make a `kid`; see {@link keyId}. */
const KID_LABEL = 'regstack/v1/kid\u0000';

/**
 * The `kid` of a key: the first 16 hex characters of SHA-256(label ‖ key bytes), where the key bytes are the derived
 * HMAC key or the public key's SPKI DER. It reveals nothing usable: recovering an HMAC key from it is as hard as from
 * any token's signature.
 */
function keyId(keyBytes: Uint8Array): string {
  return createHash('sha256').update(KID_LABEL).update(keyBytes).digest('hex').slice(0, 16);
}

/** How many verified access tokens one instance remembers (≈ 1 KiB each); see `verified` in the service. */
const VERIFIED_CACHE_SIZE = 10_000;

/** The shape every `kid` regstack issues has; anything else is rejected before a key lookup (R32). */
const KID_PATTERN = /^[0-9a-f]{16}$/;

// ── Public types ────────────────────────────────────────────────────────────────────────────────────────────────

/** The algorithms an access token can be signed with (the config's `jwtAlgorithm`). */
export type AccessTokenAlgorithm = 'HS256' | 'HS384' | 'HS512' | 'EdDSA' | 'ES256';

export interface TokenServiceOptions {
  /** Master secret (≥ 32 characters, R32); every HMAC key is derived from it with HKDF. Always required. */
  secret: string;
  /**
   * Earlier master secrets, still accepted for verification (never for signing) during a rotation.
   * @default []
   */
  previousSecrets?: string[];
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
  previousKeys?: string[];
  /** `iss` written and required. */
  issuer: string;
  /** `aud` written and required. */
  audience: string;
  /** Access-token lifetime in seconds (`exp` = `iat` + this). */
  ttlSeconds: number;
  /** Leeway for `exp`, `nbf` and a future `iat`, 0–60 seconds (R34). */
  clockToleranceSeconds: number;
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
}

export interface TokenService {
  issueAccessToken(input: { userId: string; sessionId: string }): Promise<IssuedAccessToken>;
  /** Throws `RegstackError('UNAUTHENTICATED')` — the same one for every cause — unless the token is valid. */
  verifyAccessToken(token: string): Promise<VerifiedAccessToken>;
  /** `ttlSeconds` must be 1–{@link MAX_MFA_PENDING_TTL_SECONDS}. */
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

/** The name services/deps.ts uses for the same service. */
export type AccessTokenService = TokenService;

/** `typ` of an access token (RFC 9068) — checked, so no other JWT kind can stand in for it (R33). */
export const ACCESS_TOKEN_TYP = 'at+jwt';
/** `typ` of an MFA-pending token — a token that grants nothing but the right to finish a sign-in (R50). */
export const MFA_PENDING_TOKEN_TYP = 'regstack-mfa-pending+jwt';
/** Longest lifetime an MFA-pending token may be issued with (R48: the SMS code it waits for lives ≤ 10 min). */
export const MAX_MFA_PENDING_TTL_SECONDS = 600;
/** Tokens longer than this are rejected before any parsing (R35). */
export const MAX_TOKEN_LENGTH = 8192;
/** The one message of every verification failure. Deliberately vague: the cause stays in `cause` (R35, R64). */
export const INVALID_TOKEN_MESSAGE = 'Invalid or expired access token';

// ── Internals ───────────────────────────────────────────────────────────────────────────────────────────────────

/**
 * Three non-empty base64url segments and nothing else: rejects JWE (5 segments), JWS JSON serialization, padding,
 * whitespace and non-ASCII up front (R35). The classes exclude '.', so matching is linear.
 */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** The only header parameters regstack writes; any other one (`jwk`, `jku`, `x5u`, `x5c`, `crit`, `b64`…) is refused. */
const ALLOWED_HEADER_PARAMETERS = new Set(['alg', 'typ', 'kid']);

/** Upper bound on string claims we read (`sub`, `sid`, `cid`, `jti`); ids in regstack are far shorter. */
const MAX_ID_LENGTH = 255;

const HMAC_KEY_BYTES = { HS256: 32, HS384: 48, HS512: 64 } as const;
type HmacAlgorithm = keyof typeof HMAC_KEY_BYTES;

/** The node:crypto digest of each HMAC algorithm, for signing without a thread-pool hop (see `sign`). */
const HMAC_DIGEST = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' } as const satisfies Record<
  HmacAlgorithm,
  string
>;

interface KeyRing {
  alg: JWSAlgorithm;
  typ: string;
  /** `hmac`: the same HMAC key as `key`, as node:crypto holds it (HS* only). */
  signing: { kid: string; key: CryptoKey; hmac?: { key: KeyObject; digest: string } };
  verifying: ReadonlyMap<string, CryptoKey>;
}

interface PublicKeyPlan {
  kid: string;
  /** Public members only, built field by field so no private part can slip in. */
  jwk: JWK;
  spkiPem: string;
}

const base64url = (text: string) => Buffer.from(text).toString('base64url');

function isHmac(alg: AccessTokenAlgorithm): alg is HmacAlgorithm {
  return alg === 'HS256' || alg === 'HS384' || alg === 'HS512';
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH;
}

function assertInputId(value: unknown, name: string): asserts value is string {
  if (!isId(value)) throw new TypeError(`${name} must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
}

/** The vague, uniform error of R35: same code and message for every cause. */
function invalidToken(cause: unknown): RegstackError {
  return new RegstackError('UNAUTHENTICATED', INVALID_TOKEN_MESSAGE, { cause });
}

async function importHmacKey(alg: HmacAlgorithm, raw: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  const hash = `SHA-${alg.slice(2)}`;
  return crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash }, false, ['sign', 'verify']);
}

/** Derives the key of every secret (current first) for one purpose; duplicates collapse onto one `kid`. */
async function hmacRing(secrets: string[], info: string, alg: HmacAlgorithm, typ: string): Promise<KeyRing> {
  const verifying = new Map<string, CryptoKey>();
  let signing: KeyRing['signing'] | undefined;
  for (const secret of secrets) {
    const raw = deriveSubkey(secret, info, HMAC_KEY_BYTES[alg]);
    const kid = keyId(raw);
    if (verifying.has(kid)) continue;
    const key = await importHmacKey(alg, raw);
    verifying.set(kid, key);
    signing ??= { kid, key, hmac: { key: createSecretKey(raw), digest: HMAC_DIGEST[alg] } };
  }
  if (signing === undefined) throw new Error('regstack: no JWT secret configured');
  return { alg, typ, signing, verifying };
}

/** Throws unless `key` is the kind of key `alg` signs with (Ed25519 for EdDSA, P-256 for ES256). */
function assertKeyFits(alg: 'EdDSA' | 'ES256', key: KeyObject, label: string): void {
  const fits =
    alg === 'EdDSA'
      ? key.asymmetricKeyType === 'ed25519'
      : key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
  if (!fits) throw new Error(`regstack: ${label} must be ${alg === 'EdDSA' ? 'an Ed25519' : 'a P-256 EC'} key`);
}

/** Parses a PEM key (public, or private for its public half); sync, so a bad key fails construction. */
function parsePublicKey(alg: 'EdDSA' | 'ES256', pem: string, label: string): KeyObject {
  let key: KeyObject;
  try {
    key = pem.includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(pem)) : createPublicKey(pem);
  } catch (cause) {
    throw new Error(`regstack: ${label} is not a valid PEM key`, { cause });
  }
  assertKeyFits(alg, key, label);
  return key;
}

function publicKeyPlan(alg: 'EdDSA' | 'ES256', key: KeyObject): PublicKeyPlan {
  const exported = key.export({ format: 'jwk' });
  const kid = keyId(key.export({ type: 'spki', format: 'der' }));
  const jwk: JWK =
    alg === 'EdDSA'
      ? { kty: 'OKP', crv: String(exported.crv), x: String(exported.x) }
      : { kty: 'EC', crv: String(exported.crv), x: String(exported.x), y: String(exported.y) };
  return {
    kid,
    jwk: { ...jwk, kid, alg, use: 'sig' },
    spkiPem: String(key.export({ type: 'spki', format: 'pem' })),
  };
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
  if (key === undefined) throw new Error('unknown kid');
  return key;
}

// ── The service ─────────────────────────────────────────────────────────────────────────────────────────────────

/**
 * Creates the token service. Validates everything synchronously (secret strength, PEM keys, TTL and leeway bounds)
 * and throws a plain `Error` on bad configuration; key imports start at once and are awaited by the first call.
 */
export function createTokenService(options: TokenServiceOptions): TokenService {
  const algorithm = options.algorithm ?? 'HS256';
  const { issuer, audience, ttlSeconds, clockToleranceSeconds, clock } = options;
  const previousSecrets = options.previousSecrets ?? [];

  assertSecretStrength(options.secret);
  previousSecrets.forEach((s, i) => {
    assertSecretStrength(s, `previous secret #${i + 1}`);
  });
  if (!Object.hasOwn(HMAC_KEY_BYTES, algorithm) && algorithm !== 'EdDSA' && algorithm !== 'ES256') {
    throw new Error(`regstack: unsupported JWT algorithm ${String(algorithm)}`);
  }
  if (typeof issuer !== 'string' || issuer === '') throw new Error('regstack: the JWT issuer must be non-empty');
  if (typeof audience !== 'string' || audience === '') throw new Error('regstack: the JWT audience must be non-empty');
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1) {
    throw new Error('regstack: the access-token TTL must be a positive whole number of seconds');
  }
  if (!Number.isInteger(clockToleranceSeconds) || clockToleranceSeconds < 0 || clockToleranceSeconds > 60) {
    throw new Error('regstack: the JWT clock tolerance must be 0–60 seconds (R34)');
  }

  const secrets = [options.secret, ...previousSecrets];

  // Asymmetric keys are parsed now so a bad PEM fails construction, not the first request.
  const publicKeys: PublicKeyPlan[] = [];
  let privatePkcs8: string | undefined;
  if (algorithm === 'EdDSA' || algorithm === 'ES256') {
    if (options.privateKey === undefined) throw new Error(`regstack: ${algorithm} needs a PKCS#8 PEM private key`);
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(options.privateKey);
    } catch (cause) {
      throw new Error('regstack: the JWT private key is not a valid PEM private key', { cause });
    }
    assertKeyFits(algorithm, privateKey, 'the JWT private key');
    privatePkcs8 = String(privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const plans = [
      publicKeyPlan(algorithm, createPublicKey(privateKey)),
      ...(options.previousKeys ?? []).map((pem, i) =>
        publicKeyPlan(algorithm, parsePublicKey(algorithm, pem, `previous JWT key #${i + 1}`)),
      ),
    ];
    // The current key first; a previous key equal to it (or to another) is listed once.
    for (const plan of plans) {
      if (!publicKeys.some((p) => p.kid === plan.kid)) publicKeys.push(plan);
    }
  } else if ((options.previousKeys ?? []).length > 0) {
    throw new Error('regstack: previousKeys applies only to EdDSA/ES256; HS* rotate with previousSecrets');
  }

  // MFA-pending tokens never leave regstack, so they always use an HMAC key derived for that purpose alone — also in
  // EdDSA/ES256 mode, where signing them with the published key pair would make them verifiable by anyone.
  const mfaAlgorithm: HmacAlgorithm = isHmac(algorithm) ? algorithm : 'HS256';

  async function importKeys(): Promise<{ access: KeyRing; mfa: KeyRing }> {
    const mfa = await hmacRing(secrets, HKDF_INFO.mfaPending, mfaAlgorithm, MFA_PENDING_TOKEN_TYP);
    if (isHmac(algorithm)) {
      return { access: await hmacRing(secrets, HKDF_INFO.accessToken, algorithm, ACCESS_TOKEN_TYP), mfa };
    }
    const verifying = new Map<string, CryptoKey>();
    for (const plan of publicKeys) verifying.set(plan.kid, await importSPKI(plan.spkiPem, algorithm));
    const current = publicKeys[0]!;
    const signingKey = await importPKCS8(privatePkcs8!, algorithm);
    return {
      access: { alg: algorithm, typ: ACCESS_TOKEN_TYP, signing: { kid: current.kid, key: signingKey }, verifying },
      mfa,
    };
  }

  const ready = importKeys();

  /**
   * Access tokens whose signature and claims verified, by their exact string: a client presents the same token on
   * every call for its whole lifetime, and the signature check (an HMAC through WebCrypto, or an EdDSA/ES256
   * verification) is then the largest cost of authenticating it. A hit is byte-for-byte the string that verified
   * under a key this instance still holds (keys never change while it runs), so nothing but time is re-checked —
   * with jose's own rules: `exp` and the maximum age, both with the clock tolerance (R34). A forged or altered
   * token never matches an entry. Revocation is not cached: the session, user and revocation facts are still read
   * on every call (R37, R42). Bounded; the oldest entry goes first.
   */
  const verified = new Map<string, VerifiedAccessToken>();
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
  // A failure here surfaces (unchanged, not as UNAUTHENTICATED) from the first call that awaits `ready`; this only
  // stops Node from reporting an unhandled rejection if no call ever comes.
  ready.catch(() => undefined);

  /**
   * A compact JWS of `claims`. HMAC tokens are signed with node:crypto, synchronously: jose signs through WebCrypto,
   * which runs even an HMAC as a thread-pool job — a queue hop and an event-loop wake-up per token (a login mints
   * one token per password check; bench/, scenario 3). The bytes are exactly jose's
   * (the header and payload as JSON in this order, base64url, then the MAC): a test compares the two, and every
   * token is still verified by jose (`verifyCompact`). EdDSA/ES256 tokens are signed by jose.
   */
  async function sign(ring: KeyRing, claims: JWTPayload): Promise<string> {
    const header = { alg: ring.alg, typ: ring.typ, kid: ring.signing.kid };
    const { hmac } = ring.signing;
    if (!hmac) return new SignJWT(claims).setProtectedHeader(header).sign(ring.signing.key);
    const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    return `${input}.${createHmac(hmac.digest, hmac.key).update(input).digest('base64url')}`;
  }

  /** Everything up to and including jose's checks; callers add their own claim checks inside their `try`. */
  async function verifyCompact(ring: KeyRing, token: unknown, requiredClaims: string[], maxTokenAge: number) {
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
  }

  return {
    async issueAccessToken({ userId, sessionId }) {
      assertInputId(userId, 'userId');
      assertInputId(sessionId, 'sessionId');
      const { access } = await ready;
      const nowMs = clock.now().getTime();
      const iat = Math.floor(nowMs / 1000);
      const exp = iat + ttlSeconds;
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
      });
      return { token, expiresAt: new Date(exp * 1000), expiresIn: ttlSeconds, jti };
    },

    async verifyAccessToken(token) {
      const { access } = await ready;
      const known = typeof token === 'string' ? verified.get(token) : undefined;
      if (known) {
        // The same string already passed every signature and claim check; only time can have changed since.
        if (withinLifetime(known, clock.now())) return known;
        verified.delete(token);
      }
      let result: VerifiedAccessToken;
      try {
        const payload = await verifyCompact(access, token, ['sub', 'sid', 'jti', 'iat', 'iat_ms', 'exp'], ttlSeconds);
        const { sub, sid, jti, iat, iat_ms: iatMs, exp } = payload;
        if (!isId(sub) || !isId(sid) || !isId(jti)) throw new Error('sub, sid or jti is not a usable id');
        if (typeof exp !== 'number' || typeof iat !== 'number') throw new Error('exp or iat is not a number');
        if (typeof iatMs !== 'number' || !Number.isSafeInteger(iatMs) || Math.floor(iatMs / 1000) !== iat) {
          throw new Error('iat_ms is missing or disagrees with iat');
        }
        result = { userId: sub, sessionId: sid, jti, issuedAt: new Date(iatMs), expiresAt: new Date(exp * 1000) };
      } catch (cause) {
        throw invalidToken(cause);
      }
      if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value!);
      verified.set(token, Object.freeze(result));
      return result;
    },

    async issueMfaPendingToken({ userId, challengeId, ttlSeconds: mfaTtl }) {
      assertInputId(userId, 'userId');
      assertInputId(challengeId, 'challengeId');
      if (!Number.isSafeInteger(mfaTtl) || mfaTtl < 1 || mfaTtl > MAX_MFA_PENDING_TTL_SECONDS) {
        throw new RangeError(`ttlSeconds must be 1–${MAX_MFA_PENDING_TTL_SECONDS}`);
      }
      const { mfa } = await ready;
      const iat = Math.floor(clock.now().getTime() / 1000);
      const exp = iat + mfaTtl;
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

    async jwks() {
      return { keys: publicKeys.map((plan) => structuredClone(plan.jwk)) };
    },
  };
}
