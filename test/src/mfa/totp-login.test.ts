/**
 * Issue 18 items 1, 4, 5 and 8 through the real router, on every backend: authenticator-app (TOTP) enrolment with
 * the secret sealed at rest; login with a second factor (`mfa_required`, no access token, R50) and
 * `mfa.confirmLogin` opening the session as login does; the pending token is single-use, purpose-bound both ways,
 * short-lived and dies with a password change; a TOTP code is accepted once (its step never again), 30 concurrent
 * confirmations of one code give one session; wrong codes count toward the account lockout (R19); recovery codes
 * are single-use (50 concurrent uses → one success), mailed about, counted by `mfa.status`, replaced on
 * regenerate; disabling the factor ends it and its codes.
 */

import { createManualClock } from '@regstack/server';
import {
  AuditEventSchema,
  createRepositories,
  LoginAttemptSchema,
  SessionSchema,
  TotpCredentialSchema,
} from '@regstack/server/internal';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { codeOf, failure } from '../harness/outcomes.ts';
import { createVerifiedUser, startRegstack, type TestRegstack } from '../harness/regstack.ts';
import { data, error, rawClient } from '../http/http-client.ts';

const STEP_MS = 30_000;

describeEachBackend('two-factor: TOTP, the login step and recovery codes', (ctx) => {
  let t: TestRegstack;
  const clock = createManualClock(Date.now());
  beforeAll(async () => {
    t = await startRegstack(ctx.url, {}, { clock });
  });
  afterAll(async () => {
    await t?.regstack.close();
  });

  const codeAt = (secret: string, at = clock.now()) =>
    TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: at.getTime() });
  /** Moves to the start of a fresh time step, so a new code exists and the last one's step is past. */
  const nextStep = () => clock.advance(STEP_MS + 1_000);

  async function signIn(email: string, password: string) {
    const res = await t.regstack.createCaller().login({ email, password });
    return res;
  }

  /** A verified user with TOTP enabled; returns the secret, the recovery codes and a live access token. */
  async function totpUser(email: string) {
    const { password } = await createVerifiedUser(t, email);
    const login = await signIn(email, password);
    if (login.status !== 'authenticated') throw new Error('expected a session');
    const me = t.regstack.createCaller({ accessToken: login.accessToken });
    const enrolment = await me.mfa.totp.start({ currentPassword: password });
    nextStep();
    const enabled = await me.mfa.totp.confirm({ code: codeAt(enrolment.secret) });
    return { password, secret: enrolment.secret, enabled, accessToken: login.accessToken, me };
  }

  async function pending(email: string, password: string) {
    nextStep();
    const res = await signIn(email, password);
    if (res.status !== 'mfa_required') throw new Error(`expected mfa_required, got ${res.status}`);
    return res;
  }

  it('upgrades a weaker stored hash at the password step of a two-factor sign-in (R6)', async () => {
    const email = 'totp-rehash@example.com';
    const { password, secret } = await totpUser(email);
    const repos = createRepositories(t.regstack.storage.fork(), t.regstack.storage.dialect);
    const user = await repos.users.findByEmail(email);
    const argon2 = await import('argon2');
    const weak = await argon2.hash(password, { type: argon2.argon2id, memoryCost: 8192, timeCost: 5, parallelism: 1 });
    await repos.users.updatePasswordHash(user!.id, weak, clock.now());
    const step = await pending(email, password);
    const stored = await createRepositories(
      t.regstack.storage.fork(),
      t.regstack.storage.dialect,
    ).users.findCredentialsById(user!.id);
    expect(stored!.hashedPassword).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    // The second step still completes, and the password still signs in.
    const done = await t.regstack.createCaller().mfa.confirmLogin({
      mfaPendingToken: step.mfaPendingToken,
      method: 'totp',
      code: codeAt(secret),
    });
    expect(done.status).toBe('authenticated');
    expect((await pending(email, password)).status).toBe('mfa_required');
  });

  it('enrols an authenticator: password first, a proving code, the secret sealed at rest, 10 recovery codes once (item 4)', async () => {
    const email = 'totp-enrol@example.com';
    const { password } = await createVerifiedUser(t, email);
    const first = await signIn(email, password);
    const other = await signIn(email, password);
    if (first.status !== 'authenticated' || other.status !== 'authenticated') throw new Error('expected sessions');
    const me = t.regstack.createCaller({ accessToken: first.accessToken });

    expect(await codeOf(me.mfa.totp.start({ currentPassword: 'not the password' }))).toBe('INVALID_CREDENTIALS');
    expect(await codeOf(me.mfa.totp.confirm({ code: '123456' }))).toBe('MFA_ENROLMENT_NOT_STARTED');
    const hooked: unknown[] = [];
    t.regstack.on('mfa_enabled', (event) => void hooked.push(event));
    const enrolment = await me.mfa.totp.start({ currentPassword: password });
    expect(enrolment.otpauthUri).toMatch(/^otpauth:\/\/totp\/RegStack:totp-enrol%40example\.com\?/);
    expect(enrolment.otpauthUri).toContain('issuer=RegStack');
    expect(enrolment.qrSvg).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
    const row = await t.regstack.storage.fork().findOne(TotpCredentialSchema, { userId: first.user.id });
    expect(row?.sealedSecret).toBeTruthy();
    expect(row?.sealedSecret).not.toContain(enrolment.secret);
    expect((await me.mfa.status()).enabled).toBe(false); // not a factor until proven

    const wrong = codeAt(enrolment.secret, new Date(clock.now().getTime() + 10 * STEP_MS));
    expect(await codeOf(me.mfa.totp.confirm({ code: wrong }))).toBe('MFA_CODE_INVALID');
    const enabled = await me.mfa.totp.confirm({ code: codeAt(enrolment.secret) });
    expect(enabled.status).toBe('mfa_enabled');
    expect(enabled.methods).toEqual(['totp', 'recovery']);
    expect(enabled.recoveryCodes).toHaveLength(10);
    expect(new Set(enabled.recoveryCodes).size).toBe(10);
    for (const code of enabled.recoveryCodes ?? [])
      expect(code).toMatch(/^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$/);
    expect(await me.mfa.status()).toEqual({
      enabled: true,
      methods: ['totp', 'recovery'],
      phoneHint: null,
      recoveryCodesRemaining: 10,
      required: false,
    });
    expect((await me.account.me()).isMfaEnabled).toBe(true);
    // Enabling ends the other sessions, not this one, and tells the owner (R41, R44).
    expect(await codeOf(t.regstack.createCaller({ accessToken: other.accessToken }).account.me())).toBe(
      'UNAUTHENTICATED',
    );
    await t.regstack.drainOutbox();
    expect(t.mailbox.latest(email, /Two-factor sign-in changed/)?.text).toContain('An authenticator app was added');
    expect(await codeOf(me.mfa.totp.start({ currentPassword: password }))).toBe('MFA_ALREADY_ENABLED');
    await t.regstack.settle();
    expect(hooked).toEqual([expect.objectContaining({ userId: first.user.id, method: 'totp' })]);
  });

  it('login answers mfa_required with no access token; confirmLogin opens the session; the token works once (item 1, R50)', async () => {
    const email = 'totp-login@example.com';
    const { password, secret } = await totpUser(email);
    const res = await pending(email, password);
    expect(Object.keys(res).sort()).toEqual(['expiresIn', 'methods', 'mfaPendingToken', 'phoneHint', 'status']);
    expect(res.expiresIn).toBe(600);
    expect(res.methods).toEqual(['totp', 'recovery']);
    expect(res.phoneHint).toBeNull();
    // The pending token is not an access token…
    expect(await codeOf(t.regstack.createCaller({ accessToken: res.mfaPendingToken }).account.me())).toBe(
      'UNAUTHENTICATED',
    );
    const code = codeAt(secret);
    const done = await t.regstack
      .createCaller()
      .mfa.confirmLogin({ mfaPendingToken: res.mfaPendingToken, method: 'totp', code });
    expect(done.status).toBe('authenticated');
    expect((await t.regstack.createCaller({ accessToken: done.accessToken }).account.me()).email).toBe(email);
    // …and an access token is not a pending token.
    expect(
      await codeOf(
        t.regstack.createCaller().mfa.confirmLogin({ mfaPendingToken: done.accessToken, method: 'totp', code }),
      ),
    ).toBe('MFA_CHALLENGE_INVALID');
    // Single use: the same token cannot complete a second sign-in, even with a fresh code.
    nextStep();
    expect(
      await codeOf(
        t.regstack
          .createCaller()
          .mfa.confirmLogin({ mfaPendingToken: res.mfaPendingToken, method: 'totp', code: codeAt(secret) }),
      ),
    ).toBe('MFA_CHALLENGE_INVALID');
    const audited = await t.regstack.storage
      .fork()
      .find(AuditEventSchema, { subjectId: done.user.id }, { disableIdentityMap: true });
    const events = audited.map((e) => e.event);
    expect(events).toContain('mfa_login_started');
    expect(events).toContain('mfa_login_succeeded');
    expect(events).toContain('mfa_enabled');
  });

  it('a TOTP code is accepted once: its step is refused on a later sign-in (item 4)', async () => {
    const email = 'totp-replay@example.com';
    const { password, secret } = await totpUser(email);
    const a = await pending(email, password);
    const code = codeAt(secret);
    await t.regstack.createCaller().mfa.confirmLogin({ mfaPendingToken: a.mfaPendingToken, method: 'totp', code });
    clock.advance(1_000); // same step, still inside the code's window
    const b = await signIn(email, password);
    if (b.status !== 'mfa_required') throw new Error('expected mfa_required');
    const replay = await failure(
      t.regstack.createCaller().mfa.confirmLogin({ mfaPendingToken: b.mfaPendingToken, method: 'totp', code }),
    );
    expect(replay.code).toBe('MFA_CODE_INVALID');
    // The previous step's code (inside ±1) is older than the used one: refused too.
    const older = codeAt(secret, new Date(clock.now().getTime() - STEP_MS));
    expect(
      await codeOf(
        t.regstack.createCaller().mfa.confirmLogin({ mfaPendingToken: b.mfaPendingToken, method: 'totp', code: older }),
      ),
    ).toBe('MFA_CODE_INVALID');
  });

  it('two enrolment confirmations racing with codes of adjacent steps: one enables, one set of recovery codes', async () => {
    const email = 'totp-confirm-race@example.com';
    const { password } = await createVerifiedUser(t, email);
    const login = await signIn(email, password);
    if (login.status !== 'authenticated') throw new Error('expected a session');
    const me = t.regstack.createCaller({ accessToken: login.accessToken });
    const enrolment = await me.mfa.totp.start({ currentPassword: password });
    nextStep();
    const previous = codeAt(enrolment.secret, new Date(clock.now().getTime() - STEP_MS));
    const current = codeAt(enrolment.secret);
    const outcomes = await Promise.allSettled([
      me.mfa.totp.confirm({ code: previous }),
      me.mfa.totp.confirm({ code: current }),
    ]);
    const won = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    expect(won).toHaveLength(1);
    expect(won[0]?.methods).toEqual(['totp', 'recovery']);
    const lost = outcomes.find((o) => o.status === 'rejected');
    expect(await codeOf(Promise.reject(lost?.reason))).toBe('MFA_ALREADY_ENABLED');
    // The codes shown are the ones that work: each of them, once.
    expect(await me.mfa.status()).toMatchObject({ enabled: true, recoveryCodesRemaining: 10 });
    const step = await pending(email, password);
    const done = await t.regstack.createCaller().mfa.confirmLogin({
      mfaPendingToken: step.mfaPendingToken,
      method: 'recovery',
      code: won[0]?.recoveryCodes?.[3] ?? '',
    });
    expect(done.status).toBe('authenticated');
  });

  it('30 concurrent confirmations of one code give one session (item 1)', async () => {
    const email = 'totp-race@example.com';
    const { password, secret } = await totpUser(email);
    const res = await pending(email, password);
    const code = codeAt(secret);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 30 }, () =>
        t.regstack.createCaller().mfa.confirmLogin({ mfaPendingToken: res.mfaPendingToken, method: 'totp', code }),
      ),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const user = await createRepositories(t.regstack.storage.fork(), t.regstack.storage.dialect).users.findByEmail(
      email,
    );
    // One session from the enrolment login, one from the race.
    expect(await t.regstack.storage.fork().count(SessionSchema, { userId: user!.id })).toBe(2);
  });

  it('the pending token dies after its TTL and after a password change (item 1)', async () => {
    const email = 'totp-expiry@example.com';
    const { password, secret, me } = await totpUser(email);
    const stale = await pending(email, password);
    clock.advance(600_000 + 61_000); // past the TTL and the 60 s clock leeway (R34)
    expect(
      await codeOf(
        t.regstack
          .createCaller()
          .mfa.confirmLogin({ mfaPendingToken: stale.mfaPendingToken, method: 'totp', code: codeAt(secret) }),
      ),
    ).toBe('MFA_CHALLENGE_INVALID');

    const beforeChange = await pending(email, password);
    await me.account.changePassword({ currentPassword: password, newPassword: 'a brand new passphrase 42' });
    nextStep();
    expect(
      await codeOf(
        t.regstack
          .createCaller()
          .mfa.confirmLogin({ mfaPendingToken: beforeChange.mfaPendingToken, method: 'totp', code: codeAt(secret) }),
      ),
    ).toBe('MFA_CHALLENGE_INVALID');
  });

  it('wrong codes count toward the account lockout; the lock refuses even the right code (R19)', async () => {
    const email = 'totp-lockout@example.com';
    const { password, secret } = await totpUser(email);
    const res = await pending(email, password);
    const wrong = codeAt(secret, new Date(clock.now().getTime() + 20 * STEP_MS));
    for (let i = 0; i < 5; i++) {
      expect(
        await codeOf(
          t.regstack
            .createCaller()
            .mfa.confirmLogin({ mfaPendingToken: res.mfaPendingToken, method: 'totp', code: wrong }),
        ),
      ).toBe('MFA_CODE_INVALID');
    }
    expect(
      await codeOf(
        t.regstack
          .createCaller()
          .mfa.confirmLogin({ mfaPendingToken: res.mfaPendingToken, method: 'totp', code: codeAt(secret) }),
      ),
    ).toBe('TOO_MANY_ATTEMPTS');
    // The right password does not clear the failures either: the account is locked for sign-in as a whole.
    expect(await codeOf(signIn(email, password))).toBe('TOO_MANY_ATTEMPTS');
  });

  it('a correct password does not reset the count of wrong second-factor codes (R19)', async () => {
    const email = 'totp-no-reset@example.com';
    const { password, secret } = await totpUser(email);
    const wrong = codeAt(secret, new Date(clock.now().getTime() + 20 * STEP_MS));
    const confirm = (mfaPendingToken: string) =>
      codeOf(t.regstack.createCaller().mfa.confirmLogin({ mfaPendingToken, method: 'totp', code: wrong }));
    const first = await pending(email, password);
    for (let i = 0; i < 3; i++) expect(await confirm(first.mfaPendingToken)).toBe('MFA_CODE_INVALID');
    const second = await pending(email, password); // the password again: the three failures stay
    for (let i = 0; i < 2; i++) expect(await confirm(second.mfaPendingToken)).toBe('MFA_CODE_INVALID');
    expect(
      await codeOf(
        t.regstack
          .createCaller()
          .mfa.confirmLogin({ mfaPendingToken: second.mfaPendingToken, method: 'totp', code: codeAt(secret) }),
      ),
    ).toBe('TOO_MANY_ATTEMPTS');
  });

  it('recovery codes: each works once, 50 concurrent uses → one success, a mail, the count, regenerate (item 5)', async () => {
    const email = 'recovery@example.com';
    const { password, enabled, me } = await totpUser(email);
    const codes = enabled.recoveryCodes ?? [];
    const first = await pending(email, password);
    const done = await t.regstack
      .createCaller()
      .mfa.confirmLogin({ mfaPendingToken: first.mfaPendingToken, method: 'recovery', code: codes[0]!.toUpperCase() });
    expect(done.status).toBe('authenticated');
    await t.regstack.drainOutbox();
    expect(t.mailbox.latest(email, /recovery code was used/)?.text).toContain('9 remain');
    const session = t.regstack.createCaller({ accessToken: done.accessToken });
    expect((await session.mfa.status()).recoveryCodesRemaining).toBe(9);

    const again = await pending(email, password);
    expect(
      await codeOf(
        t.regstack
          .createCaller()
          .mfa.confirmLogin({ mfaPendingToken: again.mfaPendingToken, method: 'recovery', code: codes[0]! }),
      ),
    ).toBe('MFA_CODE_INVALID');

    // 50 sign-ins racing to use one code: one wins.
    const racers = [];
    for (let i = 0; i < 50; i++) racers.push((await pending(email, password)).mfaPendingToken);
    const outcomes = await Promise.allSettled(
      racers.map((mfaPendingToken) =>
        t.regstack.createCaller().mfa.confirmLogin({ mfaPendingToken, method: 'recovery', code: codes[1]! }),
      ),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    await t.regstack.storage.fork().nativeDelete(LoginAttemptSchema, {}); // the losers locked the account: unlock
    expect((await session.mfa.status()).recoveryCodesRemaining).toBe(8);

    const fresh = await me.mfa.recoveryCodes.regenerate({ currentPassword: password });
    expect(fresh.recoveryCodes).toHaveLength(10);
    expect((await session.mfa.status()).recoveryCodesRemaining).toBe(10);
    const after = await pending(email, password);
    expect(
      await codeOf(
        t.regstack
          .createCaller()
          .mfa.confirmLogin({ mfaPendingToken: after.mfaPendingToken, method: 'recovery', code: codes[2]! }),
      ),
    ).toBe('MFA_CODE_INVALID');
  });

  it('disabling the factor needs the password and a code, ends it and its codes; login is one step again (items 4, 6)', async () => {
    const email = 'totp-disable@example.com';
    const { password, secret, enabled, me } = await totpUser(email);
    nextStep();
    expect(await codeOf(me.mfa.totp.disable({ currentPassword: 'wrong password!', code: codeAt(secret) }))).toBe(
      'INVALID_CREDENTIALS',
    );
    const wrong = codeAt(secret, new Date(clock.now().getTime() + 20 * STEP_MS));
    expect(await codeOf(me.mfa.totp.disable({ currentPassword: password, code: wrong }))).toBe('MFA_CODE_INVALID');
    const off = await me.mfa.totp.disable({ currentPassword: password, code: codeAt(secret) });
    expect(off).toEqual({ status: 'mfa_disabled', methods: [] });
    expect(await me.mfa.status()).toMatchObject({ enabled: false, methods: [], recoveryCodesRemaining: 0 });
    expect((await me.account.me()).isMfaEnabled).toBe(false);
    nextStep();
    const login = await signIn(email, password);
    expect(login.status).toBe('authenticated');
    // A pending token from before cannot come back, and the old recovery codes are gone.
    expect(await codeOf(me.mfa.recoveryCodes.regenerate({ currentPassword: password }))).toBe('MFA_NOT_ENABLED');
    void enabled;
  });
});

