/**
 * Issue 18 item 7 (R21): the abuse checks behind `sendCode`, on every backend, through `createRegstack` as a host
 * builds it. Each limit — per destination number, per client IP (IPv6 per /64), per account, and the global cap —
 * refuses the (n+1)th send with RATE_LIMITED and a truthful `retryAfterSeconds`, before anything reaches the
 * transport; the limits are counted in the database, so two instances share them; a send one limit refuses counts
 * against none (a client stopped by its IP limit cannot use up the global cap); a counter that cannot be read refuses
 * the send (fail closed). The country allowlist refuses with SMS_DESTINATION_NOT_ALLOWED before any counting, and
 * `sms.backend = "none"` refuses with FEATURE_DISABLED. The transport is a host object that records what it is given.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createRegstack,
  parseConfig,
  type Regstack,
  type RegstackConfigInput,
  type SmsCodeRequest,
  type SmsMessage,
  silentLogger,
} from '@regstack/server';
import { LoginAttemptSchema } from '@regstack/server/internal';
import { afterEach, describe, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { TEST_SECRET } from '../harness/regstack.ts';

const GB = '+442079460958';
const GB2 = '+442079460959';
const GB3 = '+442079460957';
const IE = '+35312345678';
const US = '+12025550123';
const JERSEY = '+441534123456';

/** Loose limits, so each test tightens only the one it exercises. */
const LOOSE = {
  recipientRateLimit: '100/hour',
  ipRateLimit: '100/hour',
  userRateLimit: '100/hour',
  globalRateLimit: '100/hour',
};

