/**
 * Administration (issue 17, R46, R47): the `auth.admin.*` procedures and `regstack.bootstrapAdmin` /
 * `regstack.promotePending`. Callers are active superusers, checked fresh on every call by the procedure builder
 * (trpc/procedures.ts); this service owns the rules:
 *
 * - An admin may disable, demote, verify and rename users, end their sessions, delete them (the same cascade and
 *   notice mail as self-deletion, `removeUserRows`), and start a verification or password-reset mail — never read a
 *   hash, token or secret (every user leaves as a `PublicUser`), never set a password (R46).
 * - The last active superuser can never be disabled, demoted or deleted (LAST_ACTIVE_ADMIN). Each change that could
 *   remove one is decided under the admin lease (policies/last-admin.ts), which re-reads the acting admin, the
 *   target and the count of who would remain, so concurrent changes on any backend and instance leave one.
 * - Disabling or demoting ends every session of the user at once (R41 cutoff, via the session service).
 * - Every change writes an audit event with the acting admin, the target, the client's IP and user agent, and emits
 *   a typed event (events.ts). Reads (lists, stats) are not audited: they change nothing.
 * - Lists page by keyset with opaque, MAC-protected cursors bound to their query (security/cursors.ts).
 */
import {
  type AdminAuditEvent,
  type AdminAuditListInput,
  type AdminCountResult,
  type AdminDailyCount,
  type AdminImpersonation,
  type AdminPage,
  type AdminPendingRegistration,
  type AdminSessionInfo,
  type AdminStats,
  type AdminUpdateResult,
  type AdminUserDetail,
  type adminListUsersInput,
  emailSchema,
  fullNameSchema,
  maskPhone,
  type PublicUser,
} from '@regstack/shared';
import type { z } from 'zod';
import type { User } from '../db/entities/index.ts';
import { RegstackError } from '../errors/regstack-error.ts';
import type { RequestMeta } from '../events.ts';
import type { AdminUserFields, UserKeyset } from '../repositories/user.repository.ts';
import { userSortValue } from '../repositories/user.repository.ts';
import { createCursorCodec } from '../security/cursors.ts';
import { removeUserRows } from './account.service.ts';
import { atomically, openRepos, type ServiceDeps } from './deps.ts';
import type { LockoutService } from './lockout.service.ts';
import { toPublicUser, toSessionInfo } from './mappers.ts';
import type { PasswordResetService } from './password-reset.service.ts';
import { type AdminGuard, lastActiveAdmin } from './policies/last-admin.ts';
import { assertNewPasswordAllowed, type RegistrationService } from './registration.service.ts';
import type { AuthenticatedSession, Impersonation, SessionService } from './session.service.ts';

type ListUsersQuery = z.output<typeof adminListUsersInput>;
type AuditQuery = Omit<AdminAuditListInput, 'limit'> & { limit: number };

export interface BootstrapAdminInput {
  email: string;
  /** For a new account: checked against the registration policy. For an existing one: must be its password. */
  password?: string | undefined;
  fullName?: string | undefined;
}

export interface BootstrapAdminResult {
  /** `created`: a new account; `promoted`: an existing one became an active, verified superuser; `unchanged`. */
  status: 'created' | 'promoted' | 'unchanged';
  user: PublicUser;
}

const DAY_MS = 86_400_000;
const STATS_DAYS = 30;
/** What `bootstrapAdmin` and `promotePending` record as the client: they run in-process, not for a request. */
const IN_PROCESS: RequestMeta = { ip: null, userAgent: null };

const userNotFound = () => new RegstackError('USER_NOT_FOUND', 'No user with this id');
const pendingNotFound = () =>
  new RegstackError('PENDING_REGISTRATION_NOT_FOUND', 'No pending sign-up for this address');
const forbidden = () => new RegstackError('FORBIDDEN', 'Administrator access required');

/** A value checked by a shared schema, or VALIDATION_FAILED naming the field (server-side entry points). */
function parseField<T>(schema: z.ZodType<T>, value: unknown, field: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const message = result.error.issues[0]?.message ?? 'Invalid value';
  throw new RegstackError('VALIDATION_FAILED', message, { fieldErrors: { [field]: [message] } });
}

