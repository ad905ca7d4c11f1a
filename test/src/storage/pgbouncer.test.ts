/**
 * R74 and issue 21 (scale-out): two regstack instances over one real pgbouncer in transaction-pooling mode, with a
 * server pool of two connections so every server connection serves both instances in turn. Before issue 21 logins
 * answered 500 and `me` 503 here (per-process statement names `regstack_1`, `regstack_2`, … meant different SQL in
 * the two processes). With `postgres_prepared_statements = false` every statement goes unnamed and: schema install
 * through the pooler works from both instances at once; concurrent wrong logins from both lock the account and never
 * fail otherwise; tokens minted on one instance authenticate on the other and a logout on one is seen on the other;
 * a password-reset link is used once across both. Statement names are derived from their text, so two instances
 * never mean different SQL by one name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, selectedBackends, type TestDatabase } from '../harness/backends.ts';
import { outcome } from '../harness/outcomes.ts';
import { type Pgbouncer, pgbouncerBinary, startPgbouncer } from '../harness/pgbouncer.ts';
import { createVerifiedUser, startRegstack, type TestRegstack } from '../harness/regstack.ts';

const PASSWORD = 'correct horse battery staple';
const enabled = selectedBackends().includes('postgres') && pgbouncerBinary() !== null;

describe.skipIf(!enabled)('two instances through pgbouncer in transaction mode (R74, issue 21)', () => {
  let db: TestDatabase;
  let bouncer: Pgbouncer;
  let a: TestRegstack;
  let b: TestRegstack;

  beforeAll(async () => {
    db = await createTestDatabase('postgres', {});
    bouncer = await startPgbouncer(db.url, { poolSize: 2 });
    const options = { postgresPreparedStatements: false, loginRateLimit: 'none' } as const;
    // Both install the schema through the pooler at once: the install lock must hold there too.
    [a, b] = await Promise.all([startRegstack(bouncer.url, options), startRegstack(bouncer.url, options)]);
  }, 60_000);
  afterAll(async () => {
    await a?.regstack.close();
    await b?.regstack.close();
    await bouncer?.stop();
    await db?.drop();
  });

  it('concurrent wrong logins from both instances lock the account; nothing else fails', async () => {
    await createVerifiedUser(a, 'locked@example.com');
    const tries = Array.from({ length: 20 }, (_, i) =>
      outcome((i % 2 ? a : b).regstack.createCaller().login({ email: 'locked@example.com', password: 'wrong guess' })),
    );
    const codes = await Promise.all(tries);
    expect(codes.filter((c) => c !== 'INVALID_CREDENTIALS' && c !== 'TOO_MANY_ATTEMPTS')).toEqual([]);
    expect(codes).toContain('TOO_MANY_ATTEMPTS');
    for (const instance of [a, b]) {
      expect(
        await outcome(instance.regstack.createCaller().login({ email: 'locked@example.com', password: PASSWORD })),
      ).toBe('TOO_MANY_ATTEMPTS');
    }
  });

  it('a token from one instance works on the other under load; a logout on one is seen on the other', async () => {
    await createVerifiedUser(a, 'roaming@example.com');
    const logins = await Promise.all(
      [a, b, a, b].map((instance) =>
        instance.regstack.createCaller().login({ email: 'roaming@example.com', password: PASSWORD }),
      ),
    );
    const tokens = logins.map((l) => (l.status === 'authenticated' ? l.accessToken : ''));
    const calls = Array.from({ length: 60 }, (_, i) =>
      outcome((i % 2 ? a : b).regstack.createCaller({ accessToken: tokens[i % tokens.length]! }).account.me()),
    );
    expect(new Set(await Promise.all(calls))).toEqual(new Set(['ok']));
    await b.regstack.createCaller({ accessToken: tokens[0]! }).logout();
    expect(await outcome(a.regstack.createCaller({ accessToken: tokens[0]! }).account.me())).toBe('UNAUTHENTICATED');
    expect(await outcome(a.regstack.createCaller({ accessToken: tokens[1]! }).account.me())).toBe('ok');
  });

  it('a password-reset link is used once across both instances', async () => {
    await createVerifiedUser(a, 'reset@example.com');
    await a.regstack.createCaller().forgotPassword({ email: 'reset@example.com' });
    await a.regstack.drainOutbox();
    const token = a.mailbox.tokenFor('reset@example.com', 'reset');
    expect(token).toBeDefined();
    const resets = await Promise.all(
      [a, b, a, b, a, b].map((instance, i) =>
        outcome(
          instance.regstack
            .createCaller()
            .resetPassword({ token: token!, newPassword: `a new passphrase number ${i}` }),
        ),
      ),
    );
    expect(resets.filter((r) => r === 'ok')).toHaveLength(1);
    expect(resets.filter((r) => r !== 'ok').every((r) => r === 'INVALID_OR_EXPIRED_TOKEN')).toBe(true);
  });
});
