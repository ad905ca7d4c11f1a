/**
 * Users with an authenticator app (TOTP) enabled, for the login-with-TOTP scenario (issue 18 item 10), written
 * straight into `users` and `mfa_totp` with the app's column layout, never through the API: enrolling a few
 * thousand users through `auth.mfa.totp.start/confirm` would cost three password hashes each. Each user gets a
 * secret of its own, sealed with the instance's own TOTP sealer (the same `createSealer(…, 'totpSeal')` regstack
 * builds), a confirmed credential and `is_mfa_enabled` set, exactly what a confirmed enrolment leaves behind
 * (services/policies/second-factor.ts). They share one password hash of a password the runner is told.
 *
 * Why thousands: a TOTP step is accepted once per user (the replay guard), so a user signs in at most once per
 * 30-second step with the current code. The runner needs more users than sign-ins per step.
 */
import Database from 'better-sqlite3';
import pg from 'pg';

export interface TotpSeedUser {
  email: string;
  /** base32 secret, as an authenticator app holds it. */
  secret: string;
}

export interface TotpSeedPlan {
  users: Array<TotpSeedUser & { id: string; sealedSecret: string }>;
  passwordHash: string;
  nowMs: number;
}

const USER_COLUMNS = `id, email, hashed_password, full_name, phone_number, is_active, is_verified, is_superuser,
  is_mfa_enabled, created_at, updated_at, last_login_at`;

/** SQLite: one transaction on a connection of its own; the instance's connections must be idle. */
export function seedTotpSqlite(path: string, plan: TotpSeedPlan): void {
  const db = new Database(path);
  try {
    db.pragma('busy_timeout = 10000');
    const user = db.prepare(`insert into users (${USER_COLUMNS}) values (?, ?, ?, null, null, 1, 1, 0, 1, ?, ?, null)`);
    const totp = db.prepare(
      `insert into mfa_totp (id, user_id, sealed_secret, confirmed_at, last_used_step, created_at, updated_at)
       values (?, ?, ?, ?, null, ?, ?)`,
    );
    db.transaction(() => {
      for (const u of plan.users) {
        user.run(u.id, u.email, plan.passwordHash, plan.nowMs, plan.nowMs);
        totp.run(u.id, u.id, u.sealedSecret, plan.nowMs, plan.nowMs, plan.nowMs);
      }
    })();
    db.pragma('wal_checkpoint(truncate)');
  } finally {
    db.close();
  }
}

/** PostgreSQL: two `insert … select from unnest(…)` in one transaction. */
export async function seedTotpPostgres(url: string, plan: TotpSeedPlan): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const ids = plan.users.map((u) => u.id);
    const now = new Date(plan.nowMs);
    await client.query('begin');
    await client.query(
      `insert into users (${USER_COLUMNS})
       select id, email, $3, null, null, true, true, false, true, $4, $4, null
       from unnest($1::text[], $2::text[]) as t(id, email)`,
      [ids, plan.users.map((u) => u.email), plan.passwordHash, now],
    );
    await client.query(
      `insert into mfa_totp (id, user_id, sealed_secret, confirmed_at, last_used_step, created_at, updated_at)
       select id, id, sealed, $3, null, $3, $3 from unnest($1::text[], $2::text[]) as t(id, sealed)`,
      [ids, plan.users.map((u) => u.sealedSecret), now],
    );
    await client.query('commit');
    await client.query('analyze users');
    await client.query('analyze mfa_totp');
  } finally {
    await client.end();
  }
}
