/**
 * Users. `insertIfEmailFree` relies on the unique index on the canonical email (R66): the database, not a
 * prior lookup, decides who wins a race, so N concurrent sign-ups of one address create one row. On the SQL
 * backends the reads and writes every login makes are prepared statements (`USER_SQL`, db/sql-runner.ts),
 * beside the ORM call each one stands for.
 *
 * The admin list (`listPage`, issue 17) pages by keyset on (sort key, id), index-backed (user.entity.ts): on SQL a
 * page after a cursor is a range of that index, so a deep page costs what the first does. A null `last_login_at`
 * sorts after every date in both directions, on every backend, because the two kinds of row are read as two
 * segments rather than left to each database's own null ordering.
 *
 * Its search (db/name-terms.ts) is an email prefix or the start of name words, and every part of it is a range of
 * an index, never a pattern matched against every row (`like '%x%'` and a regular expression read the whole table):
 * the prefix is a range of the unique email index, each word a range of the `(term, user_id)` index of
 * `user_name_terms`, the words of every user's name, which this repository keeps beside the name it mirrors in every
 * write of a name or a user (creation, rename, deletion — in the caller's transaction on SQL). The search text is
 * only ever a bound value compared in byte order, so it is data on every backend (R56). One table of words rather
 * than PostgreSQL trigrams and SQLite FTS5: the same structure and the same answers on all three backends, MongoDB
 * included, and a word prefix ("car" finds "Mary Carol Smith") is what an administrator types.
 */
import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import type { Dialect } from '../db/dialect.ts';
import { type User, UserNameTermSchema, UserSchema } from '../db/entities/index.ts';
import { newId } from '../db/ids.ts';
import { nameTerms, parseUserSearch, prefixRange, type UserSearch } from '../db/name-terms.ts';
import { isDatabaseUnavailable } from '../db/outages.ts';
import type { SqlRunner } from '../db/sql-runner.ts';
import { BRIEF_WORK_LEASE, createClaimRepository, withLease } from './claim.repository.ts';

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

/** The admin fields `updateAdminFields` may set (an allowlist, R47). */
export interface AdminUserFields {
  fullName?: string | null;
  isActive?: boolean;
  isSuperuser?: boolean;
  isVerified?: boolean;
}

export type UserSortKey = 'createdAt' | 'lastLoginAt' | 'email';

/** Where a page ends: the last row's sort value (a date's epoch ms, an email, or null) and id. */
export interface UserKeyset {
  value: number | string | null;
  id: string;
}

export interface UserPageQuery {
  limit: number;
  /** Matches an email prefix or the start of words of the name, case-insensitively (db/name-terms.ts). */
  search?: string | undefined;
  filters: { isActive?: boolean; isVerified?: boolean; isSuperuser?: boolean; isMfaEnabled?: boolean };
  sort: UserSortKey;
  direction: 'asc' | 'desc';
  after?: UserKeyset | undefined;
  /**
   * On SQL, the match count above which a search walks the sort's index rather than reading its matches
   * (`SEARCH_DRIVE_MAX` unless given): the tests lower it to run and explain both shapes over a small table.
   */
  driveMax?: number;
}

const SORT_COLUMN = { createdAt: 'created_at', lastLoginAt: 'last_login_at', email: 'email' } as const;
const FLAG_COLUMN = {
  isActive: 'is_active',
  isVerified: 'is_verified',
  isSuperuser: 'is_superuser',
  isMfaEnabled: 'is_mfa_enabled',
} as const;

/** The sort key of `user` as a keyset value. */
export function userSortValue(user: User, sort: UserSortKey): number | string | null {
  if (sort === 'email') return user.email;
  const date = sort === 'createdAt' ? user.createdAt : user.lastLoginAt;
  return date ? date.getTime() : null;
}

