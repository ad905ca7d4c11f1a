/**
 * Issue 18 item 3: the `sns` SMS transport — the official `@aws-sdk/client-sns` pointed (`sms.sns_endpoint`) at a
 * loopback server speaking SNS's query API. The assertions are on what the SDK really sent: `Action=Publish` with
 * `PhoneNumber` and `Message`, the Transactional SMS type, the sender attribute from `from_number`, and a SigV4
 * `Authorization` header for the configured keys and region. An SNS error answer rejects with an `SmsSendError`
 * holding the status and AWS error code but not SNS's text (which repeats the number); through `createRegstack` it
 * is one logged failure with a masked number and no body or code (R62). `verify()` signs a read and sends nothing.
 * Sends run in a plain Node child (sms-child.ts says why).
 */
import { fileURLToPath } from 'node:url';
import { maskPhone } from '@regstack/shared';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runNodeChild } from '../harness/node-child.ts';
import { TEST_SECRET } from '../harness/regstack.ts';
import type { SmsChildJob, SmsChildResult } from './sms-child.ts';
import { messageAttributes, startSnsServer, type TestSnsServer } from './sns-test-server.ts';

const CHILD = fileURLToPath(new URL('./sms-child.ts', import.meta.url));
const runSms = (job: SmsChildJob) => runNodeChild<SmsChildResult>(CHILD, [JSON.stringify(job)], 'SMS');

const TO = '+442079460958';
const keys = { accessKeyId: 'AKIDREGSTACKSNS', secretAccessKey: 'sns-test-secret-access-key' };