describeEachBackend('SMS abuse checks (issue 18 item 7)', (ctx) => {
  const open: Regstack[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((r) => r.close()));
    // Every test starts with empty counters.
    await ctx.storage.fork().nativeDelete(LoginAttemptSchema, {});
  });

  async function start(sms: RegstackConfigInput['sms'] & object, withTransport = true) {
    const sent: SmsMessage[] = [];
    const regstack = await createRegstack({
      config: parseConfig({ jwtSecret: TEST_SECRET, databaseUrl: ctx.url, sms: { ...LOOSE, ...sms } }),
      ...(withTransport && {
        sms: {
          async send(message: SmsMessage) {
            sent.push(message);
          },
        },
      }),
      logger: silentLogger,
      startWorkers: false,
    });
    open.push(regstack);
    const send = async (request: Partial<SmsCodeRequest>) => {
      await regstack.sms.sendCode({
        to: GB,
        code: '123456',
        purpose: 'login',
        userId: 'u1',
        ip: '198.51.100.1',
        ...request,
      });
      await regstack.settle();
    };
    return { regstack, sent, send };
  }

  it('per destination number: the (n+1)th send to one number is refused, with the time until one fits', async () => {
    const { sent, send } = await start({ recipientRateLimit: '2/hour' });
    await send({ userId: 'a', ip: '198.51.100.1' });
    await send({ userId: 'b', ip: '198.51.100.2' });
    const refused = send({ userId: 'c', ip: '198.51.100.3' });
    await expect(refused).rejects.toMatchObject({ name: 'RegstackError', code: 'RATE_LIMITED' });
    const seconds = ((await refused.catch((e: unknown) => e)) as { retryAfterSeconds: number }).retryAfterSeconds;
    expect(seconds).toBeGreaterThan(3500);
    expect(seconds).toBeLessThanOrEqual(3600);
    await send({ to: GB2, userId: 'c', ip: '198.51.100.3' }); // another number is not affected
    expect(sent.map((m) => m.to)).toEqual([GB, GB, GB2]);
  });

  it('per client IP: the (n+1)th send from one IP is refused, and an IPv6 /64 counts as one client (R20)', async () => {
    const { sent, send } = await start({ ipRateLimit: '2/hour' });
    await send({ to: GB, userId: 'a', ip: '198.51.100.7' });
    await send({ to: GB2, userId: 'b', ip: '198.51.100.7' });
    await expect(send({ to: GB3, userId: 'c', ip: '198.51.100.7' })).rejects.toMatchObject({ code: 'RATE_LIMITED' });

    await send({ to: GB, userId: 'd', ip: '2001:db8:1:2::1' });
    await send({ to: GB2, userId: 'e', ip: '2001:db8:1:2:ffff::9' });
    await expect(send({ to: GB3, userId: 'f', ip: '2001:db8:1:2:abcd::5' })).rejects.toMatchObject({
      code: 'RATE_LIMITED',
    });
    // A server-side caller (no IP) is not held by the per-IP limit.
    await send({ to: GB3, userId: 'g', ip: null });
    expect(sent).toHaveLength(5);
  });

  it('per account: the (n+1)th send for one user is refused, whatever the number or IP', async () => {
    const { sent, send } = await start({ userRateLimit: '2/hour' });
    await send({ to: GB, userId: 'switcher', ip: '198.51.100.1' });
    await send({ to: GB2, userId: 'switcher', ip: '198.51.100.2' });
    await expect(send({ to: GB3, userId: 'switcher', ip: '198.51.100.3' })).rejects.toMatchObject({
      code: 'RATE_LIMITED',
    });
    await send({ to: GB3, userId: 'someone-else', ip: '198.51.100.3' });
    expect(sent).toHaveLength(3);
  });

  it('the global cap refuses every send past it (fail closed), and a send another limit refused does not use it up', async () => {
    const { sent, send } = await start({ globalRateLimit: '2/hour', ipRateLimit: '1/hour' });
    await send({ to: GB, userId: 'a', ip: '198.51.100.1' });
    // Refused by its IP limit: withdrawn from every counter, so the global cap still has room for someone else.
    await expect(send({ to: GB2, userId: 'a', ip: '198.51.100.1' })).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    await send({ to: GB2, userId: 'b', ip: '198.51.100.2' });
    // The cap is reached: a fresh user, number and IP are refused all the same.
    await expect(send({ to: GB3, userId: 'c', ip: '198.51.100.3' })).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    await expect(send({ to: IE, userId: 'd', ip: null })).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect(sent.map((m) => m.to)).toEqual([GB, GB2]);
  });

  it('a send one limit refuses is counted by none: the limits it had passed are given back', async () => {
    const { sent, send } = await start({
      ipRateLimit: '2/hour',
      userRateLimit: '2/hour',
      recipientRateLimit: '1/hour',
    });
    await send({ to: GB, userId: 'a', ip: '198.51.100.1' });
    // Passes the IP and user limits, then the number's limit refuses it: the IP and user keep their second send.
    await expect(send({ to: GB, userId: 'a', ip: '198.51.100.1' })).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    await send({ to: GB2, userId: 'a', ip: '198.51.100.1' });
    expect(sent.map((m) => m.to)).toEqual([GB, GB2]);
  });

  it('the global cap is rejected as "none" in configuration', () => {
    expect(() => parseConfig({ jwtSecret: TEST_SECRET, sms: { globalRateLimit: 'none' } })).toThrow(
      /sms\.global_rate_limit/,
    );
  });

  it('limits are counted in the database: two instances share them', async () => {
    const one = await start({ recipientRateLimit: '2/hour', globalRateLimit: '3/hour' });
    const two = await start({ recipientRateLimit: '2/hour', globalRateLimit: '3/hour' });
    await one.send({ to: GB, userId: 'a', ip: '198.51.100.1' });
    await two.send({ to: GB, userId: 'b', ip: '198.51.100.2' });
    await expect(one.send({ to: GB, userId: 'c', ip: '198.51.100.3' })).rejects.toMatchObject({
      code: 'RATE_LIMITED',
    });
    await one.send({ to: GB2, userId: 'c', ip: '198.51.100.3' });
    await expect(two.send({ to: GB3, userId: 'd', ip: '198.51.100.4' })).rejects.toMatchObject({
      code: 'RATE_LIMITED',
    });
    expect(one.sent).toHaveLength(2);
    expect(two.sent).toHaveLength(1);
  });

  it('concurrent sends to one number never exceed its limit', async () => {
    const { sent, send } = await start({ recipientRateLimit: '3/hour' });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => send({ to: GB, userId: `u${i}`, ip: `198.51.100.${i + 1}` })),
    );
    const accepted = outcomes.filter((o) => o.status === 'fulfilled').length;
    expect(accepted).toBeLessThanOrEqual(3);
    expect(sent).toHaveLength(accepted);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toMatchObject({ code: 'RATE_LIMITED' });
  });

  it('the country allowlist refuses other destinations before anything is counted or sent', async () => {
    const { sent, send } = await start({ allowedCountryCodes: ['GB', '+353'], globalRateLimit: '2/hour' });
    await expect(send({ to: US })).rejects.toMatchObject({
      name: 'RegstackError',
      code: 'SMS_DESTINATION_NOT_ALLOWED',
    });
    // An ISO code means that region: Jersey shares +44 but is JE, not GB.
    await expect(send({ to: JERSEY })).rejects.toMatchObject({ code: 'SMS_DESTINATION_NOT_ALLOWED' });
    // Refusals used up no allowance: the global cap of 2 still admits two sends.
    await send({ to: GB });
    await send({ to: IE, userId: 'u2' });
    expect(sent.map((m) => m.to)).toEqual([GB, IE]);
    const rows = await ctx.storage.fork().find(LoginAttemptSchema, {}, { disableIdentityMap: true });
    // Numbers are counted under a digest, never stored.
    expect(rows.filter((r) => JSON.stringify(r).includes(GB.slice(1)))).toHaveLength(0);
  });

  it('a calling-code prefix admits every number under it', async () => {
    const { sent, send } = await start({ allowedCountryCodes: ['+44'] });
    await send({ to: JERSEY });
    await expect(send({ to: US })).rejects.toMatchObject({ code: 'SMS_DESTINATION_NOT_ALLOWED' });
    expect(sent.map((m) => m.to)).toEqual([JERSEY]);
  });

  it('sms.backend = "none" refuses every send with FEATURE_DISABLED', async () => {
    const { send } = await start({ backend: 'none' }, false);
    await expect(send({})).rejects.toMatchObject({ code: 'FEATURE_DISABLED' });
  });
});

describe('SMS abuse checks fail closed (issue 18 item 7)', () => {
  it('a limit that cannot be counted refuses the send: nothing reaches the transport', async () => {
    // A real database whose schema was never installed: every counter write fails, as it would in an outage.
    const dir = mkdtempSync(join(tmpdir(), 'regstack-sms-closed-'));
    const sent: SmsMessage[] = [];
    const regstack = await createRegstack({
      config: parseConfig({ jwtSecret: TEST_SECRET, databaseUrl: `sqlite:${join(dir, 'empty.db')}` }),
      sms: {
        async send(message: SmsMessage) {
          sent.push(message);
        },
      },
      logger: silentLogger,
      startWorkers: false,
    });
    try {
      const refused = regstack.sms.sendCode({ to: GB, code: '123456', purpose: 'login', userId: 'u1', ip: null });
      await expect(refused).rejects.toThrow();
      await expect(refused).rejects.not.toMatchObject({ code: 'RATE_LIMITED' });
      await regstack.settle();
      expect(sent).toHaveLength(0);
    } finally {
      await regstack.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
