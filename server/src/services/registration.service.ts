/**
 * Sign-up and email verification (SPEC §4, R11, R12, R22–R27, R66, R67).
 *
 * With `require_verification` (the default) a sign-up creates only a *pending attempt* and mails a one-time
 * link bound to it; the account row is created when the link is followed, so an unverified address never
 * occupies `users`. Registering an address that already has an account answers exactly like a new sign-up
 * — same status, same body, one argon2 hash on both paths — and mails the owner a notice instead (R12).
 * Resending a verification link always answers the same, and does its work after the response (R11).
 *
 * Whoever controls the mailbox decides the password (R67): every sign-up keeps its own attempt and password
 * hash, never overwritten by a later one, and a link completes only with the password chosen at its own
 * sign-up while more than one attempt for the address is alive, if it was issued while another was, and always
 * if it was resent — so a stranger who signs up with someone's address cannot have the owner's click create an
 * account with the stranger's password. A wrong password
 * counts toward the address's login lockout (R19), so a link is no password-guessing oracle. Creating the
 * account removes every other attempt of the address, and so kills their links, in the same transaction.
 */
import { normalizePassword, type RegisterResult } from '@regstack/shared';
import type { PendingRegistration, TokenPurpose } from '../db/entities/index.ts';
import { derivedOutboxId } from '../email/mailer.ts';
import { RegstackError } from '../errors/regstack-error.ts';
import type { RequestMeta } from '../events.ts';
import type { Repositories } from '../repositories/index.ts';
import { generateOneTimeToken, hashOneTimeToken } from '../security/one-time-tokens.ts';
import { atomically, openRepos, type ServiceDeps } from './deps.ts';
import type { LockoutService, RateLimiter } from './lockout.service.ts';
import { toPublicUser } from './mappers.ts';
import { limitClient } from './policies/client-limit.ts';
import { INVALID_CREDENTIALS_MESSAGE } from './policies/invalid-credentials.ts';

export function assertNewPasswordAllowed(deps: Pick<ServiceDeps, 'passwordPolicy'>, password: string, email: string) {
  const problem = deps.passwordPolicy.check(password, { email });
  if (problem) throw new RegstackError(problem.code, problem.message, { fieldErrors: { password: [problem.message] } });
}

const RESEND_JOB = 'resend_verification';

/**
 * The link purposes verifyEmail accepts, and no other endpoint does (R24). An `email_verification_password`
 * link completes a sign-up attempt only with that attempt's password (R67): see register, the resend job and
 * verifyEmail.
 */
const VERIFICATION_PURPOSES = [
  'email_verification',
  'email_verification_password',
] as const satisfies readonly TokenPurpose[];
type VerificationPurpose = (typeof VERIFICATION_PURPOSES)[number];

/**
 * The most sign-up attempts one address keeps alive; a newer one pushes out the oldest. Together with the
 * per-recipient mail limit (R21) this bounds what a flood of sign-ups for one address can store.
 */
export const MAX_PENDING_ATTEMPTS_PER_ADDRESS = 5;

