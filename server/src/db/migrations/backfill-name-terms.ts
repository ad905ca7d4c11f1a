/**
 * The search migration's backfill (issue 17): `user_name_terms` for every user that already has a name, written by
 * the same rule as a live write (db/name-terms.ts), in bounded batches read by keyset on the id, inside the
 * migration's transaction — an installation that stops half way leaves no half-filled table.
 */
import { newId } from '../ids.ts';
import { nameTerms } from '../name-terms.ts';

type Execute = (sql: string, params?: unknown[]) => Promise<Record<string, unknown>[]>;

const BATCH = 1000;

export async function backfillNameTerms(execute: Execute): Promise<void> {
  let after = '';
  for (;;) {
    const users = await execute(
      'select id, full_name from users where id > ? and full_name is not null order by id limit ?',
      [after, BATCH],
    );
    if (users.length === 0) return;
    const rows: unknown[] = [];
    for (const user of users) {
      for (const term of nameTerms(String(user.full_name))) rows.push(newId(), term, String(user.id));
    }
    if (rows.length > 0) {
      const values = Array.from({ length: rows.length / 3 }, () => '(?, ?, ?)').join(', ');
      await execute(`insert into user_name_terms (id, term, user_id) values ${values}`, rows);
    }
    after = String(users.at(-1)!.id);
  }
}
