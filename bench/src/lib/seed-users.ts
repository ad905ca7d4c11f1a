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
 * have no name.
 */
import Database from 'better-sqlite3';
import pg from 'pg';

/** The ten first names of the seeded population; `SEED_SEARCH` is one of them (a tenth of the users). */
export const SEED_NAMES = ['alice', 'bruno', 'carol', 'dmitri', 'elena', 'farid', 'grace', 'hiro', 'ines', 'jonas'];
export const SEED_SEARCH = 'carol';

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
export function seedSqlite(path: string, plan: SeedPlan, newId: (ms: number) => string): void {
  const db = new Database(path);
  try {
    db.pragma('busy_timeout = 10000');
    // The same column layout MikroORM writes: datetimes as epoch milliseconds, booleans as 0/1.
    const insert = db.prepare(
      `insert into users (id, email, hashed_password, full_name, phone_number, is_active, is_verified, is_superuser,
         is_mfa_enabled, created_at, updated_at, last_login_at)
       values (?, ?, ?, ?, null, ?, ?, 0, 0, ?, ?, ?)`,
    );
    const step = stepMs(plan.count);
    db.transaction(() => {
      for (let i = 0; i < plan.count; i++) {
        const name = SEED_NAMES[i % SEED_NAMES.length]!;
        const created = plan.newestMs - i * step;
        insert.run(
          newId(created),
          `${name}.${i}@seed.example.com`,
          plan.passwordHash,
          i % 5 === 4 ? null : `${name[0]!.toUpperCase()}${name.slice(1)} Seeded ${i}`,
          i % 50 === 49 ? 0 : 1,
          i % 10 === 9 ? 0 : 1,
          created,
          created,
          i % 4 === 3 ? null : created + (i % 97) * 3_600_000,
        );
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
              case when i % 5 = 4 then null else initcap(name) || ' Seeded ' || i end,
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
      [plan.count, plan.passwordHash, plan.newestMs, stepMs(plan.count), SEED_NAMES, SEED_NAMES.length],
    );
    // A table that grew to this size in production has been vacuumed and analyzed by autovacuum; do it now rather
    // than let autovacuum do it during a measured load.
    await client.query('vacuum (analyze) users');
  } finally {
    await client.end();
  }
}
