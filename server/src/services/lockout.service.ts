/**
 * Login lockout (R14–R19) and per-client rate limits (R20), both on the `login_attempts` counter.
 *
 * Lockout is keyed by the canonical *submitted* email, never by user id, so it behaves identically for
 * existing and unknown accounts (R13). A password check must first *reserve* an attempt: insert-then-count
 * (login-attempt.repository.ts) means that of any burst at most `threshold` reservations see a count within
 * the threshold, so concurrency cannot buy extra guesses (R17). A refused reservation is withdrawn, so
 * requests made while locked do not extend the lock (R16, as Keycloak does); a successful check withdraws
 * the counter entirely (R18). `Retry-After` is the true remaining time: the lock lifts when the
 * `threshold`-th most recent failure leaves the window.
 */
import { RegstackError } from '../errors/regstack-error.ts';
import type { LoginAttemptRepository } from '../repositories/index.ts';
import type { ServiceDeps } from './deps.ts';

export interface Reservation {
  /** Withdraws the attempt: the password was right, so it was not a failure. */
  release(): Promise<void>;
}

export function createLockoutService(deps: Pick<ServiceDeps, 'config' | 'clock'>) {
  const threshold = deps.config.loginLockoutThreshold;
  const windowMs = deps.config.loginLockoutWindowSeconds * 1000;

  async function retryAfterSeconds(attempts: LoginAttemptRepository, key: string, now: Date): Promise<number> {
    const times = await attempts.recentTimes(key, new Date(now.getTime() - windowMs), threshold);
    const pivot = times[threshold - 1] ?? times[times.length - 1] ?? now;
    return Math.max(1, Math.ceil((pivot.getTime() + windowMs - now.getTime()) / 1000));
  }

  function lockedError(seconds: number): RegstackError {
    // Deliberately the same for known and unknown emails (R13), and no hint about the password (R15).
    return new RegstackError('TOO_MANY_ATTEMPTS', 'Too many failed sign-in attempts. Try again later.', {
      retryAfterSeconds: seconds,
    });
  }

  return {
    keyFor: (email: string) => `login:${email}`,

    /**
     * Throws TOO_MANY_ATTEMPTS while locked; otherwise reserves one attempt and returns it. Every password
     * check (login, MFA confirm, re-authentication for sensitive changes) goes through here (R19).
     */
    async reserve(attempts: LoginAttemptRepository, key: string): Promise<Reservation> {
      await this.admit(attempts, key, (now, windowStart) => attempts.recordAndCount(key, now, windowStart));
      return { release: () => attempts.clear(key).then(() => undefined) };
    },

    /**
     * `reserve`'s decision on an attempt that `record` records on `key` and counts (insert first, then count:
     * see login-attempt.repository.ts) — for a caller that reads something along with it, as login reads the
     * account. Throws TOO_MANY_ATTEMPTS, withdrawing the attempt, while locked; otherwise returns `record`'s result.
     */
    async admit<T extends { id: string; count: number }>(
      attempts: LoginAttemptRepository,
      key: string,
      record: (now: Date, windowStart: Date) => Promise<T>,
    ): Promise<T> {
      const now = deps.clock.now();
      // No separate "already locked?" read: while locked, this row makes the count exceed the threshold and is
      // withdrawn at once, so a locked request still never extends the lock (R16) — one statement fewer per login.
      const recorded = await record(now, new Date(now.getTime() - windowMs));
      if (recorded.count > threshold) {
        await attempts.remove(recorded.id);
        throw lockedError(await retryAfterSeconds(attempts, key, now));
      }
      return recorded;
    },

    /** Clears the counter (successful login, completed password reset: R18). */
    async clear(attempts: LoginAttemptRepository, key: string): Promise<void> {
      await attempts.clear(key);
    },
  };
}

export type LockoutService = ReturnType<typeof createLockoutService>;

/**
 * Per-client limits (R20): each rule `limit per windowSeconds` on a key such as `ip:login:<client>`. The
 * same insert-then-count primitive, so concurrent requests cannot slip past a limit.
 */
export function createRateLimiter(deps: Pick<ServiceDeps, 'clock'>) {
  return {
    async hit(
      attempts: LoginAttemptRepository,
      key: string,
      rules: readonly { limit: number; windowSeconds: number }[],
    ): Promise<void> {
      const now = deps.clock.now();
      for (const rule of rules) {
        const ruleKey = `${key}:${rule.windowSeconds}`;
        const windowStart = new Date(now.getTime() - rule.windowSeconds * 1000);
        const { count } = await attempts.recordAndCount(ruleKey, now, windowStart);
        if (count > rule.limit) {
          // Requests over the limit count too (a flood keeps itself limited); the next request fits once the
          // `limit`-th newest leaves the window.
          const times = await attempts.recentTimes(ruleKey, windowStart, rule.limit);
          const pivot = times[rule.limit - 1] ?? now;
          const seconds = Math.max(1, Math.ceil((pivot.getTime() + rule.windowSeconds * 1000 - now.getTime()) / 1000));
          throw new RegstackError('RATE_LIMITED', 'Too many requests. Try again later.', {
            retryAfterSeconds: seconds,
          });
        }
      }
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
