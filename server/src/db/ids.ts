/**
 * Application-generated primary keys. Every table/collection uses a string key made here, not by the
 * database, so one entity schema serves SQLite, PostgreSQL and MongoDB alike (SPEC §6). The format is a
 * UUIDv7 (RFC 9562): 48 bits of Unix milliseconds then 74 random bits, so keys sort by creation time
 * (cursor pagination, audit order) while staying unguessable enough for ids that are not secrets.
 */
import { randomUUID } from 'node:crypto';

/**
 * The random part comes from `randomUUID()`: a version-4 UUID from the same CSPRNG as `randomBytes`, but
 * served from Node's pre-filled entropy cache, about fifteen times cheaper than a `randomFillSync` call per
 * id (a login makes three ids). Its layout already matches version 7 after the time: `xxxxxxxx-xxxx-4xxx-
 * yxxx-xxxxxxxxxxxx` keeps 12 + 62 random bits after the version digit, and `y` carries the RFC 9562 variant.
 */
export function newId(now: number = Date.now()): string {
  const time = Math.trunc(now).toString(16).padStart(12, '0').slice(-12);
  return `${time.slice(0, 8)}-${time.slice(8)}-7${randomUUID().slice(15)}`;
}

/** The creation instant (Unix ms) written into an id by `newId`. */
export function idTime(id: string): number {
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
