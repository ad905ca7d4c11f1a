/**
 * The admin user list stays fast however deep an admin pages (issue 17 item 6): on the SQL backends the page after a
 * cursor is a range of the sort's (column, id) index, so the database starts reading at the cursor's position
 * instead of reading every row before it and filtering them out. Checked on the statements `listPage` really runs
 * (recorded on their way to the driver), in every sort and direction, with each database's own EXPLAIN.
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
    const users = createRepositories(ctx.storage.fork(), ctx.storage.dialect).users;
    for (let i = 0; i < USERS; i++) {
      // Runs of equal sign-up and login times, so the id decides between them and the keyset needs both.
      const at = new Date(BASE + Math.floor(i / 3) * 60_000);
      const user = await users.insertIfEmailFree({ email: `plan${i}@plan.example`, hashedPassword: null }, at);
      if (i % 4 !== 3) await users.recordLogin(user!.id, new Date(at.getTime() + 3_600_000));
    }
    if (ctx.backend === 'postgres') await ctx.storage.dialect.sql!.run(ctx.storage.fork(), 'analyze users', []);
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
});
