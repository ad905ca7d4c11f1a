/**
 * `auth.account.*`: the signed-in user's own account. Glue only: schema in, one service call, DTO out. What changes
 * credentials, ends other sessions or deletes the account is for the owner only (`ownerProcedure`): an administrator
 * impersonating the user may look and rename, nothing more (docs/admin.md).
 */
import {
  changeEmailInput,
  changePasswordInput,
  confirmEmailChangeInput,
  deleteAccountInput,
  revokeSessionInput,
  updateAccountInput,
} from '@regstack/shared';
import { t } from '../trpc/init.ts';
import { authedProcedure, enrolmentProcedure, ownerProcedure, publicProcedure } from '../trpc/procedures.ts';

export const accountRouter = t.router({
  me: enrolmentProcedure.query(({ ctx }) => ctx.regstack.runtime.services.account.me(ctx.auth)),

  /** How a sensitive change re-authenticates; reachable before enrolment, as `mfa.totp.start` needs to know. */
  reauthentication: enrolmentProcedure.query(({ ctx }) =>
    ctx.regstack.runtime.services.account.reauthentication(ctx.auth),
  ),

  sessions: authedProcedure.query(({ ctx }) => ctx.regstack.runtime.services.sessions.list(ctx.auth)),

  update: authedProcedure
    .input(updateAccountInput)
    .mutation(({ ctx, input }) => ctx.regstack.runtime.services.account.update(ctx.auth, input)),

  changePassword: ownerProcedure
    .input(changePasswordInput)
    .mutation(({ ctx, input }) =>
      ctx.regstack.runtime.services.account.changePassword(ctx.auth, input, ctx.regstack.request),
    ),

  changeEmail: ownerProcedure
    .input(changeEmailInput)
    .mutation(({ ctx, input }) =>
      ctx.regstack.runtime.services.account.changeEmail(ctx.auth, input, ctx.regstack.request),
    ),

  /** Public: the link in the mail is the credential. */
  confirmEmailChange: publicProcedure
    .input(confirmEmailChangeInput)
    .mutation(({ ctx, input }) =>
      ctx.regstack.runtime.services.account.confirmEmailChange(input.token, ctx.regstack.request),
    ),

  delete: ownerProcedure
    .input(deleteAccountInput)
    .mutation(({ ctx, input }) =>
      ctx.regstack.runtime.services.account.deleteAccount(ctx.auth, input, ctx.regstack.request),
    ),

  revokeSession: ownerProcedure.input(revokeSessionInput).mutation(async ({ ctx, input }) => {
    await ctx.regstack.runtime.services.sessions.revokeOwn(ctx.auth, input.id, ctx.regstack.request);
    return { status: 'revoked' as const };
  }),
});
