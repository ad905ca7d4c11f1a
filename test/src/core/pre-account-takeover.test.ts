/**
 * Issue 14 item 7, R67 — whoever controls the mailbox decides the password. Through the real router on every
 * backend: a stranger who signs up with someone's address (before or after them) never gets an account whose
 * password the stranger knows, whichever mailed link the owner follows; each sign-up attempt keeps its own
 * password; while several attempts are pending a link needs its own attempt's password, and a missing or wrong
 * one neither uses the link up nor escapes the address's lockout; creating the account kills every other
 * attempt's link; racing verifications of two attempts make one account. A link issued beside another live
 * attempt, or resent, asks for its password for its whole life — even once it is the address's only attempt.
 */
import { createManualClock } from '@regstack/server';
import { getRegstackErrorCode } from '@regstack/shared';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { codeOf } from '../harness/outcomes.ts';
import { startRegstack, type TestRegstack } from '../harness/regstack.ts';

const VICTIM_PASSWORD = 'the owner chose this one';
const ATTACKER_PASSWORD = 'the stranger knows this one';

describeEachBackend('pre-account takeover (R67)', (ctx) => {
  let t: TestRegstack;
  beforeAll(async () => {
    // A threshold above the racers of the concurrency test, so only the property under test can refuse them.
    t = await startRegstack(ctx.url, { loginLockoutThreshold: 20 });
  });
  afterAll(async () => {
    await t?.regstack.close();
  });

  /** Signs up and returns the link the sign-up's own mail carries. */
  async function signUp(email: string, password: string): Promise<string> {
    const before = t.mailbox.messages.length;
    await t.regstack.createCaller().register({ email, password });
    await t.regstack.drainOutbox();
    const mail = t.mailbox.messages.slice(before).find((m) => m.to === email && /verify\?token=/.test(m.text));
    if (!mail) throw new Error(`no verification mail for ${email}`);
    return /verify\?token=([A-Za-z0-9_-]+)/.exec(mail.text)![1]!;
  }

  async function loginCode(email: string, password: string): Promise<string | undefined> {
    try {
      const res = await t.regstack.createCaller().login({ email, password });
      return res.status;
    } catch (err) {
      return getRegstackErrorCode(err);
    }
  }

  it.each([
    ['attacker first', 'attacker link'],
    ['attacker first', 'victim link'],
    ['victim first', 'attacker link'],
    ['victim first', 'victim link'],
  ] as const)(
    '%s, the owner follows the %s: the account never takes the attacker password',
    async (order, followed) => {
      const email = `${order}-${followed}@example.com`.replaceAll(' ', '-');
      const links: Record<'attacker' | 'victim', string> = { attacker: '', victim: '' };
      for (const who of order === 'attacker first'
        ? (['attacker', 'victim'] as const)
        : (['victim', 'attacker'] as const)) {
        links[who] = await signUp(email, who === 'attacker' ? ATTACKER_PASSWORD : VICTIM_PASSWORD);
      }
      const caller = t.regstack.createCaller();
      const link = followed === 'attacker link' ? links.attacker : links.victim;

      // The click alone is not enough while two sign-ups are pending, and does not use the link up.
      expect(await codeOf(caller.verifyEmail({ token: link }))).toBe('PASSWORD_REQUIRED');
      expect(await codeOf(caller.verifyEmail({ token: link }))).toBe('PASSWORD_REQUIRED');

      if (followed === 'attacker link') {
        // The owner's own password does not complete the stranger's attempt, and the link stays usable …
        expect(await codeOf(caller.verifyEmail({ token: link, password: VICTIM_PASSWORD }))).toBe(
          'INVALID_CREDENTIALS',
        );
        expect(await codeOf(caller.verifyEmail({ token: link }))).toBe('PASSWORD_REQUIRED');
      }
      // … the owner's own link with the owner's password creates the account, with that password.
      const { user } = await caller.verifyEmail({ token: links.victim, password: VICTIM_PASSWORD });
      expect(user).toMatchObject({ email, isVerified: true });
      expect(await loginCode(email, VICTIM_PASSWORD)).toBe('authenticated');
      expect(await loginCode(email, ATTACKER_PASSWORD)).toBe('INVALID_CREDENTIALS');
      // The stranger's attempt died with the creation: its link is refused even with its own password.
      expect(await codeOf(caller.verifyEmail({ token: links.attacker, password: ATTACKER_PASSWORD }))).toBe(
        'INVALID_OR_EXPIRED_TOKEN',
      );
      expect(await codeOf(caller.verifyEmail({ token: links.attacker }))).toBe('INVALID_OR_EXPIRED_TOKEN');
      expect(await loginCode(email, VICTIM_PASSWORD)).toBe('authenticated');
    },
  );

  it('a later sign-up never changes an earlier attempt: each link completes with its own password only', async () => {
    const email = 'own-password@example.com';
    const first = await signUp(email, 'first sign-up passphrase');
    const second = await signUp(email, 'second sign-up passphrase');
    const caller = t.regstack.createCaller();
    expect(await codeOf(caller.verifyEmail({ token: first, password: 'second sign-up passphrase' }))).toBe(
      'INVALID_CREDENTIALS',
    );
    expect(await codeOf(caller.verifyEmail({ token: second, password: 'first sign-up passphrase' }))).toBe(
      'INVALID_CREDENTIALS',
    );
    await caller.verifyEmail({ token: first, password: 'first sign-up passphrase' });
    expect(await loginCode(email, 'first sign-up passphrase')).toBe('authenticated');
    expect(await loginCode(email, 'second sign-up passphrase')).toBe('INVALID_CREDENTIALS');
  });

  it('a single live attempt verifies with the token alone; a password sent with it must be its own', async () => {
    const email = 'single@example.com';
    const link = await signUp(email, VICTIM_PASSWORD);
    const caller = t.regstack.createCaller();
    expect(await codeOf(caller.verifyEmail({ token: link, password: ATTACKER_PASSWORD }))).toBe('INVALID_CREDENTIALS');
    const { user } = await caller.verifyEmail({ token: link });
    expect(user).toMatchObject({ email, isVerified: true });
    expect(await loginCode(email, VICTIM_PASSWORD)).toBe('authenticated');
  });

  it('concurrent verifications of two attempts, each with its right password, make exactly one account', async () => {
    const email = 'two-attempts-race@example.com';
    const a = await signUp(email, 'attempt a passphrase');
    const b = await signUp(email, 'attempt b passphrase');
    const caller = t.regstack.createCaller();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 16 }, (_, i) =>
        i % 2
          ? caller.verifyEmail({ token: a, password: 'attempt a passphrase' })
          : caller.verifyEmail({ token: b, password: 'attempt b passphrase' }),
      ),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const o of outcomes) {
      if (o.status === 'rejected') expect(getRegstackErrorCode(o.reason)).toBe('INVALID_OR_EXPIRED_TOKEN');
    }
    const logins = [await loginCode(email, 'attempt a passphrase'), await loginCode(email, 'attempt b passphrase')];
    expect(logins.sort()).toEqual(['INVALID_CREDENTIALS', 'authenticated']);
    // The losing attempt's link is dead too.
    for (const [token, password] of [
      [a, 'attempt a passphrase'],
      [b, 'attempt b passphrase'],
    ] as const) {
      expect(await codeOf(caller.verifyEmail({ token, password }))).toBe('INVALID_OR_EXPIRED_TOKEN');
    }
  });

  it('resendVerification re-links the newest live attempt, whose password it then needs', async () => {
    const email = 'resend-newest@example.com';
    await signUp(email, 'older attempt passphrase');
    await signUp(email, 'newer attempt passphrase');
    const before = t.mailbox.messages.length;
    await t.regstack.createCaller().resendVerification({ email });
    await t.regstack.settle();
    await t.regstack.drainOutbox();
    const resent = t.mailbox.messages.slice(before).find((m) => m.to === email);
    const token = /verify\?token=([A-Za-z0-9_-]+)/.exec(resent?.text ?? '')![1]!;
    const caller = t.regstack.createCaller();
    expect(await codeOf(caller.verifyEmail({ token }))).toBe('PASSWORD_REQUIRED');
    expect(await codeOf(caller.verifyEmail({ token, password: 'older attempt passphrase' }))).toBe(
      'INVALID_CREDENTIALS',
    );
    await caller.verifyEmail({ token, password: 'newer attempt passphrase' });
    expect(await loginCode(email, 'newer attempt passphrase')).toBe('authenticated');
  });
});

