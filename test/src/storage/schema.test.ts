/**
 * Schema installation on every backend: idempotent, migrations that build exactly what the entities
 * describe (SQL), the unique indexes uniqueness depends on (R66), and the columns named as the Python
 * regstack names them.
 */
import { ALL_ENTITIES, UserSchema } from '@regstack/server/internal';
import { expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { repos } from './concurrency.ts';

describeEachBackend('schema', (ctx) => {
  it('installSchema is idempotent', async () => {
    await ctx.storage.installSchema();
    await ctx.storage.installSchema();
    const another = await ctx.openAnother();
    await another.installSchema();
  });

  it('the database enforces unique canonical email (R66)', async () => {
    const now = new Date();
    const r = repos(ctx.storage);
    expect(await r.users.insertIfEmailFree({ email: 'unique@example.com', hashedPassword: 'h' }, now)).not.toBeNull();
    expect(await r.users.insertIfEmailFree({ email: 'unique@example.com', hashedPassword: 'h2' }, now)).toBeNull();
    // Bypass the repository: a raw second insert must fail at the database, not in our code.
    const em = ctx.storage.fork();
    await expect(
      em.insert(UserSchema, {
        id: 'raw-dup',
        email: 'unique@example.com',
        hashedPassword: null,
        fullName: null,
        phoneNumber: null,
        isActive: true,
        isVerified: false,
        isSuperuser: false,
        isMfaEnabled: false,
        createdAt: now,
        updatedAt: now,
        lastLoginAt: null,
      }),
    ).rejects.toSatisfy((err: unknown) => ctx.storage.dialect.isUniqueViolation(err));
  });

  it('the password hash never leaves through a plain load or serialization', async () => {
    const now = new Date();
    const r = repos(ctx.storage);
    await r.users.insertIfEmailFree({ email: 'hidden@example.com', hashedPassword: '$argon2id$secret' }, now);
    const plain = await repos(ctx.storage).users.findByEmail('hidden@example.com');
    expect(plain?.hashedPassword).toBeUndefined();
    const withCreds = await repos(ctx.storage).users.findCredentialsByEmail('hidden@example.com');
    expect(withCreds?.hashedPassword).toBe('$argon2id$secret');
    expect(JSON.stringify(withCreds)).not.toContain('secret');
  });

  it('stores millisecond timestamps exactly (R40)', async () => {
    const at = new Date(1_790_000_000_123);
    const r = repos(ctx.storage);
    await r.revocations.revokeAllForUser('ms-user', at, 'logout_all');
    expect((await repos(ctx.storage).revocations.cutoffFor('ms-user'))?.getTime()).toBe(at.getTime());
  });

  if (ctx.backend === 'sqlite' || ctx.backend === 'postgres') {
    it('the committed migrations build exactly the schema the entities describe', async () => {
      const diff = await (
        ctx.storage.orm.schema as unknown as { getUpdateSchemaSQL(o?: object): Promise<string> }
      ).getUpdateSchemaSQL({ wrap: false });
      expect(diff.trim()).toBe('');
    });

    it('uses the Python regstack table and column names', async () => {
      const conn = ctx.storage.fork().getConnection() as unknown as {
        execute(sql: string): Promise<Record<string, unknown>[]>;
      };
      const columns =
        ctx.backend === 'sqlite'
          ? (await conn.execute(`select name from pragma_table_info('users')`)).map((r) => r.name)
          : (
              await conn.execute(
                `select column_name as name from information_schema.columns where table_name = 'users'`,
              )
            ).map((r) => r.name);
      expect(columns).toEqual(
        expect.arrayContaining(['email', 'hashed_password', 'full_name', 'is_active', 'is_verified', 'is_superuser']),
      );
      for (const table of ['users', 'pending_registrations', 'login_attempts', 'mfa_codes']) {
        const found =
          ctx.backend === 'sqlite'
            ? await conn.execute(`select name from sqlite_master where type = 'table' and name = '${table}'`)
            : await conn.execute(`select table_name from information_schema.tables where table_name = '${table}'`);
        expect(found).toHaveLength(1);
      }
    });
  } else {
    it('creates a collection and the declared indexes for every entity', async () => {
      const db = (
        ctx.storage.fork().getConnection() as unknown as {
          getDb(): {
            listCollections(): { toArray(): Promise<{ name: string }[]> };
            collection(n: string): { indexes(): Promise<{ key: Record<string, number>; unique?: boolean }[]> };
          };
        }
      ).getDb();
      const names = (await db.listCollections().toArray()).map((c) => c.name);
      for (const meta of ALL_ENTITIES) expect(names).toContain(meta.meta.tableName);
      const userIndexes = await db.collection('users').indexes();
      expect(userIndexes.some((i) => i.key.email === 1 && i.unique)).toBe(true);
    });
  }
});