function isKeyset(value: unknown): value is UserKeyset {
  if (typeof value !== 'object' || value === null) return false;
  const { id, value: v } = value as Record<string, unknown>;
  return typeof id === 'string' && (v === null || typeof v === 'string' || Number.isSafeInteger(v));
}

function beforeIdFrom(position: unknown): string {
  const id = (position as { id?: unknown } | null)?.id;
  if (typeof id !== 'string') throw new RegstackError('VALIDATION_FAILED', 'Invalid cursor');
  return id;
}

export function createAdminService(
  deps: ServiceDeps,
  parts: {
    lockout: LockoutService;
    sessions: SessionService;
    registration: RegistrationService;
    passwordReset: PasswordResetService;
    adminGuard: AdminGuard;
  },
) {
  const { sessions, adminGuard } = parts;
  const cursors = createCursorCodec(deps.config.jwtSecret);

  async function targetOf(id: string): Promise<User> {
    const user = await openRepos(deps).users.findFresh(id);
    if (!user) throw userNotFound();
    return user;
  }

  /** Inside the lease: the acting admin must still be an active superuser (a concurrent change may have demoted them). */
  async function assertStillAdmin(actorId: string): Promise<void> {
    const actor = await openRepos(deps).users.findFresh(actorId);
    if (!actor?.isActive || !actor.isSuperuser) throw forbidden();
  }

  async function dailyCounts(count: (from: Date, to: Date) => Promise<number>): Promise<AdminDailyCount[]> {
    const today = Math.floor(deps.clock.now().getTime() / DAY_MS) * DAY_MS;
    const days: AdminDailyCount[] = [];
    for (let i = STATS_DAYS - 1; i >= 0; i--) {
      const from = new Date(today - i * DAY_MS);
      days.push({
        day: from.toISOString().slice(0, 10),
        count: await count(from, new Date(from.getTime() + DAY_MS)),
      });
    }
    return days;
  }

  /** Creates the account of a pending sign-up (the newest live one), as its verification link would (R26, R66). */
  async function promote(actorId: string | null, email: string, request: RequestMeta): Promise<PublicUser> {
    const repos = openRepos(deps);
    const now = deps.clock.now();
    const attempt = await repos.pendingRegistrations.findNewestLive(email, now);
    if (!attempt) throw pendingNotFound();
    // Whoever controls the mailbox decides the password (R67): with rival sign-ups alive nobody can tell whose
    // password the newest attempt holds, so the account is created without one and its owner sets it through a
    // reset link sent to the address.
    const contested = (await repos.pendingRegistrations.countLive(email, now)) > 1;
    const user = await atomically(deps, async (tx) => {
      const claimed = await tx.pendingRegistrations.claimOnce(attempt.id, now);
      if (!claimed) throw pendingNotFound();
      const user = await tx.users.insertIfEmailFree(
        {
          email: claimed.email,
          hashedPassword: contested ? null : claimed.hashedPassword,
          fullName: claimed.fullName ?? null,
          isVerified: true,
        },
        now,
      );
      if (!user) throw new RegstackError('EMAIL_ALREADY_REGISTERED', 'An account with this email already exists');
      await tx.pendingRegistrations.deleteByEmail(claimed.email);
      await tx.auditEvents.record(
        { event: 'admin_pending_promoted', actorId, subjectId: user.id, ...request, details: { contested } },
        now,
      );
      return user;
    });
    const dto = toPublicUser(user);
    deps.events.emit('user_registered', { user: dto, request });
    deps.events.emit('user_verified', { user: dto, request });
    deps.events.emit('admin_pending_promoted', { actorId, user: dto, request });
    return dto;
  }

  return {
    async stats(): Promise<AdminStats> {
      const repos = openRepos(deps);
      const now = deps.clock.now();
      return {
        users: await repos.users.countWhere(),
        active: await repos.users.countWhere({ isActive: true }),
        verified: await repos.users.countWhere({ isVerified: true }),
        superusers: await repos.users.countWhere({ isSuperuser: true }),
        mfaEnabled: await repos.users.countWhere({ isMfaEnabled: true }),
        pendingRegistrations: await repos.pendingRegistrations.countAllLive(now),
        signupsPerDay: await dailyCounts((from, to) => repos.users.countCreatedBetween(from, to)),
        loginsPerDay: await dailyCounts((from, to) => repos.auditEvents.countBetween('login', from, to)),
      };
    },

    async listUsers(input: ListUsersQuery): Promise<AdminPage<PublicUser>> {
      // Folded by the repository as it compares (db/name-terms.ts); the cursor binds the text as typed.
      const search = input.search;
      const filters = input.filters ?? {};
      // The cursor is bound to everything that shapes the list: a cursor of another query is refused. The filters
      // in a fixed order, so the same query spelled in another key order is the same query.
      const fingerprint = {
        search: search ?? null,
        filters: [filters.isActive, filters.isVerified, filters.isSuperuser, filters.isMfaEnabled].map(
          (f) => f ?? null,
        ),
        sort: input.sort,
        direction: input.direction,
      };
      let after: UserKeyset | undefined;
      if (input.cursor !== undefined) {
        const position = cursors.decode('users', fingerprint, input.cursor);
        if (!isKeyset(position)) throw new RegstackError('VALIDATION_FAILED', 'Invalid cursor');
        after = position;
      }
      const rows = await openRepos(deps).users.listPage({
        limit: input.limit + 1,
        search,
        filters,
        sort: input.sort,
        direction: input.direction,
        after,
      });
      const items = rows.slice(0, input.limit);
      const last = items.at(-1);
      const nextCursor =
        rows.length > input.limit && last
          ? cursors.encode('users', fingerprint, { value: userSortValue(last, input.sort), id: last.id })
          : null;
      return { items: items.map((u) => toPublicUser(u)), nextCursor };
    },

    async getUser(id: string): Promise<AdminUserDetail> {
      const user = await targetOf(id);
      const live = await sessions.listLive(id);
      return {
        user: toPublicUser(user),
        activeSessions: live.length,
        lastLoginAt: user.lastLoginAt ?? null,
        mfa: { enabled: user.isMfaEnabled, phoneHint: user.phoneNumber ? maskPhone(user.phoneNumber) : null },
      };
    },

    async updateUser(
      actor: User,
      input: { id: string } & AdminUserFields,
      request: RequestMeta,
    ): Promise<AdminUpdateResult> {
      const { id } = input;
      const changes: AdminUserFields = {};
      if (input.fullName !== undefined) changes.fullName = input.fullName;
      if (input.isActive !== undefined) changes.isActive = input.isActive;
      if (input.isSuperuser !== undefined) changes.isSuperuser = input.isSuperuser;
      if (input.isVerified !== undefined) changes.isVerified = input.isVerified;
      // A change that can take an admin away is decided under the lease; any other needs none.
      const canRemoveAdmin = changes.isActive === false || changes.isSuperuser === false;
      const apply = async () => {
        const target = await targetOf(id);
        if (canRemoveAdmin && target.isActive && target.isSuperuser) {
          await assertStillAdmin(actor.id);
          if ((await openRepos(deps).users.countActiveSuperusers(id)) === 0) throw lastActiveAdmin();
        }
        const disabled = changes.isActive === false && target.isActive;
        const demoted = changes.isSuperuser === false && target.isSuperuser;
        const changed = Object.keys(changes);
        // Nothing to change: nothing to record either.
        if (changed.length === 0) return { user: toPublicUser(target), sessionsRevoked: 0, changed };
        const revoked = await atomically(deps, async (tx) => {
          const now = deps.clock.now();
          // The row was just read; MongoDB counts modified documents, so the count is no existence check here.
          await tx.users.updateAdminFields(id, changes, now);
          // Disabling or demoting ends every session at once (R41, R46): a token minted before is dead.
          const revoked =
            disabled || demoted
              ? await sessions.revokeAll(id, disabled ? 'admin_disabled' : 'admin_revoked', request, actor.id)
              : 0;
          // The flags changed, never the name itself (it is the user's data, not the audit log's).
          const { fullName: _name, ...flags } = changes;
          await tx.auditEvents.record(
            {
              event: 'admin_user_updated',
              actorId: actor.id,
              subjectId: id,
              ...request,
              details: { changed, ...flags },
            },
            now,
          );
          return revoked;
        });
        return { user: toPublicUser({ ...target, ...changes } as User), sessionsRevoked: revoked, changed };
      };
      const result = canRemoveAdmin ? await adminGuard.guard(apply) : await apply();
      if (result.changed.length > 0) {
        deps.events.emit('admin_user_updated', {
          actorId: actor.id,
          user: result.user,
          changed: result.changed,
          request,
        });
      }
      return { user: result.user, sessionsRevoked: result.sessionsRevoked };
    },

    async deleteUser(actor: User, id: string, request: RequestMeta): Promise<{ status: 'deleted' }> {
      await adminGuard.guard(async () => {
        const target = await targetOf(id);
        if (target.isActive && target.isSuperuser) {
          await assertStillAdmin(actor.id);
          if ((await openRepos(deps).users.countActiveSuperusers(id)) === 0) throw lastActiveAdmin();
        }
        // The user row, everything of theirs and the notice mail go together (R45, R65).
        await atomically(deps, async (tx) => {
          if (!(await tx.users.deleteById(id))) throw userNotFound();
          await removeUserRows(deps, parts.lockout, tx, target);
          // Written after the cascade, which removes the rows naming the user: the admin's act stays on record.
          await tx.auditEvents.record(
            { event: 'admin_user_deleted', actorId: actor.id, subjectId: id, ...request },
            deps.clock.now(),
          );
        });
      });
      deps.events.emit('user_deleted', { userId: id, request });
      deps.events.emit('admin_user_deleted', { actorId: actor.id, userId: id, request });
      return { status: 'deleted' };
    },

    /**
     * Opens a short-lived session as the user for the acting administrator (docs/admin.md): never for a superuser,
     * a disabled account or themself; restricted (trpc/procedures.ts `ownerProcedure`); alive only while the
     * administrator stays an active superuser; listed among the user's sessions; recorded with the reason.
     */
    async impersonate(
      actor: User,
      input: { id: string; reason: string },
      request: RequestMeta,
    ): Promise<AdminImpersonation> {
      const target = await targetOf(input.id);
      if (target.id === actor.id || target.isSuperuser || !target.isActive) {
        throw new RegstackError('IMPERSONATION_NOT_ALLOWED', 'This user cannot be impersonated');
      }
      const impersonation: Impersonation = {
        impersonatorId: actor.id,
        ttlSeconds: Math.min(deps.config.impersonationTtlSeconds, deps.config.jwtTtlSeconds),
      };
      // The session and its audit record commit together (R65).
      const session = await atomically(deps, async (tx) => {
        const opened = await sessions.start(target, request, impersonation);
        await tx.auditEvents.record(
          {
            event: 'admin_impersonation_started',
            actorId: actor.id,
            subjectId: target.id,
            ...request,
            details: { sessionId: opened.id, reason: input.reason, expiresAt: opened.expiresAt.toISOString() },
          },
          deps.clock.now(),
        );
        return opened;
      });
      const token = await sessions.tokenFor(session, impersonation);
      deps.events.emit('admin_impersonation_started', {
        actorId: actor.id,
        userId: target.id,
        sessionId: session.id,
        reason: input.reason,
        expiresAt: token.expiresAt,
        request,
      });
      return {
        accessToken: token.accessToken,
        tokenType: 'Bearer',
        expiresIn: token.expiresIn,
        expiresAt: token.expiresAt,
        sessionId: session.id,
        user: toPublicUser(target),
      };
    },

    /** Ends the impersonation session `auth` (the caller's own), recorded with its administrator as the actor. */
    async stopImpersonating(auth: AuthenticatedSession, request: RequestMeta): Promise<{ status: 'ended' }> {
      const actorId = auth.impersonatorId;
      if (actorId === null)
        throw new RegstackError('NOT_IMPERSONATING', 'This session is not an impersonation session');
      await atomically(deps, async (tx) => {
        const now = deps.clock.now();
        await tx.revocations.revokeSession(auth.user.id, auth.sessionId, now, 'impersonation_ended');
        await tx.auditEvents.record(
          {
            event: 'admin_impersonation_ended',
            actorId,
            subjectId: auth.user.id,
            ...request,
            details: { sessionId: auth.sessionId },
          },
          now,
        );
      });
      deps.events.emit('admin_impersonation_ended', {
        actorId,
        userId: auth.user.id,
        sessionId: auth.sessionId,
        request,
      });
      return { status: 'ended' };
    },

    async userSessions(id: string): Promise<AdminSessionInfo[]> {
      await targetOf(id);
      // No session here is the admin's own: `current` is false for all.
      return (await sessions.listLive(id)).map((s) => toSessionInfo(s, ''));
    },

    async revokeSessions(actor: User, id: string, request: RequestMeta): Promise<AdminCountResult> {
      await targetOf(id);
      // revokeAll records `sessions_revoked` with the admin as actor and the reason `admin_revoked`.
      const revoked = await sessions.revokeAll(id, 'admin_revoked', request, actor.id);
      deps.events.emit('admin_sessions_revoked', { actorId: actor.id, userId: id, revoked, request });
      return { status: 'ok', count: revoked };
    },

    /** Starts the ordinary resend flow for the user's address (the mail follows from the outbox). */
    async resendVerification(actor: User, id: string, request: RequestMeta): Promise<{ status: 'accepted' }> {
      const target = await targetOf(id);
      if (target.isVerified) throw new RegstackError('USER_ALREADY_VERIFIED', 'This user is already verified');
      await parts.registration.resendVerification(target.email, request);
      await openRepos(deps).auditEvents.record(
        { event: 'admin_verification_resent', actorId: actor.id, subjectId: id, ...request },
        deps.clock.now(),
      );
      deps.events.emit('admin_verification_resent', { actorId: actor.id, userId: id, request });
      return { status: 'accepted' };
    },

    /** Starts the ordinary forgot-password flow for the user: the admin never sees or sets the password (R46). */
    async sendPasswordReset(actor: User, id: string, request: RequestMeta): Promise<{ status: 'accepted' }> {
      const target = await targetOf(id);
      await parts.passwordReset.forgotPassword(target.email, request);
      await openRepos(deps).auditEvents.record(
        { event: 'admin_password_reset_sent', actorId: actor.id, subjectId: id, ...request },
        deps.clock.now(),
      );
      deps.events.emit('admin_password_reset_sent', { actorId: actor.id, userId: id, request });
      return { status: 'accepted' };
    },

    async listPending(input: {
      cursor?: string | undefined;
      limit: number;
    }): Promise<AdminPage<AdminPendingRegistration>> {
      const beforeId =
        input.cursor === undefined ? undefined : beforeIdFrom(cursors.decode('pending', null, input.cursor));
      const rows = await openRepos(deps).pendingRegistrations.listLive(deps.clock.now(), input.limit + 1, beforeId);
      const items = rows.slice(0, input.limit).map(
        (p): AdminPendingRegistration => ({
          id: p.id,
          email: p.email,
          fullName: p.fullName ?? null,
          createdAt: p.createdAt,
          expiresAt: p.expiresAt,
        }),
      );
      const last = items.at(-1);
      return {
        items,
        nextCursor: rows.length > input.limit && last ? cursors.encode('pending', null, { id: last.id }) : null,
      };
    },

    promotePending: (actor: User | null, email: string, request: RequestMeta) =>
      promote(actor?.id ?? null, email, request),

    async deletePending(actor: User, email: string, request: RequestMeta): Promise<AdminCountResult> {
      const count = await atomically(deps, async (tx) => {
        const deleted = await tx.pendingRegistrations.deleteByEmail(email);
        if (deleted === 0) throw pendingNotFound();
        await tx.auditEvents.record(
          { event: 'admin_pending_deleted', actorId: actor.id, ...request, details: { deleted } },
          deps.clock.now(),
        );
        return deleted;
      });
      deps.events.emit('admin_pending_deleted', { actorId: actor.id, email, deleted: count, request });
      return { status: 'ok', count };
    },

    async listAudit(input: AuditQuery): Promise<AdminPage<AdminAuditEvent>> {
      const fingerprint = {
        userId: input.userId ?? null,
        actorId: input.actorId ?? null,
        types: input.types ? [...new Set(input.types)].sort() : null,
        from: input.from?.toISOString() ?? null,
        to: input.to?.toISOString() ?? null,
      };
      const beforeId =
        input.cursor === undefined ? undefined : beforeIdFrom(cursors.decode('audit', fingerprint, input.cursor));
      const rows = await openRepos(deps).auditEvents.listPage({
        limit: input.limit + 1,
        subjectId: input.userId,
        actorId: input.actorId,
        types: input.types,
        from: input.from,
        to: input.to,
        beforeId,
      });
      const items = rows.slice(0, input.limit).map(
        (e): AdminAuditEvent => ({
          id: e.id,
          type: e.event,
          actorId: e.actorId ?? null,
          subjectId: e.subjectId ?? null,
          ip: e.ip ?? null,
          userAgent: e.userAgent ?? null,
          details: (typeof e.details === 'string' ? JSON.parse(e.details) : e.details) ?? null,
          createdAt: e.createdAt,
        }),
      );
      const last = items.at(-1);
      return {
        items,
        nextCursor: rows.length > input.limit && last ? cursors.encode('audit', fingerprint, { id: last.id }) : null,
      };
    },

    /**
     * Makes `email` an active, verified superuser: creates the account, or promotes the existing one. Idempotent.
     * Never changes an existing password: a `password` given for an existing account must be its password
     * (ADMIN_PASSWORD_CONFLICT otherwise). A new account's password must pass the registration policy; with no
     * password the account has none until its owner sets one through a reset link.
     */
    async bootstrapAdmin(input: BootstrapAdminInput): Promise<BootstrapAdminResult> {
      const email = parseField(emailSchema, input.email, 'email');
      const fullName =
        input.fullName === undefined ? undefined : parseField(fullNameSchema, input.fullName, 'fullName');
      for (let round = 0; round < 2; round++) {
        const existing = await openRepos(deps).users.findByEmail(email);
        if (existing) {
          if (input.password !== undefined) {
            const hash = await openRepos(deps).users.currentPasswordHash(existing.id);
            if (!hash || !(await deps.hasher.verify(hash, input.password))) {
              throw new RegstackError(
                'ADMIN_PASSWORD_CONFLICT',
                'This account exists with another password; bootstrapAdmin never changes an existing password',
              );
            }
          }
          const changes: AdminUserFields = {};
          if (!existing.isSuperuser) changes.isSuperuser = true;
          if (!existing.isActive) changes.isActive = true;
          if (!existing.isVerified) changes.isVerified = true;
          if (fullName !== undefined && !existing.fullName) changes.fullName = fullName;
          if (Object.keys(changes).length === 0) return { status: 'unchanged', user: toPublicUser(existing) };
          await atomically(deps, async (tx) => {
            const now = deps.clock.now();
            await tx.users.updateAdminFields(existing.id, changes, now);
            await tx.auditEvents.record(
              {
                event: 'admin_bootstrap',
                subjectId: existing.id,
                ...IN_PROCESS,
                details: { created: false, changed: Object.keys(changes) },
              },
              now,
            );
          });
          const user = toPublicUser({ ...existing, ...changes } as User);
          deps.events.emit('admin_bootstrapped', { user, created: false });
          return { status: 'promoted', user };
        }
        // Policy before hashing (R2, R5), and the hash outside any transaction (R7).
        if (input.password !== undefined) assertNewPasswordAllowed(deps, input.password, email);
        const hashedPassword = input.password === undefined ? null : await deps.hasher.hash(input.password);
        const created = await atomically(deps, async (tx) => {
          const now = deps.clock.now();
          const user = await tx.users.insertIfEmailFree(
            { email, hashedPassword, fullName: fullName ?? null, isActive: true, isVerified: true, isSuperuser: true },
            now,
          );
          if (!user) return null;
          // The address is now an account: its pending sign-ups' links must lead nowhere.
          await tx.pendingRegistrations.deleteByEmail(email);
          await tx.auditEvents.record(
            {
              event: 'admin_bootstrap',
              actorId: user.id,
              subjectId: user.id,
              ...IN_PROCESS,
              details: { created: true },
            },
            now,
          );
          return user;
        });
        if (created) {
          const user = toPublicUser(created);
          deps.events.emit('admin_bootstrapped', { user, created: true });
          return { status: 'created', user };
        }
        // Another caller created the account in between: promote it on the next round.
      }
      throw new RegstackError('INTERNAL_ERROR', 'bootstrapAdmin could not settle the account');
    },

    /** `regstack.promotePending`: as `pending.promote`, with no acting admin. */
    promotePendingInProcess: (email: string) => promote(null, parseField(emailSchema, email, 'email'), IN_PROCESS),
  };
}

export type AdminService = ReturnType<typeof createAdminService>;