/**
 * A search matching at most this many rows (email prefix and first word counted apart) is read from its index ranges
 * and sorted; one matching more is found by walking the sort's index and probing each user's words. The first costs
 * in proportion to its matches, so this bounds it; the second reads about `limit` ÷ the share of users that match,
 * so above this count at most `limit` × users ÷ this rows (a common word: a few hundred). Neither reads every user.
 */
const SEARCH_DRIVE_MAX = 2000;

/** The ranges of a search, as bound values: the email prefix's, then each word's. */
function searchRanges(search: UserSearch): { email: string[]; words: string[][] } {
  const email = prefixRange(search.emailPrefix);
  return {
    email: [email.from, email.to],
    words: search.words.map((word) => {
      const range = prefixRange(word);
      return [range.from, range.to];
    }),
  };
}

/**
 * The search as one condition on `users` for the SQL backends, in either shape; both are made of index ranges only.
 * - `drive`: `id in` a set of ids read from the ranges — the users whose every search word starts a word of their
 *   name (one range of `user_name_terms (term, user_id)` per word, intersected) and those whose email starts with
 *   the text (a range of the unique email index); the database fetches them by primary key and sorts them. Written
 *   `intersect … union …` so both databases read it as `(words) ∪ email`: PostgreSQL binds `intersect` tighter,
 *   SQLite reads left to right.
 * - `probe`: the email range, or for each word an `exists` on `user_name_terms (user_id, term)`, checked on each row
 *   as the database walks the sort's index (never a hash of all the matches, see below).
 */
function searchCondition(search: UserSearch, shape: 'drive' | 'probe'): { text: string; params: string[] } {
  const ranges = searchRanges(search);
  if (shape === 'probe') {
    // `limit 1 offset 0`: an offset keeps PostgreSQL from turning the `exists` into one hash of every user the word
    // matches (read whole before the first row, a tenth of the table for a common word) — it could only probe each
    // row along the index, which is the point of this shape. SQLite plans it the same either way.
    const words = search.words.map(
      () =>
        'exists (select 1 from user_name_terms t where t.user_id = users.id and t.term >= ? and t.term < ? limit 1 offset 0)',
    );
    const text =
      words.length > 0 ? `(email >= ? and email < ? or (${words.join(' and ')}))` : 'email >= ? and email < ?';
    return { text, params: [...ranges.email, ...ranges.words.flat()] };
  }
  const parts: string[] = [];
  if (search.words.length > 0) {
    parts.push(
      search.words.map(() => 'select user_id from user_name_terms where term >= ? and term < ?').join(' intersect '),
    );
  }
  parts.push('select id from users where email >= ? and email < ?');
  return { text: `id in (${parts.join(' union ')})`, params: [...ranges.words.flat(), ...ranges.email] };
}

