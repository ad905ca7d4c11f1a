/**
 * Login through the real router, on every backend: indistinguishable failures (R9, R10), lockout with a
 * truthful retry time that even the right password cannot bypass (R14–R16), bursts that cannot buy extra
 * password checks (R17), success clearing the counter (R18).
 */
import { createRepositories, type Repositories, UserSchema } from '@regstack/server/internal';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { failure } from '../harness/outcomes.ts';
import { createVerifiedUser, startRegstack, type TestRegstack } from '../harness/regstack.ts';

describeEachBackend('login', (ctx) => {
  let t: TestRegstack;
  let repos: () => Repositories;
  beforeAll(async () => {
    t = await startRegstack(ctx.url);
    repos = () => createRepositories(t.regstack.storage.fork(), t.regstack.storage.dialect);
  });
  afterAll(async () => {
    await t?.regstack.close();
  });

  it('authenticates with a bearer token that reaches account.me', async () => {
    const { email, password } = await createVerifiedUser(t, 'login-ok@example.com');
    const res = await t.regstack.createCaller().login({ email: 'LOGIN-OK@example.com', password });
    if (res.status !== 'authenticated') throw new Error('expected authenticated');
    expect(res.tokenType).toBe('Bearer');
    expect(res.expiresIn).toBe(7200);
    expect(res.user.email).toBe(email);
    const me = await t.regstack.createCaller({ accessToken: res.accessToken }).account.me();
    expect(me.id).toBe(res.user.id);
    expect(me.lastLoginAt).toBeInstanceOf(Date);
  });

  it('unknown email, wrong password and disabled account fail identically (R9)', async () => {
    const { password } = await createVerifiedUser(t, 'r9@example.com');
    await createVerifiedUser(t, 'r9-disabled@example.com');
    const disabled = await repos().users.findByEmail('r9-disabled@example.com');
    await t.regstack.storage.fork().nativeUpdate(UserSchema, { id: disabled!.id }, { isActive: false });
    const caller = t.regstack.createCaller();
    const unknown = await failure(caller.login({ email: 'nobody@example.com', password }));
    const wrong = await failure(caller.login({ email: 'r9@example.com', password: `${password}!` }));
    const off = await failure(caller.login({ email: 'r9-disabled@example.com', password }));
    expect(unknown).toEqual({ code: 'INVALID_CREDENTIALS', message: 'Invalid email or password' });
    expect(wrong).toEqual(unknown);
    expect(off).toEqual(unknown);
  });

  it('an unknown email costs a full password hash (R10)', async () => {
    const { password } = await createVerifiedUser(t, 'r10@example.com');
    const caller = t.regstack.createCaller();
    const time = async (email: string) => {
      const start = performance.now();
      await failure(caller.login({ email, password: `${password}?` }));
      return performance.now() - start;
    };
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 4; i++) {
      known.push(await time('r10@example.com'));
      unknown.push(await time(`r10-missing-${i}@example.com`));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    // The quick-exit anti-pattern answers an unknown email in well under a millisecond of KDF; with the
    // dummy hash it must take at least half as long as a real wrong password.
    expect(median(unknown)).toBeGreaterThan(median(known) * 0.5);
    await repos().loginAttempts.clear('login:r10@example.com');
  });

  it('locks after 5 failures; even the right password then gets 429 with a truthful retry time (R14–R16)', async () => {
    const { email, password } = await createVerifiedUser(t, 'lock@example.com');
    const caller = t.regstack.createCaller();
    for (let i = 0; i < 5; i++) {
      expect((await failure(caller.login({ email, password: 'not the password' }))).code).toBe('INVALID_CREDENTIALS');
    }
    const locked = await failure(caller.login({ email, password }));
    expect(locked.code).toBe('TOO_MANY_ATTEMPTS');
    expect(locked.retryAfterSeconds).toBeGreaterThan(890);
    expect(locked.retryAfterSeconds).toBeLessThanOrEqual(900);
    // locked attempts do not extend the lock (R16) and leave no extra failure rows
    await failure(caller.login({ email, password }));
    expect(await repos().loginAttempts.countSince('login:lock@example.com', new Date(Date.now() - 900_000))).toBe(5);
    // an unknown address locks the same way (R13)
    for (let i = 0; i < 5; i++) await failure(caller.login({ email: 'ghost@example.com', password: 'whatever pass' }));
    expect((await failure(caller.login({ email: 'ghost@example.com', password: 'whatever pass' }))).code).toBe(
      'TOO_MANY_ATTEMPTS',
    );
  });

  it('a burst of 20 concurrent wrong logins gets at most 5 password checks (R17)', async () => {
    const { email } = await createVerifiedUser(t, 'burst@example.com');
    const user = await repos().users.findByEmail(email);
    const caller = t.regstack.createCaller();
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () => failure(caller.login({ email, password: 'wrong wrong wrong' }))),
    );
    const checked = outcomes.filter((o) => o.code === 'INVALID_CREDENTIALS').length;
    const locked = outcomes.filter((o) => o.code === 'TOO_MANY_ATTEMPTS').length;
    expect(checked + locked).toBe(20);
    expect(checked).toBeLessThanOrEqual(5);
    // Every password check that failed wrote one audit row: the same bound, counted by the database.
    const failures = (await repos().auditEvents.listForSubject(user!.id)).filter((e) => e.event === 'login_failed');
    expect(failures.length).toBe(checked);
  });

  it('ten concurrent correct logins of one account all succeed: checks in flight are not failures (R70, issue 14 item 6)', async () => {
    const { email, password } = await createVerifiedUser(t, 'tabs@example.com');
    const caller = t.regstack.createCaller();
    const results = await Promise.all(Array.from({ length: 10 }, () => caller.login({ email, password })));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill('authenticated'));
    // Nothing is left behind: no try, no failure.
    const since = new Date(Date.now() - 900_000);
    expect(await repos().loginAttempts.countSince(`login:${email}`, since)).toBe(0);
    expect(await repos().loginAttempts.countSince(`try:login:${email}`, since)).toBe(0);
  });

  it('twenty concurrent wrong logins: exactly the threshold is checked, the rest are locked (R17, R70)', async () => {
    const { email, password } = await createVerifiedUser(t, 'waiting-burst@example.com');
    const user = await repos().users.findByEmail(email);
    const caller = t.regstack.createCaller();
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () => failure(caller.login({ email, password: 'wrong wrong wrong' }))),
    );
    // A check over the total waits for the ones in flight instead of being refused, so exactly the threshold of
    // checks runs before the failures lock the account.
    expect(outcomes.filter((o) => o.code === 'INVALID_CREDENTIALS').length).toBe(5);
    expect(outcomes.filter((o) => o.code === 'TOO_MANY_ATTEMPTS').length).toBe(15);
    const failures = (await repos().auditEvents.listForSubject(user!.id)).filter((e) => e.event === 'login_failed');
    expect(failures.length).toBe(5);
    // Locked for real now: the right password is refused too, with the true remaining time (R15, R16).
    const locked = await failure(caller.login({ email, password }));
    expect(locked.code).toBe('TOO_MANY_ATTEMPTS');
    expect(locked.retryAfterSeconds).toBeGreaterThan(890);
  });

  it('ten correct logins beside three wrong ones, all at once: every correct one succeeds (R70)', async () => {
    const { email, password } = await createVerifiedUser(t, 'mixed@example.com');
    const caller = t.regstack.createCaller();
    const right = Array.from({ length: 10 }, () => caller.login({ email, password }).then((r) => r.status));
    const wrong = Array.from({ length: 3 }, () =>
      failure(caller.login({ email, password: 'wrong wrong wrong' })).then((o) => o.code),
    );
    expect(await Promise.all(right)).toEqual(Array(10).fill('authenticated'));
    expect(await Promise.all(wrong)).toEqual(Array(3).fill('INVALID_CREDENTIALS'));
  });

  it.skipIf(!['sqlite', 'postgres'].includes(ctx.backend))(
    'a login whose writes fail leaves no try behind to count against the account later (R70)',
    async () => {
      const { email, password } = await createVerifiedUser(t, 'failing-writes@example.com');
      const conn = t.regstack.storage.fork().getConnection();
      // The audit row is part of the success's one atomic change: make it fail.
      await conn.execute('alter table audit_events rename to audit_events_gone');
      try {
        expect((await failure(t.regstack.createCaller().login({ email, password }))).code).toBe('INTERNAL_ERROR');
      } finally {
        await conn.execute('alter table audit_events_gone rename to audit_events');
      }
      const since = new Date(Date.now() - 900_000);
      expect(await repos().loginAttempts.countSince(`try:login:${email}`, since)).toBe(0);
      expect(await repos().loginAttempts.countSince(`login:${email}`, since)).toBe(0);
    },
  );

  it('a successful login clears the failure count (R18)', async () => {
    const { email, password } = await createVerifiedUser(t, 'reset-count@example.com');
    const caller = t.regstack.createCaller();
    for (let i = 0; i < 4; i++) await failure(caller.login({ email, password: 'nope nope nope' }));
    await caller.login({ email, password });
    for (let i = 0; i < 4; i++) await failure(caller.login({ email, password: 'nope nope nope' }));
    expect((await caller.login({ email, password })).status).toBe('authenticated');
  });

  it('rehashes a stored hash made with weaker parameters on login, and the login still works (R6)', async () => {
    const { email, password } = await createVerifiedUser(t, 'rehash@example.com');
    const argon2 = await import('argon2');
    const weak = await argon2.hash(password, { type: argon2.argon2id, memoryCost: 8192, timeCost: 5, parallelism: 1 });
    const user = await repos().users.findByEmail(email);
    await repos().users.updatePasswordHash(user!.id, weak, new Date());
    expect((await t.regstack.createCaller().login({ email, password })).status).toBe('authenticated');
    const stored = await repos().users.findCredentialsById(user!.id);
    expect(stored!.hashedPassword).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });
});
