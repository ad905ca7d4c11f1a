/** `auth.account.*`: the signed-in user's own account. Glue only: schema in, one service call, DTO out. */
import { revokeSessionInput } from '@regstack/shared';
import { toPublicUser } from '../services/mappers.ts';
import { t } from '../trpc/init.ts';
import { authedProcedure } from '../trpc/procedures.ts';

export const accountRouter = t.router({
  me: authedProcedure.query(({ ctx }) => toPublicUser(ctx.auth.user, { revealPhone: true })),

  sessions: authedProcedure.query(({ ctx }) => ctx.regstack.runtime.services.sessions.list(ctx.auth)),

  revokeSession: authedProcedure.input(revokeSessionInput).mutation(async ({ ctx, input }) => {
    await ctx.regstack.runtime.services.sessions.revokeOwn(ctx.auth, input.id, ctx.regstack.request);
    return { status: 'revoked' as const };
  }),
});
