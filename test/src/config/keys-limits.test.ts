/**
 * Issue 20, "every config key honest": each per-client rate limit of the account procedures, set below its default
 * (10 to 30 a minute), refuses the call past it with RATE_LIMITED (R20) on every backend, through
 * `createCaller` from one client address; the default would have let the third call through.
 */
import { randomBytes } from 'node:crypto';
import type { Regstack, RegstackConfigInput } from '@regstack/server';
import { afterEach, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { outcome } from '../harness/outcomes.ts';
import { createVerifiedUser, startRegstack, type TestRegstack } from '../harness/regstack.ts';

const PASSWORD = 'correct horse battery staple';
const IP = '198.51.100.23';

/** A well-formed one-time token that matches nothing (43 base64url characters, the last one a valid ending). */
const unknownToken = () => `${randomBytes(32).toString('base64url').slice(0, 42)}A`;

interface LimitCase {
  readonly key: keyof RegstackConfigInput;
  /** One call of the limited procedure, from one client, as the signed-in user when `token` is given. */
  call(regstack: Regstack, token: string, n: number): Promise<unknown>;
}

const caller = (regstack: Regstack, token?: string) =>
  regstack.createCaller({ ip: IP, ...(token && { accessToken: token }) });

const CASES: readonly LimitCase[] = [
  { key: 'forgotPasswordRateLimit', call: (r) => caller(r).forgotPassword({ email: 'owner@example.com' }) },
  { key: 'resendVerificationRateLimit', call: (r) => caller(r).resendVerification({ email: 'owner@example.com' }) },
  { key: 'verifyRateLimit', call: (r) => caller(r).verifyEmail({ token: unknownToken() }) },
  {
    key: 'resetPasswordRateLimit',
    call: (r) => caller(r).resetPassword({ token: unknownToken(), newPassword: PASSWORD }),
  },
  { key: 'confirmEmailChangeRateLimit', call: (r) => caller(r).account.confirmEmailChange({ token: unknownToken() }) },
  {
    key: 'changePasswordRateLimit',
    call: (r, token) =>
      caller(r, token).account.changePassword({ currentPassword: 'not the password at all', newPassword: PASSWORD }),
  },
  {
    key: 'changeEmailRateLimit',
    call: (r, token, n) =>
      caller(r, token).account.changeEmail({
        newEmail: `moved-${n}@example.com`,
        currentPassword: 'not the password at all',
      }),
  },
  {
    key: 'deleteAccountRateLimit',
    call: (r, token) => caller(r, token).account.delete({ currentPassword: 'not the password at all' }),
  },
];

describeEachBackend('per-client rate limits set below their default (issue 20)', (ctx) => {
  let t: TestRegstack | undefined;
  afterEach(async () => {
    await t?.regstack.close();
    t = undefined;
  });

  for (const limit of CASES) {
    it(`${limit.key} = 2/minute refuses the third call from one client`, async () => {
      t = await startRegstack(ctx.url, { [limit.key]: '2/minute', loginRateLimit: 'none' });
      const email = `limit-${limit.key}@example.com`;
      await createVerifiedUser(t, email);
      const login = await t.regstack.createCaller().login({ email, password: PASSWORD });
      if (login.status !== 'authenticated') throw new Error('expected a session');
      const outcomes: string[] = [];
      for (let n = 0; n < 3; n++) outcomes.push(await outcome(limit.call(t.regstack, login.accessToken, n)));
      expect(outcomes.slice(0, 2)).not.toContain('RATE_LIMITED');
      expect(outcomes[2]).toBe('RATE_LIMITED');
    });
  }
});
