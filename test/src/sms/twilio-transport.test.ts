/**
 * Issue 18 item 3: the `twilio` SMS transport — the official `twilio` SDK pointed (`sms.twilio_base_url`) at a
 * loopback server speaking Twilio's Messages API. The assertions are on what the SDK really sent: basic auth with
 * the account SID and token, To, From or MessagingServiceSid, Body. A Twilio error answer rejects the send with an
 * `SmsSendError` that holds Twilio's status and code but not its text (which repeats the number); through
 * `createRegstack` that becomes one logged failure with a masked number and no body or code (R62). `verify()` reads
 * the account and sends nothing. Sends run in a plain Node child (sms-child.ts says why).
 */
import { fileURLToPath } from 'node:url';
import { maskPhone } from '@regstack/shared';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runNodeChild } from '../harness/node-child.ts';
import { TEST_SECRET } from '../harness/regstack.ts';
import type { SmsChildJob, SmsChildResult } from './sms-child.ts';
import { startTwilioServer, type TestTwilioServer } from './twilio-test-server.ts';

const CHILD = fileURLToPath(new URL('./sms-child.ts', import.meta.url));
const runSms = (job: SmsChildJob) => runNodeChild<SmsChildResult>(CHILD, [JSON.stringify(job)], 'SMS');

const TO = '+442079460958';
const MASKED = maskPhone(TO);