describeEachBackend('two-factor sign-in over HTTP', (ctx) => {
  let t: TestRegstack;
  let server: { url: string; close(): Promise<void> };
  beforeAll(async () => {
    t = await startRegstack(ctx.url);
    server = await t.regstack.listen({ port: 0 });
  });
  afterAll(async () => {
    await server?.close();
    await t?.regstack.close();
  });

  it('login → mfa_required → confirmLogin with an authenticator code → me (items 1, 4)', async () => {
    const email = 'totp-http@example.com';
    const { password } = await createVerifiedUser(t, email);
    const api = rawClient(server.url);
    const login = data(await api.mutation('auth.login', { email, password }));
    const bearer = { authorization: `Bearer ${login.accessToken}` };
    const enrolment = data(await api.mutation('auth.mfa.totp.start', { currentPassword: password }, bearer));
    const code = (offsetMs = 0) =>
      TOTP.generate({ secret: Secret.fromBase32(enrolment.secret), timestamp: Date.now() + offsetMs });
    // The previous step's code (inside the ±1 window) proves the enrolment, leaving the current step for sign-in.
    const enrol = await api.mutation('auth.mfa.totp.confirm', { code: code(-30_000) }, bearer);
    expect(data(enrol).status).toBe('mfa_enabled');

    const step = data(await api.mutation('auth.login', { email, password }));
    expect(step.status).toBe('mfa_required');
    expect(step.accessToken).toBeUndefined();
    const pendingAsBearer = await api.query('auth.account.me', undefined, {
      authorization: `Bearer ${step.mfaPendingToken}`,
    });
    expect(pendingAsBearer.status).toBe(401);
    const confirmed = await api.mutation('auth.mfa.confirmLogin', {
      mfaPendingToken: step.mfaPendingToken,
      method: 'totp',
      code: code(),
    });
    expect(confirmed.status).toBe(200);
    const me = await api.query('auth.account.me', undefined, {
      authorization: `Bearer ${data(confirmed).accessToken}`,
    });
    expect(data(me).email).toBe(email);
    const reused = await api.mutation('auth.mfa.confirmLogin', {
      mfaPendingToken: step.mfaPendingToken,
      method: 'totp',
      code: code(),
    });
    expect(reused.status).toBe(401);
    expect(error(reused).data.regstackCode).toBe('MFA_CHALLENGE_INVALID');
  });
});
