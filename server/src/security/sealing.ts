/**
 * Authenticated encryption for data regstack must keep but must not keep in the clear — the email outbox, whose
 * messages carry one-time links (R23: a raw token must not sit in the database), and TOTP secrets. AES-256-GCM
 * with a key derived from the master secret by HKDF-SHA256 (its own `info`, so it never equals a JWT key),
 * a random 96-bit nonce per message; each use has its own `info`, so an outbox ciphertext never opens as a TOTP
 * secret or the reverse. Previous secrets can open (rotation); only the current one seals.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { deriveSubkey, HKDF_INFO, type JwtSecret } from './key-derivation.ts';

const VERSION = 'v1';

/** The sealing uses: each derives its own key. */
export type SealPurpose = 'outboxSeal' | 'totpSeal';

export interface Sealer {
  seal(plaintext: string): string;
  open(sealed: string): string;
}

export function createSealer(
  secret: JwtSecret,
  previousSecrets: readonly JwtSecret[] = [],
  purpose: SealPurpose = 'outboxSeal',
): Sealer {
  const deriveKey = (s: JwtSecret) => deriveSubkey(s, HKDF_INFO[purpose], 32);
  const current = deriveKey(secret);
  const all = [current, ...previousSecrets.map(deriveKey)];
  return {
    seal(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', current, iv);
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [
        VERSION,
        iv.toString('base64url'),
        body.toString('base64url'),
        cipher.getAuthTag().toString('base64url'),
      ].join('.');
    },
    open(sealed) {
      const [version, iv, body, tag] = sealed.split('.');
      if (version !== VERSION || !iv || !body || !tag) throw new Error('sealed payload is malformed');
      for (const key of all) {
        try {
          const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
          decipher.setAuthTag(Buffer.from(tag, 'base64url'));
          return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
        } catch {
          // wrong key (rotation) — try the next one
        }
      }
      throw new Error('sealed payload cannot be opened with the configured secrets');
    },
  };
}
