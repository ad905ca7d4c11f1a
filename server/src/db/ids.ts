/**
 * Application-generated primary keys. Every table/collection uses a string key made here, not by the
 * database, so one entity schema serves SQLite, PostgreSQL and MongoDB alike (SPEC §6). The format is a
 * UUIDv7 (RFC 9562): 48 bits of Unix milliseconds then 74 random bits, so keys sort by creation time
 * (cursor pagination, audit order) while staying unguessable enough for ids that are not secrets.
 */
import { randomFillSync } from 'node:crypto';

export function newId(now: number = Date.now()): string {
  const bytes = new Uint8Array(16);
  randomFillSync(bytes);
  let ms = now;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = (bytes[6]! & 0x0f) | 0x70; // version 7
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 9562 variant
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
