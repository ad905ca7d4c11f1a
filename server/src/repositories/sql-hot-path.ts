/**
 * The login path's repository methods as prepared SQL, for the SQL backends (drivers.ts `SqlRunner`).
 *
 * Why a second implementation: MikroORM inlines parameters and plans every query anew, ≈ 0.2 ms of main
 * thread per statement; a login ran about ten of them, which capped login throughput well below what argon2
 * allows and queued authenticated calls behind it (bench/, scenarios 3 and 4). Each method below keeps the
 * exact contract of the MikroORM method it replaces — same rows, same columns, same guarantees (the
 * insert-then-count of `recordAndCount` stays two statements, so R17 holds unchanged) — and the cross-backend
 * suites run the SQL versions on SQLite/PostgreSQL and the ORM versions on MongoDB;
 * test/src/storage/sql-hot-path.test.ts runs both on the same SQL database and compares.
 *
 * Only statements that every login or authenticated call runs belong here. Column names are the entities'
 * (the schema test proves the migrations match them); SQL is portable between SQLite and PostgreSQL.
 */
import type { EntityManager } from '@mikro-orm/core';
import { type SqlRunner, userFromRow } from '../db/drivers.ts';
import type { User } from '../db/entities/index.ts';
import { newId } from '../db/ids.ts';
import type { AuditEventRepository } from './audit-event.repository.ts';
import type { LoginAttemptRepository } from './login-attempt.repository.ts';
import type { RevocationRepository } from './revocation.repository.ts';
import { newSessionRow, type SessionRepository } from './session.repository.ts';
import type { UserRepository } from './user.repository.ts';

const USER_COLUMNS = `id, email, hashed_password, full_name, phone_number, is_active, is_verified, is_superuser,
  is_mfa_enabled, created_at, updated_at, last_login_at`;

const SQL = {
  insertAttempt: 'insert into login_attempts (id, "key", created_at) values (?, ?, ?)',
  countAttempts: 'select count(*) as n from login_attempts where "key" = ? and created_at > ?',
  removeAttempt: 'delete from login_attempts where id = ?',
  clearAttempts: 'delete from login_attempts where "key" = ?',
  credentialsByEmail: `select ${USER_COLUMNS} from users where email = ?`,
  recordLogin: 'update users set last_login_at = ? where id = ?',
  cutoff: 'select max(revoked_at) as cutoff from revocations where user_id = ? and session_id is null',
  insertSession: `insert into sessions (id, user_id, created_at, last_seen_at, expires_at, user_agent, ip)
    values (?, ?, ?, ?, ?, ?, ?)`,
  touchSession: 'update sessions set last_seen_at = ? where id = ?',
  insertAudit: `insert into audit_events (id, event, actor_id, subject_id, ip, user_agent, details, created_at)
    values (?, ?, ?, ?, ?, ?, ?, ?)`,
} as const;

export interface HotPathRepositories {
  users: UserRepository;
  sessions: SessionRepository;
  revocations: RevocationRepository;
  loginAttempts: LoginAttemptRepository;
  auditEvents: AuditEventRepository;
}

/** `repos` with its hot methods replaced by prepared statements on `sql`, in `em`'s transaction if any. */
export function withSqlHotPath<R extends HotPathRepositories>(repos: R, em: EntityManager, sql: SqlRunner): R {
  const v = sql.value;
  const count = async (key: string, windowStart: Date) =>
    Number((await sql.all(em, SQL.countAttempts, [key, v(windowStart)]))[0]?.n ?? 0);
  return {
    ...repos,
    loginAttempts: {
      ...repos.loginAttempts,
      async recordAndCount(key, now, windowStart) {
        const id = newId(now.getTime());
        // Two statements, in this order (see login-attempt.repository.ts): the count must see this row committed.
        await sql.run(em, SQL.insertAttempt, [id, key, v(now)]);
        return { id, count: await count(key, windowStart) };
      },
      countSince: count,
      async remove(id) {
        await sql.run(em, SQL.removeAttempt, [id]);
      },
      clear: (key) => sql.run(em, SQL.clearAttempts, [key]),
    },
    users: {
      ...repos.users,
      async findCredentialsByEmail(email): Promise<User | null> {
        const row = (await sql.all(em, SQL.credentialsByEmail, [email]))[0];
        if (!row) return null;
        // Like the entity's `.hidden()` hash: readable, but never serialized or spread into a DTO by accident.
        return Object.defineProperty(userFromRow(sql, row), 'hashedPassword', {
          value: (row.hashed_password as string | null) ?? null,
          enumerable: false,
        });
      },
      async recordLogin(userId, now) {
        await sql.run(em, SQL.recordLogin, [v(now), userId]);
      },
    },
    revocations: {
      ...repos.revocations,
      async cutoffFor(userId) {
        const cutoff = (await sql.all(em, SQL.cutoff, [userId]))[0]?.cutoff;
        return cutoff === null || cutoff === undefined ? null : sql.date(cutoff);
      },
    },
    sessions: {
      ...repos.sessions,
      async create(data, now) {
        const row = newSessionRow(data, now);
        await sql.run(em, SQL.insertSession, [
          row.id,
          row.userId,
          v(row.createdAt),
          v(row.lastSeenAt),
          v(row.expiresAt),
          row.userAgent,
          row.ip,
        ]);
        return row;
      },
      async touch(id, now) {
        await sql.run(em, SQL.touchSession, [v(now), id]);
      },
    },
    auditEvents: {
      ...repos.auditEvents,
      async record(data, now) {
        await sql.run(em, SQL.insertAudit, [
          newId(now.getTime()),
          data.event,
          data.actorId ?? null,
          data.subjectId ?? null,
          data.ip ?? null,
          data.userAgent ?? null,
          data.details ? JSON.stringify(data.details) : null,
          v(now),
        ]);
      },
    },
  };
}
