/**
 * Issue 17 item 3 (impersonation), on every backend, through the router and over real HTTP: `users.impersonate`
 * opens a short-lived session as the user whose token names the administrator (`act`); `account.me` shows who is
 * acting; the session is listed among the user's sessions; it can look and rename but every procedure that changes
 * credentials, factors, other sessions or the account is refused (walked over the router's own list, so a procedure
 * added later is checked too) and so is every admin procedure; it dies at its TTL, when the administrator is demoted
 * or disabled, and at `stopImpersonating`; superusers, disabled accounts and oneself cannot be impersonated; start and
 * end are audited with the reason and emitted as events (R46).
 */
import { createManualClock, type RegstackEvents } from '@regstack/server';
import { AuditEventSchema, SessionSchema, UserSchema } from '@regstack/server/internal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { codeOf, outcome } from '../harness/outcomes.ts';
import { createVerifiedUser, startRegstack, type TestRegstack } from '../harness/regstack.ts';
import { callAt, ROUTER_PROCEDURES } from '../harness/router-walk.ts';
import { data, error, rawClient } from '../http/http-client.ts';

const PASSWORD = 'correct horse battery staple';

/** What an impersonation session may call (it sees what the user sees); every other authenticated one refuses it. */
const ALLOWED_WHILE_IMPERSONATING = new Set([
  'account.me',
  'account.reauthentication',
  'account.sessions',
  'account.update',
  'logout',
  'mfa.status',
  'admin.stopImpersonating',
]);

