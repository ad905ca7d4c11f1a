/**
 * Attacks over real HTTP, on every backend: a concurrent burst of wrong passwords (R17), logoutAll against
 * tokens minted in the same second (R40), a logout by a re-encoded twin of the token (R39), tokens offered in
 * the URL or a cookie (R36), forged tokens (R31–R35), and enumeration by response bytes (R9).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { createVerifiedUser, startRegstack, type TestRegstack } from '../harness/regstack.ts';
import { reencodedTwins } from '../harness/tokens.ts';
import { data, error, rawClient } from './http-client.ts';

const PASSWORD = 'correct horse battery staple';
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describeEachBackend('attacks over HTTP', (ctx) => {
  let t: TestRegstack;
  let server: { url: string; close(): Promise<void> };
  let api: ReturnType<typeof rawClient>;
  beforeAll(async () => {
    t = await startRegstack(ctx.url, { loginRateLimit: 'none' });
    server = await t.regstack.listen({ port: 0 });
    api = rawClient(server.url);
  });
  afterAll(async () => {
    await server?.close();
    await t?.regstack.close();
  });

  it('20 concurrent wrong logins get at most 5 password checks; the rest are 429 (R17)', async () => {
    const { email } = await createVerifiedUser(t, 'http-burst@example.com');
    const results = await Promise.all(
      Array.from({ length: 20 }, () => api.mutation('auth.login', { email, password: 'wrong wrong wrong' })),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(15);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
  });

  it('10 concurrent correct logins of one account all answer 200; no 429 without a lock (R70, issue 14 item 6)', async () => {
    const { email } = await createVerifiedUser(t, 'http-tabs@example.com');
    const results = await Promise.all(
      Array.from({ length: 10 }, () => api.mutation('auth.login', { email, password: PASSWORD })),
    );
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(results.every((r) => r.headers.get('retry-after') === null)).toBe(true);
  });

  it('a reset racing a password change over HTTP: never both 200 with the reset undone (R68, issue 14 item 8)', async () => {
    const owners = 'the owner reset to this passphrase';
    const thiefs = 'the thief chose this passphrase';
    for (const [round, offset] of [0, 10, 25, 45].entries()) {
      const { email } = await createVerifiedUser(t, `http-race-${round}@example.com`);
      const thief = data(await api.mutation('auth.login', { email, password: PASSWORD })).accessToken as string;
      await api.mutation('auth.forgotPassword', { email });
      await t.regstack.drainOutbox();
      const token = t.mailbox.tokenFor(email, 'reset');
      const asThief = { authorization: `Bearer ${thief}` };
      const change = api.mutation(
        'auth.account.changePassword',
        { currentPassword: PASSWORD, newPassword: thiefs },
        asThief,
      );
      await new Promise((resolve) => setTimeout(resolve, offset));
      const reset = api.mutation('auth.resetPassword', { token, newPassword: owners });
      const [changed, wasReset] = await Promise.all([change, reset]);
      if (wasReset.status === 200) {
        // The reset stands, and nothing from before it survives.
        expect((await api.mutation('auth.login', { email, password: owners })).status).toBe(200);
        expect((await api.mutation('auth.login', { email, password: thiefs })).status).toBe(401);
        expect((await api.query('auth.account.me', undefined, asThief)).status).toBe(401);
        if (changed.status === 200) {
          const fresh = { authorization: `Bearer ${data(changed).accessToken}` };
          expect((await api.query('auth.account.me', undefined, fresh)).status).toBe(401);
        } else {
          expect([409, 401]).toContain(changed.status);
        }
      } else {
        // The change committed first and ended the reset link: the reset lost, visibly.
        expect(error(wasReset).data.regstackCode).toBe('INVALID_OR_EXPIRED_TOKEN');
        expect(changed.status).toBe(200);
      }
    }
  });

  it('logoutAll rejects every token minted before it, even within the same second; a login right after works (R40)', async () => {
    const { email } = await createVerifiedUser(t, 'http-everywhere@example.com');
    const tokens: string[] = [];
    for (let i = 0; i < 3; i++)
      tokens.push(data(await api.mutation('auth.login', { email, password: PASSWORD })).accessToken);
    const out = await api.mutation('auth.logoutAll', undefined, { authorization: `Bearer ${tokens[2]}` });
    expect(data(out)).toEqual({ status: 'logged_out', revoked: 3 });
    const fresh = data(await api.mutation('auth.login', { email, password: PASSWORD })).accessToken;
    for (const token of tokens) {
      expect((await api.query('auth.account.me', undefined, { authorization: `Bearer ${token}` })).status).toBe(401);
    }
    expect((await api.query('auth.account.me', undefined, { authorization: `Bearer ${fresh}` })).status).toBe(200);
  });

  it('a logout by a re-encoded twin of the token revokes every spelling of it (R39)', async () => {
    const { email } = await createVerifiedUser(t, 'http-twins@example.com');
    const token: string = data(await api.mutation('auth.login', { email, password: PASSWORD })).accessToken;
    const other: string = data(await api.mutation('auth.login', { email, password: PASSWORD })).accessToken;
    const twins = reencodedTwins(token);
    const me = (bearer: string) => api.query('auth.account.me', undefined, { authorization: `Bearer ${bearer}` });
    expect((await me(twins[0]!)).status).toBe(200); // control: a twin verifies
    expect(data(await api.mutation('auth.logout', undefined, { authorization: `Bearer ${twins[2]}` }))).toEqual({
      status: 'logged_out',
      revoked: 1,
    });
    for (const spelling of [token, ...twins]) expect((await me(spelling)).status).toBe(401);
    expect((await me(other)).status).toBe(200);
  });

  it('takes the access token from the Authorization header only, never from the URL or a cookie (R36)', async () => {
    const { email } = await createVerifiedUser(t, 'http-transport@example.com');
    const token: string = data(await api.mutation('auth.login', { email, password: PASSWORD })).accessToken;
    const input = encodeURIComponent(JSON.stringify({ json: null }));
    for (const query of ['access_token', 'token', 'authorization', 'bearer']) {
      const res = await fetch(`${server.url}/trpc/auth.account.me?input=${input}&${query}=${token}`);
      expect(res.status, query).toBe(401);
    }
    const viaCookie = await fetch(`${server.url}/trpc/auth.account.me?input=${input}`, {
      headers: { cookie: `access_token=${token}; token=${token}; authorization=Bearer%20${token}` },
    });
    expect(viaCookie.status).toBe(401);
    const control = await fetch(`${server.url}/trpc/auth.account.me?input=${input}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(control.status).toBe(200);
  });

  it('a burst of concurrent calls by many users: each sees only itself, revoked and forged ones none (R37)', async () => {
    // Authentication lookups of one event-loop turn share a statement on SQL; answers must never cross.
    const users: { email: string; token: string }[] = [];
    for (let i = 0; i < 6; i++) {
      const { email } = await createVerifiedUser(t, `http-crowd-${i}@example.com`);
      const token: string = data(await api.mutation('auth.login', { email, password: PASSWORD })).accessToken;
      users.push({ email, token });
    }
    const revoked = users[5]!;
    await api.mutation('auth.logout', undefined, { authorization: `Bearer ${revoked.token}` });
    const calls = Array.from({ length: 60 }, (_, i) => {
      const who = users[i % users.length]!;
      const token = i % 10 === 9 ? `${who.token.slice(0, -3)}abc` : who.token; // every tenth call forged
      return {
        who,
        forged: i % 10 === 9,
        call: api.query('auth.account.me', undefined, { authorization: `Bearer ${token}` }),
      };
    });
    for (const { who, forged, call } of calls) {
      const res = await call;
      if (forged || who === revoked) expect(res.status).toBe(401);
      else expect(data(res).email).toBe(who.email);
    }
  });

  it('forged and malformed credentials all get the same 401 body (R31–R35)', async () => {
    const { email } = await createVerifiedUser(t, 'http-forge@example.com');
    const real: string = data(await api.mutation('auth.login', { email, password: PASSWORD })).accessToken;
    const [, payload, sig] = real.split('.') as [string, string, string];
    const headers = [
      `Bearer ${b64({ alg: 'none', typ: 'at+jwt' })}.${payload}.`,
      `Bearer ${b64({ alg: 'HS512', typ: 'at+jwt' })}.${payload}.${sig}`,
      `Bearer ${real}x`,
      `Bearer ${'a'.repeat(9000)}`,
      'Bearer',
      'Basic dXNlcjpwYXNz',
      `bearer  ${real.split('.').slice(0, 2).join('.')}`,
    ];
    const bodies = [];
    for (const authorization of headers) {
      const r = await api.query('auth.account.me', undefined, { authorization });
      expect(r.status).toBe(401);
      bodies.push(JSON.stringify(error(r)));
    }
    expect(new Set(bodies).size).toBe(1);
    expect(JSON.parse(bodies[0]!).data.regstackCode).toBe('UNAUTHENTICATED');
  });

  it('unknown email, wrong password and disabled account answer byte-identical bodies and headers (R9)', async () => {
    const { email } = await createVerifiedUser(t, 'http-r9@example.com');
    const wrong = await api.mutation('auth.login', { email, password: 'wrong wrong wrong' });
    const unknown = await api.mutation('auth.login', {
      email: 'http-r9-nobody@example.com',
      password: 'wrong wrong wrong',
    });
    expect(unknown.status).toBe(wrong.status);
    expect(JSON.stringify(unknown.body)).toBe(JSON.stringify(wrong.body));
    const headerNames = (r: { headers: Headers }) => [...r.headers.keys()].filter((k) => k !== 'date').sort();
    expect(headerNames(unknown)).toEqual(headerNames(wrong));
    expect(unknown.headers.get('content-length')).toBe(wrong.headers.get('content-length'));
  });
});
