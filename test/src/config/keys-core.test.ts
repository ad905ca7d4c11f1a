/**
 * Issue 20, "every config key honest": behavioural proofs for keys a host is most likely to set, on every backend,
 * through the public API (`createRegstack` via the harness, `createCaller`). Each test sets the key to a value
 * other than its default and observes the change the default would not make; `key-proofs.ts` points at them.
 */
import { createManualClock } from '@regstack/server';
import { createRepositories } from '@regstack/server/internal';
import { afterEach, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { codeOf, outcome } from '../harness/outcomes.ts';
import { createVerifiedUser, startRegstack, type TestRegstack } from '../harness/regstack.ts';

const PASSWORD = 'correct horse battery staple';
const PROSE = 'Tangerine-orbit-Quartz-lantern-Vivid-marsh-Copper-fjord-Saffron-kiln-Umber-grove-Wistful-comet-';

/** A password of exactly `length` code points that passes every other policy rule. */
const passwordOf = (length: number) => PROSE.repeat(3).slice(0, length);

describeEachBackend('config keys read by the core (issue 20)', (ctx) => {
  let t: TestRegstack | undefined;
  afterEach(async () => {
    await t?.regstack.close();
    t = undefined;
  });

  it('app_name, email.from_address and email.from_name reach the mail a user receives', async () => {
    t = await startRegstack(ctx.url, {
      appName: 'Quillfeather Accounts',
      email: { fromAddress: 'accounts@quillfeather.test', fromName: 'Quillfeather Desk' },
    });
    await t.regstack.createCaller().register({ email: 'named@example.com', password: PASSWORD });
    await t.regstack.drainOutbox();
    const mail = t.mailbox.latest('named@example.com');
    expect(mail?.from).toContain('accounts@quillfeather.test');
    expect(mail?.from).toContain('Quillfeather Desk');
    expect(`${mail?.subject}\n${mail?.text}`).toContain('Quillfeather Accounts');
    await t.regstack.close();
    // Without from_name, the display name is app_name (as the key's documentation says).
    t = await startRegstack(ctx.url, {
      appName: 'Quillfeather Accounts',
      email: { fromAddress: 'accounts@quillfeather.test' },
    });
    await t.regstack.createCaller().register({ email: 'unnamed@example.com', password: PASSWORD });
    await t.regstack.drainOutbox();
    expect(t.mailbox.latest('unnamed@example.com')?.from).toMatch(/Quillfeather Accounts.*accounts@quillfeather\.test/);
  });

  it('password_min_length and password_max_length bound what register accepts', async () => {
    t = await startRegstack(ctx.url, { passwordMinLength: 16, passwordMaxLength: 64, registerRateLimit: 'none' });
    const caller = t.regstack.createCaller();
    // 15 and 65 code points: both fine under the defaults (12 and 128).
    expect(await codeOf(caller.register({ email: 'short@example.com', password: passwordOf(15) }))).toBe(
      'PASSWORD_TOO_SHORT',
    );
    expect(await codeOf(caller.register({ email: 'long@example.com', password: passwordOf(65) }))).toBe(
      'PASSWORD_TOO_LONG',
    );
    expect(await outcome(caller.register({ email: 'min@example.com', password: passwordOf(16) }))).toBe('ok');
    expect(await outcome(caller.register({ email: 'max@example.com', password: passwordOf(64) }))).toBe('ok');
  });

  it('verification_token_ttl_seconds ends the verification link at its lifetime', async () => {
    const clock = createManualClock();
    t = await startRegstack(ctx.url, { verificationTokenTtlSeconds: 600, registerRateLimit: 'none' }, { clock });
    const caller = t.regstack.createCaller();
    await caller.register({ email: 'early@example.com', password: PASSWORD });
    await caller.register({ email: 'late@example.com', password: PASSWORD });
    await t.regstack.drainOutbox();
    const early = t.mailbox.tokenFor('early@example.com', 'verify')!;
    const late = t.mailbox.tokenFor('late@example.com', 'verify')!;
    clock.advance(599_000);
    expect(await outcome(caller.verifyEmail({ token: early }))).toBe('ok');
    // Past 600 s, far inside the default day.
    clock.advance(2_000);
    expect(await codeOf(caller.verifyEmail({ token: late }))).toBe('INVALID_OR_EXPIRED_TOKEN');
  });

  it('password_reset_token_ttl_seconds ends the reset link at its lifetime', async () => {
    const clock = createManualClock();
    t = await startRegstack(
      ctx.url,
      { passwordResetTokenTtlSeconds: 120, forgotPasswordRateLimit: 'none', registerRateLimit: 'none' },
      { clock },
    );
    const caller = t.regstack.createCaller();
    for (const email of ['reset-early@example.com', 'reset-late@example.com']) {
      await createVerifiedUser(t, email);
      await caller.forgotPassword({ email });
    }
    await t.regstack.drainOutbox();
    const early = t.mailbox.tokenFor('reset-early@example.com', 'reset')!;
    const late = t.mailbox.tokenFor('reset-late@example.com', 'reset')!;
    clock.advance(119_000);
    expect(await outcome(caller.resetPassword({ token: early, newPassword: passwordOf(20) }))).toBe('ok');
    // Past 120 s, far inside the default 30 minutes.
    clock.advance(2_000);
    expect(await codeOf(caller.resetPassword({ token: late, newPassword: passwordOf(20) }))).toBe(
      'INVALID_OR_EXPIRED_TOKEN',
    );
  });

  it('login_lockout_window_seconds is how long a locked account stays locked', async () => {
    const clock = createManualClock();
    t = await startRegstack(
      ctx.url,
      { loginLockoutThreshold: 3, loginLockoutWindowSeconds: 120, loginRateLimit: 'none' },
      { clock },
    );
    await createVerifiedUser(t, 'locked@example.com');
    const caller = t.regstack.createCaller();
    for (let i = 0; i < 3; i++) {
      expect(await codeOf(caller.login({ email: 'locked@example.com', password: 'wrong password entirely' }))).toBe(
        'INVALID_CREDENTIALS',
      );
    }
    expect(await codeOf(caller.login({ email: 'locked@example.com', password: PASSWORD }))).toBe('TOO_MANY_ATTEMPTS');
    // 121 s later: open again (the default 900 s window would still hold it).
    clock.advance(121_000);
    expect(await outcome(caller.login({ email: 'locked@example.com', password: PASSWORD }))).toBe('ok');
  });

  it('register_rate_limit caps sign-ups per client address', async () => {
    t = await startRegstack(ctx.url, { registerRateLimit: '2/minute' });
    const from = (ip: string) => t!.regstack.createCaller({ ip });
    const outcomes = [];
    for (let i = 0; i < 3; i++) {
      outcomes.push(
        await outcome(from('198.51.100.7').register({ email: `burst-${i}@example.com`, password: PASSWORD })),
      );
    }
    // The default (10 a minute) would admit all three.
    expect(outcomes).toEqual(['ok', 'ok', 'RATE_LIMITED']);
    expect(await outcome(from('198.51.100.8').register({ email: 'other@example.com', password: PASSWORD }))).toBe('ok');
  });
  it('argon2_memory_kib, argon2_iterations and argon2_parallelism are the parameters of the stored hash', async () => {
    t = await startRegstack(ctx.url, { argon2MemoryKib: 12_288, argon2Iterations: 3, argon2Parallelism: 2 });
    await createVerifiedUser(t, 'hashed@example.com');
    const repos = createRepositories(t.regstack.storage.fork(), t.regstack.storage.dialect);
    const user = await repos.users.findByEmail('hashed@example.com');
    const row = await repos.users.findCredentialsById(user!.id);
    // The PHC string names its parameters; the defaults would read m=19456,t=2,p=1.
    expect(row?.hashedPassword).toMatch(/^\$argon2id\$v=19\$m=12288,t=3,p=2\$/);
    expect(await outcome(t.regstack.createCaller().login({ email: 'hashed@example.com', password: PASSWORD }))).toBe(
      'ok',
    );
  });

  it('email.recipient_rate_limit caps the mail one address receives', async () => {
    t = await startRegstack(ctx.url, {
      email: { recipientRateLimit: '1/10 minutes' },
      forgotPasswordRateLimit: 'none',
    });
    await createVerifiedUser(t, 'flooded@example.com');
    const caller = t.regstack.createCaller();
    for (let i = 0; i < 3; i++) await caller.forgotPassword({ email: 'flooded@example.com' });
    await t.regstack.drainOutbox();
    // The verification mail was the one allowed; the default (3 in 10 minutes) would have sent two reset mails.
    const resets = t.mailbox.messages.filter((m) => m.to === 'flooded@example.com' && /reset/i.test(m.subject));
    expect(resets).toHaveLength(0);
    expect(t.mailbox.messages.filter((m) => m.to === 'flooded@example.com')).toHaveLength(1);
  });
});
