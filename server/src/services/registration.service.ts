/**
 * Sign-up and email verification (SPEC §4, R11, R12, R22–R27, R66).
 *
 * With `require_verification` (the default) a sign-up creates only a *pending registration* and mails a
 * one-time link; the account row is created when the link is followed, so an unverified address never
 * occupies `users`. Registering an address that already has an account answers exactly like a new sign-up
 * — same status, same body, one argon2 hash on both paths — and mails the owner a notice instead (R12).
 * Resending a verification link always answers the same, and does its work after the response (R11).
 */
import type { RegisterResult } from '@regstack/shared';
import { derivedOutboxId } from '../email/mailer.ts';
import { RegstackError } from '../errors/regstack-error.ts';
import type { RequestMeta } from '../events.ts';
import { generateOneTimeToken, hashOneTimeToken } from '../security/one-time-tokens.ts';
import { atomically, openRepos, type ServiceDeps } from './deps.ts';
import type { RateLimiter } from './lockout.service.ts';
import { toPublicUser } from './mappers.ts';
import { limitClient } from './reauthentication.ts';

export function assertNewPasswordAllowed(deps: Pick<ServiceDeps, 'passwordPolicy'>, password: string, email: string) {
  const problem = deps.passwordPolicy.check(password, { email });
  if (problem) throw new RegstackError(problem.code, problem.message, { fieldErrors: { password: [problem.message] } });
}

const RESEND_JOB = 'resend_verification';

export function createRegistrationService(deps: ServiceDeps, parts: { rateLimiter: RateLimiter }) {
  const verificationTtlMs = deps.config.verificationTokenTtlSeconds * 1000;

  async function sendVerification(subjectId: string, email: string, request: RequestMeta, mailId?: string) {
    // Over the per-recipient limit (R21): send nothing and keep the earlier link alive.
    if (!(await deps.mailer.reserve(email))) return;
    // The new link and its mail are stored together, or neither is (R65).
    await atomically(deps, async (repos) => {
      const now = deps.clock.now();
      const { token, hash } = generateOneTimeToken();
      await repos.oneTimeTokens.issue(
        {
          tokenHash: hash,
          purpose: 'email_verification',
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
    });
  }

  // The deferred half of resendVerification: idempotent per job (see password-reset.service.ts).
  deps.mailer.handleJobs(RESEND_JOB, async (payload, job) => {
    const { email, request } = payload as { email: string; request: RequestMeta };
    const repos = openRepos(deps);
    const mailId = derivedOutboxId(job.id, 'mail');
    if (await repos.emailOutbox.findById(mailId)) return;
    const pending = await repos.pendingRegistrations.findByEmail(email);
    if (pending && pending.expiresAt > deps.clock.now()) {
      await sendVerification(pending.id, pending.email, request, mailId);
      return;
    }
    const user = await repos.users.findByEmail(email);
    if (user && !user.isVerified && user.isActive) await sendVerification(user.id, user.email, request, mailId);
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
        const pending = await repos.pendingRegistrations.upsertForEmail(
          { email: input.email, hashedPassword, fullName: input.fullName ?? null, expiresAt: pendingResult.expiresAt },
          now,
        );
        await sendVerification(pending.id, input.email, request);
        return pendingResult;
      }

      // Verification off: the account exists at once, so a taken address cannot be hidden — documented.
      const user = existing
        ? null
        : await repos.users.insertIfEmailFree(
            { email: input.email, hashedPassword, fullName: input.fullName ?? null, isVerified: false },
            now,
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

    /** Follows a verification link: creates the account (or marks it verified). Single use (R26). */
    async verifyEmail(token: string, request: RequestMeta) {
      const repos = openRepos(deps);
      await limitClient(parts.rateLimiter, repos, request, 'verify', deps.config.verifyRateLimit);
      const invalid = () => new RegstackError('INVALID_OR_EXPIRED_TOKEN', 'This link is invalid or has expired');
      // Redeeming the link, creating the account and recording it commit together (R26, R65). Every lost
      // race ends the work at once (PostgreSQL aborts a transaction after a unique-key conflict).
      const { dto, created } = await atomically(deps, async (tx) => {
        const now = deps.clock.now();
        const consumed = await tx.oneTimeTokens.consumeOnce(hashOneTimeToken(token), 'email_verification', now);
        if (!consumed) throw invalid();
        if (await tx.pendingRegistrations.findById(consumed.subjectId)) {
          const pending = await tx.pendingRegistrations.takeOnce(consumed.subjectId, now);
          if (!pending) throw invalid();
          const user = await tx.users.insertIfEmailFree(
            {
              email: pending.email,
              hashedPassword: pending.hashedPassword,
              fullName: pending.fullName ?? null,
              isVerified: true,
            },
            now,
          );
          if (!user) throw invalid();
          await tx.auditEvents.record(
            { event: 'user_verified', actorId: user.id, subjectId: user.id, ...request },
            now,
          );
          return { dto: toPublicUser(user), created: true };
        }
        // A link for an account created without verification (require_verification off, then resent).
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
