/**
 * Issue 18 item 2 (the SMS factor) through the real router, on every backend, with a capturing host transport
 * (`createRegstack({ sms })`) to read the codes: enrolment proves the number with a code (R44), the code dies after
 * `sms_code_max_attempts` wrong guesses even for the right code (R49), a newer code replaces the older (R48); one
 * number per account under the unique index (R52), and on MongoDB the number is unset on disable, never nulled, so
 * two accounts can enable and disable in turn; SMS as a login method with a resend; a disabled factor's codes fail.
 */
import { createManualClock } from '@regstack/server';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { codeOf } from '../harness/outcomes.ts';
import { createVerifiedUser, startRegstack, type TestRegstack } from '../harness/regstack.ts';
import { data, error, rawClient } from '../http/http-client.ts';

describeEachBackend('two-factor: the SMS factor', (ctx) => {
  let t: TestRegstack;
  const sent: Array<{ to: string; body: string }> = [];
  const clock = createManualClock(Date.now());
  beforeAll(async () => {
    t = await startRegstack(
      ctx.url,
      { enableSms2fa: true, phoneStartRateLimit: 'none', mfaResendLoginCodeRateLimit: 'none' },
      { clock, sms: { send: async (m) => void sent.push(m) } },
    );
  });
  afterAll(async () => {
    await t?.regstack.close();
  });

  /** The code in the newest SMS to `to`, once the out-of-band send has happened. */
  async function lastCode(to: string): Promise<string> {
    await t.regstack.settle();
    const message = [...sent].reverse().find((m) => m.to === to);
    const code = /\b(\d{6})\b/.exec(message?.body ?? '')?.[1];
    if (!code) throw new Error(`no SMS code to ${to}`);
    return code;
  }
  const other = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

  async function session(email: string) {
    const { password } = await createVerifiedUser(t, email);
    clock.advance(1_000);
    const login = await t.regstack.createCaller().login({ email, password });
    if (login.status !== 'authenticated') throw new Error('expected a session');
    return {
      password,
      accessToken: login.accessToken,
      me: t.regstack.createCaller({ accessToken: login.accessToken }),
    };
  }

  it('enrols a phone proven by a code; 5 wrong guesses kill the code, a new code replaces it (items 2, R48, R49)', async () => {
    const { password, me } = await session('sms-enrol@example.com');
    expect(
      await codeOf(me.mfa.sms.start({ phoneNumber: '+44 20 7946 0958', currentPassword: 'wrong password!!' })),
    ).toBe('INVALID_CREDENTIALS');
    expect(await codeOf(me.mfa.sms.start({ phoneNumber: '020 7946 0958', currentPassword: password }))).toBe(
      'PHONE_NUMBER_INVALID',
    );
    const started = await me.mfa.sms.start({ phoneNumber: '+44 20 7946 0958', currentPassword: password });
    expect(started).toEqual({ status: 'code_sent', phoneHint: expect.stringMatching(/58$/) });
    const code = await lastCode('+442079460958');
    for (let i = 0; i < 5; i++)
      expect(await codeOf(me.mfa.sms.confirm({ code: other(code) }))).toBe('MFA_CODE_INVALID');
    expect(await codeOf(me.mfa.sms.confirm({ code }))).toBe('MFA_ATTEMPTS_EXCEEDED');
    expect((await me.mfa.status()).enabled).toBe(false);

    await me.mfa.sms.start({ phoneNumber: '+44 20 7946 0958', currentPassword: password });
    const first = await lastCode('+442079460958');
    await me.mfa.sms.start({ phoneNumber: '+44 20 7946 0958', currentPassword: password });
    const second = await lastCode('+442079460958');
    if (first !== second) expect(await codeOf(me.mfa.sms.confirm({ code: first }))).toBe('MFA_CODE_INVALID');
    const enabled = await me.mfa.sms.confirm({ code: second });
    expect(enabled).toMatchObject({ status: 'mfa_enabled', methods: ['sms', 'recovery'] });
    expect(enabled.recoveryCodes).toHaveLength(10);
    expect(await me.mfa.status()).toMatchObject({
      enabled: true,
      methods: ['sms', 'recovery'],
      recoveryCodesRemaining: 10,
    });
    expect((await me.account.me()).phoneNumber).toBe('+442079460958');
  });

  it('one number per account: a second account proving the same number gets PHONE_NUMBER_TAKEN (R52)', async () => {
    const a = await session('sms-unique-a@example.com');
    const b = await session('sms-unique-b@example.com');
    await a.me.mfa.sms.start({ phoneNumber: '+33 6 12 34 56 78', currentPassword: a.password });
    await a.me.mfa.sms.confirm({ code: await lastCode('+33612345678') });
    await b.me.mfa.sms.start({ phoneNumber: '+33 6 12 34 56 78', currentPassword: b.password });
    expect(await codeOf(b.me.mfa.sms.confirm({ code: await lastCode('+33612345678') }))).toBe('PHONE_NUMBER_TAKEN');
    expect((await b.me.mfa.status()).enabled).toBe(false);
  });

  it('SMS as a login method: the code goes out at login, a resend replaces it, confirmLogin signs in (items 1, 2)', async () => {
    const email = 'sms-login@example.com';
    const { password, me } = await session(email);
    await me.mfa.sms.start({ phoneNumber: '+1 415 555 2671', currentPassword: password });
    await me.mfa.sms.confirm({ code: await lastCode('+14155552671') });
    clock.advance(1_000);
    const step = await t.regstack.createCaller().login({ email, password });
    if (step.status !== 'mfa_required') throw new Error('expected mfa_required');
    expect(step.methods).toEqual(['sms', 'recovery']);
    expect(step.phoneHint).toMatch(/71$/);
    const atLogin = await lastCode('+14155552671');
    const resent = await t.regstack.createCaller().mfa.resendLoginCode({ mfaPendingToken: step.mfaPendingToken });
    expect(resent.status).toBe('code_sent');
    const fresh = await lastCode('+14155552671');
    const caller = t.regstack.createCaller();
    if (atLogin !== fresh) {
      expect(
        await codeOf(caller.mfa.confirmLogin({ mfaPendingToken: step.mfaPendingToken, method: 'sms', code: atLogin })),
      ).toBe('MFA_CODE_INVALID');
    }
    const done = await caller.mfa.confirmLogin({ mfaPendingToken: step.mfaPendingToken, method: 'sms', code: fresh });
    expect(done.status).toBe('authenticated');
  });

  it('disable: the number is removed (unset on MongoDB), two accounts can enable and disable in turn, old codes fail (items 2, 6)', async () => {
    const emails = ['sms-off-a@example.com', 'sms-off-b@example.com'];
    const numbers = ['+14155552672', '+14155552673'];
    for (const [i, email] of emails.entries()) {
      const { password, me } = await session(email);
      await me.mfa.sms.start({ phoneNumber: numbers[i]!, currentPassword: password });
      await me.mfa.sms.confirm({ code: await lastCode(numbers[i]!) });
      clock.advance(1_000);
      const step = await t.regstack.createCaller().login({ email, password });
      if (step.status !== 'mfa_required') throw new Error('expected mfa_required');
      const code = await lastCode(numbers[i]!);
      expect(await me.mfa.sms.disable({ currentPassword: password })).toEqual({ status: 'mfa_disabled', methods: [] });
      expect((await me.account.me()).phoneNumber).toBeNull();
      // The disabled factor's code no longer signs in.
      expect(
        await codeOf(
          t.regstack.createCaller().mfa.confirmLogin({ mfaPendingToken: step.mfaPendingToken, method: 'sms', code }),
        ),
      ).toBe('MFA_METHOD_NOT_AVAILABLE');
      clock.advance(1_000);
      expect((await t.regstack.createCaller().login({ email, password })).status).toBe('authenticated');
    }
  });

  it('enabling SMS and an authenticator app at once (router and HTTP) gives one set of recovery codes, the one stored (item 5)', async () => {
    const server = await t.regstack.listen({ port: 0 });
    try {
      await enableBothAtOnce(server.url);
    } finally {
      await server.close();
    }
  });

  async function enableBothAtOnce(url: string) {
    for (let round = 0; round < 4; round++) {
      const { password, accessToken, me } = await session(`sms-totp-at-once-${round}@example.com`);
      const e164 = `+4420794609${70 + round}`;
      await me.mfa.sms.start({ phoneNumber: e164, currentPassword: password });
      const smsCode = await lastCode(e164);
      const totp = await me.mfa.totp.start({ currentPassword: password });
      const totpCode = TOTP.generate({ secret: Secret.fromBase32(totp.secret), timestamp: clock.now().getTime() });
      // The phone's confirmation through the router, the app's over HTTP, alternating each round.
      const overHttp = async (path: string, code: string) =>
        data(await rawClient(url, { authorization: `Bearer ${accessToken}` }).mutation(path, { code }));
      const [bySms, byApp] = await Promise.all(
        round % 2 === 0
          ? [me.mfa.sms.confirm({ code: smsCode }), overHttp('auth.mfa.totp.confirm', totpCode)]
          : [overHttp('auth.mfa.sms.confirm', smsCode), me.mfa.totp.confirm({ code: totpCode })],
      );
      expect([bySms.status, byApp.status]).toEqual(['mfa_enabled', 'mfa_enabled']);
      // The first factor brings the codes, the second none: whichever finished first, one set was shown…
      const shown = [bySms.recoveryCodes, byApp.recoveryCodes].filter((codes) => codes !== null);
      expect(shown).toHaveLength(1);
      expect(shown[0]).toHaveLength(10);
      expect(await me.mfa.status()).toMatchObject({ methods: ['totp', 'sms', 'recovery'], recoveryCodesRemaining: 10 });
      // …and it is the set that works.
      clock.advance(1_000);
      const step = await t.regstack.createCaller().login({ email: `sms-totp-at-once-${round}@example.com`, password });
      if (step.status !== 'mfa_required') throw new Error('expected the second step');
      const done = await t.regstack
        .createCaller()
        .mfa.confirmLogin({ mfaPendingToken: step.mfaPendingToken, method: 'recovery', code: shown[0]![0]! });
      expect(done.status).toBe('authenticated');
    }
  }
});

