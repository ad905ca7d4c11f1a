/**
 * Issue 14 item 11 — mail after an SMTP outage. The outbox's retry schedule (2 s doubling, capped at 30 s,
 * jittered; given up only after `email.outbox_give_up_after_seconds`, a day by default):
 * - its shape, as numbers: the waits, the cap, the give-up time, an hour of outage survived;
 * - on every backend with a real SMTP server and a manual clock: an hour with the port closed leaves the
 *   verification mail pending (no dead letter, a try at least every 30 s), and it goes out on the first try after
 *   the server is back; past the give-up time it is dead and `email_failed` says so;
 * - on every backend in real time: SMTP down at sign-up, back a few seconds later, several times over — each mail
 *   arrives within the documented bound after the recovery;
 * - a message queued while the worker is busy with a pass is sent right after that pass, not one poll later (the
 *   wake-up used to be dropped);
 * - a message whose lease lapsed while its worker was busy with a slow send is left to whoever holds it now, so it
 *   goes out once, not once per worker.
 */
import {
  createJsonLogger,
  createManualClock,
  createRegstack,
  createTemplates,
  type EmailMessage,
  parseConfig,
  type Regstack,
  silentLogger,
  systemClock,
} from '@regstack/server';
import {
  createEventBus,
  createMailer,
  createSealer,
  DEFAULT_OUTBOX_RETRY,
  EmailOutboxSchema,
  outboxRetry,
  outboxRetryDelayMs,
} from '@regstack/server/internal';
import { afterEach, describe, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { TEST_SECRET } from '../harness/regstack.ts';
import { checkedSecret } from '../harness/validated-config.ts';
import { freePort, startSmtpServer, type TestSmtpServer } from './smtp-test-server.ts';

const PASSWORD = 'correct horse battery staple';
const SMTP_PASSWORD = 'retry-smtp-Pa55';
/** The documented bound: a try at most 30 s after the last one, plus one poll interval (1 s). */
const RECOVERY_BOUND_MS = DEFAULT_OUTBOX_RETRY.maxBackoffMs + 1000;

describe('the outbox retry schedule (item 11)', () => {
  const low = () => 0;
  const high = () => 1;

  it('waits 2 s doubling, jittered within the upper half, and never more than 30 s', () => {
    const bounds = [1, 2, 3, 4, 5, 6, 7, 20, 1000].map((n) => [
      outboxRetryDelayMs(n, DEFAULT_OUTBOX_RETRY, low),
      outboxRetryDelayMs(n, DEFAULT_OUTBOX_RETRY, high),
    ]);
    expect(bounds).toEqual([
      [1000, 2000],
      [2000, 4000],
      [4000, 8000],
      [8000, 16_000],
      [15_000, 30_000],
      [15_000, 30_000],
      [15_000, 30_000],
      [15_000, 30_000],
      [15_000, 30_000],
    ]);
    for (let i = 0; i < 1000; i++) {
      const d = outboxRetryDelayMs(1 + (i % 40), DEFAULT_OUTBOX_RETRY);
      expect(d).toBeGreaterThanOrEqual(1000);
      expect(d).toBeLessThanOrEqual(30_000);
    }
  });

  it('survives an hour of failures and gives up only after the configured duration (24 h by default)', () => {
    const createdAt = new Date(0);
    // An hour of back-to-back failures at the shortest waits (the most tries): never dead.
    let now = 0;
    let attempts = 0;
    while (now < 3600_000) {
      attempts += 1;
      const next = outboxRetry({ attempts, createdAt, now: new Date(now) }, DEFAULT_OUTBOX_RETRY, low);
      expect(next.dead).toBe(false);
      now = next.retryAt!.getTime();
    }
    expect(attempts).toBeGreaterThan(200);
    const at = (ms: number, n = attempts) =>
      outboxRetry({ attempts: n, createdAt, now: new Date(ms) }, DEFAULT_OUTBOX_RETRY, high);
    expect(at(24 * 3600_000 - 1)).toMatchObject({ dead: false });
    expect(at(24 * 3600_000)).toEqual({ dead: true, retryAt: null });
    // An explicit attempt cap still applies, whichever comes first.
    const capped = { ...DEFAULT_OUTBOX_RETRY, maxAttempts: 5 };
    expect(outboxRetry({ attempts: 4, createdAt, now: new Date(1000) }, capped).dead).toBe(false);
    expect(outboxRetry({ attempts: 5, createdAt, now: new Date(1000) }, capped).dead).toBe(true);
  });

  it('is configured by email.outbox_give_up_after_seconds; outbox_max_attempts is optional', () => {
    const base = { jwtSecret: TEST_SECRET, databaseUrl: 'sqlite::memory:' };
    const defaults = parseConfig(base).email;
    expect(defaults.outboxGiveUpAfterSeconds).toBe(86_400);
    expect(defaults.outboxMaxAttempts).toBeUndefined();
    const set = parseConfig({ ...base, email: { outboxGiveUpAfterSeconds: 7200, outboxMaxAttempts: 500 } }).email;
    expect(set).toMatchObject({ outboxGiveUpAfterSeconds: 7200, outboxMaxAttempts: 500 });
    expect(() => parseConfig({ ...base, email: { outboxGiveUpAfterSeconds: 0 } })).toThrow();
  });
});

describeEachBackend('mail after an SMTP outage (item 11)', (ctx) => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function start(smtpPort: number, extra: { clock?: ReturnType<typeof createManualClock>; worker: boolean }) {
    const logs: string[] = [];
    const config = parseConfig({
      jwtSecret: TEST_SECRET,
      databaseUrl: ctx.url,
      baseUrl: 'https://accounts.example.test',
      hashQueueLimit: 256,
      email: {
        backend: 'smtp',
        smtpHost: '127.0.0.1',
        smtpPort,
        smtpStarttls: false,
        smtpUsername: 'mailer',
        smtpPassword: SMTP_PASSWORD,
        fromAddress: 'noreply@acme.test',
      },
    });
    const regstack: Regstack = await createRegstack({
      config,
      logger: createJsonLogger({ level: 'debug', write: (line) => logs.push(line) }),
      startWorkers: extra.worker,
      ...(extra.clock && { clock: extra.clock }),
    });
    cleanup.push(() => regstack.close());
    await regstack.installSchema();
    return { regstack, logs };
  }

  async function smtpServer(port: number): Promise<TestSmtpServer> {
    const server = await startSmtpServer({ starttls: false, users: { mailer: SMTP_PASSWORD }, port });
    cleanup.push(() => server.stop());
    return server;
  }

  async function register(regstack: Regstack, email: string) {
    const response = await regstack.handle(
      new Request('http://localhost/trpc/auth.register', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ json: { email, password: PASSWORD } }),
      }),
    );
    expect(response.status).toBe(200);
  }

  async function outboxRow(to: string) {
    const rows = await ctx.storage
      .fork()
      .find(EmailOutboxSchema, { toAddress: to }, { disableIdentityMap: true, orderBy: { createdAt: 'asc' } });
    expect(rows).toHaveLength(1);
    return rows[0]!;
  }

  it('an hour with the SMTP port closed dead-letters nothing; the mail goes out on the first try after', async () => {
    const port = await freePort();
    const clock = createManualClock(Date.now());
    const { regstack, logs } = await start(port, { clock, worker: false });
    const failed: { attempts: number; dead: boolean }[] = [];
    regstack.on('email_failed', (e) => {
      failed.push({ attempts: e.attempts, dead: e.dead });
    });
    const to = `hour-${ctx.backend}@example.com`;
    await register(regstack, to);

    // Every 30 s (the cap) for an hour: each step finds the message due — a try at least every 30 s, so it is
    // never more than 30 s from going out — and each try fails with the port closed.
    for (let elapsed = 0; elapsed <= 3600_000; elapsed += DEFAULT_OUTBOX_RETRY.maxBackoffMs) {
      expect(await regstack.drainOutbox()).toBe(0);
      const row = await outboxRow(to);
      expect(row.status).toBe('pending');
      expect(row.nextAttemptAt.getTime() - clock.now().getTime()).toBeLessThanOrEqual(
        DEFAULT_OUTBOX_RETRY.maxBackoffMs,
      );
      clock.advance(DEFAULT_OUTBOX_RETRY.maxBackoffMs);
    }
    await regstack.settle();
    expect(failed.length).toBeGreaterThanOrEqual(120);
    expect(failed.some((f) => f.dead)).toBe(false);

    const smtp = await smtpServer(port);
    expect(await regstack.drainOutbox()).toBe(1); // the last advance made it due: the first try after recovery
    const [mail] = await smtp.waitForMessages(1);
    expect(mail?.rcptTo).toEqual([to]);
    expect((await outboxRow(to)).status).toBe('sent');
    // The failure lines say when the next try is, never the address in clear.
    expect(logs.some((l) => l.includes('"msg":"email send failed"') && l.includes('"retryAt":"'))).toBe(true);
    expect(logs.join('\n')).not.toContain(to);
  });

  it('past email.outbox_give_up_after_seconds a failing message is dead, and email_failed says so', async () => {
    const port = await freePort();
    const clock = createManualClock(Date.now());
    const { regstack } = await start(port, { clock, worker: false });
    const failed: { attempts: number; dead: boolean }[] = [];
    regstack.on('email_failed', (e) => {
      failed.push({ attempts: e.attempts, dead: e.dead });
    });
    const to = `giveup-${ctx.backend}@example.com`;
    await register(regstack, to);
    await regstack.drainOutbox();
    clock.advance(24 * 3600_000 - 120_000); // just short of a day: still retried
    await regstack.drainOutbox();
    expect((await outboxRow(to)).status).toBe('pending');
    clock.advance(120_000);
    await regstack.drainOutbox();
    expect((await outboxRow(to)).status).toBe('dead');
    clock.advance(3600_000);
    await regstack.drainOutbox();
    await regstack.settle();
    expect(failed).toEqual([
      { attempts: 1, dead: false },
      { attempts: 2, dead: false },
      { attempts: 3, dead: true },
    ]);
  });

  it('SMTP down at sign-up and back seconds later, four times over: each mail arrives within the bound', async () => {
    const port = await freePort();
    const { regstack } = await start(port, { worker: true });
    const outagesMs = [1500, 3000, 4500, 6000];
    const delays: number[] = [];
    for (const [i, outageMs] of outagesMs.entries()) {
      const to = `flaky-${i}-${ctx.backend}@example.com`;
      await register(regstack, to); // the worker tries at once: connection refused
      await new Promise((r) => setTimeout(r, outageMs));
      const smtp = await startSmtpServer({ starttls: false, users: { mailer: SMTP_PASSWORD }, port });
      const upAt = Date.now();
      try {
        const [mail] = await smtp.waitForMessages(1, RECOVERY_BOUND_MS + 5000);
        delays.push(Date.now() - upAt);
        expect(mail?.rcptTo).toEqual([to]);
      } finally {
        await smtp.stop(); // down again for the next round
      }
    }
    expect(delays).toHaveLength(outagesMs.length);
    for (const delay of delays) expect(delay).toBeLessThanOrEqual(RECOVERY_BOUND_MS);
  }, 240_000);

  it('a message queued during a pass is sent right after it, not one poll interval later', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const sent: { to: string; at: number }[] = [];
    const mailer = createMailer({
      storage: ctx.storage,
      transport: {
        async send(message: EmailMessage) {
          if (message.to.startsWith('first-')) await held; // the provider is slow with the first message
          sent.push({ to: message.to, at: Date.now() });
        },
      },
      sealer: createSealer(checkedSecret(TEST_SECRET)),
      clock: systemClock,
      logger: silentLogger,
      events: createEventBus(silentLogger),
      from: 'noreply@acme.test',
      recipientLimits: [],
      pollIntervalMs: 60_000, // a poll would come far too late: only a wake-up can send the second message
    });
    const templates = createTemplates({ appName: 'Acme', baseUrl: 'https://a.test', uiPrefix: '/account' });
    mailer.start();
    cleanup.push(() => mailer.stop());
    await mailer.enqueue('password_changed', `first-${ctx.backend}@example.com`, templates.passwordChanged());
    await new Promise((r) => setTimeout(r, 300)); // the pass is now inside the slow send
    await mailer.enqueue('password_changed', `second-${ctx.backend}@example.com`, templates.passwordChanged());
    await new Promise((r) => setTimeout(r, 200)); // its wake-up arrives while the pass still waits on the first
    const releasedAt = Date.now();
    release();
    const deadline = Date.now() + 5000;
    while (sent.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(sent.map((m) => m.to)).toEqual([`first-${ctx.backend}@example.com`, `second-${ctx.backend}@example.com`]);
    expect(sent[1]!.at - releasedAt).toBeLessThan(2000);
  });

  it('a message whose lease lapsed during a slow send of another is sent by one worker only', async () => {
    const sent: { worker: string; to: string }[] = [];
    const templates = createTemplates({ appName: 'Acme', baseUrl: 'https://a.test', uiPrefix: '/account' });
    const worker = (name: string, slowMs: number) =>
      createMailer({
        storage: ctx.storage,
        transport: {
          async send(message: EmailMessage) {
            if (message.to.startsWith('slow-')) await new Promise((r) => setTimeout(r, slowMs));
            sent.push({ worker: name, to: message.to });
          },
        },
        sealer: createSealer(checkedSecret(TEST_SECRET)),
        clock: systemClock,
        logger: silentLogger,
        events: createEventBus(silentLogger),
        from: 'noreply@acme.test',
        recipientLimits: [],
        leaseMs: 1000,
      });
    const a = worker('a', 1500);
    const b = worker('b', 0);
    const slow = `slow-lease-${ctx.backend}@example.com`;
    const fast = `fast-lease-${ctx.backend}@example.com`;
    await a.enqueue('password_changed', slow, templates.passwordChanged());
    await new Promise((r) => setTimeout(r, 5)); // claimed in this order: the slow one first
    await a.enqueue('password_changed', fast, templates.passwordChanged());
    const passA = a.drain(); // leases both for 1 s, then spends 1.5 s on the slow one
    await new Promise((r) => setTimeout(r, 1200));
    await b.drain(); // both leases have lapsed: b takes over
    await passA;
    expect(sent.filter((m) => m.to === fast)).toEqual([{ worker: 'b', to: fast }]);
  });
});
