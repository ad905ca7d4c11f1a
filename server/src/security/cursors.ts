/**
 * Opaque, integrity-protected list cursors (issue 17). A cursor is `<payload>.<mac>`: the payload (base64url JSON)
 * says where the page ended, and the mac is HMAC-SHA256 under a key derived from the master secret for this
 * purpose only (key-derivation.ts) over the list's kind, a fingerprint of the query it belongs to (search, filters,
 * sort) and the payload. So a forged cursor, one edited by hand, one minted by another deployment, or one from
 * another list or another query is refused with VALIDATION_FAILED — never another page, never a 500. A cursor
 * carries only ids and sort values the caller was already shown; it is no secret, and it does not expire.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { RegstackError } from '../errors/regstack-error.ts';
import { deriveSubkey, HKDF_INFO, type JwtSecret } from './key-derivation.ts';

export interface CursorCodec {
  /** A cursor for `position` in the list `kind` under the query `query`. */
  encode(kind: string, query: unknown, position: unknown): string;
  /** The position a cursor holds; VALIDATION_FAILED unless this codec minted it for this `kind` and `query`. */
  decode(kind: string, query: unknown, cursor: string): unknown;
}

const invalidCursor = () =>
  new RegstackError('VALIDATION_FAILED', 'Invalid cursor', {
    fieldErrors: { cursor: ['This cursor is invalid for this list; start again without one'] },
  });

export function createCursorCodec(secret: JwtSecret): CursorCodec {
  const key = deriveSubkey(secret, HKDF_INFO.adminCursor, 32);
  const mac = (kind: string, query: unknown, payload: string) =>
    createHmac('sha256', key)
      .update(JSON.stringify([kind, query ?? null, payload]))
      .digest();
  return {
    encode(kind, query, position) {
      const payload = Buffer.from(JSON.stringify(position)).toString('base64url');
      return `${payload}.${mac(kind, query, payload).toString('base64url')}`;
    },
    decode(kind, query, cursor) {
      const [payload, tag, ...rest] = cursor.split('.');
      if (!payload || !tag || rest.length > 0) throw invalidCursor();
      const given = Buffer.from(tag, 'base64url');
      const expected = mac(kind, query, payload);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalidCursor();
      try {
        return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
      } catch {
        throw invalidCursor();
      }
    },
  };
}
