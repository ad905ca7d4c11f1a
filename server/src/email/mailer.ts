/**
 * The mailer: every message goes through the durable outbox (SPEC §8). `enqueue` seals the rendered message
 * and stores it; a worker leases due messages, sends them through the transport, and on failure retries on
 * the schedule of `outboxRetry` — exponential from 2 s, jittered, never more than 30 s apart, so mail goes out
 * within a bounded time once the provider is back (issue 14 item 11) — until the message is older than
 * `giveUpAfterMs` (a day by default: an outage of hours loses nothing), then marks it dead and emits
 * `email_failed`. Responses never wait for, or depend on, the mail provider (R11). Per-recipient throttles
 * (R21) drop excess mail silently — the caller's response is the same either way.
 */
import { createHash } from 'node:crypto';
import type { Storage } from '../db/storage.ts';
import type { EventBus } from '../events.ts';
import type { Logger } from '../logger.ts';
import { createRepositories } from '../repositories/index.ts';
import type { Clock } from '../security/clock.ts';
import type { Sealer } from '../security/sealing.ts';
import { detached } from '../telemetry/request-scope.ts';
import type { RenderedEmail } from './templates.ts';
import type { EmailMessage, EmailTransport } from './transport.ts';

export interface MailerOptions {
  storage: Storage;
  transport: EmailTransport;
  sealer: Sealer;
  clock: Clock;
  logger: Logger;
  events: EventBus;
  from: string;
  /** Per-recipient limits (R21), e.g. 3 per 10 minutes. */
  recipientLimits: readonly { limit: number; windowSeconds: number }[];
  /** How often the worker looks for due messages. @default 1000 */
  pollIntervalMs?: number;
  /** How long a worker may hold a message before another may take it over. @default 60000 */
  leaseMs?: number;
  /** Sends tried before a message is dead, in addition to `giveUpAfterMs`; unset means no count limit. @default undefined */
  maxAttempts?: number | undefined;
  /** How long after it was queued a message that still fails is given up (dead). @default 86400000 (24 h) */
  giveUpAfterMs?: number;
  /** First retry delay; doubles per attempt up to `maxBackoffMs`. @default 2000 */
  baseBackoffMs?: number;
  /** Longest wait between two tries: the bound on the delay after the provider recovers. @default 30000 */
  maxBackoffMs?: number;
}

/** The retry schedule of the outbox; see {@link outboxRetry}. */
export interface OutboxRetrySchedule {
  baseBackoffMs: number;
  maxBackoffMs: number;
  giveUpAfterMs: number;
  maxAttempts?: number | undefined;
}

export const DEFAULT_OUTBOX_RETRY: OutboxRetrySchedule = {
  baseBackoffMs: 2000,
  maxBackoffMs: 30_000,
  giveUpAfterMs: 24 * 3600_000,
};

/**
 * The wait before try `attempts + 1`, after `attempts` failed tries: `base · 2^(attempts-1)` capped at `maxBackoffMs`,
 * with equal jitter — a random point in the upper half — so the instances and messages an outage failed together
 * do not all retry in the same instant, and a wait is never longer than the cap (the recovery bound) nor shorter
 * than half of it.
 */
