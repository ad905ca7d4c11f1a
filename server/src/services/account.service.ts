/**
 * The signed-in user's own account (R8, R19, R41, R43, R45, R47).
 *
 * - `update` takes an explicit allowlist (the full name): no email, flags or credentials (R47).
 * - `changePassword` re-checks the current password through the login lockout (R19), checks the new one
 *   against the policy (R1–R5), kills every session and outstanding token (R8, R27, R41), notifies the
 *   user, and hands the caller a fresh session so this client carries on.
 * - `changeEmail` re-checks the password, then mails a confirmation link to the NEW address and a notice
 *   with a "this wasn't me" path to the OLD one. Its answer is identical whether or not the new address is
 *   taken (R13); a taken address simply gets no link. `confirmEmailChange` redeems the link once, moves
 *   the account under the unique index (re-checked at that moment, R43), kills sessions and tokens, and
 *   clears the old address's lockout counter.
 * - Each change that re-checked the password commits only while that password is still the stored one
 *   (compare-and-set on the hash, R68): a reset or another change that committed in between wins, and this
 *   request fails with CREDENTIALS_CHANGED instead of undoing it. On SQL the check takes the user row's lock, so a
 *   concurrent reset waits and then ends the sessions this change opened; on MongoDB, which has no transactions,
 *   the change reads the hash again after its writes and withdraws what it made if a reset replaced it.
 * - `deleteAccount` re-checks the password, then removes the user and every row that belongs to them
 *   (sessions, revocations, tokens and their claims, codes, provider identities, pending sign-ups, lockout counters, audit rows)
 *   — their tokens die because their sessions are gone (R45). A later sign-up gets a new id. The last active
 *   superuser cannot delete their own account (R46, policies/last-admin.ts); the admin's `users.delete` runs the
 *   same cascade (`removeUserRows`).
 */
import type {
  AccountMe,
  EmailChangeRequestedResult,
  PasswordChangedResult,
  PublicUser,
  ReauthenticationInfo,
} from '@regstack/shared';
import type { User } from '../db/entities/index.ts';
import { RegstackError } from '../errors/regstack-error.ts';
import type { RequestMeta } from '../events.ts';
import type { Repositories } from '../repositories/index.ts';
import { generateOneTimeToken, hashOneTimeToken } from '../security/one-time-tokens.ts';
import { atomically, openRepos, type ServiceDeps } from './deps.ts';
import type { LockoutService, RateLimiter } from './lockout.service.ts';
import { toPublicUser } from './mappers.ts';
import { limitClient } from './policies/client-limit.ts';
import { type AdminGuard, lastActiveAdmin } from './policies/last-admin.ts';
import { credentialsChanged, reauthenticate, reauthenticationOf } from './policies/reauthentication.ts';
import { assertNewPasswordAllowed } from './registration.service.ts';
import type { AuthenticatedSession, SessionService } from './session.service.ts';

/**
 * Everything that belongs to a user whose row the caller just deleted, in the caller's transaction: sessions,
 * revocations, tokens and their claims, codes, provider identities, pending sign-ups, lockout counters, audit rows — and the notice
 * mail (R45). Self-deletion and the admin's `users.delete` both end here, so the cascade is the same.
 */
export async function removeUserRows(
  deps: ServiceDeps,
  lockout: LockoutService,
  tx: Repositories,
  user: Pick<User, 'id' | 'email' | 'fullName'>,
): Promise<void> {
  const { id, email } = user;
  await tx.sessions.deleteAllForUser(id);
  await tx.revocations.deleteAllForUser(id);
  await tx.oneTimeTokens.deleteAllForSubject(id);
  await tx.mfaCodes.deleteAllForUser(id);
  await tx.mfaFactors.deleteAllForUser(id);
  await tx.oauth.deleteAllForUser(id);
  await tx.pendingRegistrations.deleteByEmail(email);
  await tx.loginAttempts.clear(lockout.keyFor(email));
  await tx.auditEvents.deleteForUser(id);
  await deps.mailer.forgetRecipient(email);
  await deps.mailer.enqueue('account_deleted', email, deps.templates.accountDeleted({ fullName: user.fullName }));
}

