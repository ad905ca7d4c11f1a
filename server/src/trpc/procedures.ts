/**
 * Procedure builders: public, authenticated (bearer access token, checked in full on every call — R37,
 * R42), and admin (an *active superuser*, read fresh from the database on every call — R46). Hosts get the
 * same builders as `regstack.procedures.authed` / `.admin` to protect their own procedures. regstack's own
 * `auth.admin.*` procedures use `adminRouterProcedure`: the same check, after `enable_admin_router`.
 */
import { RegstackError } from '../errors/regstack-error.ts';
import { type AuthenticatedSession, bearerToken } from '../services/session.service.ts';
import type { RegstackRequestContext } from './context.ts';
import { publicProcedure } from './init.ts';

function authenticate(rs: RegstackRequestContext): Promise<AuthenticatedSession> {
  const header = rs.headers.get('authorization');
  // The client and whether a credential was sent at all: a refusal is recorded with both (R73).
  return rs.runtime.services.sessions.authenticate(bearerToken(header), rs.request, {
    presented: header !== null,
  });
}

function requireActiveSuperuser(auth: AuthenticatedSession): void {
  // `authenticate` re-read the user from the database just now, so a demotion applies at once.
  if (!auth.user.isSuperuser || !auth.user.isActive) {
    throw new RegstackError('FORBIDDEN', 'Administrator access required');
  }
}

export const authedProcedure = publicProcedure.use(async ({ ctx, next }) => {
  return next({ ctx: { auth: await authenticate(ctx.regstack) } });
});

export const adminProcedure = authedProcedure.use(({ ctx, next }) => {
  requireActiveSuperuser(ctx.auth);
  return next();
});

/**
 * Every `auth.admin.*` procedure (issue 17). With `enable_admin_router` off each one answers FEATURE_DISABLED,
 * before and whatever the credential; on, only an active superuser passes (R46).
 */
export const adminRouterProcedure = publicProcedure.use(async ({ ctx, next }) => {
  if (!ctx.regstack.runtime.config.enableAdminRouter) {
    throw new RegstackError('FEATURE_DISABLED', 'The admin procedures are disabled (enable_admin_router)');
  }
  const auth = await authenticate(ctx.regstack);
  requireActiveSuperuser(auth);
  return next({ ctx: { auth } });
});

export { publicProcedure };
