/**
 * Issue 17 item 3 (security), on every backend, through the router and over real HTTP: every procedure in the admin
 * router's own list — so a procedure added later is checked without anyone remembering to — refuses a non-admin, a
 * disabled admin, an admin demoted after their token was minted, and an anonymous caller, and does nothing for them
 * (R46); no admin response carries a password hash, token or code hash or a raw phone number (R46, R62); a forged,
 * edited, foreign or other-query cursor is VALIDATION_FAILED, never another page or a 500; search text is data on
 * every backend (`%`, `_`, `.*`, `$where`, `{"$ne":…}`); and two admins demoting each other over HTTP leave one.
 */
import { randomBytes } from 'node:crypto';
import { ALL_ENTITIES, UserSchema } from '@regstack/server/internal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { codeOf } from '../harness/outcomes.ts';
import { createVerifiedUser, startRegstack, type TestRegstack } from '../harness/regstack.ts';
import { callAt, ROUTER_PROCEDURES } from '../harness/router-walk.ts';
import { insertUserRow } from '../harness/user-rows.ts';
import { data, error, type RawResponse, rawClient } from './http-client.ts';

const PASSWORD = 'correct horse battery staple';

/** The admin router's procedures, from the router itself: `admin.users.list` → 'query', … */
const ADMIN_PROCEDURES = ROUTER_PROCEDURES.filter(({ path }) => path.startsWith('admin.'));
/**
 * Every admin procedure but `stopImpersonating`, the one an impersonation session (never an admin's own) calls to end
 * itself; core/impersonation.test.ts attacks that one.
 */
const ADMIN_ONLY = ADMIN_PROCEDURES.filter((p) => p.path !== 'admin.stopImpersonating');

