/**
 * The admin user search (issue 17, item 2's last open point: "search by email prefix and by name,
 * case-insensitive", index-backed at a million users). One seeded population and one table of searches with their
 * expected users, asserted on every backend: the same answers on SQLite, PostgreSQL and MongoDB-wire, tricky input
 * included (`%`, `_`, `.*`, `$where`, `{"$ne":1}`, unicode, mixed case, blank). On SQL each search runs in both of
 * its shapes (read from the index ranges, or probed along the sort's index), through pages in every sort. The name
 * index follows the name: a rename moves the user to the new words, a deletion (the admin's or the user's own)
 * removes them.
 */
import { createRepositories, type Storage, UserNameTermSchema } from '@regstack/server/internal';
import { beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';

/** email → full name. */
const PEOPLE: Record<string, string | null> = {
  'mary.smith@srch.example': 'Mary Carol Smith',
  'carl@srch.example': 'Carlos Ñúñez',
  'zoe@srch.example': "ZOË O'Brien-Łukasz",
  'pct@srch.example': '100% Real_Name',
  'dot@srch.example': 'Dot.Star .* $where',
  'ne@srch.example': '{"$ne":1}',
  'odysseus@srch.example': 'ΟΔΥΣΣΕΥΣ',
  'noname@srch.example': null,
  'carolyn@srch.example': 'Kim Lee',
  'full@srch.example': 'Ｆｕｌｌｗｉｄｔｈ Name',
  'under_score@srch.example': 'Plain Person',
};

/** search → the local parts of the emails it finds. */
const EXPECTED: Array<[string, string[]]> = [
  ['car', ['carl', 'carolyn', 'mary.smith']], // email prefixes and the start of a name's word
  ['CAROL', ['carolyn', 'mary.smith']],
  ['arol', []], // inside a word is no match
  ['carol smith', ['mary.smith']], // every word must start a word of the name, in any order
  ['Smith  CAROL', ['mary.smith']],
  ['carol kim', []],
  ['mary.smith@', ['mary.smith']],
  ['MARY.SMITH@SRCH.EXAMPLE', ['mary.smith']],
  ['ñú', ['carl']],
  ['ÑÚÑEZ', ['carl']],
  ['zoë', ['zoe']],
  ["o'brien", ['zoe']],
  ['łukasz', ['zoe']],
  ['οδυσ', ['odysseus']],
  ['ΟΔΥΣ', ['odysseus']], // a capital sigma at the end of the search is still a sigma
  ['fullwidth', ['full']], // the name is NFKC-folded
  ['ＦＵＬＬ', ['full']],
  ['kim', ['carolyn']],
  ['noname', ['noname']],
  ['%', []],
  ['_', []],
  ['under_', ['under_score']], // `_` is a literal in the email prefix, no wildcard
  ['100%', ['pct']],
  ['real_name', ['pct']],
  ['.*', []],
  ['^car', ['carl', 'mary.smith']], // `^` is no anchor, only a separator before the word "car"
  ['$where', ['dot']],
  ['{"$ne":1}', ['ne']], // the literal text of a name, nothing more
  ['{"$ne":null}', []],
  ['\\', []],
  ["' or 1=1 --", []],
  ['zzz', []],
];

describeEachBackend('admin user search', (ctx) => {
  const sql = !ctx.backend.startsWith('mongodb');
  const ids = new Map<string, string>();
  const repos = (storage: Storage = ctx.storage) => createRepositories(storage.fork(), storage.dialect);

  beforeAll(async () => {
    let at = Date.UTC(2026, 10, 1);
    for (const [email, fullName] of Object.entries(PEOPLE)) {
      at += 60_000;
      const now = new Date(at);
      const user = await ctx.storage.atomically(() =>
        repos().users.insertIfEmailFree({ email, hashedPassword: null, fullName }, now),
      );
      ids.set(email.split('@')[0]!, user!.id);
    }
  });

  /** The local parts of every user `search` finds, through pages of `limit` in the given order. */
  async function find(
    search: string,
    options: { limit?: number; sort?: 'createdAt' | 'lastLoginAt' | 'email'; direction?: 'asc' | 'desc' } = {},
    driveMax?: number,
  ): Promise<string[]> {
    const { limit = 200, sort = 'createdAt', direction = 'desc' } = options;
    const found: string[] = [];
    let after: { value: number | string | null; id: string } | undefined;
    for (let page = 0; page < 50; page++) {
      const rows = await repos().users.listPage({
        limit,
        search,
        filters: {},
        sort,
        direction,
        after,
        ...(driveMax !== undefined && { driveMax }),
      });
      found.push(...rows.map((u) => u.email.split('@')[0]!));
      const last = rows.at(-1);
      if (rows.length < limit || !last) break;
      const value = sort === 'email' ? last.email : sort === 'createdAt' ? last.createdAt : last.lastLoginAt;
      after = { value: value instanceof Date ? value.getTime() : (value ?? null), id: last.id };
    }
    return found;
  }

  const shapes = sql ? ([undefined, 0] as const) : ([undefined] as const);
  for (const driveMax of shapes) {
    const shape = driveMax === 0 ? ' (probed along the sort index)' : '';
    it(`every search finds the same users on every backend, the text only ever data${shape}`, async () => {
      for (const [search, expected] of EXPECTED) {
        expect((await find(search, {}, driveMax)).sort(), search).toEqual([...expected].sort());
      }
    });

    it(`a search pages in every sort and direction${shape}`, async () => {
      // Pages of 2 of a search's matches give what one page does, in every order; a blank search pages everyone.
      const everyone = Object.keys(PEOPLE).map((e) => e.split('@')[0]!);
      for (const sort of ['createdAt', 'lastLoginAt', 'email'] as const) {
        for (const direction of ['asc', 'desc'] as const) {
          const all = await find('c', { sort, direction }, driveMax);
          expect(await find('c', { sort, direction, limit: 2 }, driveMax), `${sort} ${direction}`).toEqual(all);
          expect(all.sort()).toEqual(['carl', 'carolyn', 'mary.smith']);
        }
      }
      const byEmail = await find('', { sort: 'email', direction: 'asc', limit: 3 }, driveMax);
      expect(byEmail.filter((e) => everyone.includes(e))).toEqual([...everyone].sort());
    });
  }

  it('a blank search is no search: every user', async () => {
    const all = (await find('')).sort();
    expect(all).toEqual(
      Object.keys(PEOPLE)
        .map((e) => e.split('@')[0]!)
        .sort(),
    );
    expect((await find('   ')).sort()).toEqual(all);
  });

  it('a rename moves the user to the new words, at once', async () => {
    const id = ids.get('carolyn')!;
    const now = new Date();
    await ctx.storage.atomically(() => repos().users.updateProfile(id, { fullName: 'Kimberly Quartz' }, now));
    expect(await find('quartz')).toEqual(['carolyn']);
    expect(await ctx.storage.fork().count(UserNameTermSchema, { userId: id })).toBe(2);
    expect(await find('kim')).toEqual(['carolyn']); // "kimberly" starts with it
    expect(await find('lee')).toEqual([]);
    await ctx.storage.atomically(() => repos().users.updateAdminFields(id, { fullName: 'Opal Lee' }, now));
    expect(await find('opal lee')).toEqual(['carolyn']);
    expect(await find('quartz')).toEqual([]);
    await ctx.storage.atomically(() => repos().users.updateAdminFields(id, { fullName: null }, now));
    expect(await find('opal')).toEqual([]);
    expect(await find('carolyn')).toEqual(['carolyn']); // the email still finds them
    const terms = await ctx.storage.fork().count(UserNameTermSchema, { userId: id });
    expect(terms).toBe(0);
  });

  it("a deletion, the admin's or the user's own, removes the user's words", async () => {
    const em = ctx.storage.fork();
    const byAdmin = ids.get('zoe')!;
    expect(await em.count(UserNameTermSchema, { userId: byAdmin })).toBe(4); // zoë, o, brien, łukasz
    await ctx.storage.atomically(() => repos().users.deleteById(byAdmin));
    expect(await em.count(UserNameTermSchema, { userId: byAdmin })).toBe(0);
    expect(await find('łukasz')).toEqual([]);

    const own = await ctx.storage.atomically(() =>
      repos().users.insertIfEmailFree(
        { email: 'self@srch.example', hashedPassword: 'h', fullName: 'Selma Gone' },
        new Date(),
      ),
    );
    expect(await find('selma')).toEqual(['self']);
    await ctx.storage.atomically(() => repos().users.deleteByIdIfPasswordHash(own!.id, 'h'));
    expect(await em.count(UserNameTermSchema, { userId: own!.id })).toBe(0);
    expect(await find('selma')).toEqual([]);
  });

  // The search migration fills the words of the users already there, by the same rule as a live write.
  it.skipIf(!sql)('upgrading fills the name words of existing users (the migration backfill)', async () => {
    const ours = ctx.backend === 'sqlite' ? 'Migration20261206151302' : 'Migration20261206151303';
    const migrator = ctx.storage.orm.migrator;
    await migrator.down(ours);
    const runner = ctx.storage.dialect.sql!;
    const now = runner.value(new Date());
    await runner.run(
      ctx.storage.fork(),
      `insert into users (id, email, hashed_password, full_name, is_active, is_verified, is_superuser, is_mfa_enabled,
         created_at, updated_at) values (?, ?, null, ?, ?, ?, ?, ?, ?, ?)`,
      ['backfill-1', 'old@srch.example', 'Ancien Ÿvonne-Émile', true, true, false, false, now, now].map((v) =>
        typeof v === 'boolean' ? runner.value(v) : v,
      ),
    );
    await migrator.up(ours);
    expect(await find('ÿvonne')).toEqual(['old']);
    expect(await find('émile ancien')).toEqual(['old']);
    expect(await ctx.storage.fork().count(UserNameTermSchema, { userId: 'backfill-1' })).toBe(3);
    // Every user inserted before the downgrade has its words back too.
    expect(await find('carlos')).toEqual(['carl']);
  });
});
