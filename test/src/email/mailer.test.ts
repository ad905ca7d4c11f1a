/**
 * The mailer's per-recipient limits (R21) on every backend: counted under a digest of the address, never the
 * address itself, and `forgetRecipient` drops them (account deletion, R45). Failed sends retry with backoff and a
 * message is dead after an explicit `maxAttempts`, with an `email_failed` event (the time-based give-up and the
 * schedule's shape are in outbox-retry.test.ts).
 */
import { createManualClock, createTemplates, type EmailMessage, silentLogger } from '@regstack/server';
import { createEventBus, createMailer, createSealer, LoginAttemptSchema } from '@regstack/server/internal';
import { expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { TEST_SECRET } from '../harness/regstack.ts';
import { checkedSecret } from '../harness/validated-config.ts';

const templates = createTemplates({ appName: 'Acme', baseUrl: 'https://accounts.example.test', uiPrefix: '/account' });

describeEachBackend('mailer', (ctx) => {
  it('counts per recipient without storing the address, and forgetRecipient clears the count (R21, R45)', async () => {
    const clock = createManualClock(Date.now());
    const mailer = createMailer({
      storage: ctx.storage,
      transport: { send: async () => {} },
      sealer: createSealer(checkedSecret(TEST_SECRET)),
      clock,
      logger: silentLogger,
      events: createEventBus(silentLogger),
      from: 'noreply@acme.test',
      recipientLimits: [{ limit: 2, windowSeconds: 600 }],
    });
    const to = `limit-${ctx.backend}@example.com`;
    expect(await mailer.reserve(to)).toBe(true);
    expect(await mailer.reserve(to)).toBe(true);
    expect(await mailer.reserve(to)).toBe(false);
    expect(await mailer.reserve(`other-${to}`)).toBe(true);

    const em = ctx.storage.fork();
    const rows = await em.find(LoginAttemptSchema, {}, { disableIdentityMap: true });
    expect(rows.length).toBeGreaterThanOrEqual(3);
    expect(rows.filter((r) => JSON.stringify(r).includes('example.com'))).toHaveLength(0);

    await mailer.forgetRecipient(to);
    expect(await mailer.reserve(to)).toBe(true);
  });

  it('retries a failing send with backoff, then marks it dead and emits email_failed', async () => {
    const clock = createManualClock(Date.now());
    const events = createEventBus(silentLogger);
    const failures: { attempts: number; dead: boolean }[] = [];
    events.on('email_failed', (e) => {
      failures.push({ attempts: e.attempts, dead: e.dead });
    });
    const attempts: EmailMessage[] = [];
    const mailer = createMailer({
      storage: ctx.storage,
      transport: {
        async send(message) {
          attempts.push(message);
          throw new Error('provider down');
        },
      },
      sealer: createSealer(checkedSecret(TEST_SECRET)),
      clock,
      logger: silentLogger,
      events,
      from: 'noreply@acme.test',
      recipientLimits: [],
      maxAttempts: 3,
      baseBackoffMs: 1000,
    });
    const to = `dead-${ctx.backend}@example.com`;
    await mailer.enqueue('password_changed', to, templates.passwordChanged());
    expect(await mailer.drain()).toBe(0);
    expect(attempts).toHaveLength(1);
    clock.advance(400); // the first wait is 0.5–1 s (jittered): not due yet
    expect(await mailer.drain()).toBe(0);
    expect(attempts).toHaveLength(1);
    clock.advance(600);
    await mailer.drain();
    expect(attempts).toHaveLength(2);
    clock.advance(2100); // the wait doubled to 1–2 s
    await mailer.drain();
    expect(attempts).toHaveLength(3);
    clock.advance(3600_000);
    await mailer.drain();
    expect(attempts).toHaveLength(3);
    await events.idle();
    expect(failures).toEqual([
      { attempts: 1, dead: false },
      { attempts: 2, dead: false },
      { attempts: 3, dead: true },
    ]);
    expect(attempts.every((m) => m.to === to && m.subject === 'Your Acme password was changed')).toBe(true);
  });
});