export function outboxRetryDelayMs(
  attempts: number,
  schedule: Pick<OutboxRetrySchedule, 'baseBackoffMs' | 'maxBackoffMs'>,
  random: () => number = Math.random,
): number {
  // 2^30 already exceeds any sensible cap; the exponent is clamped so a long outage cannot overflow to Infinity.
  const ceiling = Math.min(
    schedule.baseBackoffMs * 2 ** Math.min(Math.max(attempts - 1, 0), 30),
    schedule.maxBackoffMs,
  );
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * What happens after a failed try: dead once the message has been queued for `giveUpAfterMs` (or has used up an
 * explicit `maxAttempts`), otherwise retried after {@link outboxRetryDelayMs}. Time decides, not the number of
 * tries: with the cap, tries come every 15–30 s, so a count would give up after minutes of outage.
 */
export function outboxRetry(
  failure: { attempts: number; createdAt: Date; now: Date },
  schedule: OutboxRetrySchedule,
  random: () => number = Math.random,
): { dead: true; retryAt: null } | { dead: false; retryAt: Date } {
  const age = failure.now.getTime() - failure.createdAt.getTime();
  const exhausted = schedule.maxAttempts !== undefined && failure.attempts >= schedule.maxAttempts;
  if (exhausted || age >= schedule.giveUpAfterMs) return { dead: true, retryAt: null };
  return {
    dead: false,
    retryAt: new Date(failure.now.getTime() + outboxRetryDelayMs(failure.attempts, schedule, random)),
  };
}

export interface Mailer {
  /**
   * Counts one message to `to` against the per-recipient limits (R21); false means the limit is reached and
   * the caller must not send — nor rotate anything the earlier messages' links depend on.
   */
  reserve(to: string): Promise<boolean>;
  /**
   * Drops the per-recipient counters of `to` (account deletion, R45: nothing of the user stays behind). The
   * counters are keyed by a hash of the address, never the address itself, and expire with their window anyway.
   */
  forgetRecipient(to: string): Promise<void>;
  /**
   * Queues a message (the caller has reserved it). With `id` (see `derivedOutboxId`) the enqueue is
   * idempotent: a retried job cannot queue the same message twice; returns false when it already exists.
   */
  enqueue(kind: string, to: string, email: RenderedEmail, options?: { id?: string }): Promise<boolean>;
  /** Registers the handler of a durable job kind (stored as `job:<name>`). */
  handleJobs(name: string, handler: JobHandler): void;
  /**
   * Stores a job in the outbox: it runs after the response, survives a crash (a restarted process picks it
   * up once its lease lapses), and is retried with backoff like mail. Handlers must be idempotent per job id.
   */
  enqueueJob(name: string, payload: unknown): Promise<void>;
  start(): void;
  stop(): Promise<void>;
  /** Sends everything due now, then resolves (tests, CLI). */
  drain(): Promise<number>;
  /** Undelivered rows and the oldest one's age in seconds (the observability gauges; index reads only). */
  outboxStats(): Promise<{ pending: number; oldestAgeSeconds: number }>;
}

/**
 * The counter key of one recipient and window. A digest rather than the address: the counters live in the
 * shared attempts table, which should not become a list of who received mail (R45, R62).
 */
function recipientLimitKey(to: string, windowSeconds: number): string {
  return `mail:${createHash('sha256').update(to).digest('base64url')}:${windowSeconds}`;
}

/** Runs one durable job; `job.id` is stable across retries (derive idempotency keys from it). */
export type JobHandler = (payload: unknown, job: { id: string }) => Promise<void>;

const JOB_PREFIX = 'job:';

/** A deterministic outbox id (UUID-shaped, fits the id column) for the message a job sends. */
export function derivedOutboxId(jobId: string, label: string): string {
  const hex = createHash('sha256').update(`${jobId}\0${label}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function createMailer(options: MailerOptions): Mailer {
  const { storage, transport, sealer, clock, logger, events } = options;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const leaseMs = options.leaseMs ?? 60_000;
  const retrySchedule: OutboxRetrySchedule = {
    baseBackoffMs: options.baseBackoffMs ?? DEFAULT_OUTBOX_RETRY.baseBackoffMs,
    maxBackoffMs: options.maxBackoffMs ?? DEFAULT_OUTBOX_RETRY.maxBackoffMs,
    giveUpAfterMs: options.giveUpAfterMs ?? DEFAULT_OUTBOX_RETRY.giveUpAfterMs,
    maxAttempts: options.maxAttempts,
  };
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  /** A wake-up arrived during a pass: that pass may have read the outbox before the new row was visible. */
  let wakeAgain = false;
  let stopped = true;
  const jobs = new Map<string, JobHandler>();

  /** Delivers one leased row: a job runs its handler, a message goes to the transport. */
  async function deliver(message: { id: string; kind: string }, opened: unknown): Promise<void> {
    if (message.kind.startsWith(JOB_PREFIX)) {
      const handler = jobs.get(message.kind.slice(JOB_PREFIX.length));
      if (!handler) throw new Error(`no handler for ${message.kind}`);
      await handler(opened, { id: message.id });
      return;
    }
    await transport.send(opened as EmailMessage);
  }

  async function sendDue(): Promise<number> {
    const repos = createRepositories(storage.fork(), storage.dialect);
    const leases = await repos.emailOutbox.claimDue(clock.now(), leaseMs, 20);
    let sent = 0;
    for (const { message, leaseUntil } of leases) {
      // Sends run one after another: a lease that lapsed while earlier ones were slow may be another worker's
      // by now, so this one leaves the message alone (it is due, and the next pass claims it again).
      if (clock.now() >= leaseUntil) continue;
      let opened: unknown;
      try {
        opened = JSON.parse(sealer.open(message.payload));
      } catch (err) {
        logger.error('outbox message cannot be opened; marking dead', { messageId: message.id, err });
        await repos.emailOutbox.markFailed(message.id, message.attempts + 1, 'payload cannot be opened', null);
        continue;
      }
      try {
        await deliver(message, opened);
        await repos.emailOutbox.markSent(message.id, clock.now());
        sent += 1;
      } catch (err) {
        const attempts = message.attempts + 1;
        const { dead, retryAt } = outboxRetry(
          { attempts, createdAt: message.createdAt, now: clock.now() },
          retrySchedule,
        );
        const reason = err instanceof Error ? `${err.name}: ${err.message}` : 'send failed';
        await repos.emailOutbox.markFailed(message.id, attempts, reason, retryAt);
        // Tries come every 15–30 s for as long as a day: a warning on the 1st, 2nd, 4th, 8th… try and when given
        // up keeps a long outage visible without a line per message every few seconds; the rest are debug.
        const level = dead || (attempts & (attempts - 1)) === 0 ? 'warn' : 'debug';
        logger[level]('email send failed', {
          messageId: message.id,
          kind: message.kind,
          attempts,
          dead,
          retryAt: retryAt?.toISOString() ?? null,
        });
        events.emit('email_failed', { messageId: message.id, kind: message.kind, attempts, dead });
      }
    }
    return sent;
  }

  function tick(): Promise<number> {
    // One pass at a time per process; concurrent processes are kept apart by the leases. A wake-up during a pass
    // is remembered, not dropped: that pass may have looked before the new row committed, and the mail would
    // otherwise wait for the next poll.
    if (running) {
      wakeAgain = true;
      return running;
    }
    wakeAgain = false;
    running = sendDue()
      .catch((err) => {
        logger.error('outbox pass failed', { err });
        return 0;
      })
      .finally(() => {
        running = undefined;
        if (wakeAgain && !stopped) setImmediate(() => void tick());
      });
    return running;
  }

  /**
   * A wake-up after an enqueue: the pass it starts sends whatever is due, so it runs outside the request that
   * enqueued (its log lines and spans belong to no request).
   */
  const wake = () => detached(() => void tick());

  function schedule() {
    if (stopped) return;
    timer = setTimeout(async () => {
      await tick();
      schedule();
    }, pollIntervalMs);
    timer.unref();
  }

  return {
    async reserve(to) {
      const now = clock.now();
      const repos = createRepositories(storage.fork(), storage.dialect);
      for (const rule of options.recipientLimits) {
        const key = recipientLimitKey(to, rule.windowSeconds);
        const windowStart = new Date(now.getTime() - rule.windowSeconds * 1000);
        const { id, count } = await repos.loginAttempts.recordAndCount(key, now, windowStart);
        if (count > rule.limit) {
          // Refused sends do not count, so a flood cannot push the window forward for ever.
          await repos.loginAttempts.remove(id);
          logger.warn('per-recipient email limit reached; message not sent');
          return false;
        }
      }
      return true;
    },
    async forgetRecipient(to) {
      const repos = createRepositories(storage.fork(), storage.dialect);
      for (const rule of options.recipientLimits)
        await repos.loginAttempts.clear(recipientLimitKey(to, rule.windowSeconds));
    },
    async enqueue(kind, to, email, enqueueOptions = {}) {
      const repos = createRepositories(storage.fork(), storage.dialect);
      const message: EmailMessage = { to, from: options.from, ...email };
      const stored = await repos.emailOutbox.enqueue(
        { kind, toAddress: to, payload: sealer.seal(JSON.stringify(message)) },
        clock.now(),
        enqueueOptions.id,
      );
      // Wake the worker once the row is visible: after the surrounding transaction commits, if any.
      if (!stopped) storage.afterCommit(() => setImmediate(wake));
      return stored !== null;
    },
    handleJobs(name, handler) {
      jobs.set(name, handler);
    },
    async enqueueJob(name, payload) {
      const repos = createRepositories(storage.fork(), storage.dialect);
      // The payload may hold an address: sealed like mail, and no recipient column (R62).
      await repos.emailOutbox.enqueue(
        { kind: `${JOB_PREFIX}${name}`, toAddress: '', payload: sealer.seal(JSON.stringify(payload)) },
        clock.now(),
      );
      // Wake the worker once the row is visible: after the surrounding transaction commits, if any.
      if (!stopped) storage.afterCommit(() => setImmediate(wake));
    },
    start() {
      if (!stopped) return;
      stopped = false;
      schedule();
      // The first pass waits one interval: a host usually installs the schema right after creating regstack.
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
    async outboxStats() {
      const repos = createRepositories(storage.fork(), storage.dialect);
      const { pending, oldestCreatedAt } = await repos.emailOutbox.pendingStats();
      const age = oldestCreatedAt ? (clock.now().getTime() - oldestCreatedAt.getTime()) / 1000 : 0;
      return { pending, oldestAgeSeconds: Math.max(0, age) };
    },
    async drain() {
      let total = 0;
      for (;;) {
        await running;
        const n = await tick();
        total += n;
        if (n === 0) return total;
      }
    },
  };
}
