/**
 * Sessions and access tokens through the real router, on every backend: logout revokes exactly the
 * presented token (R38), logoutAll leaves no same-second hole while a login right after it works (R40),
 * disabling a user takes effect on the next call (R37), forged tokens all fail the same way (R31–R35),
 * and a failing revocation check refuses service instead of passing (R42).
 */
import { createHmac } from 'node:crypto';
import { UserSchema } from '@regstack/server/internal';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { startFerretDb } from '../harness/ferretdb.ts';
import { failure as codeOf } from '../harness/outcomes.ts';
import { createVerifiedUser, startRegstack, TEST_SECRET, type TestRegstack } from '../harness/regstack.ts';
import { reencodedTwins } from '../harness/tokens.ts';

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

describeEachBackend('sessions and access tokens', (ctx) => {
  let t: TestRegstack;
  const login = async (email: string, password: string, userAgent = 'test-agent') => {
    const res = await t.regstack.createCaller({ headers: { 'user-agent': userAgent } }).login({ email, password });
    if (res.status !== 'authenticated') throw new Error('expected authenticated');
    return res;
  };
  const as = (token: string) => t.regstack.createCaller({ accessToken: token });

  beforeAll(async () => {
    t = await startRegstack(ctx.url);
  });
  afterAll(async () => {
    await t?.regstack.close();
  });

  it('logout revokes exactly the presented token; the user’s other sessions keep working (R38)', async () => {
    const { email, password } = await createVerifiedUser(t, 'logout@example.com');
    const a = await login(email, password, 'laptop');
    const b = await login(email, password, 'phone');
    expect(await as(a.accessToken).logout()).toEqual({ status: 'logged_out', revoked: 1 });
    expect((await codeOf(as(a.accessToken).account.me())).code).toBe('UNAUTHENTICATED');
    expect((await as(b.accessToken).account.me()).email).toBe(email);
    // replaying the logout changes nothing and reveals nothing
    expect((await codeOf(as(a.accessToken).logout())).code).toBe('UNAUTHENTICATED');
  });

  it('revokes by session, not by token string: re-encoded twins of a logged-out token die with it (R39)', async () => {
    // An HS256 signature is 32 bytes in 43 base64url characters; the last one carries 2 unused bits, which
    // decoders ignore. So each token has three twins — other strings, same signature — that verify. A denylist
    // keyed by the string (or its hash) would let a twin outlive the logout.
    const { email, password } = await createVerifiedUser(t, 'twins@example.com');
    const a = await login(email, password, 'laptop');
    const b = await login(email, password, 'phone');
    const twins = reencodedTwins(a.accessToken);
    // Control: they verify today (jose and regstack decode leniently, as RFC 7515 allows). Were regstack to refuse
    // non-canonical encodings one day, this attack would be gone altogether, and this line would say so.
    for (const twin of twins) expect((await as(twin).account.me()).email).toBe(email);
    expect(await as(twins[1]!).logout()).toEqual({ status: 'logged_out', revoked: 1 }); // logged out by a twin
    for (const token of [a.accessToken, ...twins]) {
      expect((await codeOf(as(token).account.me())).code).toBe('UNAUTHENTICATED');
    }
    expect((await as(b.accessToken).account.me()).email).toBe(email);
  });

  it('lists live sessions and revokes one by id; another user’s session id is not found', async () => {
    const { email, password } = await createVerifiedUser(t, 'list@example.com');
    const other = await createVerifiedUser(t, 'list-other@example.com');
    const a = await login(email, password, 'laptop');
    const b = await login(email, password, 'phone');
    const o = await login(other.email, other.password);
    const sessions = await as(a.accessToken).account.sessions();
    expect(sessions.map((s) => s.userAgent).sort()).toEqual(['laptop', 'phone']);
    expect(sessions.find((s) => s.current)?.userAgent).toBe('laptop');
    const phone = sessions.find((s) => s.userAgent === 'phone')!;
    await as(a.accessToken).account.revokeSession({ id: phone.id });
    expect((await codeOf(as(b.accessToken).account.me())).code).toBe('UNAUTHENTICATED');
    const otherSession = (await as(o.accessToken).account.sessions())[0]!;
    expect((await codeOf(as(a.accessToken).account.revokeSession({ id: otherSession.id }))).code).toBe(
      'SESSION_NOT_FOUND',
    );
    expect((await as(o.accessToken).account.me()).email).toBe(other.email);
  });

  it('logoutAll kills every token minted before it, even in the same second, and a login right after works (R40)', async () => {
    const { email, password } = await createVerifiedUser(t, 'everywhere@example.com');
    const tokens = [];
    for (let i = 0; i < 3; i++) tokens.push((await login(email, password)).accessToken);
    const res = await as(tokens[0]!).logoutAll();
    expect(res.revoked).toBe(3);
    // immediately — same second, likely the same millisecond region
    const fresh = await login(email, password);
    for (const token of tokens) expect((await codeOf(as(token).account.me())).code).toBe('UNAUTHENTICATED');
    expect((await as(fresh.accessToken).account.me()).email).toBe(email);
  });

  it('disabling or deleting the user stops their token on the next call (R37)', async () => {
    const { email, password } = await createVerifiedUser(t, 'disable-me@example.com');
    const res = await login(email, password);
    await t.regstack.storage.fork().nativeUpdate(UserSchema, { id: res.user.id }, { isActive: false });
    expect((await codeOf(as(res.accessToken).account.me())).code).toBe('UNAUTHENTICATED');
  });

  it('forged and malformed tokens all fail with the same error (R31–R35)', async () => {
    const { email, password } = await createVerifiedUser(t, 'forge@example.com');
    const real = await login(email, password);
    const [h, p] = real.accessToken.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
    const header = JSON.parse(Buffer.from(h, 'base64url').toString());
    const signRaw = (hdr: object, body: object, key: string | Buffer) => {
      const input = `${b64(hdr)}.${b64(body)}`;
      return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
    };
    const now = Math.floor(Date.now() / 1000);
    const forged = [
      `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(payload)}.`,
      `${b64({ alg: 'NoNe', typ: 'at+jwt' })}.${b64(payload)}.`,
      signRaw(header, payload, 'some-other-secret-of-decent-length-000000'),
      signRaw(header, payload, TEST_SECRET), // the master secret itself is never a signing key
      signRaw(header, { ...payload, exp: now - 3600, iat: now - 7200 }, TEST_SECRET),
      `${h}.${b64({ ...payload, sub: 'someone-else' })}.${real.accessToken.split('.')[2]}`,
      `${h}.${p}.${'A'.repeat(43)}`,
      'a.b.c.d.e',
      'not-a-token',
      `${h}.${p}.${real.accessToken.split('.')[2]}${'x'.repeat(9000)}`,
    ];
    const outcomes = await Promise.all(forged.map((tok) => codeOf(as(tok).account.me())));
    for (const o of outcomes)
      expect(o).toEqual({ code: 'UNAUTHENTICATED', message: 'Invalid or expired access token' });
    expect((await codeOf(t.regstack.createCaller({ headers: { authorization: 'Basic abc' } }).account.me())).code).toBe(
      'UNAUTHENTICATED',
    );
    expect((await codeOf(t.regstack.createCaller().account.me())).code).toBe('UNAUTHENTICATED');
  });
});

