/**
 * `auth.*` — the router a host mounts (as `auth`, by convention). Public sign-up and sign-in procedures,
 * with `account`, `mfa` and `admin` nested. A static value: all per-instance state arrives in the context.
 */
import type { LogoutResult } from '@regstack/shared';
import {
  forgotPasswordInput,
  loginInput,
  registerInput,
  resendVerificationInput,
  resetPasswordInput,
  verifyEmailInput,
} from '@regstack/shared';
import { RegstackError } from '../errors/regstack-error.ts';
import { describeError } from '../trpc/error-formatter.ts';
import { t } from '../trpc/init.ts';
import { enrolmentProcedure, ownerProcedure, publicProcedure } from '../trpc/procedures.ts';
import { accountRouter } from './account.ts';
import { adminRouter } from './admin.ts';
import { mfaRouter } from './mfa.ts';
import { oauthRouter } from './oauth.ts';

export const regstackRouter = t.router({
  register: publicProcedure
    .use(async ({ ctx, next, getRawInput }) => {
      // Runs around the input schema: a refused sign-up also gets the password policy's verdict, so every bad
      // field is reported at once (the rule is the registration service's; issue 16 item 6).
      const result = await next();
      if (result.ok || result.error.code !== 'BAD_REQUEST' || RegstackError.is(result.error.cause)) return result;
      const { fieldErrors } = describeError(result.error);
      const combined =
        fieldErrors &&
        ctx.regstack.runtime.services.registration.withPasswordPolicyProblems(await getRawInput(), fieldErrors);
      if (combined) throw combined;
      return result;
    })
    .input(registerInput)
    .mutation(({ ctx, input }) => ctx.regstack.runtime.services.registration.register(input, ctx.regstack.request)),

  verifyEmail: publicProcedure
    .input(verifyEmailInput)
    .mutation(({ ctx, input }) => ctx.regstack.runtime.services.registration.verifyEmail(input, ctx.regstack.request)),

  resendVerification: publicProcedure
    .input(resendVerificationInput)
    .mutation(({ ctx, input }) =>
      ctx.regstack.runtime.services.registration.resendVerification(input.email, ctx.regstack.request),
    ),

  login: publicProcedure
    .input(loginInput)
    .mutation(({ ctx, input }) => ctx.regstack.runtime.services.auth.login(input, ctx.regstack.request)),

  forgotPassword: publicProcedure
    .input(forgotPasswordInput)
    .mutation(({ ctx, input }) =>
      ctx.regstack.runtime.services.passwordReset.forgotPassword(input.email, ctx.regstack.request),
    ),

  resetPassword: publicProcedure
    .input(resetPasswordInput)
    .mutation(({ ctx, input }) =>
      ctx.regstack.runtime.services.passwordReset.resetPassword(input.token, input.newPassword, ctx.regstack.request),
    ),

  logout: enrolmentProcedure.mutation(async ({ ctx }): Promise<LogoutResult> => {
    const revoked = await ctx.regstack.runtime.services.sessions.logout(ctx.auth, ctx.regstack.request);
    return { status: 'logged_out', revoked };
  }),

  logoutAll: ownerProcedure.mutation(async ({ ctx }): Promise<LogoutResult> => {
    const revoked = await ctx.regstack.runtime.services.sessions.revokeAll(
      ctx.auth.user.id,
      'logout_all',
      ctx.regstack.request,
    );
    return { status: 'logged_out', revoked };
  }),

  account: accountRouter,
  mfa: mfaRouter,
  admin: adminRouter,
  oauth: oauthRouter,
});

export type RegstackRouter = typeof regstackRouter;
