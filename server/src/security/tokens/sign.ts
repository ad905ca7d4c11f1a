/**
 * Signing: a compact JWS of some claims under a ring's current key. Rule: HMAC tokens are byte-for-byte what jose
 * would produce (a test compares the two), and every token is still verified by jose (verify.ts).
 */
import { createHmac } from 'node:crypto';
import { type JWTPayload, SignJWT } from 'jose';
import type { KeyRing } from './key-ring.ts';

const base64url = (text: string) => Buffer.from(text).toString('base64url');

/**
 * A compact JWS of `claims`. HMAC tokens are signed with node:crypto, synchronously: jose signs through WebCrypto,
 * which runs even an HMAC as a thread-pool job — a queue hop and an event-loop wake-up per token (a login mints
 * one token per password check; bench/, scenario 3). The bytes are exactly jose's
 * (the header and payload as JSON in this order, base64url, then the MAC). EdDSA/ES256 tokens are signed by jose.
 */
export async function sign(ring: KeyRing, claims: JWTPayload): Promise<string> {
  const header = { alg: ring.alg, typ: ring.typ, kid: ring.signing.kid };
  const { hmac } = ring.signing;
  if (!hmac) return new SignJWT(claims).setProtectedHeader(header).sign(ring.signing.key);
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  return `${input}.${createHmac(hmac.digest, hmac.key).update(input).digest('base64url')}`;
}
