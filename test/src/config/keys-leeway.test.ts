/**
 * Issue 20, "every config key honest": `jwt_clock_tolerance_seconds`, on every backend, through `createCaller` on a
 * manual clock. The documented meaning (R34): a leeway on the tokens' `exp` — an access token, and the session that
 * ends with it, still authenticate up to that many seconds past `exp`, and not one second more; an MFA-pending token
 * likewise. A session inside its leeway is also one a new second factor revokes and a purge keeps. Each boundary is
 * checked on both sides, and the default (5 s) is shown not to reach that far.
 */
import { createManualClock, type RegstackConfigInput } from '@regstack/server';
import { afterEach, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { codeOf, outcome } from '../harness/outcomes.ts';
import { createVerifiedUser, startRegstack, type TestRegstack } from '../harness/regstack.ts';

const TTL = 300;
/** A number per test: one number per account (R52), and the suite shares its database. */
const PHONE_FACTOR = '+44 20 7946 0971';
const PHONE_PENDING = '+44 20 7946 0972';

describeEachBackend('jwt_clock_tolerance_seconds (issue 20)', (ctx) => {
  let t: TestRegstack | undefined;
  const sent: Array<{ to: string; body: string }> = [];
  afterEach(async () => {
    await t?.regstack.close();
    t = undefined;
    sent.length = 0;
  });

  const start = async (overrides: RegstackConfigInput) => {
    const clock = createManualClock();
    t = await startRegstack(
      ctx.url,
      {
        jwtTtlSeconds: TTL,
        loginRateLimit: 'none',
        enableSms2fa: true,
        sms: { recipientRateLimit: 'none', userRateLimit: 'none', ipRateLimit: 'none' },
        ...overrides,
      },
      { clock, sms: { send: async (m) => void sent.push(m) } },
    );
    return clock;
  };
  const login = async (email: string, password: string) => {
    const res = await t!.regstack.createCaller().login({ email, password });
    if (res.status !== 'authenticated') throw new Error('expected a session');
    return res.accessToken;
  };
  const me = (token: string) => outcome(t!.regstack.createCaller({ accessToken: token }).account.me());

  it('jwt_clock_tolerance_seconds lets an access token and its session live that long past exp, and no longer', async () => {
    const clock = await start({ jwtClockToleranceSeconds: 60 });
    const { email, password } = await createVerifiedUser(t!, 'leeway@example.com');
    const inside = await login(email, password);
    const beyond = await login(email, password);
    // 30 s past `exp` (and past the session's end, the same instant): inside the 60 s leeway.
    clock.advance((TTL + 30) * 1000);
    expect(await me(inside)).toBe('ok');
    // 61 s past: beyond it. (A token not seen before, so no cached verification answers for it.)
    clock.advance(31_000);
    expect(await me(beyond)).toBe('UNAUTHENTICATED');
    expect(await me(inside)).toBe('UNAUTHENTICATED');
  });

  it('jwt_clock_tolerance_seconds: a session inside its leeway is still one a new second factor ends', async () => {
    const clock = await start({ jwtClockToleranceSeconds: 60 });
    const { email, password } = await createVerifiedUser(t!, 'leeway-factor@example.com');
    const old = await login(email, password);
    clock.advance((TTL + 30) * 1000);
    expect(await me(old)).toBe('ok');
    // Enabling a factor ends every other session (R41) — the one living on its leeway too.
    const fresh = t!.regstack.createCaller({ accessToken: await login(email, password) });
    await fresh.mfa.sms.start({ phoneNumber: PHONE_FACTOR, currentPassword: password });
    await fresh.mfa.sms.confirm({ code: await lastCode() });
    expect(await me(old)).toBe('UNAUTHENTICATED');
  });

  it('jwt_clock_tolerance_seconds: a purge inside the leeway keeps the session that still authenticates', async () => {
    const clock = await start({ jwtClockToleranceSeconds: 60 });
    const { email, password } = await createVerifiedUser(t!, 'leeway-purge@example.com');
    const token = await login(email, password);
    clock.advance((TTL + 30) * 1000);
    await t!.regstack.purge();
    expect(await me(token)).toBe('ok');
    // Beyond the leeway the session has ended for good, and the purge removes it.
    clock.advance(31_000);
    const purged = await t!.regstack.purge();
    if (purged.status !== 'purged') throw new Error('expected a purge');
    expect(purged.counts.sessions).toBeGreaterThanOrEqual(1);
    expect(await me(token)).toBe('UNAUTHENTICATED');
  });

  it('jwt_clock_tolerance_seconds: the default leeway (5 s) refuses a token 30 s past exp', async () => {
    const clock = await start({});
    const { email, password } = await createVerifiedUser(t!, 'no-leeway@example.com');
    const token = await login(email, password);
    clock.advance((TTL + 4) * 1000);
    expect(await me(token)).toBe('ok');
    clock.advance(26_000);
    expect(await me(token)).toBe('UNAUTHENTICATED');
  });

  it('jwt_clock_tolerance_seconds lets an MFA-pending token finish a sign-in that long past exp, and no longer', async () => {
    const clock = await start({ jwtClockToleranceSeconds: 60, mfaPendingTokenTtlSeconds: 60 });
    const { email, password } = await createVerifiedUser(t!, 'leeway-mfa@example.com');
    const session = t!.regstack.createCaller({ accessToken: await login(email, password) });
    await session.mfa.sms.start({ phoneNumber: PHONE_PENDING, currentPassword: password });
    await session.mfa.sms.confirm({ code: await lastCode() });
    const client = t!.regstack.createCaller();
    const pending = async () => {
      const step = await client.login({ email, password });
      if (step.status !== 'mfa_required') throw new Error('expected mfa_required');
      return { token: step.mfaPendingToken, code: await lastCode() };
    };
    const inside = await pending();
    // 30 s past the pending token's `exp`; the texted code (300 s) is still alive.
    clock.advance(90_000);
    expect(
      await outcome(client.mfa.confirmLogin({ mfaPendingToken: inside.token, method: 'sms', code: inside.code })),
    ).toBe('ok');
    const beyond = await pending();
    clock.advance(121_000);
    expect(
      await codeOf(client.mfa.confirmLogin({ mfaPendingToken: beyond.token, method: 'sms', code: beyond.code })),
    ).toBe('MFA_CHALLENGE_INVALID');
  });

  const lastCode = async () => {
    await t!.regstack.settle();
    const code = /\b(\d{6})\b/.exec([...sent].reverse()[0]?.body ?? '')?.[1];
    if (!code) throw new Error('no SMS code');
    return code;
  };
});
