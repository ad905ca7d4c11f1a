/**
 * Forgotten passwords (R11, R18, R22–R30). `forgotPassword` always answers the same after one durable
 * insert (a job in the outbox); the lookup, token and mail happen in that job, after the response — so
 * neither the body nor the timing says whether the address has an account, the mail provider cannot
 * influence either (R11), and a crash right after the answer still sends the mail exactly once. It changes nothing about the account (R30).
 * `resetPassword` checks the new password first (so a weak one does not burn the link), redeems the token
 * exactly once (R26), then: stores the new hash, kills every session (R41) and every outstanding token
 * (R27), clears the login lockout (R18 — a locked-out owner can always recover), and notifies the stored
 * address. It never logs the user in (R29). A reset always stands (R68): the new hash is written first, so on SQL
 * the user row's lock orders it against a concurrent password change (which re-checks the old hash and fails),
 * and the sessions' cutoff reaches every session that exists when it commits, a change's new one included.
 */

import { derivedOutboxId } from '../email/mailer.ts';
import { RegstackError } from '../errors/regstack-error.ts';
import type { RequestMeta } from '../events.ts';
import { generateOneTimeToken, hashOneTimeToken } from '../security/one-time-tokens.ts';
import { atomically, openRepos, type ServiceDeps } from './deps.ts';
import type { LockoutService, RateLimiter } from './lockout.service.ts';
import { limitClient } from './policies/client-limit.ts';
import { assertNewPasswordAllowed } from './registration.service.ts';
import type { SessionService } from './session.service.ts';

const RESET_JOB = 'password_reset';

export function createPasswordResetService(
  deps: ServiceDeps,
  parts: { lockout: LockoutService; rateLimiter: RateLimiter; sessions: SessionService },
) {
  const assertEnabled = () => {
    if (!deps.config.enablePasswordReset) throw new RegstackError('FEATURE_DISABLED', 'Password reset is disabled');
  };
  const invalid = () => new RegstackError('INVALID_OR_EXPIRED_TOKEN', 'This link is invalid or has expired');

  /**
   * Without transactions (MongoDB) a password change whose compare-and-set raced this reset could still land
   * after it. The reset must stand (R68): while the stored hash is not the reset's, write it again and end every
   * session again. On SQL the first read finds the reset's hash and this does nothing.
   */
  async function standFirm(userId: string, hashedPassword: string, request: RequestMeta): Promise<void> {
    for (let round = 0; round < 3; round++) {
      if ((await openRepos(deps).users.currentPasswordHash(userId)) === hashedPassword) return;
      await atomically(deps, async (tx) => {
        await tx.users.updatePasswordHash(userId, hashedPassword, deps.clock.now());
        await parts.sessions.revokeAll(userId, 'password_reset', request);
      });
    }
  }

  // The deferred half of forgotPassword. Idempotent per job: if a retry finds its mail already queued it stops,
  // so a crash between queueing and finishing never sends a second (or a dead) link.
  deps.mailer.handleJobs(RESET_JOB, async (payload, job) => {
    const { email, request } = payload as { email: string; request: RequestMeta };
    const repos = openRepos(deps);
    const mailId = derivedOutboxId(job.id, 'mail');
    if (await repos.emailOutbox.findById(mailId)) return;
    const user = await repos.users.findByEmail(email);
    if (!user?.isActive) return;
    if (!(await deps.mailer.reserve(user.email))) return; // R21: keep the earlier link alive
    // The link and its mail are stored together, or neither is (R65).
    await atomically(deps, async (tx) => {
      const now = deps.clock.now();
      const { token, hash } = generateOneTimeToken();
      await tx.oneTimeTokens.issue(
        {
          tokenHash: hash,
          purpose: 'password_reset',
          subjectId: user.id,
          expiresAt: new Date(now.getTime() + deps.config.passwordResetTokenTtlSeconds * 1000),
        },
        now,
      );
      // Mail goes to the stored address, never the submitted string (R53, CVE-2019-19844).
      const rendered = deps.templates.passwordReset({
        token,
        ttlSeconds: deps.config.passwordResetTokenTtlSeconds,
        fullName: user.fullName,
      });
      await deps.mailer.enqueue('password_reset', user.email, rendered, { id: mailId });
      await tx.auditEvents.record({ event: 'password_reset_requested', subjectId: user.id, ...request }, now);
    });
    deps.events.emit('password_reset_requested', { userId: user.id, request });
  });

  return {
    async forgotPassword(email: string, request: RequestMeta): Promise<{ status: 'accepted' }> {
      assertEnabled();
      await limitClient(parts.rateLimiter, openRepos(deps), request, 'forgot', deps.config.forgotPasswordRateLimit);
      // One durable insert on every path: the answer and its timing cannot depend on the account, the work
      // survives a crash right after the answer, and the mail provider is never on the request path.
      await deps.mailer.enqueueJob(RESET_JOB, { email, request });
      return { status: 'accepted' };
    },

    async resetPassword(
      token: string,
      newPassword: string,
      request: RequestMeta,
    ): Promise<{ status: 'password_reset' }> {
      assertEnabled();
      const repos = openRepos(deps);
      await limitClient(parts.rateLimiter, repos, request, 'reset', deps.config.resetPasswordRateLimit);
      const hash = hashOneTimeToken(token);
      const peek = await repos.oneTimeTokens.findLive(hash, 'password_reset', deps.clock.now());
      if (!peek) throw invalid();
      const user = await repos.users.findById(peek.subjectId);
      if (!user?.isActive) throw invalid();
      assertNewPasswordAllowed(deps, newPassword, user.email);
      const hashedPassword = await deps.hasher.hash(newPassword);
      // Redeeming the link and everything it causes commit together, or none of it does (R26, R65).
      await atomically(deps, async (tx) => {
        // The user row first, as every credential change does: one lock order, no deadlock with a password change.
        await tx.users.lockForChange(user.id, deps.clock.now());
        // The single-use decision (R26): whoever loses the race gets the same generic error.
        const consumed = await tx.oneTimeTokens.consumeOnce(hash, 'password_reset', deps.clock.now());
        if (!consumed || consumed.subjectId !== user.id) throw invalid();
        const now = deps.clock.now();
        // The hash first: on SQL this takes the row's lock, so the cutoff below sees every committed session (R68).
        await tx.users.updatePasswordHash(user.id, hashedPassword, now);
        await parts.sessions.revokeAll(user.id, 'password_reset', request);
        await tx.oneTimeTokens.revokeAllForSubject(user.id, now);
        await parts.lockout.clear(tx.loginAttempts, parts.lockout.keyFor(user.email));
        // Security notices are not throttled (R21 applies to links sent on request); the reset is rate limited.
        await deps.mailer.enqueue(
          'password_changed',
          user.email,
          deps.templates.passwordChanged({ fullName: user.fullName }),
        );
        await tx.auditEvents.record(
          { event: 'password_reset_completed', actorId: user.id, subjectId: user.id, ...request },
          now,
        );
      });
      await standFirm(user.id, hashedPassword, request);
      deps.events.emit('password_reset_completed', { userId: user.id, request });
      return { status: 'password_reset' };
    },
  };
}

export type PasswordResetService = ReturnType<typeof createPasswordResetService>;
