/**
 * The admin user list stays fast however deep an admin pages (issue 17 item 6): on the SQL backends the page after a
 * cursor is a range of the sort's (column, id) index, so the database starts reading at the cursor's position
 * instead of reading every row before it and filtering them out. Checked on the statements `listPage` really runs
 * (recorded on their way to the driver), in every sort and direction, with each database's own EXPLAIN. A search
 * (issue 17 item 2) is index ranges too: a rare word never reads every user.
 */
import { createRepositories, type Dialect, type Storage } from '@regstack/server/internal';
import { beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';

const USERS = 300;
const BASE = Date.UTC(2026, 10, 1, 12, 0, 0, 0);
/** The column each sort pages on. */
const COLUMN = { createdAt: 'created_at', lastLoginAt: 'last_login_at', email: 'email' } as const;

interface Statement {
  text: string;
  params: readonly unknown[];
}

/** The storage's own dialect, with every statement its SQL runner is asked to read recorded. */
function recording(dialect: Dialect, into: Statement[]): Dialect {
  const sql = dialect.sql!;
  const runner: NonNullable<Dialect['sql']> = {
    ...sql,
    all: (em, text, params) => {
      into.push({ text, params });
      return sql.all(em, text, params);
    },
  };
  return { ...dialect, sql: runner };
}

describeEachBackend('admin user list query plans', (ctx) => {
  const sqlOnly = it.skipIf(ctx.backend.startsWith('mongodb'));

  beforeAll(async () => {
    if (ctx.backend.startsWith('mongodb')) return;
    // One transaction: the users and their name words together, as each creation writes them.
    await ctx.storage.atomically(async () => {
      const users = createRepositories(ctx.storage.fork(), ctx.storage.dialect).users;
      for (let i = 0; i < USERS; i++) {
        // Runs of equal sign-up and login times, so the id decides between them and the keyset needs both.
        const at = new Date(BASE + Math.floor(i / 3) * 60_000);
        // Every name shares "person"; one word ("quillfeather") belongs to one user: a common and a rare search.
        const fullName = i === USERS / 2 ? 'Rare Quillfeather' : `Plan Person ${i}`;
        const user = await users.insertIfEmailFree(
          { email: `plan${i}@plan.example`, hashedPassword: null, fullName },
          at,
        );
        if (i % 4 !== 3) await users.recordLogin(user!.id, new Date(at.getTime() + 3_600_000));
      }
    });
    if (ctx.backend === 'postgres') {
      await ctx.storage.dialect.sql!.run(ctx.storage.fork(), 'analyze users', []);
      await ctx.storage.dialect.sql!.run(ctx.storage.fork(), 'analyze user_name_terms', []);
    }
  });

  /** The database's plan for `statement`, one line per node (PostgreSQL: with sequential scans made unattractive). */
  async function planOf(storage: Storage, statement: Statement): Promise<string> {
    const sql = storage.dialect.sql!;
    if (ctx.backend === 'postgres') {
      // A big table's planner avoids reading it whole; 300 rows would make any plan cheap.
      return storage.atomically(async () => {
        const tx = storage.fork();
        await sql.run(tx, 'set local enable_seqscan = off', []);
        const rows = await sql.all(tx, `explain ${statement.text}`, statement.params);
        return rows.map((row) => String(Object.values(row)[0])).join('\n');
      });
    }
    const rows = await sql.all(storage.fork(), `explain query plan ${statement.text}`, statement.params);
    return rows.map((row) => String(row.detail)).join('\n');
  }

  for (const sort of ['createdAt', 'lastLoginAt', 'email'] as const) {
    for (const direction of ['desc', 'asc'] as const) {
      sqlOnly(`a page after a cursor starts at the cursor in its index (${sort} ${direction})`, async () => {
        const seen: Statement[] = [];
        const users = createRepositories(ctx.storage.fork(), recording(ctx.storage.dialect, seen)).users;
        const query = { limit: 51, filters: {}, sort, direction } as const;
        const first = await users.listPage(query);
        expect(first).toHaveLength(51);
        const last = first.at(-1)!;
        const value =
          sort === 'email' ? last.email : (sort === 'createdAt' ? last.createdAt : last.lastLoginAt)!.getTime();
        seen.length = 0;
        const next = await users.listPage({ ...query, after: { value, id: last.id } });
        expect(next).toHaveLength(51);
        expect(next.map((u) => u.id)).not.toContain(last.id);
        expect(seen.length).toBeGreaterThan(0);
        for (const statement of seen) {
          const plan = await planOf(ctx.storage, statement);
          if (ctx.backend === 'postgres') {
            // An index scan in the list's order whose index condition starts at the cursor, and no sort of the
            // rows read (an incremental sort within one email, which is unique, sorts nothing).
            expect(plan, plan).toMatch(/Index Scan/);
            expect(plan, plan).toMatch(new RegExp(`Index Cond: .*\\b${COLUMN[sort]}\\b.*[<>]`));
            expect(plan, plan).not.toMatch(/(^|-> +)Sort\b/m);
          } else {
            // SEARCH is a range of the index; SCAN would read it from the start.
            expect(plan, plan).toMatch(/^SEARCH users USING (COVERING )?INDEX \S+ \(.*[<>]/);
            expect(plan, plan).not.toMatch(/SCAN|TEMP B-TREE/);
          }
        }
      });
    }
  }

  // Issue 17: a search is index ranges, never a read of every user — a rare word read from the ranges of its indexes
  // (the words' and the email's), a common one probed per row along the sort's index from the cursor on.
  const SEARCHES = [
    { shape: 'read from its ranges', search: 'quillf', driveMax: undefined, found: 1 },
    { shape: 'probed along the sort index', search: 'person', driveMax: 0, found: 51 },
  ] as const;
  for (const { shape, search, driveMax, found } of SEARCHES) {
    sqlOnly(`a search (${search}) is ${shape}, never a scan of every user`, async () => {
      const seen: Statement[] = [];
      const users = createRepositories(ctx.storage.fork(), recording(ctx.storage.dialect, seen)).users;
      const query = { limit: 51, filters: {}, sort: 'createdAt', direction: 'desc', search, driveMax } as const;
      const first = await users.listPage(query);
      expect(first).toHaveLength(found);
      const last = first.at(-1)!;
      const next = await users.listPage({ ...query, after: { value: last.createdAt.getTime(), id: last.id } });
      expect(next.map((u) => u.id)).not.toContain(last.id);
      const lists = seen.filter((statement) => statement.text.startsWith('select id'));
      expect(lists).toHaveLength(2);
      for (const statement of seen) {
        const plan = await planOf(ctx.storage, statement);
        const list = lists.includes(statement);
        if (ctx.backend === 'postgres') {
          expect(plan, plan).not.toMatch(/Seq Scan/);
          // The words are a range of (term, user_id), or each user's own a range of (user_id, term).
          expect(plan, plan).toMatch(/Index Cond: .*\bterm\b.*>=.*\bterm\b.*</);
          if (list && shape === 'read from its ranges') {
            expect(plan, plan).toMatch(/Index Cond: .*\bemail\b.*>=.*\bemail\b.*</);
            expect(plan, plan).toMatch(/Index Scan using users_pkey on users/);
            expect(plan, plan).not.toMatch(/users_created_at_id_index/);
          } else if (list) {
            expect(plan, plan).toMatch(/Index Scan Backward using users_created_at_id_index on users/);
            expect(plan, plan).not.toMatch(/(^|-> +)Sort\b/m);
            // Each row probed on its own words, never a hash of every user the word matches.
            expect(plan, plan).toMatch(/Index Only Scan using user_name_terms_user_id_term_index/);
            expect(plan, plan).not.toMatch(/hashed SubPlan/);
          }
        } else if (list && shape === 'probed along the sort index') {
          // The sort's index walked in order (from the cursor on a later page), each row probed on its own words.
          expect(plan, plan).toMatch(/^(SCAN|SEARCH) users USING INDEX users_created_at_id_index\b/);
          expect(plan, plan).toMatch(
            /SEARCH t USING COVERING INDEX user_name_terms_user_id_term_index \(user_id=\? AND term>\? AND term<\?\)/,
          );
          expect(plan, plan).not.toMatch(/TEMP B-TREE|SCAN (users|user_name_terms|t)$/m);
        } else {
          // Ranges of the indexes only: SEARCH; SCAN of a table would read it from its start.
          expect(plan, plan).toMatch(/SEARCH user_name_terms USING COVERING INDEX \S+ \(term>\? AND term<\?\)/);
          expect(plan, plan).toMatch(
            /SEARCH users USING (COVERING )?INDEX users_email_unique \(email>\? AND email<\?\)/,
          );
          expect(plan, plan).not.toMatch(/^SCAN (users|user_name_terms)\b/m);
          if (list) expect(plan, plan).toMatch(/^SEARCH users USING INDEX \S+ \(id=\?\)/);
        }
      }
    });
  }
});
