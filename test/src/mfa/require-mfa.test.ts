/**
 * Issue 18 item 6 (`require_mfa`), on every backend, through the router and over HTTP: a user who must have a second
 * factor and has none signs in to a restricted session — `account.me`, `logout` and `auth.mfa.*` answer, every other
 * authenticated procedure (walked over the router's own list, so a later one is checked too) answers
 * MFA_ENROLMENT_REQUIRED — until a factor is enabled, which lifts the restriction on the very next call of the same
 * session. `superusers` restricts admins only (and the admin procedures with them); `mfa.status.required` says so.
 */
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { outcome } from '../harness/outcomes.ts';
import { createVerifiedUser, startRegstack, type TestRegstack } from '../harness/regstack.ts';
import { callAt, ROUTER_PROCEDURES } from '../harness/router-walk.ts';
import { data, error, rawClient } from '../http/http-client.ts';

const PASSWORD = 'correct horse battery staple';
/** What a session that must enrol first may reach (besides the public procedures): how to re-authenticate, too. */
const OPEN_BEFORE_ENROLMENT = (path: string) =>
  path === 'account.me' ||
  path === 'account.reauthentication' ||
  path === 'logout' ||
  path.startsWith('mfa.') ||
  path === 'admin.stopImpersonating';

describeEachBackend('require_mfa (issue 18 item 6)', (ctx) => {
  let all: TestRegstack;
  let admins: TestRegstack;
  beforeAll(async () => {
    [all, admins] = await Promise.all([
      startRegstack(ctx.url, { requireMfa: 'all', enableAdminRouter: true, loginRateLimit: '1000/minute' }),
      startRegstack(ctx.url, { requireMfa: 'superusers', enableAdminRouter: true, loginRateLimit: '1000/minute' }),
    ]);
  });
  afterAll(async () => {
    await all?.regstack.close();
    await admins?.regstack.close();
  });

  const signIn = async (t: TestRegstack, email: string) => {
    const res = await t.regstack.createCaller().login({ email, password: PASSWORD });
    if (res.status !== 'authenticated') throw new Error('expected a session');
    return t.regstack.createCaller({ accessToken: res.accessToken });
  };

  it('a user without a factor reaches only me, logout and auth.mfa.*, until a factor is enabled', async () => {
    await createVerifiedUser(all, 'must-enrol@example.com');
    const session = await signIn(all, 'must-enrol@example.com');
    expect((await session.account.me()).email).toBe('must-enrol@example.com');
    expect(await session.mfa.status()).toMatchObject({ enabled: false, required: true });
    const anonymous = all.regstack.createCaller();
    const refused: string[] = [];
    for (const { path } of ROUTER_PROCEDURES) {
      if ((await outcome(callAt(anonymous, path, undefined))) !== 'UNAUTHENTICATED') continue; // public
      if (path === 'logout' || path === 'admin.stopImpersonating') continue; // would end the session / another kind
      const code = await outcome(callAt(session, path, undefined));
      if (OPEN_BEFORE_ENROLMENT(path)) expect(code, path).not.toBe('MFA_ENROLMENT_REQUIRED');
      else if (path.startsWith('admin.')) expect(['FORBIDDEN', 'MFA_ENROLMENT_REQUIRED'], path).toContain(code);
      else {
        expect(code, path).toBe('MFA_ENROLMENT_REQUIRED');
        refused.push(path);
      }
    }
    expect(refused).toEqual(
      expect.arrayContaining(['account.sessions', 'account.update', 'account.changePassword', 'logoutAll']),
    );
    // Enrolling an authenticator app lifts the restriction for this very session.
    const enrolment = await session.mfa.totp.start({ currentPassword: PASSWORD });
    const code = TOTP.generate({ secret: Secret.fromBase32(enrolment.secret) });
    await session.mfa.totp.confirm({ code });
    expect(await outcome(session.account.sessions())).toBe('ok');
    expect(await session.mfa.status()).toMatchObject({ enabled: true, required: true });
  });

  it('superusers: plain users are free, an admin without a factor cannot use the admin procedures', async () => {
    await createVerifiedUser(admins, 'plain@example.com');
    const plain = await signIn(admins, 'plain@example.com');
    expect(await outcome(plain.account.sessions())).toBe('ok');
    expect((await plain.mfa.status()).required).toBe(false);
    await admins.regstack.bootstrapAdmin({ email: 'root@example.com', password: PASSWORD });
    const root = await signIn(admins, 'root@example.com');
    expect(await outcome(root.admin.stats())).toBe('MFA_ENROLMENT_REQUIRED');
    expect(await outcome(root.admin.users.list({}))).toBe('MFA_ENROLMENT_REQUIRED');
    expect((await root.mfa.status()).required).toBe(true);
  });

  describe('over HTTP', () => {
    let server: { url: string; close(): Promise<void> };
    beforeAll(async () => {
      server = await all.regstack.listen({ port: 0 });
    });
    afterAll(async () => {
      await server?.close();
    });

    it('refuses with 403 MFA_ENROLMENT_REQUIRED and answers me', async () => {
      await createVerifiedUser(all, 'http-enrol@example.com');
      const api = rawClient(server.url);
      const login = await api.mutation('auth.login', { email: 'http-enrol@example.com', password: PASSWORD });
      const token = (data(login) as { accessToken: string }).accessToken;
      const bearer = { authorization: `Bearer ${token}` };
      expect((await api.query('auth.account.me', undefined, bearer)).status).toBe(200);
      const sessions = await api.query('auth.account.sessions', undefined, bearer);
      expect([sessions.status, error(sessions)?.data?.regstackCode]).toEqual([403, 'MFA_ENROLMENT_REQUIRED']);
    });
  });
});
