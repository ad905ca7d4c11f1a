/**
 * `auth.admin.*`: procedures for active superusers (R46, issue 17). Every one is built on `adminRouterProcedure`,
 * which answers FEATURE_DISABLED while `enable_admin_router` is off and otherwise lets only an active superuser,
 * re-read from the database on this very call, through. Glue only: schema in, one service call, DTO out; the
 * rules live in services/admin.service.ts. docs/admin.md describes the API.
 */
import {
  adminAuditListInput,
  adminImpersonateInput,
  adminListUsersInput,
  adminPendingEmailInput,
  adminPendingListInput,
  adminUpdateUserInput,
  adminUserIdInput,
} from '@regstack/shared';
import { t } from '../trpc/init.ts';
import { adminRouterProcedure, impersonationProcedure } from '../trpc/procedures.ts';

const usersRouter = t.router({
  list: adminRouterProcedure
    .input(adminListUsersInput)
    .query(({ ctx, input }) => ctx.regstack.runtime.services.admin.listUsers(input)),

  get: adminRouterProcedure
    .input(adminUserIdInput)
    .query(({ ctx, input }) => ctx.regstack.runtime.services.admin.getUser(input.id)),

  update: adminRouterProcedure
    .input(adminUpdateUserInput)
    .mutation(({ ctx, input }) =>
      ctx.regstack.runtime.services.admin.updateUser(ctx.auth.user, input, ctx.regstack.request),
    ),

  delete: adminRouterProcedure
    .input(adminUserIdInput)
    .mutation(({ ctx, input }) =>
      ctx.regstack.runtime.services.admin.deleteUser(ctx.auth.user, input.id, ctx.regstack.request),
    ),

  sessions: adminRouterProcedure
    .input(adminUserIdInput)
    .query(({ ctx, input }) => ctx.regstack.runtime.services.admin.userSessions(input.id)),

  revokeSessions: adminRouterProcedure
    .input(adminUserIdInput)
    .mutation(({ ctx, input }) =>
      ctx.regstack.runtime.services.admin.revokeSessions(ctx.auth.user, input.id, ctx.regstack.request),
    ),

  resendVerification: adminRouterProcedure
    .input(adminUserIdInput)
    .mutation(({ ctx, input }) =>
      ctx.regstack.runtime.services.admin.resendVerification(ctx.auth.user, input.id, ctx.regstack.request),
    ),

  impersonate: adminRouterProcedure
    .input(adminImpersonateInput)
    .mutation(({ ctx, input }) =>
      ctx.regstack.runtime.services.admin.impersonate(ctx.auth.user, input, ctx.regstack.request),
    ),

  sendPasswordReset: adminRouterProcedure
    .input(adminUserIdInput)
    .mutation(({ ctx, input }) =>
      ctx.regstack.runtime.services.admin.sendPasswordReset(ctx.auth.user, input.id, ctx.regstack.request),
    ),
});

const pendingRouter = t.router({
  list: adminRouterProcedure
    .input(adminPendingListInput)
    .query(({ ctx, input }) => ctx.regstack.runtime.services.admin.listPending(input)),

  promote: adminRouterProcedure.input(adminPendingEmailInput).mutation(async ({ ctx, input }) => ({
    user: await ctx.regstack.runtime.services.admin.promotePending(ctx.auth.user, input.email, ctx.regstack.request),
  })),

  delete: adminRouterProcedure
    .input(adminPendingEmailInput)
    .mutation(({ ctx, input }) =>
      ctx.regstack.runtime.services.admin.deletePending(ctx.auth.user, input.email, ctx.regstack.request),
    ),
});

const auditRouter = t.router({
  list: adminRouterProcedure
    .input(adminAuditListInput)
    .query(({ ctx, input }) => ctx.regstack.runtime.services.admin.listAudit(input)),
});

export const adminRouter = t.router({
  stats: adminRouterProcedure.query(({ ctx }) => ctx.regstack.runtime.services.admin.stats()),
  /** Called with the impersonation session's own token: ends it (docs/admin.md). */
  stopImpersonating: impersonationProcedure.mutation(({ ctx }) =>
    ctx.regstack.runtime.services.admin.stopImpersonating(ctx.auth, ctx.regstack.request),
  ),
  users: usersRouter,
  pending: pendingRouter,
  audit: auditRouter,
});