describeEachBackend('admin impersonation (issue 17 item 3)', (ctx) => {
  const clock = createManualClock();
  let t: TestRegstack;
  let adminId: string;
  let adminToken: string;
  let userId: string;
  let userToken: string;
  const started: Array<RegstackEvents['admin_impersonation_started']> = [];
  const ended: Array<RegstackEvents['admin_impersonation_ended']> = [];

  const login = async (email: string, password = PASSWORD) => {
    const res = await t.regstack.createCaller().login({ email, password });
    if (res.status !== 'authenticated') throw new Error('expected authenticated');
    return res;
  };
  const as = (token: string) =>
    t.regstack.createCaller({ accessToken: token, headers: { 'user-agent': 'support-console' }, ip: '203.0.113.7' });
  const impersonate = (id = userId, reason = 'ticket 4711: cannot see invoices') =>
    as(adminToken).admin.users.impersonate({ id, reason });

  beforeAll(async () => {
    t = await startRegstack(ctx.url, { enableAdminRouter: true, loginRateLimit: '1000/minute' }, { clock });
    t.regstack.on('admin_impersonation_started', (e) => void started.push(e));
    t.regstack.on('admin_impersonation_ended', (e) => void ended.push(e));
    adminId = (await t.regstack.bootstrapAdmin({ email: 'support@example.com', password: PASSWORD })).user.id;
    adminToken = (await login('support@example.com')).accessToken;
    await createVerifiedUser(t, 'customer@example.com');
    const customer = await login('customer@example.com');
    userId = customer.user.id;
    userToken = customer.accessToken;
  });
  afterAll(async () => {
    await t?.regstack.close();
  });

  it('opens a session as the user: me shows the administrator, the token carries act, lifetime 15 minutes', async () => {
    const imp = await impersonate();
    expect(imp).toMatchObject({ tokenType: 'Bearer', expiresIn: 900, user: { id: userId } });
    const payload = JSON.parse(Buffer.from(imp.accessToken.split('.')[1]!, 'base64url').toString());
    expect(payload).toMatchObject({ sub: userId, sid: imp.sessionId, act: { sub: adminId } });
    expect(payload.exp - payload.iat).toBe(900);
    const me = await as(imp.accessToken).account.me();
    expect(me).toMatchObject({ id: userId, impersonatedBy: { id: adminId, email: 'support@example.com' } });
    // The user's own session shows nobody acting.
    expect((await as(userToken).account.me()).impersonatedBy).toBeNull();
  });

  it("is listed among the user's sessions, marked with the administrator, for the user and for admins", async () => {
    const imp = await impersonate();
    const own = await as(userToken).account.sessions();
    expect(own.find((s) => s.id === imp.sessionId)).toMatchObject({ impersonatedBy: adminId, current: false });
    expect(own.find((s) => s.current)?.impersonatedBy).toBeNull();
    const seen = await as(adminToken).admin.users.sessions({ id: userId });
    expect(seen.find((s) => s.id === imp.sessionId)?.impersonatedBy).toBe(adminId);
    // No login was recorded for the user.
    const row = await t.regstack.storage.fork().findOne(SessionSchema, { id: imp.sessionId });
    expect(row?.impersonatorId).toBe(adminId);
  });

  it('every authenticated procedure outside the short allowed list refuses it, and nothing changes', async () => {
    const anonymous = t.regstack.createCaller();
    const checked: string[] = [];
    for (const { path } of ROUTER_PROCEDURES) {
      // A public procedure (no token needed) is not the session's to refuse.
      if ((await outcome(callAt(anonymous, path, undefined))) !== 'UNAUTHENTICATED') continue;
      // A fresh session each time: `logout` ends the one it is called with.
      const imp = await impersonate();
      const code = await outcome(callAt(as(imp.accessToken), path, undefined));
      checked.push(path);
      if (ALLOWED_WHILE_IMPERSONATING.has(path)) {
        expect(['IMPERSONATION_RESTRICTED', 'FORBIDDEN', 'UNAUTHENTICATED'], `${path} gave ${code}`).not.toContain(
          code,
        );
      } else if (path.startsWith('admin.')) {
        expect(code, path).toBe('FORBIDDEN');
      } else {
        expect(code, path).toBe('IMPERSONATION_RESTRICTED');
      }
    }
    expect(checked).toEqual(
      expect.arrayContaining([
        'account.changePassword',
        'account.changeEmail',
        'account.delete',
        'account.revokeSession',
        'logoutAll',
        'admin.users.list',
        'admin.users.impersonate',
      ]),
    );
    // With valid inputs too: the refusal comes before the password is even looked at.
    const imp = await as(adminToken).admin.users.impersonate({ id: userId, reason: 'checking restrictions' });
    const acting = as(imp.accessToken);
    expect(await codeOf(acting.account.changePassword({ currentPassword: PASSWORD, newPassword: 'a new pass' }))).toBe(
      'IMPERSONATION_RESTRICTED',
    );
    expect(await codeOf(acting.account.changeEmail({ newEmail: 'mine@example.com', currentPassword: PASSWORD }))).toBe(
      'IMPERSONATION_RESTRICTED',
    );
    expect(await codeOf(acting.account.delete({ currentPassword: PASSWORD }))).toBe('IMPERSONATION_RESTRICTED');
    expect(await codeOf(acting.logoutAll())).toBe('IMPERSONATION_RESTRICTED');
    const user = await t.regstack.storage.fork().findOne(UserSchema, { id: userId }, { disableIdentityMap: true });
    expect(user).toMatchObject({ email: 'customer@example.com', isActive: true });
    expect((await as(userToken).account.me()).id).toBe(userId); // the user's own session is untouched
    // Renaming is allowed, and answers as `me` does.
    expect(await acting.account.update({ fullName: 'Fixed By Support' })).toMatchObject({
      fullName: 'Fixed By Support',
      impersonatedBy: { id: adminId },
    });
  });

  it('cannot impersonate a superuser, a disabled account, oneself or an unknown id', async () => {
    const other = await t.regstack.bootstrapAdmin({ email: 'other-admin@example.com', password: PASSWORD });
    expect(await codeOf(impersonate(other.user.id))).toBe('IMPERSONATION_NOT_ALLOWED');
    expect(await codeOf(impersonate(adminId))).toBe('IMPERSONATION_NOT_ALLOWED');
    await createVerifiedUser(t, 'disabled@example.com');
    const disabled = (await login('disabled@example.com')).user.id;
    await as(adminToken).admin.users.update({ id: disabled, isActive: false });
    expect(await codeOf(impersonate(disabled))).toBe('IMPERSONATION_NOT_ALLOWED');
    expect(await codeOf(impersonate('00000000-0000-7000-8000-000000000000'))).toBe('USER_NOT_FOUND');
    expect(await codeOf(as(adminToken).admin.users.impersonate({ id: userId, reason: ' ' }))).toBe('VALIDATION_FAILED');
    // Non-admins cannot start one.
    expect(await codeOf(as(userToken).admin.users.impersonate({ id: userId, reason: 'me' }))).toBe('FORBIDDEN');
  });

  it('stopImpersonating ends it; start and end are audited with the reason and emitted as events', async () => {
    started.length = 0;
    ended.length = 0;
    const imp = await impersonate(userId, 'ticket 99: wrong name shown');
    const acting = as(imp.accessToken);
    expect(await acting.admin.stopImpersonating()).toEqual({ status: 'ended' });
    expect(await codeOf(acting.account.me())).toBe('UNAUTHENTICATED');
    expect(await codeOf(as(userToken).admin.stopImpersonating())).toBe('NOT_IMPERSONATING');
    await t.regstack.settle();
    const audit = await t.regstack.storage.fork().find(AuditEventSchema, {
      event: { $in: ['admin_impersonation_started', 'admin_impersonation_ended'] },
      subjectId: userId,
    });
    // Both rows carry the same instant (the manual clock stands still), so they are compared by name.
    const mine = audit
      .filter((a) => (a.details as { sessionId?: string } | null)?.sessionId === imp.sessionId)
      .sort((a, b) => a.event.localeCompare(b.event));
    expect(mine.map((a) => [a.event, a.actorId, a.ip, a.userAgent])).toEqual([
      ['admin_impersonation_ended', adminId, '203.0.113.7', 'support-console'],
      ['admin_impersonation_started', adminId, '203.0.113.7', 'support-console'],
    ]);
    expect(mine[1]?.details).toMatchObject({ reason: 'ticket 99: wrong name shown' });
    expect(started).toEqual([
      expect.objectContaining({
        actorId: adminId,
        userId,
        sessionId: imp.sessionId,
        reason: 'ticket 99: wrong name shown',
      }),
    ]);
    expect(ended).toEqual([expect.objectContaining({ actorId: adminId, userId, sessionId: imp.sessionId })]);
    // The audit log is queryable for it.
    const page = await as(adminToken).admin.audit.list({
      limit: 200,
      actorId: adminId,
      types: ['admin_impersonation_started'],
    });
    expect(page.items.some((e) => e.subjectId === userId)).toBe(true);
  });

  it('dies at its lifetime and cannot be renewed', async () => {
    const imp = await impersonate();
    clock.advance(899_000);
    expect((await as(imp.accessToken).account.me()).id).toBe(userId);
    // Past the 900 s lifetime and the default 5 s clock leeway on `exp` (R34).
    clock.advance(7_000);
    expect(await codeOf(as(imp.accessToken).account.me())).toBe('UNAUTHENTICATED');
    // The user's ordinary session (2 h) lives on.
    expect((await as(userToken).account.me()).id).toBe(userId);
  });

  it('lives only while its administrator is an active superuser, read fresh on every call', async () => {
    const second = await t.regstack.bootstrapAdmin({ email: 'temp-admin@example.com', password: PASSWORD });
    const secondToken = (await login('temp-admin@example.com')).accessToken;
    const imp = await as(secondToken).admin.users.impersonate({ id: userId, reason: 'before demotion' });
    expect((await as(imp.accessToken).account.me()).impersonatedBy?.id).toBe(second.user.id);
    // Demoted directly in the database: no session of theirs is revoked, only the fresh read can refuse.
    await t.regstack.storage.fork().nativeUpdate(UserSchema, { id: second.user.id }, { isSuperuser: false });
    expect(await codeOf(as(imp.accessToken).account.me())).toBe('UNAUTHENTICATED');
    await t.regstack.storage.fork().nativeUpdate(UserSchema, { id: second.user.id }, { isSuperuser: true });
    const again = await as(secondToken).admin.users.impersonate({ id: userId, reason: 'before disabling' });
    await as(adminToken).admin.users.update({ id: second.user.id, isActive: false });
    expect(await codeOf(as(again.accessToken).account.me())).toBe('UNAUTHENTICATED');
  });

  it('ends when its user is promoted to superuser meanwhile (never a superuser session)', async () => {
    await createVerifiedUser(t, 'rising@example.com');
    const rising = (await login('rising@example.com')).user.id;
    const imp = await impersonate(rising);
    expect((await as(imp.accessToken).account.me()).id).toBe(rising);
    await as(adminToken).admin.users.update({ id: rising, isSuperuser: true });
    expect(await codeOf(as(imp.accessToken).account.me())).toBe('UNAUTHENTICATED');
  });

  it('a shorter jwt_ttl_seconds caps the impersonation lifetime', async () => {
    const short = await startRegstack(ctx.url, { enableAdminRouter: true, jwtTtlSeconds: 300 });
    try {
      await short.regstack.bootstrapAdmin({ email: 'short-admin@example.com', password: PASSWORD });
      const res = await short.regstack.createCaller().login({ email: 'short-admin@example.com', password: PASSWORD });
      if (res.status !== 'authenticated') throw new Error('expected authenticated');
      await createVerifiedUser(short, 'short-user@example.com');
      const target = await short.regstack.createCaller().login({ email: 'short-user@example.com', password: PASSWORD });
      if (target.status !== 'authenticated') throw new Error('expected authenticated');
      const imp = await short.regstack
        .createCaller({ accessToken: res.accessToken })
        .admin.users.impersonate({ id: target.user.id, reason: 'short lived' });
      expect(imp.expiresIn).toBe(300);
    } finally {
      await short.regstack.close();
    }
  });

  describe('over HTTP', () => {
    let server: { url: string; close(): Promise<void> };
    beforeAll(async () => {
      server = await t.regstack.listen({ port: 0 });
    });
    afterAll(async () => {
      await server?.close();
    });

    it('impersonate, me, a refused password change, an admin call refused, stop', async () => {
      const api = rawClient(server.url);
      const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
      const started = await api.mutation(
        'auth.admin.users.impersonate',
        { id: userId, reason: 'over http' },
        bearer(adminToken),
      );
      expect(started.status).toBe(200);
      const imp = data(started) as { accessToken: string; expiresIn: number };
      const me = await api.query('auth.account.me', undefined, bearer(imp.accessToken));
      expect((data(me) as { impersonatedBy: { id: string } }).impersonatedBy.id).toBe(adminId);
      const change = await api.mutation(
        'auth.account.changePassword',
        { currentPassword: PASSWORD, newPassword: 'another good password' },
        bearer(imp.accessToken),
      );
      expect([change.status, error(change)?.data?.regstackCode]).toEqual([403, 'IMPERSONATION_RESTRICTED']);
      const list = await api.query('auth.admin.users.list', { limit: 5 }, bearer(imp.accessToken));
      expect([list.status, error(list)?.data?.regstackCode]).toEqual([403, 'FORBIDDEN']);
      const stop = await api.mutation('auth.admin.stopImpersonating', undefined, bearer(imp.accessToken));
      expect(stop.status).toBe(200);
      const after = await api.query('auth.account.me', undefined, bearer(imp.accessToken));
      expect(after.status).toBe(401);
    });
  });
});
