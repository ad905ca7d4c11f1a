/**
 * Procedure builders: public, authenticated (bearer access token, checked in full on every call — R37,
 * R42), and admin (an *active superuser*, read fresh from the database on every call — R46). Hosts get the
 * same builders as `regstack.procedures.authed` / `.admin` to protect their own procedures.
 */
import { RegstackError } from '../errors/regstack-error.ts';
import { bearerToken } from '../services/session.service.ts';
import { publicProcedure } from './init.ts';

export const authedProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const rs = ctx.regstack;
  const header = rs.headers.get('authorization');
  // The client and whether a credential was sent at all: a refusal is recorded with both (R73).
  const auth = await rs.runtime.services.sessions.authenticate(bearerToken(header), rs.request, {
    presented: header !== null,
  });
  return next({ ctx: { auth } });
});

export const adminProcedure = authedProcedure.use(({ ctx, next }) => {
  // `authenticate` re-read the user from the database just now, so a demotion applies at once.
  if (!ctx.auth.user.isSuperuser || !ctx.auth.user.isActive) {
    throw new RegstackError('FORBIDDEN', 'Administrator access required');
  }
  return next();
});

export { publicProcedure };
