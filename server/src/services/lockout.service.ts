/**
 * Login lockout (R14–R19, R70) and per-client rate limits (R20), both on the `login_attempts` counter.
 *
 * Lockout is keyed by the canonical *submitted* email, never by user id, so it behaves identically for
 * existing and unknown accounts (R13). A password check first records a *try* and counts the window's tries
 * and failures together (login-attempt.repository.ts): at most `threshold` checks of any burst see a total
 * within the threshold, so concurrency cannot buy extra guesses (R17). Lockout counts failures, not checks in
 * flight (R70): a caller over the total whose account has fewer than `threshold` failures is not locked, only
 * queued behind checks that may still succeed — it withdraws its try, waits a moment and tries again, so ten
 * correct logins at once all succeed (as if serialised per account, on every instance) while twenty wrong ones
 * still cost at most `threshold` checks. A wrong password turns its try into a failure; a right one withdraws
 * it and clears the failures (R18). A refused try is withdrawn, so requests made while locked do not extend
 * the lock (R16, as Keycloak does). `Retry-After` is the true remaining time: the lock lifts when the
 * `threshold`-th most recent failure leaves the window.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { newId } from '../db/ids.ts';
import { RegstackError } from '../errors/regstack-error.ts';
import type { LoginAttemptRepository, RecordedTry, TryWindow } from '../repositories/index.ts';
import type { ServiceDeps } from './deps.ts';

export interface Reservation {
  /** The password was right: withdraws the try and clears the failures (R18). */
  release(): Promise<void>;
  /** The password was wrong: the try becomes a failure (R14). */
  fail(): Promise<void>;
  /** The check could not run (the hasher shed it, the database failed): the try is withdrawn, nothing counts. */
  withdraw(): Promise<void>;
  /**
   * Runs the password check this try stands for and settles the try by its outcome: `false` makes it a failure
   * (R14); a check that throws (the hasher shed it, the database failed) withdraws it, so nothing counts; any
   * other value is returned, with the try left for the caller to `release` (or for a login's own success write).
   */
  check<T>(attempt: () => Promise<T | false>): Promise<T | false>;
}

/**
 * A try older than this never finished its check (its process died, or the database failed under it): nobody got
 * an answer from it, so it stops counting — it can neither hold a place "in flight" nor lock anyone out.
 */
export const STALE_TRY_MS = 60_000;
/**
 * How long a check may wait for the checks in flight on its account before it is shed with SERVER_BUSY. Each
 * check in flight is one password verification, so only a crowd of concurrent attempts on one account waits
 * this long.
 */
const MAX_QUEUE_WAIT_MS = 20_000;
/**
 * Pause between two tries of a queued check: short at first (a check takes one password verification), growing,
 * with jitter so waiters spread out and a crowd does not load the database with its polling.
 */
const queuePause = (round: number) => Math.min(250, 10 * 2 ** round) * (0.5 + Math.random());

export function createLockoutService(deps: Pick<ServiceDeps, 'config' | 'clock' | 'telemetry'>) {
  const threshold = deps.config.loginLockoutThreshold;
  const windowMs = deps.config.loginLockoutWindowSeconds * 1000;

  /** The try keys and window of `key` at `now`. */
  function windowAt(key: string, now: Date): TryWindow {
    return {
      id: newId(now.getTime()),
      tryKey: `try:${key}`,
      failKey: key,
      now,
      windowStart: new Date(now.getTime() - windowMs),
      staleBefore: new Date(now.getTime() - STALE_TRY_MS),
    };
  }

  /** Seconds until the lock lifts, or null when it has lifted already (a correct check cleared the failures). */
  async function retryAfterSeconds(attempts: LoginAttemptRepository, window: TryWindow): Promise<number | null> {
    const times = await attempts.recentTimes(window.failKey, window.windowStart, threshold);
    const pivot = times[threshold - 1];
    if (!pivot) return null;
    return Math.max(1, Math.ceil((pivot.getTime() + windowMs - window.now.getTime()) / 1000));
  }

  function lockedError(seconds: number): RegstackError {
    // Deliberately the same for known and unknown emails (R13), and no hint about the password (R15).
    return new RegstackError('TOO_MANY_ATTEMPTS', 'Too many failed sign-in attempts; try again later', {
      retryAfterSeconds: seconds,
    });
  }

  return {
    keyFor: (email: string) => `login:${email}`,

    /**
     * Throws TOO_MANY_ATTEMPTS while locked; otherwise records a try and returns it, to be settled with
     * `fail()` or `release()`. Every password check (login, MFA confirm, re-authentication for sensitive
     * changes) goes through here (R19).
     */
    async reserve(attempts: LoginAttemptRepository, key: string): Promise<Reservation> {
      const recorded = await this.admit(attempts, key, (window) => attempts.recordTry(window));
      return this.reservationOf(attempts, key, recorded);
    },

    /** The settlement of a try `admit` returned. */
    reservationOf(attempts: LoginAttemptRepository, key: string, recorded: RecordedTry & { at: Date }): Reservation {
      return {
        release: async () => {
          await attempts.remove(recorded.id);
          await attempts.clear(key);
        },
        fail: () => attempts.settleFailure(recorded.id, key, recorded.at),
        withdraw: () => attempts.remove(recorded.id),
        async check(attempt) {
          let outcome: Awaited<ReturnType<typeof attempt>>;
          try {
            outcome = await attempt();
          } catch (err) {
            await this.withdraw().catch(() => {});
            throw err;
          }
          if (outcome === false) await this.fail();
          return outcome;
        },
      };
    },

    /**
     * `reserve`'s decision on a try that `record` records and counts (insert first, then count: see
     * login-attempt.repository.ts) — for a caller that reads something along with it, as login reads the
     * account. Throws TOO_MANY_ATTEMPTS while locked (the try withdrawn); waits while the account is only busy
     * with checks in flight; otherwise returns `record`'s result and the try's instant.
     */
    async admit<T extends RecordedTry>(
      attempts: LoginAttemptRepository,
      key: string,
      record: (window: TryWindow) => Promise<T>,
    ): Promise<T & { at: Date }> {
      // Real time, not the injected clock: this bounds how long a request waits.
      const giveUpAt = performance.now() + MAX_QUEUE_WAIT_MS;
      for (let round = 0; ; round++) {
        const window = windowAt(key, deps.clock.now());
        // No separate "already locked?" read: while locked, the failures alone reach the threshold and the try
        // is withdrawn at once, so a locked request never extends the lock (R16) — one statement fewer per login.
        let recorded: T;
        try {
          recorded = await record(window);
        } catch (err) {
          // The try may have been written before the failure (a count that timed out): take it back.
          await attempts.remove(window.id).catch(() => {});
          throw err;
        }
        if (recorded.failures < threshold && recorded.total <= threshold) return { ...recorded, at: window.now };
        await attempts.remove(recorded.id);
        if (recorded.failures >= threshold) {
          const seconds = await retryAfterSeconds(attempts, window);
          // Truthful or nothing (R16): a lock that a correct check lifted meanwhile is no lock; look again.
          if (seconds !== null) {
            deps.telemetry.lockout();
            throw lockedError(seconds);
          }
        }
        // Over the total only because of checks in flight: not a lock (R70). Wait for them to settle.
        if (performance.now() >= giveUpAt) {
          throw new RegstackError('SERVER_BUSY', 'Too many sign-in attempts at once; try again shortly', {
            retryAfterSeconds: 1,
          });
        }
        await sleep(queuePause(round));
      }
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
          throw new RegstackError('RATE_LIMITED', 'Too many requests; try again later', {
            retryAfterSeconds: seconds,
          });
        }
      }
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
