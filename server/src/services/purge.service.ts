/**
 * `regstack purge` and the background purge (issue 14 item 4): removes, in bounded batches, the rows that can no
 * longer decide anything (purge.repository.ts lists the rules), so per-user history — sessions, logouts, login
 * attempts — cannot grow without bound. One instance purges at a time: the pass holds the claim `purge:lock`
 * (an insert under a unique key, the same on every backend), which expires on its own if its holder dies.
 * Correctness never depends on a purge having run (SPEC §6).
 */

import type { ConfigWithoutSecret } from '../config/load-config.ts';
import {
  createPurgeRepository,
  type PurgeBounds,
  type PurgeCounts,
  type PurgeKind,
} from '../repositories/purge.repository.ts';
import { atomically, openRepos, type ServiceDeps } from './deps.ts';
import { sessionsLiveAt } from './policies/session-leeway.ts';

const PURGE_LOCK = 'purge:lock';
/** How long a pass may hold the lock before another instance may take over (a dead holder's lock expires). */
const LOCK_TTL_MS = 15 * 60_000;
/** Delivered mail is kept this long (for support questions: "did the mail go out?"). */
const SENT_MAIL_RETENTION_MS = 7 * 86_400_000;
const KINDS: PurgeKind[] = [
  'sessions',
  'oneTimeTokens',
  'claims',
  'pendingRegistrations',
  'mfaCodes',
  'oauthStates',
  'loginAttempts',
  'emailOutbox',
  'auditEvents',
];

export interface PurgeOptions {
  /** Rows per batch. @default 1000 */
  batchSize?: number;
  /**
   * Only rows that have been past mattering for at least this long go (`regstack purge --older-than`): every cutoff
   * — expiry, the longest counter window, the delivered-mail retention — moves this far into the past.
   * @default 0
   */
  olderThanMs?: number;
  /** Called after every batch with the running totals. */
  onProgress?: (counts: Readonly<PurgeCounts>) => void;
}

export type PurgeResult = { status: 'purged'; counts: PurgeCounts } | { status: 'locked' };

function zeroCounts(): PurgeCounts {
  return {
    sessions: 0,
    revocations: 0,
    oneTimeTokens: 0,
    claims: 0,
    pendingRegistrations: 0,
    mfaCodes: 0,
    oauthStates: 0,
    loginAttempts: 0,
    emailOutbox: 0,
    auditEvents: 0,
  };
}

/** The longest window any counter on `login_attempts` uses: lockout, per-client limits, per-recipient mail caps. */
export function longestAttemptWindowMs(config: unknown): number {
  let longest = 0;
  const visit = (value: unknown) => {
    if (Array.isArray(value)) {
      for (const rule of value) {
        const seconds = (rule as { windowSeconds?: unknown } | null)?.windowSeconds;
        if (typeof seconds === 'number') longest = Math.max(longest, seconds * 1000);
      }
    } else if (value && typeof value === 'object') {
      for (const inner of Object.values(value)) visit(inner);
    }
  };
  visit(config);
  const lockoutWindow = (config as { loginLockoutWindowSeconds?: number }).loginLockoutWindowSeconds ?? 0;
  return Math.max(longest, lockoutWindow * 1000);
}

/** What the purge needs: no secret, no transport (so `regstack purge` builds it without an instance). */
export type PurgeDeps = Pick<ServiceDeps, 'storage' | 'clock'> & { config: ConfigWithoutSecret };

export function createPurgeService(deps: PurgeDeps) {
  const attemptsWindowMs = longestAttemptWindowMs(deps.config);
  /** The cutoffs of a batch that starts now. */
  const boundsAt = (olderThanMs: number): PurgeBounds => {
    const now = new Date(deps.clock.now().getTime() - olderThanMs);
    return {
      now,
      sessionsBefore: sessionsLiveAt(deps.config, now),
      // One extra minute: a counter's window is measured by another instance's clock too.
      attemptsBefore: new Date(now.getTime() - attemptsWindowMs - 60_000),
      sentBefore: new Date(now.getTime() - SENT_MAIL_RETENTION_MS),
      auditBefore:
        deps.config.auditRetentionDays > 0
          ? new Date(now.getTime() - deps.config.auditRetentionDays * 86_400_000)
          : undefined,
    };
  };

  return {
    /**
     * What a pass would remove now, per kind, without removing anything or taking the lock
     * (`regstack purge --dry-run`). Revocation facts go with their sessions and are not counted.
     */
    async preview(options: Pick<PurgeOptions, 'olderThanMs'> = {}): Promise<PurgeCounts> {
      const bounds = boundsAt(options.olderThanMs ?? 0);
      const counts = zeroCounts();
      const purge = createPurgeRepository(deps.storage.fork());
      for (const kind of KINDS) counts[kind] = await purge.countPurgeable(kind, bounds);
      return counts;
    },

    /** One full pass; `locked` when another instance is purging right now. */
    async run(options: PurgeOptions = {}): Promise<PurgeResult> {
      const batchSize = options.batchSize ?? 1000;
      const repos = openRepos(deps);
      const start = deps.clock.now();
      // A lock left by a holder that died has expired: clear expired claims first, then take it.
      await repos.claims.deleteExpiredLock(PURGE_LOCK, start);
      if (!(await repos.claims.claimOnce(PURGE_LOCK, 'purge', start, new Date(start.getTime() + LOCK_TTL_MS)))) {
        return { status: 'locked' };
      }
      const counts = zeroCounts();
      try {
        for (const kind of KINDS) {
          for (;;) {
            const bounds = boundsAt(options.olderThanMs ?? 0);
            // Each batch is its own short transaction (never one long one holding locks).
            const [rows, facts] = await atomically(deps, () =>
              createPurgeRepository(deps.storage.fork()).purgeBatch(kind, bounds, batchSize),
            );
            counts[kind] += rows;
            counts.revocations += facts;
            options.onProgress?.(counts);
            if (rows < batchSize) break;
          }
        }
      } finally {
        await openRepos(deps).claims.release(PURGE_LOCK);
      }
      return { status: 'purged', counts };
    },
  };
}

export type PurgeService = ReturnType<typeof createPurgeService>;
