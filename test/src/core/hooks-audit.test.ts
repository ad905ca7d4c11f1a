/**
 * Hooks and the audit log, on every backend: typed events fire after the change is stored, may be async,
 * and a failing handler never breaks a flow; security events land in the audit table with who/when/where
 * and never a secret (R62, R63).
 */
import { createRepositories } from '@regstack/server/internal';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { createVerifiedUser, startRegstack, type TestRegstack } from '../harness/regstack.ts';

const PASSWORD = 'correct horse battery staple';

describeEachBackend('hooks and audit', (ctx) => {
  let t: TestRegstack;
  beforeAll(async () => {
    t = await startRegstack(ctx.url);
  });
  afterAll(async () => {
    await t?.regstack.close();
  });

  it('fires typed events after the change is stored; async and failing handlers never break the flow', async () => {
    const seen: string[] = [];
    let storedWhenFired: boolean | undefined;
    const offs = [
      t.regstack.on('user_registered', async ({ user }) => {
        // runs after commit: the row is already there
        const repos = createRepositories(t.regstack.storage.fork(), t.regstack.storage.dialect);
        storedWhenFired = (await repos.users.findById(user.id)) !== null;
        seen.push(`registered:${user.email}`);
      }),
      t.regstack.on('user_logged_in', ({ user, request }) => {
        seen.push(`login:${user.email}:${request.userAgent}`);
      }),
      t.regstack.on('user_logged_in', () => {
        throw new Error('a broken host handler');
      }),
      t.regstack.on('user_logged_out', async () => {
        await new Promise((r) => setTimeout(r, 5));
        seen.push('logout');
      }),
    ];
    try {
      await createVerifiedUser(t, 'hooked@example.com');
      const res = await t.regstack
        .createCaller({ headers: { 'user-agent': 'hook-agent' } })
        .login({ email: 'hooked@example.com', password: PASSWORD });
      if (res.status !== 'authenticated') throw new Error('expected authenticated');
      await t.regstack.createCaller({ accessToken: res.accessToken }).logout();
      await t.regstack.settle();
      expect(seen).toEqual(['registered:hooked@example.com', 'login:hooked@example.com:hook-agent', 'logout']);
      expect(storedWhenFired).toBe(true);
    } finally {
      for (const off of offs) off();
    }
  });

  it('writes security events to the audit log with actor, time and client, and no secret (R62, R63)', async () => {
    const { email } = await createVerifiedUser(t, 'audited@example.com');
    const caller = t.regstack.createCaller({ headers: { 'user-agent': 'audit-agent' }, ip: '192.0.2.10' });
    await caller.login({ email, password: 'definitely wrong' }).catch(() => {});
    const res = await caller.login({ email, password: PASSWORD });
    if (res.status !== 'authenticated') throw new Error('expected authenticated');
    await t.regstack.createCaller({ accessToken: res.accessToken }).logoutAll();
    const repos = createRepositories(t.regstack.storage.fork(), t.regstack.storage.dialect);
    const events = await repos.auditEvents.listForSubject(res.user.id);
    const names = events.map((e) => e.event);
    expect(names).toEqual(expect.arrayContaining(['user_verified', 'login_failed', 'login', 'sessions_revoked']));
    const login = events.find((e) => e.event === 'login')!;
    expect(login.actorId).toBe(res.user.id);
    expect(login.ip).toBe('192.0.2.10');
    expect(login.createdAt).toBeInstanceOf(Date);
    const raw = JSON.stringify(events);
    expect(raw).not.toContain(PASSWORD);
    expect(raw).not.toContain('definitely wrong');
    expect(raw).not.toContain(res.accessToken);
    expect(raw).not.toMatch(/\$argon2/);
  });
});
