/**
 * Sign-up and email verification through the real router, on every backend: enumeration-safe answers
 * (R12), the owner's notice, races on one address and one token (R26, R66), policy errors with reasons.
 */
import { getRegstackErrorCode } from '@regstack/shared';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { caught, codeOf } from '../harness/outcomes.ts';
import { startRegstack, type TestRegstack } from '../harness/regstack.ts';

const PASSWORD = 'correct horse battery staple';

describeEachBackend('registration and verification', (ctx) => {
  let t: TestRegstack;
  beforeAll(async () => {
    t = await startRegstack(ctx.url);
  });
  afterAll(async () => {
    await t?.regstack.close();
  });

  it('registers as pending, mails a verification link, and verifying creates the account', async () => {
    const caller = t.regstack.createCaller();
    const res = await caller.register({ email: 'Alice@Example.COM', password: PASSWORD, fullName: 'Alice' });
    expect(res).toMatchObject({ status: 'pending_verification', email: 'alice@example.com' });
    await t.regstack.drainOutbox();
    const mail = t.mailbox.latest('alice@example.com');
    // The pages are off here: the link is the host's own `/verify` (email_link_prefix unset).
    expect(mail?.text).toContain('https://accounts.example.test/verify?token=');
    const token = t.mailbox.tokenFor('alice@example.com', 'verify')!;
    const { user } = await caller.verifyEmail({ token });
    expect(user).toMatchObject({ email: 'alice@example.com', fullName: 'Alice', isVerified: true, isActive: true });
    expect(user).not.toHaveProperty('hashedPassword');
    // single use (R26)
    expect(await codeOf(caller.verifyEmail({ token }))).toBe('INVALID_OR_EXPIRED_TOKEN');
  });

  it('an existing email gets the identical answer, and its owner gets a notice instead of a link (R12)', async () => {
    const caller = t.regstack.createCaller();
    await caller.register({ email: 'owner@example.com', password: PASSWORD });
    await t.regstack.drainOutbox();
    await caller.verifyEmail({ token: t.mailbox.tokenFor('owner@example.com', 'verify')! });

    const fresh = await caller.register({ email: 'someone-new@example.com', password: PASSWORD });
    const taken = await caller.register({ email: 'OWNER@example.com', password: 'another good passphrase' });
    expect(Object.keys(taken)).toEqual(Object.keys(fresh));
    expect(taken.status).toBe(fresh.status);
    await t.regstack.drainOutbox();
    const notice = t.mailbox.latest('owner@example.com');
    expect(notice?.subject).toMatch(/tried to sign up/);
    expect(notice?.text).not.toMatch(/token=/);
  });

  it('50 concurrent sign-ups of one address and its case/NFKC variants end in exactly one account (R66)', async () => {
    const variants = [
      'race@example.com',
      'RACE@example.com',
      'Race@Example.Com',
      'ｒａｃｅ@example.com',
      'race@EXAMPLE.com',
    ];
    const caller = t.regstack.createCaller();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        caller.register({ email: variants[i % variants.length]!, password: PASSWORD }),
      ),
    );
    expect(new Set(results.map((r) => r.status))).toEqual(new Set(['pending_verification']));
    await t.regstack.drainOutbox();
    const links = t.mailbox.messages.filter((m) => m.to === 'race@example.com' && /verify\?token=/.test(m.text));
    expect(links.length).toBeGreaterThan(0);
    // Each mailed sign-up is an attempt of its own (R67); following every link at once, each with the password,
    // verifies exactly one account and kills the other links.
    const outcomes = await Promise.allSettled(
      links.map((m) =>
        caller.verifyEmail({ token: /verify\?token=([A-Za-z0-9_-]+)/.exec(m.text)![1]!, password: PASSWORD }),
      ),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const o of outcomes) {
      if (o.status === 'rejected') expect(getRegstackErrorCode(o.reason)).toBe('INVALID_OR_EXPIRED_TOKEN');
    }
    expect(await codeOf(caller.login({ email: 'race@example.com', password: 'wrong password here' }))).toBe(
      'INVALID_CREDENTIALS',
    );
    expect((await caller.login({ email: 'race@example.com', password: PASSWORD })).status).toBe('authenticated');
  });

  it('50 concurrent verifications with one token give exactly one success (R26)', async () => {
    const caller = t.regstack.createCaller();
    await caller.register({ email: 'verify-race@example.com', password: PASSWORD });
    await t.regstack.drainOutbox();
    const token = t.mailbox.tokenFor('verify-race@example.com', 'verify')!;
    const outcomes = await Promise.allSettled(Array.from({ length: 50 }, () => caller.verifyEmail({ token })));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const o of outcomes) {
      if (o.status === 'rejected') expect(getRegstackErrorCode(o.reason)).toBe('INVALID_OR_EXPIRED_TOKEN');
    }
  });

  it('refuses weak passwords with the reason, before hashing (R1, R2, R5)', async () => {
    const caller = t.regstack.createCaller();
    expect(await codeOf(caller.register({ email: 'weak@example.com', password: 'short' }))).toBe('PASSWORD_TOO_SHORT');
    expect(await codeOf(caller.register({ email: 'weak@example.com', password: 'password1234' }))).toBe(
      'PASSWORD_TOO_COMMON',
    );
    expect(await codeOf(caller.register({ email: 'weak@example.com', password: 'x'.repeat(129) }))).toBe(
      'PASSWORD_TOO_LONG',
    );
    expect(await codeOf(caller.register({ email: 'weaksauce@example.com', password: 'weaksauce-and-more' }))).toBe(
      'PASSWORD_CONTAINS_PERSONAL_INFO',
    );
    try {
      await caller.register({ email: 'weak@example.com', password: 'password1234' });
    } catch (err) {
      expect((err as Error).message).toMatch(/common/i);
    }
  });

  it('refuses malformed input with VALIDATION_FAILED and field errors, never a 500 (R53, R54, R56)', async () => {
    const caller = t.regstack.createCaller();
    for (const email of ['"e@attacker.com"@victim.com', 'Name <a@b.com>', 'a@b.com\r\nBcc: x@y.z', 'no-at-sign']) {
      expect(await codeOf(caller.register({ email, password: PASSWORD }))).toBe('VALIDATION_FAILED');
    }
    expect(await codeOf(caller.register({ email: { $ne: null } as never, password: PASSWORD }))).toBe(
      'VALIDATION_FAILED',
    );
    expect(
      await codeOf(caller.register({ email: 'x@example.com', password: PASSWORD, isSuperuser: true } as never)),
    ).toBe('VALIDATION_FAILED');
    expect(await codeOf(caller.verifyEmail({ token: 'short' }))).toBe('VALIDATION_FAILED');
  });

  it('resendVerification answers identically for unknown, pending and verified addresses (R11)', async () => {
    const caller = t.regstack.createCaller();
    await caller.register({ email: 'resend@example.com', password: PASSWORD });
    await t.regstack.settle();
    await t.regstack.drainOutbox();
    const before = t.mailbox.messages.length;
    const answers = await Promise.all([
      caller.resendVerification({ email: 'resend@example.com' }),
      caller.resendVerification({ email: 'nobody-here@example.com' }),
      caller.resendVerification({ email: 'alice@example.com' }),
    ]);
    expect(answers[0]).toEqual(answers[1]);
    expect(answers[1]).toEqual(answers[2]);
    await t.regstack.settle();
    await t.regstack.drainOutbox();
    const sent = t.mailbox.messages.slice(before);
    expect(sent.map((m) => m.to)).toEqual(['resend@example.com']);
    // the resent link works — with its sign-up's password, as every resent link needs it (R67) — the first one is
    // dead (R27)
    const token = t.mailbox.tokenFor('resend@example.com', 'verify')!;
    await caller.verifyEmail({ token, password: PASSWORD });
  });
});