describe('sns SMS transport (issue 18 item 3)', () => {
  let sns: TestSnsServer;
  beforeAll(async () => {
    sns = await startSnsServer();
  });
  afterAll(async () => {
    await sns.stop();
  });
  beforeEach(() => {
    sns.requests.splice(0);
    sns.failWith(null);
  });

  it('publishes to the phone number, Transactional, signed with SigV4 for the configured keys and region', async () => {
    const result = await runSms({
      mode: 'sns',
      options: { region: 'eu-central-1', endpoint: sns.endpoint, ...keys },
      actions: [{ send: { to: TO, body: '123456 is your Acme verification code. Never share it.' } }],
    });
    expect(result.outcomes).toEqual([{ ok: true }]);
    expect(sns.requests).toHaveLength(1);
    const [req] = sns.requests;
    expect(req?.method).toBe('POST');
    expect(req?.form.Action).toBe('Publish');
    expect(req?.form.PhoneNumber).toBe(TO);
    expect(req?.form.Message).toBe('123456 is your Acme verification code. Never share it.');
    expect(req?.form.TopicArn).toBeUndefined();
    expect(messageAttributes(req?.form ?? {})).toEqual({ 'AWS.SNS.SMS.SMSType': 'Transactional' });
    expect(String(req?.headers.authorization)).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDREGSTACKSNS\/\d{8}\/eu-central-1\/sns\/aws4_request, SignedHeaders=[^,]+, Signature=[0-9a-f]{64}$/,
    );
    expect(JSON.stringify(req?.headers)).not.toContain(keys.secretAccessKey);
  });

  it('sends from_number as the origination number, or a sender id when it is not a number', async () => {
    await runSms({
      mode: 'sns',
      options: { region: 'eu-west-1', endpoint: sns.endpoint, ...keys, fromNumber: '+447400123456' },
      actions: [{ send: { to: TO, body: 'a' } }],
    });
    await runSms({
      mode: 'sns',
      options: { region: 'eu-west-1', endpoint: sns.endpoint, ...keys, fromNumber: 'Acme' },
      actions: [{ send: { to: TO, body: 'b' } }],
    });
    expect(messageAttributes(sns.requests[0]?.form ?? {})).toMatchObject({
      'AWS.MM.SMS.OriginationNumber': '+447400123456',
    });
    expect(messageAttributes(sns.requests[1]?.form ?? {})).toMatchObject({ 'AWS.SNS.SMS.SenderID': 'Acme' });
  });

  it('turns an SNS error answer into an SmsSendError with status and AWS code, without the number', async () => {
    sns.failWith({ status: 400, code: 'InvalidParameter' });
    const result = await runSms({
      mode: 'sns',
      options: { region: 'eu-west-1', endpoint: sns.endpoint, ...keys },
      actions: [{ send: { to: TO, body: '123456 is your code' } }],
    });
    const [outcome] = result.outcomes;
    expect(outcome).toMatchObject({ ok: false, name: 'SmsSendError' });
    const message = outcome && !outcome.ok ? outcome.message : '';
    expect(message).toContain('HTTP 400');
    expect(message).toContain('InvalidParameter');
    expect(message).not.toContain(TO.slice(1));
    expect(sns.requests).toHaveLength(1); // a 400 is not retried
  });

  it('verify() signs a GetSMSAttributes read and publishes nothing', async () => {
    const result = await runSms({
      mode: 'sns',
      options: { region: 'eu-west-1', endpoint: sns.endpoint, ...keys },
      actions: [{ verify: true }],
    });
    expect(result.outcomes).toEqual([{ ok: true }]);
    expect(sns.requests.map((r) => r.form.Action)).toEqual(['GetSMSAttributes']);
    expect(String(sns.requests[0]?.headers.authorization)).toContain('/eu-west-1/sns/aws4_request');

    sns.failWith({ status: 403, code: 'AuthorizationError' });
    const denied = await runSms({
      mode: 'sns',
      options: { region: 'eu-west-1', endpoint: sns.endpoint, ...keys },
      actions: [{ verify: true }],
    });
    expect(denied.outcomes[0]).toMatchObject({ ok: false, message: expect.stringContaining('AuthorizationError') });
  });

  it('is what sms.backend = "sns" builds: sendCode publishes; a refusal is logged masked, without body or code', async () => {
    const config = {
      jwtSecret: TEST_SECRET,
      appName: 'Acme',
      sms: {
        backend: 'sns' as const,
        snsRegion: 'ap-southeast-2',
        snsEndpoint: sns.endpoint,
        snsAccessKeyId: keys.accessKeyId,
        snsSecretAccessKey: keys.secretAccessKey,
      },
    };
    const send = { to: TO, code: '482913', purpose: 'login' as const, userId: 'user-1', ip: '203.0.113.9' };
    const sent = await runSms({ mode: 'regstack', config, sends: [send] });
    expect(sent.setup).toBeUndefined();
    expect(sent.outcomes).toEqual([{ ok: true }]);
    expect(sns.requests[0]?.form.Message).toBe('482913 is your Acme verification code. Never share it.');
    expect(String(sns.requests[0]?.headers.authorization)).toContain('/ap-southeast-2/sns/aws4_request');

    sns.failWith({ status: 400, code: 'InvalidParameter' });
    const refused = await runSms({ mode: 'regstack', config, sends: [{ ...send, code: '771204' }] });
    expect(refused.outcomes).toEqual([{ ok: true }]);
    const failure = refused.logs.find((line) => line.includes('"msg":"SMS not sent"'));
    expect(failure).toContain(maskPhone(TO));
    expect(failure).toContain('InvalidParameter');
    const logs = refused.logs.join('\n');
    expect(logs).not.toContain(TO.slice(1));
    expect(logs).not.toContain('771204');
    expect(logs).not.toContain(keys.secretAccessKey);
  });

  it('the limits and the allowlist stand in front of SNS: refused sends never reach it (item 7)', async () => {
    const result = await runSms({
      mode: 'regstack',
      config: {
        jwtSecret: TEST_SECRET,
        sms: {
          backend: 'sns',
          snsEndpoint: sns.endpoint,
          snsAccessKeyId: keys.accessKeyId,
          snsSecretAccessKey: keys.secretAccessKey,
          userRateLimit: '1/hour',
          allowedCountryCodes: ['+44'],
        },
      },
      sends: [
        { to: TO, code: '111111', purpose: 'login', userId: 'a', ip: null },
        { to: '+442079460959', code: '222222', purpose: 'login', userId: 'a', ip: null },
        { to: '+12025550123', code: '333333', purpose: 'login', userId: 'b', ip: null },
      ],
    });
    expect(result.outcomes.map((o) => (o.ok ? 'sent' : o.code))).toEqual([
      'sent',
      'RATE_LIMITED',
      'SMS_DESTINATION_NOT_ALLOWED',
    ]);
    expect(sns.requests.map((r) => r.form.PhoneNumber)).toEqual([TO]);
  });

  it('without @aws-sdk/client-sns installed, the start fails naming the package to add', async () => {
    const result = await runSms({
      mode: 'regstack',
      hidePackages: ['@aws-sdk/client-sns'],
      config: { jwtSecret: TEST_SECRET, sms: { backend: 'sns' } },
      sends: [],
    });
    expect(result.setup).toMatchObject({
      ok: false,
      message: expect.stringContaining('sms.backend = "sns" needs the package @aws-sdk/client-sns'),
    });
  });
});