describeEachBackend('two-factor: SMS switched off', (ctx) => {
  let t: TestRegstack;
  beforeAll(async () => {
    t = await startRegstack(ctx.url);
  });
  afterAll(async () => {
    await t?.regstack.close();
  });

  it('sms.start answers FEATURE_DISABLED while enable_sms_2fa is off', async () => {
    const { password } = await createVerifiedUser(t, 'sms-off@example.com');
    const login = await t.regstack.createCaller().login({ email: 'sms-off@example.com', password });
    if (login.status !== 'authenticated') throw new Error('expected a session');
    const me = t.regstack.createCaller({ accessToken: login.accessToken });
    expect(await codeOf(me.mfa.sms.start({ phoneNumber: '+14155552674', currentPassword: password }))).toBe(
      'FEATURE_DISABLED',
    );
  });
});

describeEachBackend('two-factor: SMS enrolment and sign-in over HTTP', (ctx) => {
  let t: TestRegstack;
  let server: { url: string; close(): Promise<void> };
  const sent: Array<{ to: string; body: string }> = [];
  beforeAll(async () => {
    t = await startRegstack(ctx.url, { enableSms2fa: true }, { sms: { send: async (m) => void sent.push(m) } });
    server = await t.regstack.listen({ port: 0 });
  });
  afterAll(async () => {
    await server?.close();
    await t?.regstack.close();
  });
  const lastCode = async () => {
    await t.regstack.settle();
    return /\b(\d{6})\b/.exec(sent.at(-1)?.body ?? '')?.[1] ?? '';
  };

  it('sms.start → sms.confirm → login → mfa_required → confirmLogin with the texted code (items 1, 2)', async () => {
    const email = 'sms-http@example.com';
    const { password } = await createVerifiedUser(t, email);
    const api = rawClient(server.url);
    const login = data(await api.mutation('auth.login', { email, password }));
    const bearer = { authorization: `Bearer ${login.accessToken}` };
    const bad = await api.mutation(
      'auth.mfa.sms.start',
      { phoneNumber: '+44 ２0 7946 0958', currentPassword: password },
      bearer,
    );
    expect(bad.status).toBe(400);
    expect(error(bad).data.regstackCode).toBe('PHONE_NUMBER_INVALID');
    const started = await api.mutation(
      'auth.mfa.sms.start',
      { phoneNumber: '+44 20 7946 0958', currentPassword: password },
      bearer,
    );
    expect(data(started).status).toBe('code_sent');
    expect(sent.at(-1)?.to).toBe('+442079460958');
    const enabled = await api.mutation('auth.mfa.sms.confirm', { code: await lastCode() }, bearer);
    expect(data(enabled).status).toBe('mfa_enabled');

    const step = data(await api.mutation('auth.login', { email, password }));
    expect(step).toMatchObject({ status: 'mfa_required', methods: ['sms', 'recovery'] });
    expect(step.accessToken).toBeUndefined();
    const done = await api.mutation('auth.mfa.confirmLogin', {
      mfaPendingToken: step.mfaPendingToken,
      method: 'sms',
      code: await lastCode(),
    });
    expect(done.status).toBe(200);
    expect(data(done).status).toBe('authenticated');
    const me = await api.query('auth.account.me', undefined, { authorization: `Bearer ${data(done).accessToken}` });
    expect(data(me).phoneNumber).toBe('+442079460958');
  });
});
