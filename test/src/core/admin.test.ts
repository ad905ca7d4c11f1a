/**
 * Issue 17 (admin), through the real router on every backend: `bootstrapAdmin` and `promotePending` (item 1); the
 * `auth.admin.*` procedures (item 2) — keyset pages in every sort and direction, search and filters, get/update/
 * delete with their session, mail and audit effects, pending sign-ups, the audit log, stats; `enable_admin_router`
 * off answers FEATURE_DISABLED; and the last-admin rule under concurrent requests (R46).
 */
import { UserSchema } from '@regstack/server/internal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { codeOf } from '../harness/outcomes.ts';
import { createVerifiedUser, startRegstack, type TestRegstack } from '../harness/regstack.ts';
import { insertUserRow } from '../harness/user-rows.ts';

const PASSWORD = 'correct horse battery staple';

describeEachBackend('admin (issue 17)', (ctx) => {
  let t: TestRegstack;
  const login = async (email: string, password = PASSWORD) => {
    const res = await t.regstack.createCaller({ headers: { 'user-agent': 'admin-test' } }).login({ email, password });
    if (res.status !== 'authenticated') throw new Error('expected authenticated');
    return res;
  };
  const as = (token: string) =>
    t.regstack.createCaller({ accessToken: token, headers: { 'user-agent': 'admin-console' }, ip: '203.0.113.9' });
  const newAdmin = async (email: string) => {
    await t.regstack.bootstrapAdmin({ email, password: PASSWORD });
    return as((await login(email)).accessToken);
  };
  const activeAdmins = () => t.regstack.storage.fork().count(UserSchema, { isActive: true, isSuperuser: true });
  /** Leaves exactly the given admins active: every other superuser is demoted directly in the database. */
  const onlyAdmins = async (ids: string[]) => {
    await t.regstack.storage
      .fork()
      .nativeUpdate(UserSchema, { isSuperuser: true, id: { $nin: ids } }, { isSuperuser: false });
  };

  beforeAll(async () => {
    t = await startRegstack(ctx.url, { enableAdminRouter: true, loginRateLimit: '1000/minute' });
  });
  afterAll(async () => {
    await t?.regstack.close();
  });

  it.runIf(ctx.backend === 'mongodb')('MongoDB gets the admin indexes from the entity declarations', async () => {
    const db = (
      t.regstack.storage.fork().getConnection() as unknown as {
        getDb(): { collection(n: string): { indexes(): Promise<{ key: Record<string, number> }[]> } };
      }
    ).getDb();
    const keys = async (collection: string) =>
      (await db.collection(collection).indexes()).map((i) => Object.keys(i.key).join(','));
    expect(await keys('users')).toEqual(expect.arrayContaining(['createdAt,_id', 'lastLoginAt,_id']));
    expect(await keys('audit_events')).toEqual(expect.arrayContaining(['actorId', 'event,createdAt']));
  });

  describe('item 1: bootstrapAdmin and promotePending', () => {
    it('creates a verified active superuser who can log in; a second call changes nothing', async () => {
      const first = await t.regstack.bootstrapAdmin({
        email: 'Boot@Example.com',
        password: PASSWORD,
        fullName: 'Boot',
      });
      expect(first.status).toBe('created');
      expect(first.user).toMatchObject({
        email: 'boot@example.com',
        isActive: true,
        isVerified: true,
        isSuperuser: true,
        fullName: 'Boot',
      });
      const again = await t.regstack.bootstrapAdmin({ email: 'boot@example.com', password: PASSWORD });
      expect(again).toEqual({ status: 'unchanged', user: first.user });
      const me = await as((await login('boot@example.com')).accessToken).account.me();
      expect(me.isSuperuser).toBe(true);
    });

    it('refuses a weak password with the registration policy and creates nothing', async () => {
      expect(await codeOf(t.regstack.bootstrapAdmin({ email: 'weak@example.com', password: 'short' }))).toBe(
        'PASSWORD_TOO_SHORT',
      );
      expect(await codeOf(t.regstack.bootstrapAdmin({ email: 'weak@example.com', password: 'password1234' }))).toBe(
        'PASSWORD_TOO_COMMON',
      );
      expect(await t.regstack.storage.fork().count(UserSchema, { email: 'weak@example.com' })).toBe(0);
    });

    it('promotes an existing account and never changes its password', async () => {
      await createVerifiedUser(t, 'existing@example.com', 'the owner chose this one');
      expect(
        await codeOf(t.regstack.bootstrapAdmin({ email: 'existing@example.com', password: 'an attacker picks this' })),
      ).toBe('ADMIN_PASSWORD_CONFLICT');
      const stillPlain = await t.regstack.storage.fork().findOne(UserSchema, { email: 'existing@example.com' });
      expect(stillPlain?.isSuperuser).toBe(false);
      const promoted = await t.regstack.bootstrapAdmin({ email: 'existing@example.com' });
      expect(promoted.status).toBe('promoted');
      expect(promoted.user.isSuperuser).toBe(true);
      expect((await login('existing@example.com', 'the owner chose this one')).user.isSuperuser).toBe(true);
      expect(
        (await t.regstack.bootstrapAdmin({ email: 'existing@example.com', password: 'the owner chose this one' }))
          .status,
      ).toBe('unchanged');
    });

    it('promotePending turns a pending sign-up into a verified account with its own password', async () => {
      await t.regstack.createCaller().register({ email: 'waiting@example.com', password: PASSWORD, fullName: 'W' });
      const user = await t.regstack.promotePending('waiting@example.com');
      expect(user).toMatchObject({ email: 'waiting@example.com', isVerified: true, isSuperuser: false, fullName: 'W' });
      expect((await login('waiting@example.com')).user.id).toBe(user.id);
      expect(await codeOf(t.regstack.promotePending('waiting@example.com'))).toBe('PENDING_REGISTRATION_NOT_FOUND');
      expect(await codeOf(t.regstack.promotePending('nobody@example.com'))).toBe('PENDING_REGISTRATION_NOT_FOUND');
    });

    it('with rival sign-ups pending, promotePending creates the account without a password (R67)', async () => {
      await t.regstack.createCaller().register({ email: 'rivals@example.com', password: PASSWORD });
      await t.regstack.createCaller().register({ email: 'rivals@example.com', password: 'a stranger chose this' });
      const user = await t.regstack.promotePending('rivals@example.com');
      expect(user.isVerified).toBe(true);
      for (const password of [PASSWORD, 'a stranger chose this']) {
        expect(await codeOf(t.regstack.createCaller().login({ email: 'rivals@example.com', password }))).toBe(
          'INVALID_CREDENTIALS',
        );
      }
    });

    it('without a password, bootstrapAdmin creates an admin who must set one through a reset', async () => {
      const { status, user } = await t.regstack.bootstrapAdmin({ email: 'nopass@example.com' });
      expect([status, user.isSuperuser]).toEqual(['created', true]);
      expect(await codeOf(t.regstack.createCaller().login({ email: 'nopass@example.com', password: PASSWORD }))).toBe(
        'INVALID_CREDENTIALS',
      );
    });
  });

  describe('item 2: the procedures', () => {
    let admin: ReturnType<typeof as>;
    let adminId: string;
    beforeAll(async () => {
      admin = await newAdmin('chief@example.com');
      adminId = (await admin.account.me()).id;
    });

    it('users.list pages by cursor in every sort and direction, through ties and null last logins', async () => {
      // 23 users sharing a domain: some created in the same millisecond (ties), some never logged in (null).
      const em = t.regstack.storage.fork();
      const base = Date.UTC(2026, 0, 1);
      const rows = Array.from({ length: 23 }, (_, i) => ({
        id: `lst-${String(i).padStart(3, '0')}`,
        email: `${String.fromCharCode(97 + ((i * 7) % 23))}${i}@list.example`,
        hashedPassword: null,
        fullName: i % 2 ? `Lister Number ${i}` : null,
        isActive: i % 3 !== 0,
        isVerified: i % 4 !== 0,
        isSuperuser: false,
        isMfaEnabled: i % 5 === 0,
        createdAt: new Date(base + Math.floor(i / 3) * 1000),
        updatedAt: new Date(base),
        lastLoginAt: i % 4 === 1 ? null : new Date(base + ((i * 5) % 11) * 60_000),
      }));
      for (const row of rows) await insertUserRow(em, row);
      const cmp = (a: number | string, b: number | string) => (a < b ? -1 : a > b ? 1 : 0);
      for (const sort of ['createdAt', 'lastLoginAt', 'email'] as const) {
        for (const direction of ['asc', 'desc'] as const) {
          const sign = direction === 'asc' ? 1 : -1;
          const key = (r: (typeof rows)[number]) =>
            sort === 'email' ? r.email : sort === 'createdAt' ? r.createdAt.getTime() : r.lastLoginAt?.getTime();
          const expected = [...rows]
            .sort((a, b) => {
              const ka = key(a);
              const kb = key(b);
              if (ka === undefined || kb === undefined) {
                if (ka !== kb) return ka === undefined ? 1 : -1; // no login sorts last, both ways
                return sign * cmp(a.id, b.id);
              }
              return sign * cmp(ka, kb) || sign * cmp(a.id, b.id);
            })
            .map((r) => r.id);
          const seen: string[] = [];
          let cursor: string | undefined;
          for (let page = 0; page < 10; page++) {
            const res = await admin.admin.users.list({
              filters: { isSuperuser: false },
              search: undefined,
              limit: 5,
              sort,
              direction,
              cursor,
            });
            seen.push(...res.items.map((u) => u.id).filter((id) => id.startsWith('lst-')));
            if (!res.nextCursor) break;
            cursor = res.nextCursor;
          }
          expect(seen, `${sort} ${direction}`).toEqual(expected);
        }
      }
    });

    it('users.list searches email prefixes and names case-insensitively, and filters by flag', async () => {
      const search = async (text: string, filters = {}) =>
        (await admin.admin.users.list({ search: text, filters, limit: 200 })).items.map((u) => u.id).sort();
      expect(await search('A0@LIST')).toEqual(['lst-000']);
      expect(await search('NUMBER 1')).toEqual(
        ['lst-001', 'lst-011', 'lst-013', 'lst-015', 'lst-017', 'lst-019'].sort(),
      );
      expect(await search('lister', { isActive: false })).toEqual(['lst-003', 'lst-009', 'lst-015', 'lst-021']);
      expect(await search('lister', { isMfaEnabled: true, isVerified: true })).toEqual(['lst-005', 'lst-015']);
    });

    it('users.get shows sessions, last login and MFA state; users.sessions lists them', async () => {
      await createVerifiedUser(t, 'target@example.com');
      const { user } = await login('target@example.com');
      await login('target@example.com');
      const detail = await admin.admin.users.get({ id: user.id });
      expect(detail).toMatchObject({ activeSessions: 2, mfa: { enabled: false, phoneHint: null } });
      expect(detail.lastLoginAt).toBeInstanceOf(Date);
      const list = await admin.admin.users.sessions({ id: user.id });
      expect(list).toHaveLength(2);
      expect(list.every((s) => !s.current && s.userAgent === 'admin-test')).toBe(true);
      expect(await codeOf(admin.admin.users.get({ id: 'no-such-user' }))).toBe('USER_NOT_FOUND');
    });

    it('users.update: renaming and verifying; disabling ends every session at once and is audited', async () => {
      await createVerifiedUser(t, 'disable-me@example.com');
      const session = await login('disable-me@example.com');
      const id = session.user.id;
      const events: Array<{ actorId: string; changed: string[]; email: string }> = [];
      const off = t.regstack.on('admin_user_updated', ({ actorId, changed, user }) => {
        events.push({ actorId, changed, email: user.email });
      });
      // An update that changes nothing records nothing.
      expect((await admin.admin.users.update({ id })).user.id).toBe(id);
      const renamed = await admin.admin.users.update({ id, fullName: 'Renamed' });
      expect(renamed).toEqual({ user: expect.objectContaining({ fullName: 'Renamed' }), sessionsRevoked: 0 });
      expect((await as(session.accessToken).account.me()).fullName).toBe('Renamed');
      // The search follows a rename at once, whoever renames: the admin here, the user through account.update.
      const found = async (search: string) => (await admin.admin.users.list({ search })).items.map((u) => u.id);
      expect(await found('renamed')).toEqual([id]);
      await as(session.accessToken).account.update({ fullName: 'Selfnamed Person' });
      expect(await found('selfn')).toEqual([id]);
      expect(await found('renamed')).toEqual([]);
      const disabled = await admin.admin.users.update({ id, isActive: false });
      expect(disabled.sessionsRevoked).toBe(1);
      expect(await codeOf(as(session.accessToken).account.me())).toBe('UNAUTHENTICATED');
      // Enabled again, the old token stays dead: the cutoff killed it, not only the flag (R41).
      await admin.admin.users.update({ id, isActive: true });
      expect(await codeOf(as(session.accessToken).account.me())).toBe('UNAUTHENTICATED');
      const audit = await admin.admin.audit.list({ userId: id, types: ['admin_user_updated'], limit: 10 });
      expect(audit.items.map((e) => e.details?.changed)).toEqual([['isActive'], ['isActive'], ['fullName']]);
      expect(audit.items[0]).toMatchObject({ actorId: adminId, ip: '203.0.113.9', userAgent: 'admin-console' });
      await t.regstack.settle();
      off();
      expect(events).toEqual(
        [['fullName'], ['isActive'], ['isActive']].map((changed) => ({
          actorId: adminId,
          changed,
          email: 'disable-me@example.com',
        })),
      );
    });

    it('users.update: demoting ends the sessions; a promoted user can administer at once', async () => {
      await createVerifiedUser(t, 'deputy@example.com');
      const deputy = await login('deputy@example.com');
      expect(await codeOf(as(deputy.accessToken).admin.stats())).toBe('FORBIDDEN');
      await admin.admin.users.update({ id: deputy.user.id, isSuperuser: true });
      expect((await as(deputy.accessToken).admin.stats()).superusers).toBeGreaterThanOrEqual(2);
      const result = await admin.admin.users.update({ id: deputy.user.id, isSuperuser: false });
      expect(result.sessionsRevoked).toBe(1);
      expect(await codeOf(as(deputy.accessToken).admin.stats())).toBe('UNAUTHENTICATED');
    });

    it('users.delete removes the account with the self-deletion cascade and mails the notice', async () => {
      await createVerifiedUser(t, 'delete-me@example.com');
      const session = await login('delete-me@example.com');
      await t.regstack.createCaller().register({ email: 'delete-me@example.com', password: PASSWORD });
      expect(await admin.admin.users.delete({ id: session.user.id })).toEqual({ status: 'deleted' });
      expect(await codeOf(as(session.accessToken).account.me())).toBe('UNAUTHENTICATED');
      expect(await codeOf(admin.admin.users.get({ id: session.user.id }))).toBe('USER_NOT_FOUND');
      await t.regstack.drainOutbox();
      expect(t.mailbox.latest('delete-me@example.com')?.subject).toMatch(/deleted/i);
      const audit = await admin.admin.audit.list({ userId: session.user.id, limit: 10 });
      expect(audit.items.map((e) => e.type)).toEqual(['admin_user_deleted']);
      expect(await codeOf(admin.admin.users.delete({ id: session.user.id }))).toBe('USER_NOT_FOUND');
    });

    it('deleting an admin keeps the audit trail of what they did to other accounts, and removes their own', async () => {
      const former = await newAdmin('former-admin@example.com');
      const formerId = (await former.account.me()).id;
      await createVerifiedUser(t, 'former-target@example.com');
      const target = await login('former-target@example.com');
      await former.admin.users.update({ id: target.user.id, fullName: 'Renamed By Former' });
      expect(await admin.admin.users.delete({ id: formerId })).toEqual({ status: 'deleted' });
      const onTarget = await admin.admin.audit.list({ userId: target.user.id, actorId: formerId, limit: 10 });
      expect(onTarget.items.map((e) => e.type)).toEqual(['admin_user_updated']);
      const theirOwn = await admin.admin.audit.list({ userId: formerId, limit: 10 });
      expect(theirOwn.items.map((e) => e.type)).toEqual(['admin_user_deleted']);
    });

    it('users.revokeSessions, resendVerification and sendPasswordReset reuse the ordinary flows', async () => {
      await createVerifiedUser(t, 'helped@example.com');
      const session = await login('helped@example.com');
      expect(await admin.admin.users.revokeSessions({ id: session.user.id })).toEqual({ status: 'ok', count: 1 });
      expect(await codeOf(as(session.accessToken).account.me())).toBe('UNAUTHENTICATED');
      expect(await codeOf(admin.admin.users.resendVerification({ id: session.user.id }))).toBe('USER_ALREADY_VERIFIED');
      expect(await admin.admin.users.sendPasswordReset({ id: session.user.id })).toEqual({ status: 'accepted' });
      await t.regstack.drainOutbox();
      expect(t.mailbox.tokenFor('helped@example.com', 'reset')).toBeTruthy();
      const types = (await admin.admin.audit.list({ userId: session.user.id, actorId: adminId, limit: 10 })).items.map(
        (e) => e.type,
      );
      expect(types).toEqual(['admin_password_reset_sent', 'sessions_revoked']);
    });

    it('pending.list / promote / delete', async () => {
      await t.regstack.createCaller().register({ email: 'pend-a@example.com', password: PASSWORD });
      await t.regstack.createCaller().register({ email: 'pend-b@example.com', password: PASSWORD });
      const listed = await admin.admin.pending.list({ limit: 200 });
      expect(listed.items.map((p) => p.email)).toEqual(
        expect.arrayContaining(['pend-a@example.com', 'pend-b@example.com']),
      );
      expect(JSON.stringify(listed)).not.toMatch(/argon2|hashed/i);
      const { user } = await admin.admin.pending.promote({ email: 'pend-a@example.com' });
      expect(user.isVerified).toBe(true);
      expect((await login('pend-a@example.com')).user.id).toBe(user.id);
      expect(await admin.admin.pending.delete({ email: 'pend-b@example.com' })).toEqual({ status: 'ok', count: 1 });
      expect(await codeOf(admin.admin.pending.delete({ email: 'pend-b@example.com' }))).toBe(
        'PENDING_REGISTRATION_NOT_FOUND',
      );
      const one = await admin.admin.pending.list({ limit: 1 });
      if (one.nextCursor) {
        const next = await admin.admin.pending.list({ limit: 1, cursor: one.nextCursor });
        expect(next.items[0]?.id).not.toBe(one.items[0]?.id);
      }
    });

    it('audit.list pages newest first and filters by type, actor and time', async () => {
      const all: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await admin.admin.audit.list({ actorId: adminId, limit: 2, cursor });
        all.push(...page.items.map((e) => e.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      const whole = await admin.admin.audit.list({ actorId: adminId, limit: 200 });
      expect(all).toEqual(whole.items.map((e) => e.id));
      expect([...all].sort().reverse()).toEqual(all);
      expect(all.length).toBeGreaterThan(4);
      const future = await admin.admin.audit.list({ from: new Date(Date.now() + 3_600_000), limit: 10 });
      expect(future.items).toEqual([]);
      const logins = await admin.admin.audit.list({ types: ['login'], to: new Date(Date.now() + 1000), limit: 200 });
      expect(logins.items.length).toBeGreaterThan(0);
      expect(logins.items.every((e) => e.type === 'login')).toBe(true);
    });

    it('stats counts users, flags, pending sign-ups, and sign-ups and logins per day', async () => {
      const stats = await admin.admin.stats();
      const em = t.regstack.storage.fork();
      expect(stats.users).toBe(await em.count(UserSchema, {}));
      expect(stats.superusers).toBe(await em.count(UserSchema, { isSuperuser: true }));
      expect(stats.mfaEnabled).toBe(await em.count(UserSchema, { isMfaEnabled: true }));
      expect(stats.signupsPerDay).toHaveLength(30);
      expect(stats.loginsPerDay.at(-1)?.day).toBe(new Date().toISOString().slice(0, 10));
      expect(stats.loginsPerDay.at(-1)?.count).toBeGreaterThan(0);
      expect(stats.signupsPerDay.at(-1)?.count).toBeGreaterThan(0);
    });
  });

  describe('the last active admin (R46), also under concurrent requests', () => {
    it('cannot be disabled, demoted or deleted — by another admin or by themselves', async () => {
      const a = await newAdmin('last-a@example.com');
      const me = await a.account.me();
      await onlyAdmins([me.id]);
      expect(await codeOf(a.admin.users.update({ id: me.id, isSuperuser: false }))).toBe('LAST_ACTIVE_ADMIN');
      expect(await codeOf(a.admin.users.update({ id: me.id, isActive: false }))).toBe('LAST_ACTIVE_ADMIN');
      expect(await codeOf(a.admin.users.delete({ id: me.id }))).toBe('LAST_ACTIVE_ADMIN');
      expect(await codeOf(a.account.delete({ currentPassword: PASSWORD }))).toBe('LAST_ACTIVE_ADMIN');
      expect(await activeAdmins()).toBe(1);
    });

    it('two admins demoting (or deleting) each other at the same moment leave exactly one', async () => {
      for (const how of ['demote', 'disable', 'delete'] as const) {
        const a = await newAdmin(`pair-a-${how}@example.com`);
        const b = await newAdmin(`pair-b-${how}@example.com`);
        const [ida, idb] = [(await a.account.me()).id, (await b.account.me()).id];
        await onlyAdmins([ida, idb]);
        const act = (caller: typeof a, id: string) =>
          how === 'delete'
            ? caller.admin.users.delete({ id })
            : caller.admin.users.update({ id, ...(how === 'demote' ? { isSuperuser: false } : { isActive: false }) });
        const outcomes = await Promise.allSettled([act(a, idb), act(b, ida)]);
        expect(
          outcomes.filter((o) => o.status === 'fulfilled'),
          how,
        ).toHaveLength(1);
        expect(await activeAdmins(), how).toBe(1);
      }
    });

    it('N admins demoting themselves at once leave exactly one', async () => {
      const admins = await Promise.all(
        Array.from({ length: 5 }, async (_, i) => {
          const caller = await newAdmin(`many-${i}@example.com`);
          return { caller, id: (await caller.account.me()).id };
        }),
      );
      await onlyAdmins(admins.map((a) => a.id));
      const outcomes = await Promise.allSettled(
        admins.map((a) => a.caller.admin.users.update({ id: a.id, isSuperuser: false })),
      );
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(4);
      for (const o of outcomes) {
        if (o.status === 'rejected') expect(await codeOf(Promise.reject(o.reason))).toBe('LAST_ACTIVE_ADMIN');
      }
      expect(await activeAdmins()).toBe(1);
    });
  });

  it('enable_admin_router off: every admin procedure answers FEATURE_DISABLED, even to an admin', async () => {
    const off = await startRegstack(ctx.url);
    try {
      await off.regstack.bootstrapAdmin({ email: 'off-admin@example.com', password: PASSWORD });
      const res = await off.regstack.createCaller().login({ email: 'off-admin@example.com', password: PASSWORD });
      if (res.status !== 'authenticated') throw new Error('expected authenticated');
      const caller = off.regstack.createCaller({ accessToken: res.accessToken });
      expect(await codeOf(caller.admin.stats())).toBe('FEATURE_DISABLED');
      expect(await codeOf(off.regstack.createCaller().admin.users.list({}))).toBe('FEATURE_DISABLED');
    } finally {
      await off.regstack.close();
    }
  });
});
