/**
 * Procedure builders: public, authenticated (bearer access token, checked in full on every call — R37,
 * R42), owner (authenticated by the account's owner, not an administrator impersonating them), and admin (an
 * *active superuser*, read fresh from the database on every call, in a session of their own — R46). Hosts get the
 * same builders as `regstack.procedures.authed` / `.owner` / `.admin` to protect their own procedures. regstack's own
 * `auth.admin.*` procedures use `adminRouterProcedure`: the admin check, after `enable_admin_router`.
 *
 * `require_mfa` (issue 18): a session whose user must enrol a second factor first passes only `enrolmentProcedure`
 * (`account.me`, `logout`, `mfa.status`) and `ownerEnrolmentProcedure` (the factor changes); everything built on
 * `authedProcedure` — the host's own procedures too — answers MFA_ENROLMENT_REQUIRED.
 *
 * Impersonation (issue 17): an impersonation session passes `authedProcedure` — it sees what the user sees — and
 * nothing stricter. Every procedure that changes credentials, factors, sessions other than its own, or the account's
 * existence is an `ownerProcedure`; test/src/core/impersonation.test.ts walks the whole router so a new procedure
 * that is neither on its short list of allowed ones nor refused fails the suite.
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
  // `authenticate` re-read the user from the database just now, so a demotion applies at once. An impersonation
  // session never acts as an administrator, whoever its user is.
  if (!auth.user.isSuperuser || !auth.user.isActive || auth.impersonatorId !== null) {
    throw new RegstackError('FORBIDDEN', 'Administrator access required');
  }
}

function requireEnrolled(auth: AuthenticatedSession): void {
  if (auth.mfaEnrolmentRequired) {
    throw new RegstackError('MFA_ENROLMENT_REQUIRED', 'Enable a second factor first (auth.mfa.*)');
  }
}

function requireOwner(auth: AuthenticatedSession): void {
  if (auth.impersonatorId !== null) {
    throw new RegstackError('IMPERSONATION_RESTRICTED', 'Not allowed while impersonating this user');
  }
}

/** Any live session, including one that must still enrol a second factor: `account.me`, `logout`, `mfa.status`. */
export const enrolmentProcedure = publicProcedure.use(async ({ ctx, next }) => {
  return next({ ctx: { auth: await authenticate(ctx.regstack) } });
});

/** A caller who may or may not be signed in: `auth` is null without an Authorization header (a bad one is refused). */
export const optionalAuthProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const signedIn = ctx.regstack.headers.get('authorization') !== null;
  return next({ ctx: { auth: signedIn ? await authenticate(ctx.regstack) : null } });
});

export const authedProcedure = enrolmentProcedure.use(({ ctx, next }) => {
  requireEnrolled(ctx.auth);
  return next();
});

/** Authenticated by the account's owner: an impersonation session is refused with IMPERSONATION_RESTRICTED. */
export const ownerProcedure = authedProcedure.use(({ ctx, next }) => {
  requireOwner(ctx.auth);
  return next();
});

/** The factor changes: the owner only, and reachable while a second factor is still to be enrolled. */
export const ownerEnrolmentProcedure = enrolmentProcedure.use(({ ctx, next }) => {
  requireOwner(ctx.auth);
  return next();
});

export const adminProcedure = authedProcedure.use(({ ctx, next }) => {
  requireActiveSuperuser(ctx.auth);
  return next();
});

/** `enable_admin_router`: off, every `auth.admin.*` procedure answers FEATURE_DISABLED, before and whatever the credential. */
const adminRouterSwitch = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.regstack.runtime.config.enableAdminRouter) {
    throw new RegstackError('FEATURE_DISABLED', 'The admin procedures are disabled (enable_admin_router)');
  }
  return next();
});

/** Every `auth.admin.*` procedure (issue 17) but one: behind the switch, only an active superuser passes (R46). */
export const adminRouterProcedure = adminRouterSwitch.use(async ({ ctx, next }) => {
  const auth = await authenticate(ctx.regstack);
  requireActiveSuperuser(auth);
  requireEnrolled(auth);
  return next({ ctx: { auth } });
});

/**
 * `auth.admin.stopImpersonating`: called with an impersonation session, which is never a superuser's own, so it
 * cannot pass `adminRouterProcedure`; behind the same switch. The service refuses any other session
 * (NOT_IMPERSONATING).
 */
export const impersonationProcedure = adminRouterSwitch.use(async ({ ctx, next }) => {
  return next({ ctx: { auth: await authenticate(ctx.regstack) } });
});

export { publicProcedure };
