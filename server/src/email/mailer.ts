/**
 * The mailer: every message goes through the durable outbox (SPEC §8). `enqueue` seals the rendered message
 * and stores it; a worker leases due messages, sends them through the transport, and on failure retries
 * with exponential backoff until `maxAttempts`, then marks the message dead and emits `email_failed`.
 * Responses never wait for, or depend on, the mail provider (R11). Per-recipient throttles (R21) drop
 * excess mail silently — the caller's response is the same either way.
 */
import type { Storage } from '../db/storage.ts';
import type { EventBus } from '../events.ts';
import type { Logger } from '../logger.ts';
import { createRepositories } from '../repositories/index.ts';
import type { Clock } from '../security/clock.ts';
import type { Sealer } from '../security/sealing.ts';
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
  /** Sends tried before a message is dead. @default 8 */
  maxAttempts?: number;
  /** First retry delay; doubles per attempt, capped at one hour. @default 2000 */
  baseBackoffMs?: number;
}

export interface Mailer {
  /**
   * Counts one message to `to` against the per-recipient limits (R21); false means the limit is reached and
   * the caller must not send — nor rotate anything the earlier messages' links depend on.
   */
  reserve(to: string): Promise<boolean>;
  /** Queues a message (the caller has reserved it). */
  enqueue(kind: string, to: string, email: RenderedEmail): Promise<void>;
  start(): void;
  stop(): Promise<void>;
  /** Sends everything due now, then resolves (tests, CLI). */
  drain(): Promise<number>;
}

export function createMailer(options: MailerOptions): Mailer {
  const { storage, transport, sealer, clock, logger, events } = options;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const leaseMs = options.leaseMs ?? 60_000;
  const maxAttempts = options.maxAttempts ?? 8;
  const baseBackoffMs = options.baseBackoffMs ?? 2000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let stopped = true;

  async function sendDue(): Promise<number> {
    const repos = createRepositories(storage.fork(), storage.dialect);
    const leases = await repos.emailOutbox.claimDue(clock.now(), leaseMs, 20);
    let sent = 0;
    for (const { message } of leases) {
      let email: EmailMessage;
      try {
        email = JSON.parse(sealer.open(message.payload)) as EmailMessage;
      } catch (err) {
        logger.error('outbox message cannot be opened; marking dead', { messageId: message.id, err });
        await repos.emailOutbox.markFailed(message.id, message.attempts + 1, 'payload cannot be opened', null);
        continue;
      }
      try {
        await transport.send(email);
        await repos.emailOutbox.markSent(message.id, clock.now());
        sent += 1;
      } catch (err) {
        const attempts = message.attempts + 1;
        const dead = attempts >= maxAttempts;
        const delay = Math.min(baseBackoffMs * 2 ** (attempts - 1), 3_600_000);
        const retryAt = dead ? null : new Date(clock.now().getTime() + delay);
        const reason = err instanceof Error ? `${err.name}: ${err.message}` : 'send failed';
        await repos.emailOutbox.markFailed(message.id, attempts, reason, retryAt);
        logger.warn('email send failed', { messageId: message.id, kind: message.kind, attempts, dead });
        events.emit('email_failed', { messageId: message.id, kind: message.kind, attempts, dead });
      }
    }
    return sent;
  }

  function tick(): Promise<number> {
    // One pass at a time per process; concurrent processes are kept apart by the leases.
    if (!running) {
      running = sendDue()
        .catch((err) => {
          logger.error('outbox pass failed', { err });
          return 0;
        })
        .finally(() => {
          running = undefined;
        });
    }
    return running;
  }

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
        const key = `mail:${to}:${rule.windowSeconds}`;
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
    async enqueue(kind, to, email) {
      const repos = createRepositories(storage.fork(), storage.dialect);
      const message: EmailMessage = { to, from: options.from, ...email };
      await repos.emailOutbox.enqueue(
        { kind, toAddress: to, payload: sealer.seal(JSON.stringify(message)) },
        clock.now(),
      );
      if (!stopped) setImmediate(() => void tick());
    },
    start() {
      if (!stopped) return;
      stopped = false;
      schedule();
      setImmediate(() => void tick());
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
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