describeEachBackend('pre-account takeover: lockout and limits (R67, R17, R19)', (ctx) => {
  it('a wrong password leaves the link usable and counts toward the address lockout, with login failures', async () => {
    const clock = createManualClock();
    const t = await startRegstack(ctx.url, { loginLockoutThreshold: 3 }, { clock });
    try {
      const caller = t.regstack.createCaller();
      const email = 'guess@example.com';
      await caller.register({ email, password: VICTIM_PASSWORD });
      await t.regstack.drainOutbox();
      const link = t.mailbox.tokenFor(email, 'verify')!;
      await caller.register({ email, password: ATTACKER_PASSWORD });
      await t.regstack.drainOutbox();

      // One failure at the login form and two through the link make three: the address is locked for both.
      expect(await codeOf(caller.login({ email, password: 'a guess at the login' }))).toBe('INVALID_CREDENTIALS');
      expect(await codeOf(caller.verifyEmail({ token: link, password: 'guess number one' }))).toBe(
        'INVALID_CREDENTIALS',
      );
      expect(await codeOf(caller.verifyEmail({ token: link, password: 'guess number two' }))).toBe(
        'INVALID_CREDENTIALS',
      );
      expect(await codeOf(caller.verifyEmail({ token: link, password: VICTIM_PASSWORD }))).toBe('TOO_MANY_ATTEMPTS');
      expect(await codeOf(caller.login({ email, password: 'another guess' }))).toBe('TOO_MANY_ATTEMPTS');

      // Once the lock lifts, the same link — never used up by the refusals — completes with its own password.
      clock.advance(16 * 60_000);
      const { user } = await caller.verifyEmail({ token: link, password: VICTIM_PASSWORD });
      expect(user).toMatchObject({ email, isVerified: true });
      expect((await caller.login({ email, password: VICTIM_PASSWORD })).status).toBe('authenticated');
    } finally {
      await t.regstack.close();
    }
  });

  it('an expired earlier attempt does not count: the one live attempt verifies with the token alone', async () => {
    const clock = createManualClock();
    const t = await startRegstack(ctx.url, {}, { clock });
    try {
      const caller = t.regstack.createCaller();
      const email = 'expired-rival@example.com';
      await caller.register({ email, password: ATTACKER_PASSWORD });
      clock.advance(25 * 3600_000);
      await caller.register({ email, password: VICTIM_PASSWORD });
      await t.regstack.drainOutbox();
      const link = t.mailbox.tokenFor(email, 'verify')!;
      expect(await codeOf(caller.verifyEmail({ token: link, password: ATTACKER_PASSWORD }))).toBe(
        'INVALID_CREDENTIALS',
      );
      await caller.verifyEmail({ token: link });
      expect((await caller.login({ email, password: VICTIM_PASSWORD })).status).toBe('authenticated');
    } finally {
      await t.regstack.close();
    }
  });

  it("a stranger's sign-up made while the owner's was pending still needs its password after the owner's lapses", async () => {
    const clock = createManualClock();
    const t = await startRegstack(ctx.url, {}, { clock });
    try {
      const caller = t.regstack.createCaller();
      const email = 'outlived-rival@example.com';
      await caller.register({ email, password: VICTIM_PASSWORD });
      clock.advance(12 * 3600_000);
      await caller.register({ email, password: ATTACKER_PASSWORD });
      await t.regstack.drainOutbox();
      // The newest mail in the owner's box is the stranger's attempt's link.
      const link = t.mailbox.tokenFor(email, 'verify')!;
      // The owner's own attempt lapses: the stranger's is now the only live one.
      clock.advance(12 * 3600_000 + 60_000);
      expect(await codeOf(caller.verifyEmail({ token: link }))).toBe('PASSWORD_REQUIRED');
      expect(await codeOf(caller.verifyEmail({ token: link, password: VICTIM_PASSWORD }))).toBe('INVALID_CREDENTIALS');
      expect(await codeOf(caller.verifyEmail({ token: link }))).toBe('PASSWORD_REQUIRED');
      expect(await codeOf(caller.login({ email, password: ATTACKER_PASSWORD }))).toBe('INVALID_CREDENTIALS');
    } finally {
      await t.regstack.close();
    }
  });

  it('an address keeps only its newest five attempts: older links die, newer ones still need their password', async () => {
    const t = await startRegstack(ctx.url, { email: { recipientRateLimit: '100/10 minutes' } });
    try {
      const caller = t.regstack.createCaller();
      const email = 'many-attempts@example.com';
      const links: string[] = [];
      for (let i = 0; i < 7; i++) {
        const before = t.mailbox.messages.length;
        await caller.register({ email, password: `repeated sign-up ${i}` });
        await t.regstack.drainOutbox();
        links.push(/verify\?token=([A-Za-z0-9_-]+)/.exec(t.mailbox.messages.slice(before)[0]!.text)![1]!);
      }
      for (const i of [0, 1]) {
        expect(await codeOf(caller.verifyEmail({ token: links[i]!, password: `repeated sign-up ${i}` }))).toBe(
          'INVALID_OR_EXPIRED_TOKEN',
        );
      }
      expect(await codeOf(caller.verifyEmail({ token: links[2]! }))).toBe('PASSWORD_REQUIRED');
      await caller.verifyEmail({ token: links[2]!, password: 'repeated sign-up 2' });
      expect((await caller.login({ email, password: 'repeated sign-up 2' })).status).toBe('authenticated');
    } finally {
      await t.regstack.close();
    }
  });
});

