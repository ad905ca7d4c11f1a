/**
 * Users. `insertIfEmailFree` relies on the unique index on the canonical email (R66): the database, not a
 * prior lookup, decides who wins a race, so N concurrent sign-ups of one address create one row. On the SQL
 * backends the reads and writes every login makes are prepared statements (`USER_SQL`, db/sql-runner.ts),
 * beside the ORM call each one stands for.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Dialect } from '../db/dialect.ts';
import { type User, UserSchema } from '../db/entities/index.ts';
import { newId } from '../db/ids.ts';
import type { SqlRunner } from '../db/sql-runner.ts';

export interface NewUser {
  email: string;
  hashedPassword: string | null;
  fullName?: string | null;
  isActive?: boolean;
  isVerified?: boolean;
  isSuperuser?: boolean;
}

/** A `users` row's columns, for the prepared statements that read one. */
export const USER_COLUMNS = `id, email, hashed_password, full_name, phone_number, is_active, is_verified, is_superuser,
  is_mfa_enabled, created_at, updated_at, last_login_at`;

/** The prepared statements of the user methods every login runs (login.repository.ts runs them too). */
export const USER_SQL = {
  credentialsByEmail: `select ${USER_COLUMNS} from users where email = ?`,
  recordLogin: 'update users set last_login_at = ? where id = ?',
  upgradeHash: 'update users set hashed_password = ?, updated_at = ? where id = ?',
  storedHash: 'select hashed_password from users where id = ?',
} as const;

/** A `users` row (snake_case columns, as the driver returns them) as the entity, without its password hash. */
export function userFromRow(sql: SqlRunner, r: Record<string, unknown>, id: unknown = r.id): User {
  return {
    id: String(id),
    email: String(r.email),
    fullName: (r.full_name as string | null) ?? null,
    phoneNumber: (r.phone_number as string | null) ?? null,
    isActive: Boolean(r.is_active),
    isVerified: Boolean(r.is_verified),
    isSuperuser: Boolean(r.is_superuser),
    isMfaEnabled: Boolean(r.is_mfa_enabled),
    createdAt: sql.date(r.created_at),
    updatedAt: sql.date(r.updated_at),
    lastLoginAt: r.last_login_at === null || r.last_login_at === undefined ? null : sql.date(r.last_login_at),
  } as User;
}

/**
 * A `users` row as the entity with its hash. Like the entity's `.hidden()` hash, the hash is readable but never
 * serialized or spread into a DTO by accident.
 */
export function credentialsFrom(sql: SqlRunner, row: Record<string, unknown> | undefined): User | null {
  if (!row) return null;
  return Object.defineProperty(userFromRow(sql, row), 'hashedPassword', {
    value: (row.hashed_password as string | null) ?? null,
    enumerable: false,
  });
}

