/**
 * Multi-step changes commit whole or not at all (R26, R65) on the SQL backends: when the last write of a
 * password reset fails, the redeemed link, the new password and the ended sessions are all rolled back.
 * MongoDB (and FerretDB) have no multi-document transactions to lean on; there regstack orders each flow's
 * writes so that a failure part-way leaves a safe, retryable state (docs/storage.md, "How regstack stays atomic").
 */
import { createRepositories } from '@regstack/server/internal';
import { expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { codeOf } from '../harness/outcomes.ts';
import { createVerifiedUser, startRegstack } from '../harness/regstack.ts';

const PASSWORD = 'correct horse battery staple';

describeEachBackend('atomic flows', (ctx) => {
  it.skipIf(ctx.backend !== 'sqlite' && ctx.backend !== 'postgres')(
    'a reset whose last write fails leaves the link, the password and the sessions as they were',
    async () => {
      const t = await startRegstack(ctx.url);
      try {
        const { email } = await createVerifiedUser(t, 'atomic@example.com');
        const caller = t.regstack.createCaller();
        const before = await caller.login({ email, password: PASSWORD });
        if (before.status !== 'authenticated') throw new Error('expected authenticated');
        await caller.forgotPassword({ email });
        await t.regstack.drainOutbox();
        const token = t.mailbox.tokenFor(email, 'reset')!;

        // The audit row is the flow's last write: make it fail.
        const conn = t.regstack.storage.fork().getConnection();
        await conn.execute('alter table audit_events rename to audit_events_gone');
        expect(await codeOf(caller.resetPassword({ token, newPassword: 'a brand new passphrase 7' }))).toBe(
          'INTERNAL_ERROR',
        );
        await conn.execute('alter table audit_events_gone rename to audit_events');

        // nothing happened: old password, old session, and the link still redeemable exactly once
        expect((await caller.login({ email, password: PASSWORD })).status).toBe('authenticated');
        expect((await t.regstack.createCaller({ accessToken: before.accessToken }).account.me()).email).toBe(email);
        const repos = createRepositories(t.regstack.storage.fork(), t.regstack.storage.dialect);
        expect(await repos.revocations.cutoffFor(before.user.id)).toBeNull();
        await caller.resetPassword({ token, newPassword: 'a brand new passphrase 7' });
        expect(await codeOf(caller.login({ email, password: PASSWORD }))).toBe('INVALID_CREDENTIALS');
        expect(await codeOf(caller.resetPassword({ token, newPassword: 'yet another passphrase 9' }))).toBe(
          'INVALID_OR_EXPIRED_TOKEN',
        );
      } finally {
        await t.regstack.close();
      }
    },
  );
});
