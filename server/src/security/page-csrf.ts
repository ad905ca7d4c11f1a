/**
 * CSRF tokens of the server-rendered pages (R57). A form's token is HMAC-SHA256, under a key derived from the master
 * secret for this purpose only (key-derivation.ts), over what the browser holds in its HttpOnly cookie: the page
 * session's access token once signed in, or the pre-session cookie's random value on the sign-in and sign-up forms
 * (login-CSRF). A site that cannot read that cookie — any other site — cannot compute the token; a token minted for
 * one session is worthless for another, and a signed-out browser's token does not sign a session's forms (each
 * binding is tagged with its kind). Compared in constant time so the check leaks nothing about the right value.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { deriveSubkey, HKDF_INFO, type JwtSecret } from './key-derivation.ts';

/** What a token is bound to: the signed-in session's cookie, or the pre-session cookie before sign-in. */
export type CsrfBinding = { kind: 'session' | 'pre-session'; value: string };

export interface PageCsrf {
  tokenFor(binding: CsrfBinding): string;
  /** True only for the token `tokenFor` gives this very binding. */
  verify(binding: CsrfBinding, token: string | null | undefined): boolean;
}

/** A fresh pre-session cookie value: 32 random bytes, base64url. */
export function newPreSessionValue(): string {
  return randomBytes(32).toString('base64url');
}

export function createPageCsrf(secret: JwtSecret): PageCsrf {
  const key = deriveSubkey(secret, HKDF_INFO.pageCsrf, 32);
  const mac = (binding: CsrfBinding) => createHmac('sha256', key).update(`${binding.kind}\0${binding.value}`).digest();
  return {
    tokenFor: (binding) => mac(binding).toString('base64url'),
    verify(binding, token) {
      if (!token || !binding.value || token.length > 64) return false;
      const given = Buffer.from(token, 'base64url');
      const expected = mac(binding);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}