export function createRegistrationService(
  deps: ServiceDeps,
  parts: { rateLimiter: RateLimiter; lockout: LockoutService },
) {
  const verificationTtlMs = deps.config.verificationTokenTtlSeconds * 1000;

  /**
   * Issues a link for `subjectId` and queues its mail, in the caller's transaction (R65). The new link replaces
   * the subject's earlier verification links of either purpose (R27).
   */
  async function issueLink(
    repos: Repositories,
    subjectId: string,
    email: string,
    request: RequestMeta,
    purpose: VerificationPurpose,
    mailId?: string,
  ) {
    const now = deps.clock.now();
    const { token, hash } = generateOneTimeToken();
    await repos.oneTimeTokens.revokeAllForSubject(subjectId, now, VERIFICATION_PURPOSES);
    await repos.oneTimeTokens.issue(
      {
        tokenHash: hash,
        purpose,
        subjectId,
        expiresAt: new Date(now.getTime() + verificationTtlMs),
      },
      now,
    );
    await deps.mailer.enqueue(
      'verification',
      email,
      deps.templates.verification({ token, ttlSeconds: deps.config.verificationTokenTtlSeconds }),
      mailId ? { id: mailId } : {},
    );
    deps.events.emit('verification_requested', { email, request });
  }

  async function sendVerification(
    subjectId: string,
    email: string,
    request: RequestMeta,
    purpose: VerificationPurpose,
    mailId?: string,
  ) {
    // Over the per-recipient limit (R21): send nothing and keep the earlier link alive.
    if (!(await deps.mailer.reserve(email))) return;
    // The new link and its mail are stored together, or neither is (R65).
    await atomically(deps, (repos) => issueLink(repos, subjectId, email, request, purpose, mailId));
  }

  /**
   * The password of one attempt, checked under the address's login lockout (R17, R19): a wrong one counts as
   * a failed sign-in of that address, so holding a link buys no faster guessing than the login form.
   */
  async function checkAttemptPassword(
    repos: Repositories,
    attempt: PendingRegistration,
    password: string,
    request: RequestMeta,
  ) {
    const reservation = await parts.lockout.reserve(repos.loginAttempts, parts.lockout.keyFor(attempt.email));
    const ok = await reservation.check(
      async () => (await deps.hasher.verify(attempt.hashedPassword, password)) || false,
    );
    if (!ok) {
      await repos.auditEvents.record({ event: 'verify_password_failed', ...request }, deps.clock.now());
      // The same answer as a wrong login password (R9); the link stays usable.
      throw new RegstackError('INVALID_CREDENTIALS', INVALID_CREDENTIALS_MESSAGE);
    }
    await reservation.release();
  }

  // The deferred half of resendVerification: idempotent per job (see password-reset.service.ts).
  deps.mailer.handleJobs(RESEND_JOB, async (payload, job) => {
    const { email, request } = payload as { email: string; request: RequestMeta };
    const repos = openRepos(deps);
    const mailId = derivedOutboxId(job.id, 'mail');
    if (await repos.emailOutbox.findById(mailId)) return;
    // A resend re-links the newest live attempt only: it is the sign-up most likely still in progress, and one
    // mail per resend keeps within the mail limit. Older attempts keep their own links.
    //
    // The resent link always needs the attempt's password (R67), however many attempts are live: anyone may
    // ask for a resend, so it proves nothing about who chose that password. Without this, a stranger's attempt
    // that outlived the owner's own (or pushed it out) would be the one live attempt, the owner's resend would
    // mail its link, and the owner's click would create the account with the stranger's password.
    const pending = await repos.pendingRegistrations.findNewestLive(email, deps.clock.now());
    if (pending) {
      await sendVerification(pending.id, pending.email, request, 'email_verification_password', mailId);
      return;
    }
    // An account made without verification already has the password its owner chose: its link needs none.
    const user = await repos.users.findByEmail(email);
    if (user && !user.isVerified && user.isActive) {
      await sendVerification(user.id, user.email, request, 'email_verification', mailId);
    }
  });

  return {
    async register(
      input: { email: string; password: string; fullName?: string | undefined },
      request: RequestMeta,
    ): Promise<RegisterResult> {
      if (!deps.config.allowRegistration) {
        throw new RegstackError('REGISTRATION_DISABLED', 'Registration is disabled');
      }
      await limitClient(parts.rateLimiter, openRepos(deps), request, 'register', deps.config.registerRateLimit);
      // Policy before hashing (R2, R5): length, common passwords, personal words — with the reason.
      assertNewPasswordAllowed(deps, input.password, input.email);
      // One hash on every path, so a taken address costs the same time as a free one (R12).
      const hashedPassword = await deps.hasher.hash(input.password);
      const now = deps.clock.now();
      const repos = openRepos(deps);
      const pendingResult: RegisterResult = {
        status: 'pending_verification',
        email: input.email,
        expiresAt: new Date(now.getTime() + verificationTtlMs),
      };
      const existing = await repos.users.findByEmail(input.email);

      if (deps.config.requireVerification) {
        if (existing) {
          // Enumeration-safe on purpose: the caller sees the ordinary answer; the owner gets a notice (R12).
          if (await deps.mailer.reserve(existing.email)) {
            await deps.mailer.enqueue(
              'account_exists',
              existing.email,
              deps.templates.accountExists({ fullName: existing.fullName }),
            );
          }
          await repos.auditEvents.record({ event: 'register_existing', subjectId: existing.id, ...request }, now);
          deps.events.emit('registration_attempt_existing', { email: existing.email, request });
          return pendingResult;
        }
        // An attempt that no mail can announce (over the per-recipient limit, R21) is not stored: its password
        // would only make the address's other links ask for a password, and no link of its own could follow.
        if (!(await deps.mailer.reserve(input.email))) return pendingResult;
        // A new attempt of its own, never a change to an earlier one (R67); stored with its link and mail (R65).
        await atomically(deps, async (tx) => {
          const attempt = await tx.pendingRegistrations.insertAttempt(
            {
              email: input.email,
              hashedPassword,
              fullName: input.fullName ?? null,
              expiresAt: pendingResult.expiresAt,
            },
            now,
            MAX_PENDING_ATTEMPTS_PER_ADDRESS,
          );
          // Another attempt live beside this one: this link needs its own password for its whole life, not only
          // while the other stays live — the other, perhaps the owner's, may lapse first and would otherwise leave
          // this one, perhaps a stranger's, completing with the token alone (R67). Two sign-ups committing at
          // the same instant may not see each other; then each link still asks while both are live.
          const contested = (await tx.pendingRegistrations.countLive(input.email, now)) > 1;
          await issueLink(
            tx,
            attempt.id,
            input.email,
            request,
            contested ? 'email_verification_password' : 'email_verification',
          );
        });
        return pendingResult;
      }

      // Verification off: the account exists at once, so a taken address cannot be hidden — documented.
      const user = existing
        ? null
        : // The user and the search words of their name (issue 17) are written together.
          await atomically(deps, (tx) =>
            tx.users.insertIfEmailFree(
              { email: input.email, hashedPassword, fullName: input.fullName ?? null, isVerified: false },
              now,
            ),
          );
      if (!user) {
        throw new RegstackError('EMAIL_ALREADY_REGISTERED', 'An account with this email already exists', {
          fieldErrors: { email: ['An account with this email already exists'] },
        });
      }
      await repos.auditEvents.record(
        { event: 'user_registered', actorId: user.id, subjectId: user.id, ...request },
        now,
      );
      const dto = toPublicUser(user);
      deps.events.emit('user_registered', { user: dto, request });
      return { status: 'registered', user: dto };
    },

    /**
     * A sign-up its input schema refused (`schemaFieldErrors`, keyed by field) gets the password policy's
     * verdict too, so a form learns every bad field in one answer instead of one per submit (issue 16 item 6):
     * an invalid email and a too-short or common password come back together as VALIDATION_FAILED with a
     * `fieldErrors` entry for each. Only input format and password policy are combined — nothing here looks
     * the address up, so whether it is taken never shows, however the form is filled (R12). Returns the error
     * to throw, or undefined when the policy adds nothing (the schema already refused the password, or it is
     * fine, or registration is off).
     */
    withPasswordPolicyProblems(raw: unknown, schemaFieldErrors: Record<string, string[]>): RegstackError | undefined {
      if (!deps.config.allowRegistration || Object.hasOwn(schemaFieldErrors, 'password')) return undefined;
      const password = typeof raw === 'object' && raw !== null ? (raw as { password?: unknown }).password : undefined;
      if (typeof password !== 'string') return undefined;
      const email = (raw as { email?: unknown }).email;
      // The schema had nothing against this password, so it is within the byte cap (R2) and may be normalized.
      const problem = deps.passwordPolicy.check(normalizePassword(password), {
        ...(typeof email === 'string' && { email }),
      });
      if (!problem) return undefined;
      const fieldErrors = { ...schemaFieldErrors, password: [problem.message] };
      return new RegstackError(
        'VALIDATION_FAILED',
        `Some fields are not valid: ${Object.keys(fieldErrors).join(', ')}`,
        {
          fieldErrors,
        },
      );
    },

    /**
     * Follows a verification link: creates the account (or marks it verified). Single use (R26). A resent link,
     * or any link while more than one sign-up for the address is alive, needs the password of its own sign-up
     * (R67); a missing or wrong one leaves the link usable.
     */
    async verifyEmail(input: { token: string; password?: string | undefined }, request: RequestMeta) {
      const repos = openRepos(deps);
      await limitClient(parts.rateLimiter, repos, request, 'verify', deps.config.verifyRateLimit);
      const invalid = () => new RegstackError('INVALID_OR_EXPIRED_TOKEN', 'This link is invalid or has expired');
      const tokenHash = hashOneTimeToken(input.token);
      // Read, not redeemed: the password step below must not use the link up.
      const link = await repos.oneTimeTokens.findLive(tokenHash, VERIFICATION_PURPOSES, deps.clock.now());
      if (!link) throw invalid();
      const attempt = await repos.pendingRegistrations.findById(link.subjectId);
      if (attempt) {
        const now = deps.clock.now();
        if (attempt.expiresAt <= now) throw invalid();
        // The password is needed when the link says so — a resent link (see the resend job), or one issued while
        // another attempt of the address was live (see register) — or while another attempt is live now. So a
        // link that ever shared its address with a live rival asks, whichever of the two lapses first. Expired
        // attempts are not counted here: an expired one can never be completed, whether its row is still stored
        // depends on when housekeeping ran, and the usual case it would catch is the owner signing up again after
        // their own link lapsed, who gets the token-alone link. A sign-up made when no other was live has no
        // rival; a stranger's is then the mail's "did not sign up? ignore this email" case (docs/registration.md).
        const needsPassword =
          link.purpose === 'email_verification_password' ||
          (await repos.pendingRegistrations.countLive(attempt.email, now)) > 1;
        if (needsPassword && input.password === undefined) {
          throw new RegstackError(
            'PASSWORD_REQUIRED',
            'To confirm this sign-up is yours, enter the password you chose when you signed up',
            { fieldErrors: { password: ['Enter the password you chose when you signed up'] } },
          );
        }
        // A password sent with the only attempt is checked too: whatever a caller sends must be right. The hash
        // checked is the one the account gets, as attempts are never updated. Outside the transaction (R7).
        if (input.password !== undefined) await checkAttemptPassword(repos, attempt, input.password, request);
      }
      // Redeeming the link, creating the account, removing the address's other attempts and recording it commit
      // together (R26, R65). Every lost race ends the work at once (PostgreSQL aborts a transaction after a
      // unique-key conflict).
      const { dto, created } = await atomically(deps, async (tx) => {
        const now = deps.clock.now();
        // Redeemed under the purpose it was found with: a link never changes kind between the check and here.
        const consumed = await tx.oneTimeTokens.consumeOnce(tokenHash, link.purpose, now);
        if (!consumed) throw invalid();
        if (attempt) {
          const claimed = await tx.pendingRegistrations.claimOnce(attempt.id, now);
          if (!claimed) throw invalid();
          // The account first: the unique email decides between concurrent attempts (R66) before any of them
          // touches another attempt's rows, so two verifiers never wait on each other's locks.
          const user = await tx.users.insertIfEmailFree(
            {
              email: claimed.email,
              hashedPassword: claimed.hashedPassword,
              fullName: claimed.fullName ?? null,
              isVerified: true,
            },
            now,
          );
          if (!user) throw invalid();
          // Every attempt of the address goes, this one included: the other links now lead to no attempt and
          // are refused (their token rows are left to expire, not updated, for the same lock-order reason).
          await tx.pendingRegistrations.deleteByEmail(claimed.email);
          await tx.auditEvents.record(
            { event: 'user_verified', actorId: user.id, subjectId: user.id, ...request },
            now,
          );
          return { dto: toPublicUser(user), created: true };
        }
        // A link for an account created without verification (require_verification off, then resent). The
        // account already has its password, so a password sent along is not needed and not looked at.
        const existing = await tx.users.findById(consumed.subjectId);
        if (!existing) throw invalid();
        await tx.users.markVerified(existing.id, now);
        await tx.auditEvents.record(
          { event: 'user_verified', actorId: existing.id, subjectId: existing.id, ...request },
          now,
        );
        return { dto: toPublicUser({ ...existing, isVerified: true }), created: false };
      });
      if (created) deps.events.emit('user_registered', { user: dto, request });
      deps.events.emit('user_verified', { user: dto, request });
      return { user: dto };
    },

    /** Always the same answer (R11) after one durable insert; the lookup and the mail happen in a job. */
    async resendVerification(email: string, request: RequestMeta): Promise<{ status: 'accepted' }> {
      await limitClient(parts.rateLimiter, openRepos(deps), request, 'resend', deps.config.resendVerificationRateLimit);
      await deps.mailer.enqueueJob(RESEND_JOB, { email, request });
      return { status: 'accepted' };
    },
  };
}

export type RegistrationService = ReturnType<typeof createRegistrationService>;