export function createUserRepository(em: EntityManager, dialect: Dialect) {
  const { sql } = dialect;
  return {
    /** Inserts the user, or returns null when the canonical email is already taken. */
    async insertIfEmailFree(data: NewUser, now: Date): Promise<User | null> {
      const row = {
        id: newId(now.getTime()),
        email: data.email,
        hashedPassword: data.hashedPassword,
        fullName: data.fullName ?? null,
        isActive: data.isActive ?? true,
        isVerified: data.isVerified ?? false,
        isSuperuser: data.isSuperuser ?? false,
        isMfaEnabled: false,
        createdAt: now,
        updatedAt: now,
        lastLoginAt: null,
      };
      try {
        await em.insert(UserSchema, row);
      } catch (err) {
        if (dialect.isUniqueViolation(err)) return null;
        throw err;
      }
      // The stored row, as a plain load would return it: no password hash (it is lazy), no phone yet.
      return { ...row, hashedPassword: undefined, phoneNumber: null };
    },

    findById(id: string): Promise<User | null> {
      return em.findOne(UserSchema, { id });
    },

    findByEmail(email: string): Promise<User | null> {
      return em.findOne(UserSchema, { email });
    },

    /** The password hash is lazy (never loaded by accident); only credential checks ask for it. */
    async findCredentialsByEmail(email: string): Promise<User | null> {
      if (sql) return credentialsFrom(sql, (await sql.all(em, USER_SQL.credentialsByEmail, [email]))[0]);
      return em.findOne(UserSchema, { email }, { populate: ['hashedPassword'] });
    },

    async findCredentialsById(id: string): Promise<User | null> {
      return em.findOne(UserSchema, { id }, { populate: ['hashedPassword'] });
    },

    async updatePasswordHash(userId: string, hashedPassword: string, now: Date): Promise<boolean> {
      return (await em.nativeUpdate(UserSchema, { id: userId }, { hashedPassword, updatedAt: now })) === 1;
    },

    /**
     * Compare-and-set on the credential (R68): stores `hashedPassword` only while the stored hash is still
     * `expected` — the one a re-authentication just verified. False when a reset or another change replaced it
     * in between. On SQL the update also takes the row's lock, so a concurrent reset waits for this
     * transaction and then sees its result.
     */
    async replacePasswordHashIf(userId: string, expected: string, hashedPassword: string, now: Date): Promise<boolean> {
      return (
        (await em.nativeUpdate(
          UserSchema,
          { id: userId, hashedPassword: expected },
          { hashedPassword, updatedAt: now },
        )) === 1
      );
    },

    /**
     * Whether the stored hash is still `expected`, claiming the row on SQL (an update of `updated_at` under the
     * same condition takes its lock until the transaction ends) — for changes other than the password itself that
     * re-authenticated with it (an email change request, R68).
     */
    async holdIfPasswordHash(userId: string, expected: string, now: Date): Promise<boolean> {
      if ((await em.nativeUpdate(UserSchema, { id: userId, hashedPassword: expected }, { updatedAt: now })) === 1) {
        return true;
      }
      // MongoDB counts modified documents, not matched ones: a row already stamped `now` reports none.
      return (await this.currentPasswordHash(userId)) === expected;
    },

    /**
     * Takes the user row's lock for the rest of the transaction on SQL (an update of `updated_at`): flows that
     * change a user's credentials take it first, so two of them always lock in the same order (user row, then
     * tokens and sessions) and wait for each other instead of deadlocking. Elsewhere a harmless write.
     */
    async lockForChange(userId: string, now: Date): Promise<void> {
      await em.nativeUpdate(UserSchema, { id: userId }, { updatedAt: now });
    },

    /** The stored hash, read fresh (no identity map): how a flow checks that its own write still stands. */
    async currentPasswordHash(userId: string): Promise<string | null> {
      const row = await em.findOne(
        UserSchema,
        { id: userId },
        { populate: ['hashedPassword'], fields: ['id', 'hashedPassword'], disableIdentityMap: true },
      );
      return row?.hashedPassword ?? null;
    },

    /** Moves the account to `email`; false when another account holds it (the unique index decides, R43). */
    async updateEmailIfFree(userId: string, email: string, now: Date): Promise<boolean> {
      try {
        return (await em.nativeUpdate(UserSchema, { id: userId }, { email, isVerified: true, updatedAt: now })) === 1;
      } catch (err) {
        if (dialect.isUniqueViolation(err)) return false;
        throw err;
      }
    },

    async updateProfile(userId: string, fields: { fullName: string | null }, now: Date): Promise<void> {
      await em.nativeUpdate(UserSchema, { id: userId }, { fullName: fields.fullName, updatedAt: now });
    },

    async markVerified(userId: string, now: Date): Promise<void> {
      await em.nativeUpdate(UserSchema, { id: userId }, { isVerified: true, updatedAt: now });
    },

    async recordLogin(userId: string, now: Date): Promise<void> {
      if (sql) await sql.run(em, USER_SQL.recordLogin, [sql.value(now), userId]);
      else await em.nativeUpdate(UserSchema, { id: userId }, { lastLoginAt: now });
    },

    async deleteById(id: string): Promise<boolean> {
      return (await em.nativeDelete(UserSchema, { id })) === 1;
    },

    /**
     * A successful login's stamp (`last_login_at`, and the upgraded hash when there is one), only while the stored
     * hash is still `verified` — the one the password was checked against (R68). False, writing nothing, when a
     * reset or change replaced it during the check.
     */
    async stampLoginIf(userId: string, verified: string, upgraded: string | null, now: Date): Promise<boolean> {
      const changes = upgraded ? { lastLoginAt: now, hashedPassword: upgraded, updatedAt: now } : { lastLoginAt: now };
      if ((await em.nativeUpdate(UserSchema, { id: userId, hashedPassword: verified }, changes)) === 1) return true;
      // MongoDB counts modified documents, not matched ones: a row already stamped `now` reports none.
      return !upgraded && (await this.currentPasswordHash(userId)) === verified;
    },

    /** Deletes the user only while the stored hash is still `expected` (the re-authenticated one, R68). */
    async deleteByIdIfPasswordHash(id: string, expected: string): Promise<boolean> {
      return (await em.nativeDelete(UserSchema, { id, hashedPassword: expected })) === 1;
    },
  };
}

export type UserRepository = ReturnType<typeof createUserRepository>;