describeEachBackend('admin security (issue 17 item 3)', (ctx) => {
  let t: TestRegstack;
  let server: { url: string; close(): Promise<void> };
  let api: ReturnType<typeof rawClient>;
  let adminToken: string;
  let victimId: string;
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const login = async (email: string) => {
    const res = await t.regstack.createCaller().login({ email, password: PASSWORD });
    if (res.status !== 'authenticated') throw new Error('expected authenticated');
    return res;
  };
  const as = (token: string) => t.regstack.createCaller({ accessToken: token });
  const httpCall = (path: string, type: string, input: unknown, headers: Record<string, string> = {}) =>
    type === 'query' ? api.query(`auth.${path}`, input, headers) : api.mutation(`auth.${path}`, input, headers);

  /** A valid input for each admin procedure: a refusal must come from authorization, never from the input. */
  const sampleInput = (path: string): unknown => {
    const byPath: Record<string, unknown> = {
      'admin.users.list': { limit: 10 },
      'admin.users.update': { id: victimId, isActive: false, isSuperuser: true },
      'admin.users.impersonate': { id: victimId, reason: 'an attacker wants in' },
      'admin.pending.list': { limit: 10 },
      'admin.pending.promote': { email: 'pending-victim@example.com' },
      'admin.pending.delete': { email: 'pending-victim@example.com' },
      'admin.audit.list': { limit: 10 },
    };
    if (path in byPath) return byPath[path];
    if (path.startsWith('admin.users.')) return { id: victimId };
    return undefined;
  };

  beforeAll(async () => {
    t = await startRegstack(ctx.url, { enableAdminRouter: true, loginRateLimit: '1000/minute' });
    server = await t.regstack.listen({ port: 0 });
    api = rawClient(server.url);
    await t.regstack.bootstrapAdmin({ email: 'root@example.com', password: PASSWORD });
    adminToken = (await login('root@example.com')).accessToken;
    await createVerifiedUser(t, 'victim@example.com');
    victimId = (await login('victim@example.com')).user.id;
    await t.regstack.createCaller().register({ email: 'pending-victim@example.com', password: PASSWORD });
  });
  afterAll(async () => {
    await server?.close();
    await t?.regstack.close();
  });

  it('the admin router lists the procedures this suite attacks', () => {
    const paths = ADMIN_PROCEDURES.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'admin.stats',
        'admin.users.list',
        'admin.users.get',
        'admin.users.update',
        'admin.users.delete',
        'admin.users.sessions',
        'admin.users.revokeSessions',
        'admin.users.resendVerification',
        'admin.users.sendPasswordReset',
        'admin.pending.list',
        'admin.pending.promote',
        'admin.pending.delete',
        'admin.audit.list',
        'admin.users.impersonate',
        'admin.stopImpersonating',
      ]),
    );
  });

  describe('every admin procedure refuses everyone but an active superuser (R46)', () => {
    let callers: Array<{ who: string; token: string | null; codes: string[] }>;
    beforeAll(async () => {
      await createVerifiedUser(t, 'plain@example.com');
      const plain = (await login('plain@example.com')).accessToken;
      await t.regstack.bootstrapAdmin({ email: 'disabled-admin@example.com', password: PASSWORD });
      const disabled = (await login('disabled-admin@example.com')).accessToken;
      await t.regstack.bootstrapAdmin({ email: 'demoted-admin@example.com', password: PASSWORD });
      const demoted = (await login('demoted-admin@example.com')).accessToken;
      // Both tokens were minted while their owners were admins; the flags change underneath, in the database only,
      // so the sessions stay alive and only the fresh read of the user can refuse them.
      const em = t.regstack.storage.fork();
      await em.nativeUpdate(UserSchema, { email: 'disabled-admin@example.com' }, { isActive: false });
      await em.nativeUpdate(UserSchema, { email: 'demoted-admin@example.com' }, { isSuperuser: false });
      expect((await as(demoted).account.me()).isSuperuser).toBe(false); // the demoted admin's token still works
      // An impersonation session (opened by a real admin) is never an admin's own, whoever its user is.
      const impersonating = (
        await as(adminToken).admin.users.impersonate({ id: victimId, reason: 'attacking the admin router' })
      ).accessToken;
      callers = [
        { who: 'a non-admin', token: plain, codes: ['FORBIDDEN'] },
        { who: 'a disabled admin', token: disabled, codes: ['UNAUTHENTICATED', 'FORBIDDEN'] },
        { who: 'an admin demoted after the token was minted', token: demoted, codes: ['FORBIDDEN'] },
        { who: 'an impersonation session', token: impersonating, codes: ['FORBIDDEN'] },
        { who: 'an anonymous caller', token: null, codes: ['UNAUTHENTICATED'] },
      ];
    });

    it('through the router', async () => {
      for (const { path } of ADMIN_ONLY) {
        for (const { who, token, codes } of callers) {
          const caller = token ? as(token) : t.regstack.createCaller();
          const code = await codeOf(callAt(caller, path, sampleInput(path)));
          expect(codes, `${path} as ${who} gave ${code}`).toContain(code);
        }
      }
    });

    it('over HTTP, with no data in the refusal', async () => {
      for (const { path, type } of ADMIN_ONLY) {
        for (const { who, token, codes } of callers) {
          const res = await httpCall(path, type, sampleInput(path), token ? bearer(token) : {});
          const code = error(res)?.data?.regstackCode;
          expect(codes, `${path} as ${who} gave ${res.status} ${code}`).toContain(code);
          expect(res.status).toBe(code === 'FORBIDDEN' ? 403 : 401);
          expect(res.body.result).toBeUndefined();
        }
      }
    });

    it('and nothing happened: the victim and the pending sign-up are as they were', async () => {
      const victim = await t.regstack.storage
        .fork()
        .findOne(UserSchema, { id: victimId }, { disableIdentityMap: true });
      expect(victim).toMatchObject({ isActive: true, isSuperuser: false });
      const pending = await as(adminToken).admin.pending.list({ limit: 200 });
      expect(pending.items.map((p) => p.email)).toContain('pending-victim@example.com');
    });
  });

  it('enable_admin_router off: every admin procedure answers FEATURE_DISABLED over HTTP, even to an admin', async () => {
    const off = await startRegstack(ctx.url);
    const offServer = await off.regstack.listen({ port: 0 });
    try {
      const offApi = rawClient(offServer.url);
      for (const { path, type } of ADMIN_PROCEDURES) {
        for (const headers of [bearer(adminToken), {}]) {
          const input = sampleInput(path);
          const res =
            type === 'query'
              ? await offApi.query(`auth.${path}`, input, headers)
              : await offApi.mutation(`auth.${path}`, input, headers);
          expect([res.status, error(res)?.data?.regstackCode], path).toEqual([403, 'FEATURE_DISABLED']);
        }
      }
    } finally {
      await offServer.close();
      await off.regstack.close();
    }
  });

  it('no admin response carries a password hash, a token or code hash, or a raw phone number', async () => {
    const phone = '+14155550123';
    await t.regstack.storage.fork().nativeUpdate(UserSchema, { id: victimId }, { phoneNumber: phone });
    await as(adminToken).admin.users.sendPasswordReset({ id: victimId }); // a live reset token in the table
    await t.regstack.drainOutbox();
    const em = t.regstack.storage.fork();
    const secrets: string[] = [phone];
    for (const entity of ALL_ENTITIES) {
      const props = Object.keys(entity.meta.properties).filter((p) => /hash/i.test(p));
      if (props.length === 0) continue;
      const rows = await em.find(entity as never, {}, { populate: props as never, disableIdentityMap: true });
      for (const row of rows as unknown as Array<Record<string, unknown>>) {
        for (const p of props) if (typeof row[p] === 'string') secrets.push(row[p] as string);
      }
    }
    expect(secrets.filter((s) => s.startsWith('$argon2')).length).toBeGreaterThan(2);
    const reads: Array<[string, unknown]> = [
      ['admin.stats', undefined],
      ['admin.users.list', { limit: 200 }],
      ['admin.users.list', { limit: 200, search: 'victim' }],
      ['admin.users.get', { id: victimId }],
      ['admin.users.sessions', { id: victimId }],
      ['admin.pending.list', { limit: 200 }],
      ['admin.audit.list', { limit: 200 }],
    ];
    for (const [path, input] of reads) {
      const viaRouter = JSON.stringify(await callAt(as(adminToken), path, input));
      const viaHttp = JSON.stringify((await api.query(`auth.${path}`, input, bearer(adminToken))).body);
      for (const body of [viaRouter, viaHttp]) {
        expect(body).not.toMatch(/argon2|hashed|tokenHash|codeHash|secret/i);
        for (const secret of secrets) expect(body.includes(secret), `${path} leaks a stored secret`).toBe(false);
      }
    }
    const detail = await as(adminToken).admin.users.get({ id: victimId });
    expect(detail.user.phoneNumber).not.toBe(phone);
    expect(detail.mfa.phoneHint).toMatch(/23$/);
  });

  describe('cursor tampering is VALIDATION_FAILED, never another page or a 500', () => {
    let cursor: string;
    const listInput = { limit: 1, sort: 'email' as const, direction: 'asc' as const };
    beforeAll(async () => {
      const first = await as(adminToken).admin.users.list(listInput);
      if (!first.nextCursor) throw new Error('expected a second page');
      cursor = first.nextCursor;
      // Control: the genuine cursor works.
      expect((await as(adminToken).admin.users.list({ ...listInput, cursor })).items).toHaveLength(1);
    });

    const flip = (s: string, at: number) => s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1);

    it('forged, edited, foreign and other-query cursors', async () => {
      const [payload, mac] = cursor.split('.') as [string, string];
      const forgedPayload = Buffer.from(JSON.stringify({ value: 'a', id: victimId })).toString('base64url');
      const other = await startRegstack(ctx.url, {
        enableAdminRouter: true,
        jwtSecret: randomBytes(32).toString('base64url'),
      });
      let foreign: string;
      try {
        await other.regstack.bootstrapAdmin({ email: 'other-root@example.com', password: PASSWORD });
        const res = await other.regstack.createCaller().login({ email: 'other-root@example.com', password: PASSWORD });
        if (res.status !== 'authenticated') throw new Error('expected authenticated');
        const page = await other.regstack.createCaller({ accessToken: res.accessToken }).admin.users.list(listInput);
        foreign = page.nextCursor ?? '';
      } finally {
        await other.regstack.close();
      }
      const auditCursor = (await as(adminToken).admin.audit.list({ limit: 1 })).nextCursor ?? '';
      const cases: Array<[string, Record<string, unknown>]> = [
        ['payload edited', { ...listInput, cursor: `${flip(payload, 2)}.${mac}` }],
        ['mac edited', { ...listInput, cursor: `${payload}.${flip(mac, 5)}` }],
        ['payload forged, mac kept', { ...listInput, cursor: `${forgedPayload}.${mac}` }],
        ['no mac', { ...listInput, cursor: payload }],
        ['extra part', { ...listInput, cursor: `${cursor}.x` }],
        ['another deployment', { ...listInput, cursor: foreign }],
        ['another sort', { ...listInput, sort: 'createdAt', cursor }],
        ['another direction', { ...listInput, direction: 'desc', cursor }],
        ['another search', { ...listInput, search: 'v', cursor }],
        ['another filter', { ...listInput, filters: { isActive: true }, cursor }],
        ['another list', { ...listInput, cursor: auditCursor }],
        ['garbage', { ...listInput, cursor: '%%%.$$$' }],
        ['too long', { ...listInput, cursor: 'A'.repeat(5000) }],
        ['not a string', { ...listInput, cursor: { $gt: '' } }],
      ];
      for (const [label, input] of cases) {
        expect(await codeOf(as(adminToken).admin.users.list(input as never)), label).toBe('VALIDATION_FAILED');
        const res = await api.query('auth.admin.users.list', input, bearer(adminToken));
        expect([res.status, error(res)?.data?.regstackCode], label).toEqual([400, 'VALIDATION_FAILED']);
      }
      // The same query with its filters spelled in another order is the same query: its cursor works.
      const filtered = { ...listInput, filters: { isActive: true, isVerified: true } };
      const firstFiltered = await as(adminToken).admin.users.list(filtered);
      const reordered = {
        ...listInput,
        filters: { isVerified: true, isActive: true },
        cursor: firstFiltered.nextCursor,
      };
      expect((await as(adminToken).admin.users.list(reordered as never)).items).toHaveLength(1);
      // A users cursor fed to the audit and pending lists is refused there too.
      expect(await codeOf(as(adminToken).admin.audit.list({ limit: 1, cursor }))).toBe('VALIDATION_FAILED');
      expect(await codeOf(as(adminToken).admin.pending.list({ limit: 1, cursor }))).toBe('VALIDATION_FAILED');
    });
  });

  it('search text is data on every backend: %, _, .*, $where and {"$ne":…} find nothing unexpected', async () => {
    const em = t.regstack.storage.fork();
    const row = (id: string, email: string, fullName: string | null) => ({
      id,
      email,
      hashedPassword: null,
      fullName,
      isActive: true,
      isVerified: true,
      isSuperuser: false,
      isMfaEnabled: false,
      createdAt: new Date(),
      updatedAt: new Date(),
      lastLoginAt: null,
    });
    await insertUserRow(em, row('inj-1', 'under_score@inj.example', 'Plain Name'));
    await insertUserRow(em, row('inj-2', 'underxscore@inj.example', '100% sure'));
    await insertUserRow(em, row('inj-3', 'dollar@inj.example', 'Uses $where daily'));
    const found = async (search: string) =>
      (await as(adminToken).admin.users.list({ search, limit: 200 })).items.map((u) => u.id).sort();
    const total = (await as(adminToken).admin.users.list({ limit: 200 })).items.length;
    expect(total).toBeGreaterThan(5);
    expect(await found('_')).toEqual([]);
    expect(await found('under_')).toEqual(['inj-1']); // `_` is no wildcard: underxscore does not match
    // Names are found by the start of their words (issue 17), and `%` is no word: it finds nobody, and next to a
    // word it is only a separator.
    expect(await found('%')).toEqual([]);
    expect(await found('% sure')).toEqual(['inj-2']);
    expect(await found('100%')).toEqual(['inj-2']);
    expect(await found('.*')).toEqual([]);
    expect(await found('^under')).toEqual([]);
    expect(await found('$where')).toEqual(['inj-3']); // the literal text in a name, nothing more
    expect(await found('{"$ne":null}')).toEqual([]);
    expect(await found('\\')).toEqual([]);
    expect(await found("' or 1=1 --")).toEqual([]);
    // Operators in place of text never reach a query: the input schema refuses them.
    for (const input of [{ search: { $ne: null } }, { search: ['a'] }, { filters: { isActive: { $ne: false } } }]) {
      expect(await codeOf(as(adminToken).admin.users.list({ limit: 10, ...input } as never))).toBe('VALIDATION_FAILED');
      const res = await api.query('auth.admin.users.list', { limit: 10, ...input }, bearer(adminToken));
      expect(res.status).toBe(400);
    }
  });

  it('two admins demoting each other over HTTP at the same moment leave exactly one', async () => {
    await t.regstack.bootstrapAdmin({ email: 'http-a@example.com', password: PASSWORD });
    await t.regstack.bootstrapAdmin({ email: 'http-b@example.com', password: PASSWORD });
    const a = await login('http-a@example.com');
    const b = await login('http-b@example.com');
    await t.regstack.storage
      .fork()
      .nativeUpdate(UserSchema, { isSuperuser: true, id: { $nin: [a.user.id, b.user.id] } }, { isSuperuser: false });
    const results: RawResponse[] = await Promise.all([
      api.mutation('auth.admin.users.update', { id: b.user.id, isSuperuser: false }, bearer(a.accessToken)),
      api.mutation('auth.admin.users.update', { id: a.user.id, isSuperuser: false }, bearer(b.accessToken)),
    ]);
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    const refused = results.find((r) => r.status !== 200);
    // The loser is refused by the guard, or — when the winner's demotion (which revokes every session of the demoted
    // admin) committed before the loser's request was authenticated — as a caller whose session is gone.
    expect(['LAST_ACTIVE_ADMIN', 'FORBIDDEN', 'UNAUTHENTICATED']).toContain(
      error(refused as RawResponse)?.data?.regstackCode,
    );
    expect(await t.regstack.storage.fork().count(UserSchema, { isActive: true, isSuperuser: true })).toBe(1);
    const winner = results.find((r) => r.status === 200) as RawResponse;
    expect(data(winner).sessionsRevoked).toBe(1);
  });
});