export function createAccountService(
  deps: ServiceDeps,
  parts: { lockout: LockoutService; rateLimiter: RateLimiter; sessions: SessionService; adminGuard: AdminGuard },
) {
  const { lockout, rateLimiter, sessions, adminGuard } = parts;

  return {
    /** The signed-in user, phone unmasked (their own), and the administrator acting as them, if any (issue 17). */
    async me(auth: AuthenticatedSession): Promise<AccountMe> {
      const user = toPublicUser(auth.user, { revealPhone: true });
      if (auth.impersonatorId === null) return { ...user, impersonatedBy: null };
      // `authenticate` just found this administrator active; a row deleted since shows as its id alone.
      const admin = await openRepos(deps).users.findById(auth.impersonatorId);
      return { ...user, impersonatedBy: { id: auth.impersonatorId, email: admin?.email ?? '' } };
    },

    /** How the owner re-authenticates a sensitive change: a password, or a recent sign-in (policies/reauthentication.ts). */
    async reauthentication(auth: AuthenticatedSession): Promise<ReauthenticationInfo> {
      return reauthenticationOf(deps, openRepos(deps), auth);
    },

    /** Renames the user; answers as `me` does, so a client's copy stays whole. */
    async update(auth: AuthenticatedSession, fields: { fullName: string | null }): Promise<AccountMe> {
      const now = deps.clock.now();
      // The name and its search words (issue 17) change together.
      await atomically(deps, (tx) => tx.users.updateProfile(auth.user.id, { fullName: fields.fullName }, now));
      return this.me({ ...auth, user: { ...auth.user, fullName: fields.fullName } });
    },

    async changePassword(
      auth: AuthenticatedSession,
      input: { currentPassword?: string | undefined; newPassword: string },
      request: RequestMeta,
    ): Promise<PasswordChangedResult> {
      const repos = openRepos(deps);
      await limitClient(rateLimiter, repos, request, 'change-password', deps.config.changePasswordRateLimit);
      const verified = await reauthenticate(deps, lockout, repos, auth, input.currentPassword);
      assertNewPasswordAllowed(deps, input.newPassword, auth.user.email);
      const hashed = await deps.hasher.hash(input.newPassword); // before the transaction (R7)
      // The new hash, the end of every session and link, the notice and the new session commit together — and
      // only over the password just verified (R68): first, so the row's lock orders this against a reset.
      const session = await atomically(deps, async (tx) => {
        const now = deps.clock.now();
        if (!(await tx.users.replacePasswordHashIf(auth.user.id, verified, hashed, now))) throw credentialsChanged();
        await sessions.revokeAll(auth.user.id, 'password_changed', request);
        await tx.oneTimeTokens.revokeAllForSubject(auth.user.id, now);
        await deps.mailer.enqueue(
          'password_changed',
          auth.user.email,
          deps.templates.passwordChanged({ fullName: auth.user.fullName }),
        );
        await tx.auditEvents.record(
          { event: 'password_changed', actorId: auth.user.id, subjectId: auth.user.id, ...request },
          now,
        );
        return sessions.start(auth.user, request);
      });
      // Without transactions (MongoDB) a reset may land between the writes above: if its hash replaced ours,
      // the session we opened must not outlive it (R41, R68).
      if ((await openRepos(deps).users.currentPasswordHash(auth.user.id)) !== hashed) {
        await atomically(deps, (tx) =>
          tx.revocations.revokeSession(auth.user.id, session.id, deps.clock.now(), 'password_reset'),
        );
        throw credentialsChanged();
      }
      const { accessToken, expiresIn } = await sessions.tokenFor(session);
      deps.events.emit('password_changed', { userId: auth.user.id, request });
      return { status: 'password_changed', accessToken, tokenType: 'Bearer', expiresIn };
    },

    async changeEmail(
      auth: AuthenticatedSession,
      input: { newEmail: string; currentPassword?: string | undefined },
      request: RequestMeta,
    ): Promise<EmailChangeRequestedResult> {
      const repos = openRepos(deps);
      await limitClient(rateLimiter, repos, request, 'change-email', deps.config.changeEmailRateLimit);
      const verified = await reauthenticate(deps, lockout, repos, auth, input.currentPassword);
      if (input.newEmail === auth.user.email) {
        throw new RegstackError('EMAIL_UNCHANGED', 'That is already your email address');
      }
      // The link, both mails and the audit row are stored together (R65), only while the password just verified
      // is still the account's (R68): a reset in between revokes every link, so a link issued after it would
      // hand a thief the account.
      const result = await atomically(deps, async (tx) => {
        const now = deps.clock.now();
        if (!(await tx.users.holdIfPasswordHash(auth.user.id, verified, now))) throw credentialsChanged();
        const expiresAt = new Date(now.getTime() + deps.config.emailChangeTokenTtlSeconds * 1000);
        const result: EmailChangeRequestedResult = {
          status: 'confirmation_sent',
          email: input.newEmail,
          expiresAt,
        };
        // Same answer for a taken address (R13): it just gets no link. Confirming re-checks anyway.
        const taken = await tx.users.findByEmail(input.newEmail);
        if (!taken && (await deps.mailer.reserve(input.newEmail))) {
          const { token, hash } = generateOneTimeToken();
          await tx.oneTimeTokens.issue(
            {
              tokenHash: hash,
              purpose: 'email_change',
              subjectId: auth.user.id,
              targetEmail: input.newEmail,
              expiresAt,
            },
            now,
          );
          await deps.mailer.enqueue(
            'email_change_confirmation',
            input.newEmail,
            deps.templates.emailChangeConfirmation({
              token,
              ttlSeconds: deps.config.emailChangeTokenTtlSeconds,
              newEmail: input.newEmail,
              fullName: auth.user.fullName,
            }),
          );
        }
        // The current address always hears about it, with a "this wasn't me" path (R43).
        await deps.mailer.enqueue(
          'email_changed',
          auth.user.email,
          deps.templates.emailChanged({ newEmail: input.newEmail, fullName: auth.user.fullName }),
        );
        await tx.auditEvents.record(
          { event: 'email_change_requested', actorId: auth.user.id, subjectId: auth.user.id, ...request },
          now,
        );
        return result;
      });
      // Without transactions (MongoDB): a reset that landed meanwhile must still kill the link (R27, R68).
      if ((await openRepos(deps).users.currentPasswordHash(auth.user.id)) !== verified) {
        await atomically(deps, (tx) => tx.oneTimeTokens.revokeAllForSubject(auth.user.id, deps.clock.now()));
        throw credentialsChanged();
      }
      deps.events.emit('email_change_requested', { userId: auth.user.id, request });
      return result;
    },

    async confirmEmailChange(token: string, request: RequestMeta): Promise<{ user: PublicUser }> {
      const repos = openRepos(deps);
      await limitClient(rateLimiter, repos, request, 'confirm-email', deps.config.confirmEmailChangeRateLimit);
      const invalid = () => new RegstackError('INVALID_OR_EXPIRED_TOKEN', 'This link is invalid or has expired');
      // Redeeming the link, moving the account and ending its sessions commit together (R26, R43, R65).
      const tokenHash = hashOneTimeToken(token);
      const { user, targetEmail } = await atomically(deps, async (tx) => {
        // The user row first, as every credential change does: one lock order, no deadlock with a password change
        // or reset that is revoking this very link (R68).
        const peek = await tx.oneTimeTokens.findLive(tokenHash, 'email_change', deps.clock.now());
        if (peek) await tx.users.lockForChange(peek.subjectId, deps.clock.now());
        const consumed = await tx.oneTimeTokens.consumeOnce(tokenHash, 'email_change', deps.clock.now());
        if (!consumed?.targetEmail) throw invalid();
        const user = await tx.users.findById(consumed.subjectId);
        if (!user?.isActive) throw invalid();
        // A link asked for under a password that has since been reset or changed is dead, whatever order the
        // revocation of links and the request's own writes landed in (R68; without transactions on MongoDB).
        const credentialCutoff = await tx.revocations.cutoffForReasons(user.id, ['password_reset', 'password_changed']);
        if (credentialCutoff && consumed.createdAt.getTime() <= credentialCutoff.getTime()) throw invalid();
        const oldEmail = user.email;
        const now = deps.clock.now();
        // The unique index decides at this moment (R43): an address taken since the request fails cleanly.
        if (!(await tx.users.updateEmailIfFree(user.id, consumed.targetEmail, now))) {
          throw new RegstackError('EMAIL_ALREADY_REGISTERED', 'That address now belongs to another account');
        }
        await sessions.revokeAll(user.id, 'email_changed', request);
        await tx.oneTimeTokens.revokeAllForSubject(user.id, now);
        await lockout.clear(tx.loginAttempts, lockout.keyFor(oldEmail));
        await tx.auditEvents.record(
          { event: 'email_changed', actorId: user.id, subjectId: user.id, ...request, details: {} },
          now,
        );
        return { user, targetEmail: consumed.targetEmail };
      });
      const dto = toPublicUser({ ...user, email: targetEmail, isVerified: true });
      deps.events.emit('email_changed', { user: dto, request });
      return { user: dto };
    },

    async deleteAccount(
      auth: AuthenticatedSession,
      input: { currentPassword?: string | undefined },
      request: RequestMeta,
    ): Promise<{ status: 'deleted' }> {
      if (!deps.config.enableAccountDeletion) {
        throw new RegstackError('FEATURE_DISABLED', 'Account deletion is disabled');
      }
      const repos = openRepos(deps);
      await limitClient(rateLimiter, repos, request, 'delete-account', deps.config.deleteAccountRateLimit);
      const verified = await reauthenticate(deps, lockout, repos, auth, input.currentPassword);
      // Everything of the user goes in one transaction: no half-deleted account (R45, R65).
      const { id } = auth.user;
      const remove = () =>
        atomically(deps, async (tx) => {
          // The user row first: from here on no token of theirs authenticates, even before the rest is gone. Only
          // while the password just verified is still theirs (R68): a reset in between keeps the account.
          if (!(await tx.users.deleteByIdIfPasswordHash(id, verified))) {
            if (await tx.users.findById(id)) throw credentialsChanged();
            throw new RegstackError('UNAUTHENTICATED', 'Invalid or expired access token');
          }
          await removeUserRows(deps, lockout, tx, auth.user);
        });
      // A superuser's own deletion must leave another active one (R46): decided under the admin lease.
      if (auth.user.isSuperuser) {
        await adminGuard.guard(async () => {
          if ((await openRepos(deps).users.countActiveSuperusers(id)) === 0) throw lastActiveAdmin();
          await remove();
        });
      } else {
        await remove();
      }
      deps.events.emit('user_deleted', { userId: id, request });
      return { status: 'deleted' };
    },
  };
}

export type AccountService = ReturnType<typeof createAccountService>;
