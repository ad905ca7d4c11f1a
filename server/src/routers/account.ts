/** `auth.account.*`: the signed-in user's own account. Glue only: schema in, one service call, DTO out. */
import {
  changeEmailInput,
  changePasswordInput,
  confirmEmailChangeInput,
  deleteAccountInput,
  revokeSessionInput,
  updateAccountInput,
} from '@regstack/shared';
import { toPublicUser } from '../services/mappers.ts';
import { t } from '../trpc/init.ts';
import { authedProcedure, publicProcedure } from '../trpc/procedures.ts';

export const accountRouter = t.router({
  me: authedProcedure.query(({ ctx }) => toPublicUser(ctx.auth.user, { revealPhone: true })),

  sessions: authedProcedure.query(({ ctx }) => ctx.regstack.runtime.services.sessions.list(ctx.auth)),

  update: authedProcedure
    .input(updateAccountInput)
    .mutation(({ ctx, input }) => ctx.regstack.runtime.services.account.update(ctx.auth, input)),

  changePassword: authedProcedure
    .input(changePasswordInput)
    .mutation(({ ctx, input }) =>
      ctx.regstack.runtime.services.account.changePassword(ctx.auth, input, ctx.regstack.request),
    ),

  changeEmail: authedProcedure
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

  delete: authedProcedure
    .input(deleteAccountInput)
    .mutation(({ ctx, input }) =>
      ctx.regstack.runtime.services.account.deleteAccount(ctx.auth, input, ctx.regstack.request),
    ),

  revokeSession: authedProcedure.input(revokeSessionInput).mutation(async ({ ctx, input }) => {
    await ctx.regstack.runtime.services.sessions.revokeOwn(ctx.auth, input.id, ctx.regstack.request);
    return { status: 'revoked' as const };
  }),
});