describe('twilio SMS transport (issue 18 item 3)', () => {
  let twilio: TestTwilioServer;
  beforeAll(async () => {
    twilio = await startTwilioServer();
  });
  afterAll(async () => {
    await twilio.stop();
  });
  beforeEach(() => {
    twilio.requests.splice(0);
    twilio.failWith(null);
    twilio.setAccountStatus('active');
  });

  const options = () => ({ accountSid: twilio.accountSid, authToken: twilio.authToken, baseUrl: twilio.baseUrl });

  it('posts To, From and Body to the account Messages.json with basic auth', async () => {
    const result = await runSms({
      mode: 'twilio',
      options: { ...options(), fromNumber: '+15005550006' },
      actions: [{ send: { to: TO, body: '123456 is your Acme verification code. Never share it.' } }],
    });
    expect(result.outcomes).toEqual([{ ok: true }]);
    expect(twilio.requests).toHaveLength(1);
    const [req] = twilio.requests;
    expect(req?.method).toBe('POST');
    expect(req?.path).toBe(`/2010-04-01/Accounts/${twilio.accountSid}/Messages.json`);
    expect(req?.headers['content-type']).toContain('application/x-www-form-urlencoded');
    expect(req?.auth).toEqual({ username: twilio.accountSid, password: twilio.authToken });
    expect(req?.form).toEqual({
      To: TO,
      From: '+15005550006',
      Body: '123456 is your Acme verification code. Never share it.',
    });
  });

  it('sends through a Messaging Service when twilio_messaging_service_sid is set (no From)', async () => {
    const result = await runSms({
      mode: 'twilio',
      options: { ...options(), fromNumber: '+15005550006', messagingServiceSid: 'MG0123456789abcdef0123456789abcdef' },
      actions: [{ send: { to: TO, body: 'hello' } }],
    });
    expect(result.outcomes).toEqual([{ ok: true }]);
    expect(twilio.requests[0]?.form).toEqual({
      To: TO,
      MessagingServiceSid: 'MG0123456789abcdef0123456789abcdef',
      Body: 'hello',
    });
  });

  it('turns a Twilio error answer into an SmsSendError with status and code, without the number', async () => {
    twilio.failWith({ status: 400, code: 21211 });
    const result = await runSms({
      mode: 'twilio',
      options: { ...options(), fromNumber: '+15005550006' },
      actions: [{ send: { to: TO, body: '123456 is your code' } }],
    });
    const [outcome] = result.outcomes;
    expect(outcome).toMatchObject({ ok: false, name: 'SmsSendError' });
    const message = outcome && !outcome.ok ? outcome.message : '';
    expect(message).toContain('HTTP 400');
    expect(message).toContain('21211');
    expect(message).not.toContain(TO.slice(1));
    expect(message).not.toContain('123456');
  });

  it('verify() reads the account (credentials proven, nothing sent); a wrong token or a suspended account fails', async () => {
    const ok = await runSms({
      mode: 'twilio',
      options: { ...options(), fromNumber: '+15005550006' },
      actions: [{ verify: true }],
    });
    expect(ok.outcomes).toEqual([{ ok: true }]);
    expect(twilio.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET /2010-04-01/Accounts/${twilio.accountSid}.json`,
    ]);

    const wrong = await runSms({
      mode: 'twilio',
      options: { ...options(), authToken: 'not-the-token', fromNumber: '+15005550006' },
      actions: [{ verify: true }],
    });
    expect(wrong.outcomes[0]).toMatchObject({ ok: false, name: 'SmsSendError' });
    expect(wrong.outcomes[0] && !wrong.outcomes[0].ok && wrong.outcomes[0].message).toContain('20003');

    twilio.setAccountStatus('suspended');
    const suspended = await runSms({
      mode: 'twilio',
      options: { ...options(), fromNumber: '+15005550006' },
      actions: [{ verify: true }],
    });
    expect(suspended.outcomes[0]).toMatchObject({ ok: false, message: expect.stringContaining('suspended') });
    expect(twilio.requests.filter((r) => r.method === 'POST')).toHaveLength(0);
  });

  it('is what sms.backend = "twilio" builds: sendCode reaches Twilio; a refusal is logged masked, without body or code', async () => {
    const config = {
      jwtSecret: TEST_SECRET,
      appName: 'Acme',
      sms: {
        backend: 'twilio' as const,
        twilioAccountSid: twilio.accountSid,
        twilioAuthToken: twilio.authToken,
        fromNumber: '+15005550006',
        twilioBaseUrl: twilio.baseUrl,
      },
    };
    const send = { to: TO, code: '482913', purpose: 'login' as const, userId: 'user-1', ip: '203.0.113.9' };
    const sent = await runSms({ mode: 'regstack', config, sends: [send] });
    expect(sent.setup).toBeUndefined();
    expect(sent.outcomes).toEqual([{ ok: true }]);
    expect(twilio.requests[0]?.form.Body).toBe('482913 is your Acme verification code. Never share it.');
    expect(twilio.requests[0]?.form.To).toBe(TO);

    twilio.failWith({ status: 400, code: 21211 });
    const refused = await runSms({ mode: 'regstack', config, sends: [{ ...send, code: '771204' }] });
    // Out of band: the caller's send was accepted; the failure shows only in the log.
    expect(refused.outcomes).toEqual([{ ok: true }]);
    const failure = refused.logs.find((line) => line.includes('"msg":"SMS not sent"'));
    expect(failure).toBeDefined();
    expect(failure).toContain(MASKED);
    expect(failure).toContain('21211');
    const logs = refused.logs.join('\n');
    expect(logs).not.toContain(TO.slice(1));
    expect(logs).not.toContain('771204');
    expect(logs).not.toContain(twilio.authToken);
  });

  it('the limits and the allowlist stand in front of Twilio: refused sends never reach it (item 7)', async () => {
    const result = await runSms({
      mode: 'regstack',
      config: {
        jwtSecret: TEST_SECRET,
        sms: {
          backend: 'twilio',
          twilioAccountSid: twilio.accountSid,
          twilioAuthToken: twilio.authToken,
          fromNumber: '+15005550006',
          twilioBaseUrl: twilio.baseUrl,
          recipientRateLimit: '1/hour',
          allowedCountryCodes: ['GB'],
        },
      },
      sends: [
        { to: TO, code: '111111', purpose: 'login', userId: 'a', ip: '203.0.113.1' },
        { to: TO, code: '222222', purpose: 'login', userId: 'b', ip: '203.0.113.2' },
        { to: '+12025550123', code: '333333', purpose: 'login', userId: 'c', ip: '203.0.113.3' },
      ],
    });
    expect(result.outcomes).toEqual([
      { ok: true },
      { ok: false, name: 'RegstackError', message: expect.any(String), code: 'RATE_LIMITED' },
      { ok: false, name: 'RegstackError', message: expect.any(String), code: 'SMS_DESTINATION_NOT_ALLOWED' },
    ]);
    expect(twilio.requests.map((r) => r.form.Body)).toEqual([
      '111111 is your RegStack verification code. Never share it.',
    ]);
  });

  it('without the twilio package installed, the start fails naming the package to add', async () => {
    const result = await runSms({
      mode: 'regstack',
      hidePackages: ['twilio'],
      config: {
        jwtSecret: TEST_SECRET,
        sms: {
          backend: 'twilio',
          twilioAccountSid: twilio.accountSid,
          twilioAuthToken: 'x',
          fromNumber: '+15005550006',
        },
      },
      sends: [],
    });
    expect(result.setup).toMatchObject({
      ok: false,
      message:
        'regstack: sms.backend = "twilio" needs the package twilio. Install it next to @regstack/server (pnpm add twilio).',
    });
  });
});
