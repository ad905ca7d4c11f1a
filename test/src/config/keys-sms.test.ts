/**
 * Issue 20, "every config key honest": proofs for the SMS second factor's keys, on every backend, through
 * `createCaller` with a recording SMS sender: the code's lifetime (R48), its guess budget (R49) and the per-client
 * limits of phone enrolment, factor management and the second login step. Each sets a non-default value and observes what the default would not do.
 */
import { createManualClock, type RegstackConfigInput } from '@regstack/server';
import { afterEach, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { codeOf, outcome } from '../harness/outcomes.ts';
import { createVerifiedUser, startRegstack, type TestRegstack } from '../harness/regstack.ts';

const PHONE = '+44 20 7946 0958';
const E164 = '+442079460958';

describeEachBackend('config keys of the SMS factor (issue 20)', (ctx) => {
  let t: TestRegstack | undefined;
  const sent: Array<{ to: string; body: string }> = [];
  const clock = createManualClock(Date.now());
  afterEach(async () => {
    await t?.regstack.close();
    t = undefined;
    sent.length = 0;
  });

  let clients = 0;
  const start = async (email: string, overrides: RegstackConfigInput) => {
    // A client address of its own per test: the per-client limits are counted in the database.
    const ip = `198.51.100.${++clients}`;
    t = await startRegstack(
      ctx.url,
      {
        enableSms2fa: true,
        loginRateLimit: 'none',
        // The SMS limits are counted in the database and shared by the tests here: out of the way.
        sms: { recipientRateLimit: 'none', userRateLimit: 'none', ipRateLimit: 'none' },
        ...overrides,
      },
      { clock, sms: { send: async (m) => void sent.push(m) } },
    );
    const { password } = await createVerifiedUser(t, email);
    clock.advance(1_000);
    const login = await t.regstack.createCaller({ ip }).login({ email, password });
    if (login.status !== 'authenticated') throw new Error('expected a session');
    const me = t.regstack.createCaller({ accessToken: login.accessToken, ip });
    return { password, me, ip, email };
  };
  /** Enrols the phone and signs in again: the pending second step, asked from the same client. */
  const enrolAndLogin = async (email: string, phone: string, overrides: RegstackConfigInput) => {
    const session = await start(email, overrides);
    // A number of its own: one number per account (R52), and an earlier test may have enrolled PHONE.
    await session.me.mfa.sms.start({ phoneNumber: phone, currentPassword: session.password });
    await session.me.mfa.sms.confirm({ code: await lastCode(phone) });
    clock.advance(1_000);
    const client = t!.regstack.createCaller({ ip: session.ip });
    const step = await client.login({ email, password: session.password });
    if (step.status !== 'mfa_required') throw new Error('expected mfa_required');
    return { ...session, client, pending: step.mfaPendingToken };
  };
  const lastCode = async (to = E164) => {
    await t!.regstack.settle();
    const code = /\b(\d{6})\b/.exec([...sent].reverse().find((m) => m.to === to)?.body ?? '')?.[1];
    if (!code) throw new Error('no SMS code');
    return code;
  };
  const other = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

  it('sms_code_max_attempts is the number of wrong guesses that kill a code', async () => {
    const { password, me } = await start('sms-guesses@example.com', { smsCodeMaxAttempts: 2 });
    await me.mfa.sms.start({ phoneNumber: PHONE, currentPassword: password });
    const code = await lastCode();
    for (let i = 0; i < 2; i++)
      expect(await codeOf(me.mfa.sms.confirm({ code: other(code) }))).toBe('MFA_CODE_INVALID');
    // The default (5) would still accept the right code here.
    expect(await codeOf(me.mfa.sms.confirm({ code }))).toBe('MFA_ATTEMPTS_EXCEEDED');
  });

  it('sms_code_ttl_seconds is the lifetime of a texted code', async () => {
    const { password, me } = await start('sms-ttl@example.com', { smsCodeTtlSeconds: 60 });
    await me.mfa.sms.start({ phoneNumber: PHONE, currentPassword: password });
    const stale = await lastCode();
    // 61 s: past 60, well inside the default 300.
    clock.advance(61_000);
    expect(await outcome(me.mfa.sms.confirm({ code: stale }))).not.toBe('ok');
    await me.mfa.sms.start({ phoneNumber: PHONE, currentPassword: password });
    const fresh = await lastCode();
    clock.advance(59_000);
    expect(await outcome(me.mfa.sms.confirm({ code: fresh }))).toBe('ok');
  });

  it('phone_start_rate_limit caps phone enrolment starts per client', async () => {
    const { password, me } = await start('sms-starts@example.com', { phoneStartRateLimit: '2/minute' });
    const outcomes = [];
    for (let i = 0; i < 3; i++)
      outcomes.push(await outcome(me.mfa.sms.start({ phoneNumber: PHONE, currentPassword: password })));
    // The default (5 a minute) would admit all three.
    expect(outcomes).toEqual(['ok', 'ok', 'RATE_LIMITED']);
  });

  it('phone_confirm_rate_limit caps phone enrolment confirmations per client', async () => {
    const { password, me } = await start('sms-confirms@example.com', { phoneConfirmRateLimit: '2/minute' });
    await me.mfa.sms.start({ phoneNumber: PHONE, currentPassword: password });
    const code = await lastCode();
    const outcomes = [];
    for (let i = 0; i < 3; i++) outcomes.push(await outcome(me.mfa.sms.confirm({ code: other(code) })));
    // The default (20 a minute) would answer the third guess like the others.
    expect(outcomes).toEqual(['MFA_CODE_INVALID', 'MFA_CODE_INVALID', 'RATE_LIMITED']);
  });
  it('mfa_manage_rate_limit caps authenticator enrolment calls per client', async () => {
    const { me } = await start('totp-manage@example.com', { mfaManageRateLimit: '2/minute' });
    const outcomes = [];
    for (let i = 0; i < 3; i++)
      outcomes.push(await outcome(me.mfa.totp.start({ currentPassword: 'not the password at all' })));
    // The default (20 a minute) would answer the third like the others.
    expect(outcomes.slice(0, 2)).not.toContain('RATE_LIMITED');
    expect(outcomes[2]).toBe('RATE_LIMITED');
  });

  it('phone_disable_rate_limit caps phone removal calls per client', async () => {
    const { me } = await start('sms-disable@example.com', { phoneDisableRateLimit: '2/minute' });
    const outcomes = [];
    for (let i = 0; i < 3; i++)
      outcomes.push(await outcome(me.mfa.sms.disable({ currentPassword: 'not the password at all' })));
    // The default (10 a minute) would answer the third like the others.
    expect(outcomes.slice(0, 2)).not.toContain('RATE_LIMITED');
    expect(outcomes[2]).toBe('RATE_LIMITED');
  });

  it('login_mfa_confirm_rate_limit caps second-step guesses per client', async () => {
    const { client, pending } = await enrolAndLogin('sms-step@example.com', '+14155552681', {
      loginMfaConfirmRateLimit: '2/minute',
    });
    const code = await lastCode('+14155552681');
    const outcomes = [];
    for (let i = 0; i < 3; i++) {
      outcomes.push(
        await outcome(client.mfa.confirmLogin({ mfaPendingToken: pending, method: 'sms', code: other(code) })),
      );
    }
    // The default (20 a minute) would answer the third guess like the others.
    expect(outcomes).toEqual(['MFA_CODE_INVALID', 'MFA_CODE_INVALID', 'RATE_LIMITED']);
  });

  it('mfa_resend_login_code_rate_limit caps resends of the login code per client', async () => {
    const { client, pending } = await enrolAndLogin('sms-resend@example.com', '+14155552682', {
      mfaResendLoginCodeRateLimit: '1/minute',
    });
    const outcomes = [];
    for (let i = 0; i < 2; i++) outcomes.push(await outcome(client.mfa.resendLoginCode({ mfaPendingToken: pending })));
    // The default (3 a minute) would send the second one too.
    expect(outcomes).toEqual(['ok', 'RATE_LIMITED']);
  });
});
