/**
 * Key rings: the keys one token purpose signs and verifies with. Rule: keys are derived per purpose from the master
 * secret (HKDF, key-derivation.ts) or parsed from configured PEMs, and imported once, at construction — importing an
 * HMAC key per call would cost most of the verify throughput (SPEC §2). A `kid` is a non-secret fingerprint of a
 * key that only *selects* among the configured keys (current + previous, for rotation); a token never supplies key
 * material (R32).
 */
import { createHash, createPrivateKey, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { type CryptoKey, importPKCS8, importSPKI, type JWK, type JWSAlgorithm } from 'jose';
import { deriveSubkey, type JwtSecret } from '../key-derivation.ts';
import type { AccessTokenAlgorithm } from './types.ts';

/** Label hashed in front of key bytes to make a `kid`; see {@link keyId}. */
const KID_LABEL = 'regstack/v1/kid\u0000';

const HMAC_KEY_BYTES = { HS256: 32, HS384: 48, HS512: 64 } as const;
export type HmacAlgorithm = keyof typeof HMAC_KEY_BYTES;

/** The node:crypto digest of each HMAC algorithm, for signing without a thread-pool hop (see sign.ts). */
const HMAC_DIGEST = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' } as const satisfies Record<
  HmacAlgorithm,
  string
>;

export interface KeyRing {
  alg: JWSAlgorithm;
  typ: string;
  /** `hmac`: the same HMAC key as `key`, as node:crypto holds it (HS* only). */
  signing: { kid: string; key: CryptoKey; hmac?: { key: KeyObject; digest: string } };
  verifying: ReadonlyMap<string, CryptoKey>;
}

/** An asymmetric public key, parsed and fingerprinted at construction, imported later. */
export interface PublicKeyPlan {
  kid: string;
  /** Public members only, built field by field so no private part can slip in. */
  jwk: JWK;
  spkiPem: string;
}

/** The asymmetric keys of an EdDSA/ES256 configuration: the current key pair first, then previous public keys. */
export interface AsymmetricKeyPlan {
  publicKeys: PublicKeyPlan[];
  privatePkcs8: string;
}

/**
 * The `kid` of a key: the first 16 hex characters of SHA-256(label ‖ key bytes), where the key bytes are the derived
 * HMAC key or the public key's SPKI DER. It reveals nothing usable: recovering an HMAC key from it is as hard as from
 * any token's signature.
 */
function keyId(keyBytes: Uint8Array): string {
  return createHash('sha256').update(KID_LABEL).update(keyBytes).digest('hex').slice(0, 16);
}

export function isHmac(alg: AccessTokenAlgorithm): alg is HmacAlgorithm {
  return alg === 'HS256' || alg === 'HS384' || alg === 'HS512';
}

/** Whether `alg` is one this module signs with; the config's enum already limits it, this guards direct callers. */
export function isSupportedAlgorithm(alg: unknown): alg is AccessTokenAlgorithm {
  return (typeof alg === 'string' && Object.hasOwn(HMAC_KEY_BYTES, alg)) || alg === 'EdDSA' || alg === 'ES256';
}

async function importHmacKey(alg: HmacAlgorithm, raw: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  const hash = `SHA-${alg.slice(2)}`;
  return crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash }, false, ['sign', 'verify']);
}

/** Derives the key of every secret (current first) for one purpose; duplicates collapse onto one `kid`. */
export async function hmacRing(
  secrets: readonly JwtSecret[],
  info: string,
  alg: HmacAlgorithm,
  typ: string,
): Promise<KeyRing> {
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

/**
 * Parses the EdDSA/ES256 keys synchronously, so a bad PEM fails construction, not the first request. The current
 * key first; a previous key equal to it (or to another) is listed once.
 */
export function planAsymmetricKeys(
  alg: 'EdDSA' | 'ES256',
  privateKeyPem: string | undefined,
  previousKeys: readonly string[],
): AsymmetricKeyPlan {
  if (privateKeyPem === undefined) throw new Error(`regstack: ${alg} needs a PKCS#8 PEM private key`);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(privateKeyPem);
  } catch (cause) {
    throw new Error('regstack: the JWT private key is not a valid PEM private key', { cause });
  }
  assertKeyFits(alg, privateKey, 'the JWT private key');
  const plans = [
    publicKeyPlan(alg, createPublicKey(privateKey)),
    ...previousKeys.map((pem, i) => publicKeyPlan(alg, parsePublicKey(alg, pem, `previous JWT key #${i + 1}`))),
  ];
  const publicKeys: PublicKeyPlan[] = [];
  for (const plan of plans) {
    if (!publicKeys.some((p) => p.kid === plan.kid)) publicKeys.push(plan);
  }
  return { publicKeys, privatePkcs8: String(privateKey.export({ type: 'pkcs8', format: 'pem' })) };
}

/** Imports a planned EdDSA/ES256 ring: signs with the current private key, verifies with every planned public key. */
export async function asymmetricRing(alg: 'EdDSA' | 'ES256', plan: AsymmetricKeyPlan, typ: string): Promise<KeyRing> {
  const verifying = new Map<string, CryptoKey>();
  for (const key of plan.publicKeys) verifying.set(key.kid, await importSPKI(key.spkiPem, alg));
  const current = plan.publicKeys[0]!;
  const signingKey = await importPKCS8(plan.privatePkcs8, alg);
  return { alg, typ, signing: { kid: current.kid, key: signingKey }, verifying };
}
