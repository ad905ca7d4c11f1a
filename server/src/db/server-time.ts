/**
 * The database server's own clock, for `regstack doctor`'s clock check: expiry, lockout windows and token times
 * are compared across instances, so an instance whose clock is far from the others' (the database server is the
 * one clock they all reach) decides wrongly. SQLite has no server: the file lives on this machine, so there is
 * nothing to compare with (undefined).
 */
import type { Storage } from './storage.ts';

/** The database server's time now, or undefined on SQLite. Reads only. */
export async function databaseServerTime(storage: Storage): Promise<Date | undefined> {
  if (storage.kind === 'sqlite') return undefined;
  const connection = storage.fork().getConnection();
  if (storage.kind === 'postgresql') {
    const rows = (await connection.execute('select now() as now')) as { now: Date | string }[];
    const value = rows[0]?.now;
    return value === undefined ? undefined : new Date(value);
  }
  await connection.ensureConnection();
  const db = (connection as unknown as { getDb(): { command(c: object): Promise<{ localTime?: Date }> } }).getDb();
  const hello = await db.command({ hello: 1 });
  return hello.localTime instanceof Date ? hello.localTime : undefined;
}
