/**
 * Bulk-seeded users for the admin-list scenario (issue 17 item 6): rows written straight into `users` with the
 * app's column layout (server/src/db/entities/user.entity.ts and its migrations), never through the API, so a
 * million users seed in seconds rather than hours of hashing. SQLite: one prepared INSERT run in one transaction
 * on a connection of its own (better-sqlite3, the driver regstack uses), ids from the app's `newId`. PostgreSQL:
 * one `insert … select … from generate_series`, ids built in SQL in the same UUIDv7 layout as `newId` (48 bits of
 * milliseconds, `7`, then the tail of a random version-4 UUID). Every seeded user shares one password hash, of a
 * random password nobody knows: nobody logs in as them.
 *
 * The population: emails `<name>.<n>@seed.example.com` over ten first names, so a search by one name's prefix
 * matches a tenth of the users at every size; sign-up times spread evenly over the past year, newest first
 * (`created_at` and the id's time agree); most have logged in, some are unverified, a few disabled, a fifth
 * have no name. Names are `<Name> Seeded <n>`, except the middle user's `SEED_RARE_NAME`, whose last word
 * (`SEED_RARE_SEARCH`) no one else has: a search that finds one user at every size.
 *
 * Each name's search words go into `user_name_terms` in the same bulk (issue 17), as the user repository writes
 * them: on SQLite by regstack's own `nameTerms`; on PostgreSQL in SQL, by splitting the lower-cased name on its
 * single spaces — the same words for these names, which are ASCII letters and digits only.
 */
import Database from 'better-sqlite3';
import pg from 'pg';

/** The ten first names of the seeded population; `SEED_SEARCH` is one of them (a tenth of the users). */
export const SEED_NAMES = ['alice', 'bruno', 'carol', 'dmitri', 'elena', 'farid', 'grace', 'hiro', 'ines', 'jonas'];
export const SEED_SEARCH = 'carol';
/** The middle seeded user's name, and the search that finds that user alone. */
export const SEED_RARE_NAME = 'Rare Quillfeather';
export const SEED_RARE_SEARCH = 'quillfeather';

/** The full name of seeded user `i` of `count` (null for a fifth of them). */
function seededName(i: number, count: number): string | null {
  if (i === Math.floor(count / 2)) return SEED_RARE_NAME;
  const name = SEED_NAMES[i % SEED_NAMES.length]!;
  return i % 5 === 4 ? null : `${name[0]!.toUpperCase()}${name.slice(1)} Seeded ${i}`;
}

const YEAR_MS = 365 * 86_400_000;

export interface SeedPlan {
  /** How many users to insert. */
  count: number;
  /** `hashed_password` of every seeded user. */
  passwordHash: string;
  /** The newest seeded user's sign-up time (epoch ms); the oldest is a year before. */
  newestMs: number;
}

/** Milliseconds between consecutive seeded sign-ups. */
const stepMs = (count: number) => Math.max(1, Math.floor(YEAR_MS / Math.max(1, count)));

/** Seeds a SQLite database file that already has regstack's schema; its other connections must be idle. */
export function seedSqlite(
  path: string,
  plan: SeedPlan,
  newId: (ms?: number) => string,
  nameTerms: (fullName: string | null) => string[],
): void {
  const db = new Database(path);
  try {
    db.pragma('busy_timeout = 10000');
    // The same column layout MikroORM writes: datetimes as epoch milliseconds, booleans as 0/1.
    const insert = db.prepare(
      `insert into users (id, email, hashed_password, full_name, phone_number, is_active, is_verified, is_superuser,
         is_mfa_enabled, created_at, updated_at, last_login_at)
       values (?, ?, ?, ?, null, ?, ?, 0, 0, ?, ?, ?)`,
    );
    const insertTerm = db.prepare('insert into user_name_terms (id, term, user_id) values (?, ?, ?)');
    const step = stepMs(plan.count);
    db.transaction(() => {
      for (let i = 0; i < plan.count; i++) {
        const name = SEED_NAMES[i % SEED_NAMES.length]!;
        const created = plan.newestMs - i * step;
        const id = newId(created);
        const fullName = seededName(i, plan.count);
        insert.run(
          id,
          `${name}.${i}@seed.example.com`,
          plan.passwordHash,
          fullName,
          i % 50 === 49 ? 0 : 1,
          i % 10 === 9 ? 0 : 1,
          created,
          created,
          i % 4 === 3 ? null : created + (i % 97) * 3_600_000,
        );
        for (const term of nameTerms(fullName)) insertTerm.run(newId(created), term, id);
      }
    })();
    // The insert went to the WAL: fold it into the database file now, outside the measured window.
    db.pragma('wal_checkpoint(truncate)');
  } finally {
    db.close();
  }
}

/** Seeds a PostgreSQL database that already has regstack's schema, then analyzes `users` as autovacuum would. */
export async function seedPostgres(url: string, plan: SeedPlan): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(
      `insert into users (id, email, hashed_password, full_name, phone_number, is_active, is_verified, is_superuser,
         is_mfa_enabled, created_at, updated_at, last_login_at)
       select substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-7' || substr(gen_random_uuid()::text, 16),
              name || '.' || i || '@seed.example.com',
              $2,
              case when i = $1::bigint / 2 then $7 when i % 5 = 4 then null else initcap(name) || ' Seeded ' || i end,
              null,
              i % 50 <> 49,
              i % 10 <> 9,
              false,
              false,
              to_timestamp(ms / 1000.0),
              to_timestamp(ms / 1000.0),
              case when i % 4 = 3 then null else to_timestamp((ms + (i % 97) * 3600000) / 1000.0) end
       from (select i, ($3::bigint - i * $4::bigint) as ms, ($5::text[])[i % $6 + 1] as name
             from generate_series(0, $1::bigint - 1) as i) as s,
            lateral (select lpad(to_hex(ms), 12, '0') as h) as t`,
      [plan.count, plan.passwordHash, plan.newestMs, stepMs(plan.count), SEED_NAMES, SEED_NAMES.length, SEED_RARE_NAME],
    );
    // The name words, ids in the users' UUIDv7 layout (each word's row made when its user was).
    await client.query(
      `insert into user_name_terms (id, term, user_id)
       select substr(u.id, 1, 14) || '7' || substr(gen_random_uuid()::text, 16), w.term, u.id
       from users u, lateral (select distinct unnest(string_to_array(lower(u.full_name), ' ')) as term) as w
       where u.full_name is not null`,
    );
    // A table that grew to this size in production has been vacuumed and analyzed by autovacuum; do it now rather
    // than let autovacuum do it during a measured load.
    await client.query('vacuum (analyze) users');
    await client.query('vacuum (analyze) user_name_terms');
  } finally {
    await client.end();
  }
}
