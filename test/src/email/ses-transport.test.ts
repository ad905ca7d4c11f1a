/**
 * The `ses` transport: nodemailer + the official `@aws-sdk/client-sesv2`, pointed through `endpoint` at a loopback
 * server that speaks SESv2 `SendEmail`. The request must be signed with the configured keys and carry the raw MIME
 * message for the right recipient; an error answer rejects `send`, so the outbox retries. The sends run in a plain
 * Node child process (`clean-node.ts` says why); the fake SES server and every assertion stay here.
 */

import { createTemplates, type EmailMessage } from '@regstack/server';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runSesInCleanNode } from './clean-node.ts';
import { startSesServer, type TestSesServer } from './ses-test-server.ts';

const templates = createTemplates({ appName: 'Acme', baseUrl: 'https://accounts.example.test', uiPrefix: '/account' });

function verificationMessage(to: string): EmailMessage {
  return {
    to,
    from: '"Acme" <noreply@acme.test>',
    ...templates.verification({ token: 'verify-tok', ttlSeconds: 3600 }),
  };
}

describe('ses transport', () => {
  let ses: TestSesServer;
  beforeAll(async () => {
    ses = await startSesServer();
  });
  afterAll(async () => {
    await ses.stop();
  });
  beforeEach(() => {
    ses.requests.splice(0);
    ses.failWith(null);
  });

  const keys = { accessKeyId: 'AKIDREGSTACKTEST', secretAccessKey: 'test-secret-access-key' };

  it('sends the raw MIME message through SendEmail, signed with the configured keys', async () => {
    const result = await runSesInCleanNode({
      mode: 'transport',
      options: { region: 'eu-west-1', endpoint: ses.endpoint, ...keys },
      message: verificationMessage('ada@example.com'),
    });
    expect(result).toMatchObject({ ok: true });
    expect(ses.requests).toHaveLength(1);
    const [req] = ses.requests;
    if (!req) return;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/v2/email/outbound-emails');
    expect(String(req.headers.authorization)).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDREGSTACKTEST\/\d{8}\/eu-west-1\/ses\/aws4_request/,
    );
    expect(JSON.stringify(req.headers)).not.toContain('test-secret-access-key');
    expect(req.body.Destination?.ToAddresses).toEqual(['ada@example.com']);
    expect(req.body.FromEmailAddress).toContain('noreply@acme.test');
    const parsed = await simpleParser(req.raw);
    expect(parsed.to && !Array.isArray(parsed.to) ? parsed.to.value[0]?.address : undefined).toBe('ada@example.com');
    expect(parsed.subject).toBe('Confirm your email for Acme');
    expect(parsed.text).toContain('https://accounts.example.test/account/verify?token=verify-tok');
    expect(String(parsed.html)).toContain('href="https://accounts.example.test/account/verify?token=verify-tok"');
  });

  it('rejects when SES answers 500 (after the SDK\u2019s own attempts), so the outbox retries', async () => {
    ses.failWith(500);
    const result = await runSesInCleanNode({
      mode: 'transport',
      options: { region: 'eu-west-1', endpoint: ses.endpoint, ...keys, maxAttempts: 2 },
      message: verificationMessage('ada@example.com'),
    });
    expect(result).toMatchObject({ ok: false });
    expect(ses.requests).toHaveLength(2);
  });

  it('rejects when SES refuses the request (400) without retrying it', async () => {
    ses.failWith(400);
    const result = await runSesInCleanNode({
      mode: 'transport',
      options: { region: 'eu-west-1', endpoint: ses.endpoint, ...keys },
      message: verificationMessage('ada@example.com'),
    });
    expect(result).toMatchObject({ ok: false });
    expect(ses.requests).toHaveLength(1);
  });

  it('applies a configuration set to every message', async () => {
    const result = await runSesInCleanNode({
      mode: 'transport',
      options: { region: 'us-east-1', endpoint: ses.endpoint, ...keys, configurationSetName: 'regstack-events' },
      message: verificationMessage('grace@example.com'),
    });
    expect(result).toMatchObject({ ok: true });
    expect(ses.requests[0]?.body.ConfigurationSetName).toBe('regstack-events');
    expect(ses.requests[0]?.body.Destination?.ToAddresses).toEqual(['grace@example.com']);
  });

  it('is what createTransportFromConfig builds for email.backend = "ses", logging no secret', async () => {
    const result = await runSesInCleanNode({
      mode: 'config',
      config: {
        jwtSecret: 'x'.repeat(40),
        email: {
          backend: 'ses',
          sesRegion: 'eu-central-1',
          sesEndpoint: ses.endpoint,
          sesAccessKeyId: keys.accessKeyId,
          sesSecretAccessKey: keys.secretAccessKey,
        },
      },
      message: verificationMessage('linus@example.com'),
    });
    expect(result).toMatchObject({ ok: true });
    expect(String(ses.requests[0]?.headers.authorization)).toContain('/eu-central-1/ses/aws4_request');
    expect(ses.requests[0]?.body.Destination?.ToAddresses).toEqual(['linus@example.com']);
    const logs = result.logs.join('\n');
    expect(logs).toContain('"msg":"email sent"');
    expect(logs).toContain('l***@example.com');
    expect(logs).not.toContain('linus@example.com');
    expect(logs).not.toContain(keys.secretAccessKey);
    expect(logs).not.toContain('verify-tok');
  });
});