describeEachBackend('revocation fails closed', (ctx) => {
  // cannot stop someone else's server; the MongoDB-wire case is covered by `mongodb`
  it.skipIf(ctx.backend === 'mongodb-real')(
    'when the revocation state cannot be read, authenticated calls get SERVICE_UNAVAILABLE, never a pass (R42)',
    async () => {
      // MongoDB: a private FerretDB we can stop. SQL: the revocations table disappears under the running server.
      const ferret = ctx.backend === 'mongodb' ? await startFerretDb() : null;
      if (ferret && 'error' in ferret) throw new Error(ferret.error);
      const url = ferret ? `${ferret.url}/failclosed` : ctx.url;
      const t = await startRegstack(url);
      try {
        const { email, password } = await createVerifiedUser(t, 'closed@example.com');
        const res = await t.regstack.createCaller().login({ email, password });
        if (res.status !== 'authenticated') throw new Error('expected authenticated');
        const caller = t.regstack.createCaller({ accessToken: res.accessToken });
        expect((await caller.account.me()).email).toBe(email);
        if (ferret) await ferret.stop();
        else await t.regstack.storage.fork().getConnection().execute('drop table revocations');
        const outcome = await codeOf(caller.account.me());
        expect(outcome.code).toBe('SERVICE_UNAVAILABLE');
        // Concurrent calls share one lookup on SQL; a failed one fails each of them closed.
        const many = await Promise.all(Array.from({ length: 20 }, () => codeOf(caller.account.me())));
        expect(many.map((o) => o.code)).toEqual(Array(20).fill('SERVICE_UNAVAILABLE'));
      } finally {
        await Promise.race([t.regstack.close().catch(() => {}), new Promise((r) => setTimeout(r, 2000))]);
        if (ferret && !('error' in ferret)) await ferret.stop();
      }
    },
  );
});
