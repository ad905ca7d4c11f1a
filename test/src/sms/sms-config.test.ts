/**
 * Issue 18 item 3: the `[sms]` keys the transports read. `twilio` needs its SID and token and a sender — a from
 * number or a Messaging Service; explicit SNS keys come in pairs; the console transport prints the masked destination
 * only, and the body (the code) only with `sms.log_bodies` (R62); `none` builds a transport that refuses every send
 * with FEATURE_DISABLED.
 */
import {
  ConfigError,
  createConsoleSmsTransport,
  createSmsTransportFromConfig,
  parseConfig,
  type RegstackConfigInput,
  silentLogger,
} from '@regstack/server';
import { maskPhone } from '@regstack/shared';
import { describe, expect, it } from 'vitest';
import { TEST_SECRET } from '../harness/regstack.ts';

function issueKeys(input: RegstackConfigInput): string[] {
  try {
    parseConfig(input);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((issue) => issue.key);
    throw err;
  }
}

describe('[sms] configuration and the console and none transports (issue 18 item 3)', () => {
  it('twilio needs a from number or a Messaging Service SID', () => {
    const base = { twilioAccountSid: 'AC123', twilioAuthToken: 'token' };
    expect(issueKeys({ jwtSecret: TEST_SECRET, sms: { backend: 'twilio', ...base } })).toEqual(['sms.from_number']);
    expect(
      issueKeys({ jwtSecret: TEST_SECRET, sms: { backend: 'twilio', ...base, twilioMessagingServiceSid: 'MG1' } }),
    ).toEqual([]);
    expect(
      issueKeys({ jwtSecret: TEST_SECRET, sms: { backend: 'twilio', ...base, fromNumber: '+15005550006' } }),
    ).toEqual([]);
  });

  it('explicit SNS keys come in pairs; twilio_base_url and sns_endpoint must be http(s) URLs', () => {
    expect(issueKeys({ jwtSecret: TEST_SECRET, sms: { backend: 'sns', snsAccessKeyId: 'AKID' } })).toEqual([
      'sms.sns_secret_access_key',
    ]);
    expect(issueKeys({ jwtSecret: TEST_SECRET, sms: { twilioBaseUrl: 'ftp://x', snsEndpoint: 'nope' } })).toEqual([
      'sms.sns_endpoint',
      'sms.twilio_base_url',
    ]);
  });

  it('the console transport prints the masked destination, and the body only when asked', async () => {
    const to = '+442079460958';
    const hidden: string[] = [];
    await createConsoleSmsTransport({ write: (t) => hidden.push(t) }).send({ to, body: '482913 is your code' });
    expect(hidden.join('')).toContain(maskPhone(to));
    expect(hidden.join('')).toContain('not sent');
    expect(hidden.join('')).not.toContain('482913');
    expect(hidden.join('')).not.toContain(to);

    const shown: string[] = [];
    await createConsoleSmsTransport({ showBodies: true, write: (t) => shown.push(t) }).send({
      to,
      body: '482913 is your code',
    });
    expect(shown.join('')).toContain('482913 is your code');
    expect(shown.join('')).not.toContain(to);
  });

  it('sms.backend = "none" builds a transport that refuses with FEATURE_DISABLED', async () => {
    const transport = await createSmsTransportFromConfig(
      parseConfig({ jwtSecret: TEST_SECRET, sms: { backend: 'none' } }),
      silentLogger,
    );
    await expect(transport.send({ to: '+442079460958', body: 'x' })).rejects.toMatchObject({
      code: 'FEATURE_DISABLED',
    });
  });
});