describeEachBackend('registration switches', (ctx) => {
  it('allow_registration = false answers REGISTRATION_DISABLED', async () => {
    const t = await startRegstack(ctx.url, { allowRegistration: false });
    try {
      expect(await codeOf(t.regstack.createCaller().register({ email: 'x@example.com', password: PASSWORD }))).toBe(
        'REGISTRATION_DISABLED',
      );
    } finally {
      await t.regstack.close();
    }
  });

  it('require_verification = false registers at once; a taken address is refused', async () => {
    const t = await startRegstack(ctx.url, { requireVerification: false });
    try {
      const caller = t.regstack.createCaller();
      const res = await caller.register({ email: 'instant@example.com', password: PASSWORD });
      expect(res).toMatchObject({ status: 'registered', user: { email: 'instant@example.com', isVerified: false } });
      expect(await codeOf(caller.register({ email: 'Instant@example.com', password: PASSWORD }))).toBe(
        'EMAIL_ALREADY_REGISTERED',
      );
      const login = await caller.login({ email: 'instant@example.com', password: PASSWORD });
      expect(login.status).toBe('authenticated');
    } finally {
      await t.regstack.close();
    }
  });
});

describeEachBackend('registration reports every invalid field at once (issue 16 item 6)', (ctx) => {
  let t: TestRegstack;
  beforeAll(async () => {
    t = await startRegstack(ctx.url, { requireVerification: false, appName: 'Acme' });
  });
  afterAll(async () => {
    await t?.regstack.close();
  });

  /** The stable code and per-field messages of a refused sign-up, as the server-side caller sees them. */
  async function refusal(input: Record<string, unknown>) {
    const err = await caught(t.regstack.createCaller().register(input as never));
    const cause = (err as { cause?: { fieldErrors?: Record<string, string[]> } }).cause;
    return { code: getRegstackErrorCode(err), fields: cause?.fieldErrors ?? {} };
  }

  it('an invalid email and a too-short password come back together, each with its own message', async () => {
    const { code, fields } = await refusal({ email: 'no-at-sign', password: 'short' });
    expect(code).toBe('VALIDATION_FAILED');
    expect(Object.keys(fields).sort()).toEqual(['email', 'password']);
    expect(fields.password).toEqual(['Password must be at least 12 characters long']);
  });

  it('every policy reason is combined: common password, personal words, too long', async () => {
    expect((await refusal({ email: 'bad email', password: 'password1234' })).fields.password?.[0]).toMatch(/common/);
    expect((await refusal({ email: 'x@acme', password: 'my acme account 2024' })).fields.password?.[0]).toMatch(
      /name of this service/,
    );
    const long = await refusal({ email: 'a@b', password: 'x'.repeat(129) });
    expect(Object.keys(long.fields).sort()).toEqual(['email', 'password']);
  });

  it('a bad name and a bad password together; a good password adds nothing; alone, each keeps its own code', async () => {
    const both = await refusal({ email: 'fine@example.com', password: 'short', fullName: 'a\u202Eb' });
    expect(both.code).toBe('VALIDATION_FAILED');
    expect(Object.keys(both.fields).sort()).toEqual(['fullName', 'password']);
    const emailOnly = await refusal({ email: 'no-at-sign', password: PASSWORD });
    expect(emailOnly).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(Object.keys(emailOnly.fields)).toEqual(['email']);
    expect((await refusal({ email: 'fine@example.com', password: 'short' })).code).toBe('PASSWORD_TOO_SHORT');
  });

  it('never says whether the address is taken (R12): a taken address is answered like a free one', async () => {
    await t.regstack.createCaller().register({ email: 'taken@example.com', password: PASSWORD });
    const taken = await refusal({ email: 'taken@example.com', password: 'short', fullName: '' });
    const free = await refusal({ email: 'free@example.com', password: 'short', fullName: '' });
    expect(taken).toEqual(free);
    expect(Object.keys(taken.fields).sort()).toEqual(['fullName', 'password']);
    // A valid sign-up with a weak password is refused for the password, before any lookup.
    expect((await refusal({ email: 'taken@example.com', password: 'short' })).code).toBe('PASSWORD_TOO_SHORT');
  });
});
