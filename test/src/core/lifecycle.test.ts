/**
 * The account lifecycle through the real router, on every backend: password reset (R11, R18, R24–R30),
 * change password (R8, R19), change email (R13, R43), delete (R45), profile update (R47), feature flags.
 */
import type { EntityName } from '@mikro-orm/core';
import { createManualClock } from '@regstack/server';
import { ALL_ENTITIES, createRepositories } from '@regstack/server/internal';
import { getRegstackErrorCode } from '@regstack/shared';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { codeOf } from '../harness/outcomes.ts';
import { createVerifiedUser, startRegstack, type TestRegstack } from '../harness/regstack.ts';

const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'a brand new passphrase 7';

describeEachBackend('account lifecycle', (ctx) => {
  let t: TestRegstack;
  const clock = createManualClock();
  const caller = () => t.regstack.createCaller();
  const as = (token: string) => t.regstack.createCaller({ accessToken: token });
  const login = async (email: string, password: string) => {
    const res = await caller().login({ email, password });
    if (res.status !== 'authenticated') throw new Error('expected authenticated');
    return res;
  };
  const resetLink = async (email: string) => {
    await caller().forgotPassword({ email });
    await t.regstack.settle();
    await t.regstack.drainOutbox();
    return t.mailbox.tokenFor(email, 'reset');
  };

  beforeAll(async () => {
    t = await startRegstack(ctx.url, {}, { clock });
  });
  afterAll(async () => {
    await t?.regstack.close();
  });

  it('forgotPassword answers identically for known and unknown addresses and mails only the owner (R11)', async () => {
    await createVerifiedUser(t, 'forgot@example.com');
    const before = t.mailbox.messages.length;
    const a = await caller().forgotPassword({ email: 'forgot@example.com' });
    const b = await caller().forgotPassword({ email: 'forgot-nobody@example.com' });
    expect(a).toEqual(b);
    await t.regstack.settle();
    await t.regstack.drainOutbox();
    const sent = t.mailbox.messages.slice(before);
    expect(sent.map((m) => m.to)).toEqual(['forgot@example.com']);
    // The pages are off here, so the link is the host's own (the Python regstack's `/reset-password`).
    expect(sent[0]!.text).toContain('https://accounts.example.test/reset-password?token=');
  });

  it('reset: kills old sessions, clears a lockout, does not log in, notifies; the link is single-use (R18, R26, R29)', async () => {
    const { email } = await createVerifiedUser(t, 'reset@example.com');
    const before = await login(email, PASSWORD);
    for (let i = 0; i < 5; i++) await codeOf(caller().login({ email, password: 'wrong wrong wrong' }));
    expect(await codeOf(caller().login({ email, password: PASSWORD }))).toBe('TOO_MANY_ATTEMPTS');
    const token = (await resetLink(email))!;
    // a weak new password is refused without burning the link
    expect(await codeOf(caller().resetPassword({ token, newPassword: 'password1234' }))).toBe('PASSWORD_TOO_COMMON');
    const res = await caller().resetPassword({ token, newPassword: NEW_PASSWORD });
    expect(res).toEqual({ status: 'password_reset' });
    expect(await codeOf(as(before.accessToken).account.me())).toBe('UNAUTHENTICATED');
    expect(await codeOf(caller().resetPassword({ token, newPassword: NEW_PASSWORD }))).toBe('INVALID_OR_EXPIRED_TOKEN');
    expect((await login(email, NEW_PASSWORD)).user.email).toBe(email); // lock cleared
    await t.regstack.drainOutbox();
    expect(t.mailbox.latest(email)?.subject).toMatch(/password/i);
  });

  it('50 concurrent redemptions of one reset token give exactly one success (R26)', async () => {
    const { email } = await createVerifiedUser(t, 'reset-race@example.com');
    const token = (await resetLink(email))!;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => caller().resetPassword({ token, newPassword: `${NEW_PASSWORD} ${i}` })),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const o of outcomes)
      if (o.status === 'rejected') expect(getRegstackErrorCode(o.reason)).toBe('INVALID_OR_EXPIRED_TOKEN');
  });

  it('used, expired, other-purpose and unknown tokens fail the same way; other purposes are not consumed (R24, R25)', async () => {
    const { email } = await createVerifiedUser(t, 'tokens@example.com');
    // other purpose: a verification link presented as a reset link
    await caller().register({ email: 'tokens-pending@example.com', password: PASSWORD });
    await t.regstack.drainOutbox();
    const verifyToken = t.mailbox.tokenFor('tokens-pending@example.com', 'verify')!;
    expect(await codeOf(caller().resetPassword({ token: verifyToken, newPassword: NEW_PASSWORD }))).toBe(
      'INVALID_OR_EXPIRED_TOKEN',
    );
    await caller().verifyEmail({ token: verifyToken }); // still redeemable for its own purpose
    // expired: 31 minutes later (reset links live 30)
    const token = (await resetLink(email))!;
    clock.advance(31 * 60_000);
    expect(await codeOf(caller().resetPassword({ token, newPassword: NEW_PASSWORD }))).toBe('INVALID_OR_EXPIRED_TOKEN');
    // unknown
    expect(await codeOf(caller().resetPassword({ token: 'A'.repeat(43), newPassword: NEW_PASSWORD }))).toBe(
      'INVALID_OR_EXPIRED_TOKEN',
    );
  });

  it('a newer reset link replaces the older one (R27)', async () => {
    const { email } = await createVerifiedUser(t, 'newest@example.com');
    const first = (await resetLink(email))!;
    const second = (await resetLink(email))!;
    expect(first).not.toBe(second);
    expect(await codeOf(caller().resetPassword({ token: first, newPassword: NEW_PASSWORD }))).toBe(
      'INVALID_OR_EXPIRED_TOKEN',
    );
    await caller().resetPassword({ token: second, newPassword: NEW_PASSWORD });
  });

  it('changePassword: needs the current password (counted by the lockout), kills every earlier session and reset link (R8, R19, R27)', async () => {
    const { email } = await createVerifiedUser(t, 'change-pw@example.com');
    const a = await login(email, PASSWORD);
    const b = await login(email, PASSWORD);
    const resetToken = (await resetLink(email))!;
    expect(
      await codeOf(
        as(a.accessToken).account.changePassword({ currentPassword: 'not it at all', newPassword: NEW_PASSWORD }),
      ),
    ).toBe('INVALID_CREDENTIALS');
    const changed = await as(a.accessToken).account.changePassword({
      currentPassword: PASSWORD,
      newPassword: NEW_PASSWORD,
    });
    expect(changed.status).toBe('password_changed');
    expect(await codeOf(as(a.accessToken).account.me())).toBe('UNAUTHENTICATED');
    expect(await codeOf(as(b.accessToken).account.me())).toBe('UNAUTHENTICATED');
    expect((await as(changed.accessToken).account.me()).email).toBe(email);
    expect(await codeOf(caller().resetPassword({ token: resetToken, newPassword: 'yet another passphrase 9' }))).toBe(
      'INVALID_OR_EXPIRED_TOKEN',
    );
    await t.regstack.drainOutbox();
    expect(t.mailbox.latest(email)?.subject).toMatch(/password/i);
  });

  it('wrong current passwords in account changes lock the account like wrong logins (R19)', async () => {
    const { email } = await createVerifiedUser(t, 'reauth-lock@example.com');
    const s = await login(email, PASSWORD);
    for (let i = 0; i < 5; i++) {
      await codeOf(
        as(s.accessToken).account.changeEmail({ newEmail: 'x-new@example.com', currentPassword: 'guess guess' }),
      );
    }
    expect(await codeOf(caller().login({ email, password: PASSWORD }))).toBe('TOO_MANY_ATTEMPTS');
    expect(await codeOf(as(s.accessToken).account.delete({ currentPassword: PASSWORD }))).toBe('TOO_MANY_ATTEMPTS');
  });

  it('changeEmail: link to the new address, notice to the old; confirm moves the account and ends sessions (R43)', async () => {
    const { email } = await createVerifiedUser(t, 'old-address@example.com');
    const s = await login(email, PASSWORD);
    const res = await as(s.accessToken).account.changeEmail({
      newEmail: 'New-Address@example.com',
      currentPassword: PASSWORD,
    });
    expect(res).toMatchObject({ status: 'confirmation_sent', email: 'new-address@example.com' });
    await t.regstack.drainOutbox();
    const token = t.mailbox.tokenFor('new-address@example.com', 'confirm-email-change')!;
    const notice = t.mailbox.latest('old-address@example.com');
    expect(notice?.text).toContain('new-address@example.com');
    expect(notice?.text).not.toMatch(/token=/);
    // the email-change token is not a reset token (and is not consumed by trying)
    expect(await codeOf(caller().resetPassword({ token, newPassword: NEW_PASSWORD }))).toBe('INVALID_OR_EXPIRED_TOKEN');
    const { user } = await caller().account.confirmEmailChange({ token });
    expect(user.email).toBe('new-address@example.com');
    expect(await codeOf(as(s.accessToken).account.me())).toBe('UNAUTHENTICATED');
    expect((await login('new-address@example.com', PASSWORD)).user.id).toBe(user.id);
    expect(await codeOf(caller().login({ email, password: PASSWORD }))).toBe('INVALID_CREDENTIALS');
    expect(await codeOf(caller().account.confirmEmailChange({ token }))).toBe('INVALID_OR_EXPIRED_TOKEN');
  });

  it('changeEmail to a taken address answers the same and sends no link; taken in between fails cleanly at confirm (R13, R43)', async () => {
    await createVerifiedUser(t, 'taken@example.com');
    const { email } = await createVerifiedUser(t, 'mover@example.com');
    const s = await login(email, PASSWORD);
    const taken = await as(s.accessToken).account.changeEmail({
      newEmail: 'taken@example.com',
      currentPassword: PASSWORD,
    });
    const free = await as(s.accessToken).account.changeEmail({
      newEmail: 'later-taken@example.com',
      currentPassword: PASSWORD,
    });
    expect(Object.keys(taken)).toEqual(Object.keys(free));
    expect(taken.status).toBe(free.status);
    await t.regstack.drainOutbox();
    expect(t.mailbox.tokenFor('taken@example.com', 'confirm-email-change')).toBeUndefined();
    const token = t.mailbox.tokenFor('later-taken@example.com', 'confirm-email-change')!;
    await createVerifiedUser(t, 'later-taken@example.com');
    expect(await codeOf(caller().account.confirmEmailChange({ token }))).toBe('EMAIL_ALREADY_REGISTERED');
    expect((await as(s.accessToken).account.me()).email).toBe(email);
  });

  it('update changes only the allowed fields (R47)', async () => {
    const { email } = await createVerifiedUser(t, 'profile@example.com');
    const s = await login(email, PASSWORD);
    expect((await as(s.accessToken).account.update({ fullName: 'Ada Lovelace' })).fullName).toBe('Ada Lovelace');
    expect((await as(s.accessToken).account.me()).fullName).toBe('Ada Lovelace');
    expect(await codeOf(as(s.accessToken).account.update({ fullName: 'x', isSuperuser: true } as never))).toBe(
      'VALIDATION_FAILED',
    );
    expect((await as(s.accessToken).account.me()).isSuperuser).toBe(false);
  });

  it('delete: re-authenticates, ends every session at once, leaves no row of the user, and a new sign-up gets a new id (R45)', async () => {
    const { email } = await createVerifiedUser(t, 'leaving@example.com');
    const a = await login(email, PASSWORD);
    const b = await login(email, PASSWORD);
    await resetLink(email);
    await as(a.accessToken).logout();
    const userId = a.user.id;
    expect(await codeOf(as(b.accessToken).account.delete({ currentPassword: 'wrong password!' }))).toBe(
      'INVALID_CREDENTIALS',
    );
    expect(await as(b.accessToken).account.delete({ currentPassword: PASSWORD })).toEqual({ status: 'deleted' });
    expect(await codeOf(as(b.accessToken).account.me())).toBe('UNAUTHENTICATED');
    // no row anywhere mentions the user's id; only the farewell notice (outbox) carries the address
    const em = t.regstack.storage.fork();
    for (const entity of ALL_ENTITIES) {
      const rows = (await em.find(entity as EntityName<object>, {}, { disableIdentityMap: true })) as object[];
      const mentions = rows.filter((r) => JSON.stringify(r).includes(userId));
      expect(mentions, `${entity.meta.className} still mentions the user`).toHaveLength(0);
      if (entity.meta.className !== 'EmailOutbox') {
        expect(
          rows.filter((r) => JSON.stringify(r).includes(email)),
          entity.meta.className,
        ).toHaveLength(0);
      }
    }
    const repos = createRepositories(t.regstack.storage.fork(), t.regstack.storage.dialect);
    expect(await repos.users.findByEmail(email)).toBeNull();
    const again = await createVerifiedUser(t, email);
    expect((await login(again.email, PASSWORD)).user.id).not.toBe(userId);
  });
});

describeEachBackend('lifecycle feature flags', (ctx) => {
  it('password reset and deletion can be switched off (FEATURE_DISABLED)', async () => {
    const t = await startRegstack(ctx.url, { enablePasswordReset: false, enableAccountDeletion: false });
    try {
      await createVerifiedUser(t, 'flags@example.com');
      const c = t.regstack.createCaller();
      expect(await codeOf(c.forgotPassword({ email: 'flags@example.com' }))).toBe('FEATURE_DISABLED');
      expect(await codeOf(c.resetPassword({ token: 'A'.repeat(43), newPassword: NEW_PASSWORD }))).toBe(
        'FEATURE_DISABLED',
      );
      const s = await c.login({ email: 'flags@example.com', password: PASSWORD });
      if (s.status !== 'authenticated') throw new Error('expected authenticated');
      expect(
        await codeOf(
          t.regstack.createCaller({ accessToken: s.accessToken }).account.delete({ currentPassword: PASSWORD }),
        ),
      ).toBe('FEATURE_DISABLED');
    } finally {
      await t.regstack.close();
    }
  });
});