export function createUserRepository(em: EntityManager, dialect: Dialect) {
  const { sql } = dialect;
  const claims = createClaimRepository(em, dialect);

  /**
   * The stored hash read fresh: null for an account without a password, undefined when there is no such user — so a
   * compare-and-set expecting "no password" (null) never matches a deleted account.
   */
  async function storedHash(userId: string): Promise<string | null | undefined> {
    const row = await em.findOne(
      UserSchema,
      { id: userId },
      { populate: ['hashedPassword'], fields: ['id', 'hashedPassword'], disableIdentityMap: true },
    );
    return row ? (row.hashedPassword ?? null) : undefined;
  }

  /**
   * Every update of a user row or document goes through here: the number of rows it matched (SQL) or changed
   * (MongoDB). On SQL a plain update — the row's lock orders writers. On MongoDB it runs under the lease
   * `user-write:<id>` (a claim: an insert under a unique key, claim.entity.ts): FerretDB 1.x applies an update by
   * writing back the whole document as it read it, so two updates of one user at once could put back what the other
   * had just written — a login's `last_login_at` stamp would restore the password a reset had just replaced, for a
   * thief signing in with the old one (R68, issue 21). Under the lease the updates of one user follow each other,
   * on every instance. A write that failed for an outage keeps the lease until it runs out: its answer was lost, not
   * necessarily the write, which must not land after the next one.
   */
  async function updateUser(userId: string, filter: FilterQuery<User>, changes: object): Promise<number> {
    const where = { ...(filter as object), id: userId } as FilterQuery<User>;
    if (sql) return em.nativeUpdate(UserSchema, where, changes);
    return withLease(
      claims,
      `user-write:${userId}`,
      BRIEF_WORK_LEASE,
      () => em.nativeUpdate(UserSchema, where, changes),
      isDatabaseUnavailable,
    );
  }

  /** Stores `terms` as words of `userId`'s name. */
  async function addNameTerms(userId: string, terms: string[], now: Date): Promise<void> {
    if (terms.length === 0) return;
    const rows = terms.map((term) => ({ id: newId(now.getTime()), term, userId }));
    try {
      await em.insertMany(UserNameTermSchema, rows);
    } catch (err) {
      // Only MongoDB gets here (no transaction; on SQL the user row's lock orders two renames): a rename that ran
      // alongside stored some of the words already. Each word once is all the index needs.
      if (sql || !dialect.isUniqueViolation(err)) throw err;
      for (const row of rows) {
        await em.insert(UserNameTermSchema, row).catch((e: unknown) => {
          if (!dialect.isUniqueViolation(e)) throw e;
        });
      }
    }
  }

  /**
   * Makes the stored words of `userId` those of `fullName`. Called after the write of the user row, whose lock (on
   * SQL) keeps a concurrent rename waiting until this transaction ends. The new words go in first, then the stale
   * ones go: without a transaction (MongoDB) a search meanwhile finds the user by either name, never by neither.
   */
  async function replaceNameTerms(userId: string, fullName: string | null, now: Date): Promise<void> {
    const wanted = nameTerms(fullName);
    const stored = (await em.find(UserNameTermSchema, { userId }, { fields: ['term'], disableIdentityMap: true })).map(
      (row) => row.term,
    );
    await addNameTerms(
      userId,
      wanted.filter((term) => !stored.includes(term)),
      now,
    );
    const stale = stored.filter((term) => !wanted.includes(term));
    if (stale.length > 0) await em.nativeDelete(UserNameTermSchema, { userId, term: { $in: stale } });
  }

  /** How the SQL backends run `search` (see `searchCondition`): two index range counts, each stopped early. */
  async function searchShape(runner: SqlRunner, search: UserSearch, max: number): Promise<'drive' | 'probe'> {
    const ranges = searchRanges(search);
    const cap = Math.trunc(max) + 1;
    let text = `select (select count(*) from (select 1 from users where email >= ? and email < ? limit ${cap}) e)`;
    const params = [...ranges.email];
    if (ranges.words[0]) {
      text += ` + (select count(*) from (select 1 from user_name_terms where term >= ? and term < ? limit ${cap}) w)`;
      params.push(...ranges.words[0]);
    }
    const [row] = await runner.all(em, `${text} as n`, params);
    return Number(row?.n) > max ? 'probe' : 'drive';
  }

  /** The ids of the users a search matches, for MongoDB (on SQL `searchCondition` has the database do this). */
  async function matchingIds(search: UserSearch): Promise<string[]> {
    const email = prefixRange(search.emailPrefix);
    const byEmail = await em.find(
      UserSchema,
      { email: { $gte: email.from, $lt: email.to } },
      { fields: ['id'], disableIdentityMap: true },
    );
    const ids = new Set(byEmail.map((u) => u.id));
    // Every word must start some word of the name: each word's range narrowed to the users the previous ones left.
    let named: string[] | undefined;
    for (const word of search.words) {
      const range = prefixRange(word);
      const rows = await em.find(
        UserNameTermSchema,
        { term: { $gte: range.from, $lt: range.to }, ...(named && { userId: { $in: named } }) },
        { fields: ['userId'], disableIdentityMap: true },
      );
      named = [...new Set(rows.map((row) => row.userId))];
      if (named.length === 0) break;
    }
    for (const id of named ?? []) ids.add(id);
    return [...ids];
  }

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
      await addNameTerms(row.id, nameTerms(row.fullName), now);
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
      return (await updateUser(userId, {}, { hashedPassword, updatedAt: now })) === 1;
    },

    /**
     * Compare-and-set on the credential (R68): stores `hashedPassword` only while the stored hash is still
     * `expected` — the one a re-authentication just verified, or null for an account that had none (its first
     * password). False when a reset or another change replaced it in between. On SQL the update also takes the
     * row's lock, so a concurrent reset waits for this transaction and then sees its result.
     */
    async replacePasswordHashIf(
      userId: string,
      expected: string | null,
      hashedPassword: string,
      now: Date,
    ): Promise<boolean> {
      return (await updateUser(userId, { hashedPassword: expected }, { hashedPassword, updatedAt: now })) === 1;
    },

    /**
     * Whether the stored hash is still `expected`, claiming the row on SQL (an update of `updated_at` under the
     * same condition takes its lock until the transaction ends) — for changes other than the password itself that
     * re-authenticated with it (an email change request, R68); null: the account still has no password.
     */
    async holdIfPasswordHash(userId: string, expected: string | null, now: Date): Promise<boolean> {
      if ((await updateUser(userId, { hashedPassword: expected }, { updatedAt: now })) === 1) {
        return true;
      }
      // MongoDB counts modified documents, not matched ones: a row already stamped `now` reports none.
      return (await storedHash(userId)) === expected;
    },

    /**
     * Takes the user row's lock for the rest of the transaction on SQL (an update of `updated_at`): flows that
     * change a user's credentials take it first, so two of them always lock in the same order (user row, then
     * tokens and sessions) and wait for each other instead of deadlocking. On MongoDB it writes nothing: there is
     * no lock to take. (Before user writes took turns, `updateUser`, every losing redeemer of a link put back the
     * user as FerretDB had read it before the winner's write: the old password after a reset, the old address after
     * an email change — issue 21.)
     */
    async lockForChange(userId: string, now: Date): Promise<void> {
      if (sql) await updateUser(userId, {}, { updatedAt: now });
    },

    /** The stored hash, read fresh (no identity map): how a flow checks that its own write still stands. */
    async currentPasswordHash(userId: string): Promise<string | null> {
      return (await storedHash(userId)) ?? null;
    },

    /** Moves the account to `email`; false when another account holds it (the unique index decides, R43). */
    async updateEmailIfFree(userId: string, email: string, now: Date): Promise<boolean> {
      try {
        return (await updateUser(userId, {}, { email, isVerified: true, updatedAt: now })) === 1;
      } catch (err) {
        if (dialect.isUniqueViolation(err)) return false;
        throw err;
      }
    },

    /** Renames the user; call inside a transaction (the name's search words change with it). */
    async updateProfile(userId: string, fields: { fullName: string | null }, now: Date): Promise<void> {
      if ((await updateUser(userId, {}, { fullName: fields.fullName, updatedAt: now })) === 1) {
        await replaceNameTerms(userId, fields.fullName, now);
      }
    },

    async markVerified(userId: string, now: Date): Promise<void> {
      await updateUser(userId, {}, { isVerified: true, updatedAt: now });
    },

    async recordLogin(userId: string, now: Date): Promise<void> {
      if (sql) await sql.run(em, USER_SQL.recordLogin, [sql.value(now), userId]);
      else await updateUser(userId, {}, { lastLoginAt: now });
    },

    /** Deletes the user and the search words of their name. */
    async deleteById(id: string): Promise<boolean> {
      if ((await em.nativeDelete(UserSchema, { id })) !== 1) return false;
      await em.nativeDelete(UserNameTermSchema, { userId: id });
      return true;
    },

    /**
     * A successful login's stamp (`last_login_at`, and the upgraded hash when there is one), only while the stored
     * hash is still `verified` — the one the password was checked against (R68). False, writing nothing, when a
     * reset or change replaced it during the check.
     */
    async stampLoginIf(userId: string, verified: string | null, upgraded: string | null, now: Date): Promise<boolean> {
      const changes = upgraded ? { lastLoginAt: now, hashedPassword: upgraded, updatedAt: now } : { lastLoginAt: now };
      if ((await updateUser(userId, { hashedPassword: verified }, changes)) === 1) return true;
      // MongoDB counts modified documents, not matched ones: a row already stamped `now` reports none.
      return !upgraded && (await storedHash(userId)) === verified;
    },

    /** The user read fresh, past the unit of work's identity map: what an admin decision rests on. */
    findFresh(id: string): Promise<User | null> {
      return em.findOne(UserSchema, { id }, { disableIdentityMap: true });
    },

    /** Active superusers other than `exceptId` (the last-admin rule counts those who would remain). */
    countActiveSuperusers(exceptId?: string): Promise<number> {
      return em.count(UserSchema, {
        isActive: true,
        isSuperuser: true,
        ...(exceptId !== undefined && { id: { $ne: exceptId } }),
      });
    },

    async updateAdminFields(id: string, fields: AdminUserFields, now: Date): Promise<boolean> {
      if ((await updateUser(id, {}, { ...fields, updatedAt: now })) !== 1) return false;
      if (fields.fullName !== undefined) await replaceNameTerms(id, fields.fullName, now);
      return true;
    },

    /** Users matching every given flag. */
    countWhere(flags: UserPageQuery['filters'] = {}): Promise<number> {
      return em.count(UserSchema, flags);
    },

    countCreatedBetween(from: Date, to: Date): Promise<number> {
      return em.count(UserSchema, { createdAt: { $gte: from, $lt: to } });
    },

    /** One page of the admin list: up to `limit` users after `after`, in the query's order (see the header). */
    async listPage(query: UserPageQuery): Promise<User[]> {
      const search = parseUserSearch(query.search);
      const sqlSearch =
        search && sql
          ? searchCondition(search, await searchShape(sql, search, query.driveMax ?? SEARCH_DRIVE_MAX))
          : undefined;
      const searchIds = search && !sql ? await matchingIds(search) : undefined;
      if (searchIds?.length === 0) return [];
      const segments: Array<'dated' | 'undated'> =
        query.sort !== 'lastLoginAt' ? ['dated'] : query.after?.value === null ? ['undated'] : ['dated', 'undated'];
      const users: User[] = [];
      for (const segment of segments) {
        const after = segment === 'undated' && query.after?.value !== null ? undefined : query.after;
        const limit = query.limit - users.length;
        if (limit <= 0) break;
        users.push(...(sql ? await sqlSegment(sql, segment, after, limit) : await ormSegment(segment, after, limit)));
      }
      return users;

      async function sqlSegment(
        runner: SqlRunner,
        segment: 'dated' | 'undated',
        keyset: UserKeyset | undefined,
        limit: number,
      ): Promise<User[]> {
        const where: string[] = [];
        const params: unknown[] = [];
        for (const [flag, column] of Object.entries(FLAG_COLUMN)) {
          const wanted = query.filters[flag as keyof typeof FLAG_COLUMN];
          if (wanted !== undefined) {
            where.push(`${column} = ?`);
            params.push(runner.value(wanted));
          }
        }
        if (sqlSearch) {
          where.push(sqlSearch.text);
          params.push(...sqlSearch.params);
        }
        const column = SORT_COLUMN[query.sort];
        const op = query.direction === 'desc' ? '<' : '>';
        const dir = query.direction;
        if (segment === 'undated') {
          where.push(`${column} is null`);
          if (keyset) {
            where.push(`id ${op} ?`);
            params.push(keyset.id);
          }
        } else {
          if (query.sort === 'lastLoginAt') where.push(`${column} is not null`);
          if (keyset && keyset.value !== null) {
            const value = typeof keyset.value === 'number' ? runner.value(new Date(keyset.value)) : keyset.value;
            // A row value, not the equivalent `col < ? or (col = ? and id < ?)`: both databases make the row value a
            // range of the (col, id) index, the `or` only a filter over every row before the position: a page deep
            // in the list read every row of the pages before it (issue 17 item 6).
            where.push(`(${column}, id) ${op} (?, ?)`);
            params.push(value, keyset.id);
          }
        }
        const order = segment === 'undated' ? `id ${dir}` : `${column} ${dir}, id ${dir}`;
        const text = `select ${USER_COLUMNS} from users${where.length ? ` where ${where.join(' and ')}` : ''}
          order by ${order} limit ${Math.trunc(limit)}`;
        return (await runner.all(em, text, params)).map((r) => userFromRow(runner, r));
      }

      async function ormSegment(
        segment: 'dated' | 'undated',
        keyset: UserKeyset | undefined,
        limit: number,
      ): Promise<User[]> {
        const and: FilterQuery<User>[] = [];
        for (const flag of Object.keys(FLAG_COLUMN) as Array<keyof typeof FLAG_COLUMN>) {
          const wanted = query.filters[flag];
          if (wanted !== undefined) and.push({ [flag]: wanted });
        }
        if (searchIds) and.push({ id: { $in: searchIds } });
        const field = query.sort;
        const op = query.direction === 'desc' ? '$lt' : '$gt';
        if (segment === 'undated') {
          and.push({ [field]: null });
          if (keyset) and.push({ id: { [op]: keyset.id } });
        } else {
          if (field === 'lastLoginAt') and.push({ lastLoginAt: { $ne: null } });
          if (keyset && keyset.value !== null) {
            const value = typeof keyset.value === 'number' ? new Date(keyset.value) : keyset.value;
            and.push({ $or: [{ [field]: { [op]: value } }, { [field]: value, id: { [op]: keyset.id } }] });
          }
        }
        const orderBy =
          segment === 'undated' ? { id: query.direction } : { [field]: query.direction, id: query.direction };
        return em.find(UserSchema, and.length ? { $and: and } : {}, { orderBy, limit, disableIdentityMap: true });
      }
    },

    /** Sets `is_mfa_enabled` (the derived "any factor enabled" flag, kept by the MFA service). */
    async setMfaEnabled(userId: string, enabled: boolean, now: Date): Promise<void> {
      await updateUser(userId, {}, { isMfaEnabled: enabled, updatedAt: now });
    },

    /** Stores the verified phone; false when another account holds the number (the unique index decides, R52). */
    async setPhoneIfFree(userId: string, phoneNumber: string, now: Date): Promise<boolean> {
      try {
        return (await updateUser(userId, {}, { phoneNumber, updatedAt: now })) === 1;
      } catch (err) {
        if (dialect.isUniqueViolation(err)) return false;
        throw err;
      }
    },

    /**
     * Removes the phone. On MongoDB the field is unset, never written as null: the unique index on it is sparse
     * (it skips documents *without* the field), so a second null would collide with the first.
     */
    async clearPhone(userId: string, now: Date): Promise<void> {
      if (sql) {
        await updateUser(userId, {}, { phoneNumber: null, updatedAt: now });
        return;
      }
      // MikroORM's MongoDB driver passes `$`-operators in the update through as they are (MongoConnection).
      const unset = { $unset: { phoneNumber: '' }, updatedAt: now } as unknown as Partial<User>;
      await updateUser(userId, {}, unset);
    },

    /** Deletes the user only while the stored hash is still `expected` (the re-authenticated one, or null: none; R68). */
    async deleteByIdIfPasswordHash(id: string, expected: string | null): Promise<boolean> {
      if ((await em.nativeDelete(UserSchema, { id, hashedPassword: expected })) !== 1) return false;
      await em.nativeDelete(UserNameTermSchema, { userId: id });
      return true;
    },
  };
}

export type UserRepository = ReturnType<typeof createUserRepository>;