describeEachBackend('pre-account takeover: resent links (R67, R24, R27)', (ctx) => {
  const DAY = 24 * 3600_000;

  /** Asks for a resend and returns the link its mail carries. */
  async function resend(t: TestRegstack, email: string): Promise<string> {
    const before = t.mailbox.messages.length;
    expect(await t.regstack.createCaller().resendVerification({ email })).toEqual({ status: 'accepted' });
    await t.regstack.settle();
    await t.regstack.drainOutbox();
    const mail = t.mailbox.messages.slice(before).find((m) => m.to === email && /verify\?token=/.test(m.text));
    if (!mail) throw new Error(`no resent mail for ${email}`);
    return /verify\?token=([A-Za-z0-9_-]+)/.exec(mail.text)![1]!;
  }

  it("the owner's attempt expires, a stranger's is the one live: the owner's resend and click never make the stranger's account", async () => {
    const clock = createManualClock();
    const t = await startRegstack(ctx.url, {}, { clock });
    try {
      const caller = t.regstack.createCaller();
      const email = 'resend-hijack@example.com';
      await caller.register({ email, password: VICTIM_PASSWORD });
      clock.advance(DAY / 2);
      await caller.register({ email, password: ATTACKER_PASSWORD });
      // The owner's attempt lapses; the stranger's, made later, is now the address's only live attempt.
      clock.advance(DAY / 2 + 60_000);
      await t.regstack.drainOutbox();

      const link = await resend(t, email);
      // The click alone does not complete it, and neither does the owner's own password; neither uses it up.
      expect(await codeOf(caller.verifyEmail({ token: link }))).toBe('PASSWORD_REQUIRED');
      expect(await codeOf(caller.verifyEmail({ token: link, password: VICTIM_PASSWORD }))).toBe('INVALID_CREDENTIALS');
      expect(await codeOf(caller.verifyEmail({ token: link }))).toBe('PASSWORD_REQUIRED');
      // No account exists: nobody can sign in with the stranger's password.
      expect(await codeOf(caller.login({ email, password: ATTACKER_PASSWORD }))).toBe('INVALID_CREDENTIALS');

      // The owner signs up again: that link, with the owner's password, makes the account with it.
      const own = await (async () => {
        const before = t.mailbox.messages.length;
        await caller.register({ email, password: VICTIM_PASSWORD });
        await t.regstack.drainOutbox();
        return /verify\?token=([A-Za-z0-9_-]+)/.exec(t.mailbox.messages.slice(before)[0]!.text)![1]!;
      })();
      await caller.verifyEmail({ token: own, password: VICTIM_PASSWORD });
      expect((await caller.login({ email, password: VICTIM_PASSWORD })).status).toBe('authenticated');
      expect(await codeOf(caller.login({ email, password: ATTACKER_PASSWORD }))).toBe('INVALID_CREDENTIALS');
      expect(await codeOf(caller.verifyEmail({ token: link, password: ATTACKER_PASSWORD }))).toBe(
        'INVALID_OR_EXPIRED_TOKEN',
      );
    } finally {
      await t.regstack.close();
    }
  });

  it('a resent link needs its attempt password even when it is the only attempt; a fresh single link does not', async () => {
    const t = await startRegstack(ctx.url, { loginLockoutThreshold: 3 });
    try {
      const caller = t.regstack.createCaller();
      // The ordinary flow is unchanged: one sign-up, its mailed link, the token alone.
      const plain = 'resend-plain@example.com';
      await caller.register({ email: plain, password: VICTIM_PASSWORD });
      await t.regstack.drainOutbox();
      const { user } = await caller.verifyEmail({ token: t.mailbox.tokenFor(plain, 'verify')! });
      expect(user).toMatchObject({ email: plain, isVerified: true });

      const email = 'resend-single@example.com';
      await caller.register({ email, password: VICTIM_PASSWORD });
      await t.regstack.drainOutbox();
      const first = t.mailbox.tokenFor(email, 'verify')!;
      const link = await resend(t, email);
      // The resent link replaces the first one (R27).
      expect(await codeOf(caller.verifyEmail({ token: first }))).toBe('INVALID_OR_EXPIRED_TOKEN');
      expect(await codeOf(caller.verifyEmail({ token: link }))).toBe('PASSWORD_REQUIRED');
      // Wrong passwords count toward the address's lockout, with the login form, and leave the link usable.
      expect(await codeOf(caller.verifyEmail({ token: link, password: 'guess number one' }))).toBe(
        'INVALID_CREDENTIALS',
      );
      expect(await codeOf(caller.login({ email, password: 'guess number two' }))).toBe('INVALID_CREDENTIALS');
      expect(await codeOf(caller.verifyEmail({ token: link, password: 'guess number three' }))).toBe(
        'INVALID_CREDENTIALS',
      );
      expect(await codeOf(caller.verifyEmail({ token: link, password: VICTIM_PASSWORD }))).toBe('TOO_MANY_ATTEMPTS');
      expect(await codeOf(caller.verifyEmail({ token: link }))).toBe('PASSWORD_REQUIRED');
    } finally {
      await t.regstack.close();
    }
  });

  it('a resent link with the right password makes the account; other endpoints refuse it without using it up (R24)', async () => {
    const t = await startRegstack(ctx.url);
    try {
      const caller = t.regstack.createCaller();
      const email = 'resend-right@example.com';
      await caller.register({ email, password: VICTIM_PASSWORD });
      await t.regstack.drainOutbox();
      const link = await resend(t, email);
      expect(await codeOf(caller.resetPassword({ token: link, newPassword: 'a password of the presenter' }))).toBe(
        'INVALID_OR_EXPIRED_TOKEN',
      );
      expect(await codeOf(caller.account.confirmEmailChange({ token: link }))).toBe('INVALID_OR_EXPIRED_TOKEN');
      // Still a live verification link, and still one that asks for the password.
      expect(await codeOf(caller.verifyEmail({ token: link }))).toBe('PASSWORD_REQUIRED');
      const { user } = await caller.verifyEmail({ token: link, password: VICTIM_PASSWORD });
      expect(user).toMatchObject({ email, isVerified: true });
      expect((await caller.login({ email, password: VICTIM_PASSWORD })).status).toBe('authenticated');
      expect(await codeOf(caller.verifyEmail({ token: link, password: VICTIM_PASSWORD }))).toBe(
        'INVALID_OR_EXPIRED_TOKEN',
      );
    } finally {
      await t.regstack.close();
    }
  });
});
