/**
 * Issue 14 item 7, R67, over real HTTP on every backend — the pre-hijack as it was found: a stranger signs up
 * with the owner's address (before or after the owner), and the owner follows a mailed link (the stranger's
 * attempt's or their own). In no order, with no link, does the account end up with the stranger's password.
 * The wire answers: PASSWORD_REQUIRED is a 400 with its stable code and a `password` field error, a wrong
 * password a 401 INVALID_CREDENTIALS, a lock a 429 with Retry-After — none of them uses the link up. And the
 * pre-hijack through a resend: the owner's attempt lapses, the stranger's is the one live, the owner asks for a
 * resend and follows it — the resent link asks for the password and the stranger's account is never made.
 */
import { createManualClock } from '@regstack/server';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { startRegstack, type TestRegstack } from '../harness/regstack.ts';
import { data, error, rawClient } from './http-client.ts';

const VICTIM_PASSWORD = 'the owner chose this one';
const ATTACKER_PASSWORD = 'the stranger knows this one';

describeEachBackend('pre-account takeover over HTTP (R67)', (ctx) => {
  let t: TestRegstack;
  let server: { url: string; close(): Promise<void> };
  let api: ReturnType<typeof rawClient>;
  beforeAll(async () => {
    // Every request comes from loopback: per-client limits high enough that only R67 decides.
    t = await startRegstack(ctx.url, {
      registerRateLimit: '100/minute',
      verifyRateLimit: '200/minute',
      loginRateLimit: '100/minute',
      loginLockoutThreshold: 3,
    });
    server = await t.regstack.listen({ port: 0 });
    api = rawClient(server.url);
  });
  afterAll(async () => {
    await server?.close();
    await t?.regstack.close();
  });

  async function signUp(email: string, password: string): Promise<string> {
    const before = t.mailbox.messages.length;
    const res = await api.mutation('auth.register', { email, password });
    expect(res.status).toBe(200);
    await t.regstack.drainOutbox();
    const mail = t.mailbox.messages.slice(before).find((m) => m.to === email && /verify\?token=/.test(m.text));
    return /verify\?token=([A-Za-z0-9_-]+)/.exec(mail?.text ?? '')![1]!;
  }

  it.each([
    ['attacker first', 'attacker link'],
    ['attacker first', 'victim link'],
    ['victim first', 'attacker link'],
    ['victim first', 'victim link'],
  ] as const)('%s, the owner follows the %s: the stranger never gets in', async (order, followed) => {
    const email = `http-${order}-${followed}@example.com`.replaceAll(' ', '-');
    const links = { attacker: '', victim: '' };
    for (const who of order === 'attacker first'
      ? (['attacker', 'victim'] as const)
      : (['victim', 'attacker'] as const)) {
      links[who] = await signUp(email, who === 'attacker' ? ATTACKER_PASSWORD : VICTIM_PASSWORD);
    }
    const link = followed === 'attacker link' ? links.attacker : links.victim;

    const asked = await api.mutation('auth.verifyEmail', { token: link });
    expect(asked.status).toBe(400);
    expect(error(asked).data).toMatchObject({
      regstackCode: 'PASSWORD_REQUIRED',
      fieldErrors: { password: [expect.any(String)] },
    });
    expect(error(asked).message).toMatch(/password you chose/i);

    if (followed === 'attacker link') {
      const refused = await api.mutation('auth.verifyEmail', { token: link, password: VICTIM_PASSWORD });
      expect(refused.status).toBe(401);
      expect(error(refused).data.regstackCode).toBe('INVALID_CREDENTIALS');
    }
    const verified = await api.mutation('auth.verifyEmail', { token: links.victim, password: VICTIM_PASSWORD });
    expect(verified.status).toBe(200);
    expect(data(verified).user).toMatchObject({ email, isVerified: true });

    const stranger = await api.mutation('auth.login', { email, password: ATTACKER_PASSWORD });
    expect(stranger.status).toBe(401);
    const dead = await api.mutation('auth.verifyEmail', { token: links.attacker, password: ATTACKER_PASSWORD });
    expect(error(dead).data.regstackCode).toBe('INVALID_OR_EXPIRED_TOKEN');
    const owner = await api.mutation('auth.login', { email, password: VICTIM_PASSWORD });
    expect(owner.status).toBe(200);
    expect(data(owner).status).toBe('authenticated');
  });

  it('wrong passwords through a link lock the address (429, Retry-After) and never use the link up', async () => {
    const email = 'http-guess@example.com';
    const link = await signUp(email, VICTIM_PASSWORD);
    await signUp(email, ATTACKER_PASSWORD);
    for (const guess of ['guess number one', 'guess number two', 'guess number three']) {
      const r = await api.mutation('auth.verifyEmail', { token: link, password: guess });
      expect(r.status).toBe(401);
    }
    const locked = await api.mutation('auth.verifyEmail', { token: link, password: VICTIM_PASSWORD });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(error(locked).data.regstackCode).toBe('TOO_MANY_ATTEMPTS');
    // The lock is the address's: the login form is locked too, and no account was created meanwhile.
    const login = await api.mutation('auth.login', { email, password: VICTIM_PASSWORD });
    expect(error(login).data.regstackCode).toBe('TOO_MANY_ATTEMPTS');
    const stillAsks = await api.mutation('auth.verifyEmail', { token: link });
    expect(error(stillAsks).data.regstackCode).toBe('PASSWORD_REQUIRED');
  });
});

describeEachBackend('pre-account takeover through a resend, over HTTP (R67)', (ctx) => {
  it("the owner's resend links the stranger's attempt: 400 PASSWORD_REQUIRED, never the stranger's account", async () => {
    const clock = createManualClock();
    const t = await startRegstack(ctx.url, {}, { clock });
    const server = await t.regstack.listen({ port: 0 });
    try {
      const api = rawClient(server.url);
      const email = 'http-resend-hijack@example.com';
      expect((await api.mutation('auth.register', { email, password: VICTIM_PASSWORD })).status).toBe(200);
      clock.advance(12 * 3600_000);
      expect((await api.mutation('auth.register', { email, password: ATTACKER_PASSWORD })).status).toBe(200);
      // The owner's attempt lapses; the stranger's is the address's one live attempt.
      clock.advance(12 * 3600_000 + 60_000);
      await t.regstack.drainOutbox();

      const before = t.mailbox.messages.length;
      const resent = await api.mutation('auth.resendVerification', { email });
      expect(resent.status).toBe(200);
      await t.regstack.settle();
      await t.regstack.drainOutbox();
      const mail = t.mailbox.messages.slice(before).find((m) => m.to === email);
      const token = /verify\?token=([A-Za-z0-9_-]+)/.exec(mail?.text ?? '')![1]!;

      const asked = await api.mutation('auth.verifyEmail', { token });
      expect(asked.status).toBe(400);
      expect(error(asked).data).toMatchObject({
        regstackCode: 'PASSWORD_REQUIRED',
        fieldErrors: { password: [expect.any(String)] },
      });
      const refused = await api.mutation('auth.verifyEmail', { token, password: VICTIM_PASSWORD });
      expect(refused.status).toBe(401);
      expect(error(refused).data.regstackCode).toBe('INVALID_CREDENTIALS');
      const again = await api.mutation('auth.verifyEmail', { token });
      expect(error(again).data.regstackCode).toBe('PASSWORD_REQUIRED');
      // No account was made: the stranger's password opens nothing.
      const stranger = await api.mutation('auth.login', { email, password: ATTACKER_PASSWORD });
      expect(stranger.status).toBe(401);
    } finally {
      await server.close();
      await t.regstack.close();
    }
  });
});
