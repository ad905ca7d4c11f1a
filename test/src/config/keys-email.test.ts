/**
 * Issue 20, "every config key honest": the email keys only a real mail path can show. `email.smtp_implicit_tls`
 * against a real `smtp-server` speaking SMTPS on loopback (its self-signed certificate trusted as a default CA, so
 * TLS is really verified); `email.ses_profile` through the official AWS SDK reading shared config files with
 * several profiles, against the local SES server (which access key signed the request); and
 * `email.outbox_poll_interval_ms` on every backend, compared relatively: a due mail waits for a long interval and
 * not for a short one.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import {
  createRegstack,
  createTemplates,
  createTransportFromConfig,
  type EmailMessage,
  parseConfig,
  type RegstackConfigInput,
  silentLogger,
} from '@regstack/server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runSesInCleanNode } from '../email/clean-node.ts';
import { startSesServer, type TestSesServer } from '../email/ses-test-server.ts';
import { startSmtpServer, type TestSmtpServer } from '../email/smtp-test-server.ts';
import { describeEachBackend } from '../harness/each-backend.ts';
import { createMailbox, TEST_SECRET } from '../harness/regstack.ts';

const templates = createTemplates({ appName: 'Acme', baseUrl: 'https://accounts.example.test', uiPrefix: '/account' });
const message = (to: string): EmailMessage => ({
  to,
  from: 'noreply@acme.test',
  ...templates.verification({ token: 'verify-tok', ttlSeconds: 3600 }),
});

describe('email.smtp_implicit_tls (issue 20)', () => {
  let smtp: TestSmtpServer;
  const defaults = getCACertificates('default');
  beforeAll(async () => {
    // An SMTPS server: TLS from the first byte, as on port 465. Its certificate is trusted like a public CA's.
    smtp = await startSmtpServer({ implicitTls: true, starttls: false, users: { mailer: 'smtp-Pa55' } });
    setDefaultCACertificates([...defaults, smtp.certificate.cert]);
  });
  afterAll(async () => {
    setDefaultCACertificates(defaults);
    await smtp.stop();
  });

  const sendWith = async (email: NonNullable<RegstackConfigInput['email']>, to: string) => {
    const config = parseConfig({
      jwtSecret: TEST_SECRET,
      email: {
        backend: 'smtp',
        smtpHost: 'localhost',
        smtpPort: smtp.port,
        smtpUsername: 'mailer',
        smtpPassword: 'smtp-Pa55',
        ...email,
      },
    });
    const transport = await createTransportFromConfig(config, silentLogger);
    try {
      await transport.send(message(to));
      return 'sent';
    } catch {
      return 'failed';
    } finally {
      await transport.close?.();
    }
  };

  it('email.smtp_implicit_tls speaks TLS from the first byte, which an SMTPS server requires', async () => {
    expect(await sendWith({ smtpImplicitTls: true }, 'smtps@example.com')).toBe('sent');
    const [mail] = await smtp.waitForMessages(1);
    expect(mail?.rcptTo).toEqual(['smtps@example.com']);
    expect(mail?.secure).toBe(true);
    expect(mail?.user).toBe('mailer');
    // The default (false) opens in plain text and waits for a STARTTLS the SMTPS server never offers.
    expect(await sendWith({}, 'plain@example.com')).toBe('failed');
    expect(smtp.messages.flatMap((m) => m.rcptTo)).toEqual(['smtps@example.com']);
  });
});

describe('email.ses_profile (issue 20)', () => {
  let ses: TestSesServer;
  let dir: string;
  const saved: Record<string, string | undefined> = {};
  const AWS_ENV = [
    'AWS_SHARED_CREDENTIALS_FILE',
    'AWS_CONFIG_FILE',
    'AWS_PROFILE',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
  ];
  beforeAll(async () => {
    ses = await startSesServer();
    dir = mkdtempSync(join(tmpdir(), 'regstack-aws-'));
    // Three profiles with keys of their own, in the SDK's shared files (the child process inherits this env).
    writeFileSync(
      join(dir, 'credentials'),
      [
        '[default]',
        'aws_access_key_id = AKIDDEFAULTPROFILE',
        'aws_secret_access_key = default-secret',
        '[mail-sender]',
        'aws_access_key_id = AKIDMAILSENDER',
        'aws_secret_access_key = mail-sender-secret',
        '[other]',
        'aws_access_key_id = AKIDOTHERPROFILE',
        'aws_secret_access_key = other-secret',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    writeFileSync(join(dir, 'config'), '[default]\nregion = eu-west-1\n', { mode: 0o600 });
    for (const name of AWS_ENV) {
      saved[name] = process.env[name];
      delete process.env[name];
    }
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'credentials');
    process.env.AWS_CONFIG_FILE = join(dir, 'config');
  });
  afterAll(async () => {
    for (const name of AWS_ENV) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
    rmSync(dir, { recursive: true, force: true });
    await ses.stop();
  });

  const accessKeyOf = async (email: NonNullable<RegstackConfigInput['email']>) => {
    ses.requests.splice(0);
    const result = await runSesInCleanNode({
      mode: 'config',
      config: {
        jwtSecret: TEST_SECRET,
        email: { backend: 'ses', sesRegion: 'eu-west-1', sesEndpoint: ses.endpoint, ...email },
      },
      message: message('profiled@example.com'),
    });
    expect(result).toMatchObject({ ok: true });
    return /Credential=([A-Z0-9]+)\//.exec(String(ses.requests[0]?.headers.authorization))?.[1];
  };

  it('email.ses_profile picks the shared-files profile whose key signs the SES request', async () => {
    expect(await accessKeyOf({ sesProfile: 'mail-sender' })).toBe('AKIDMAILSENDER');
    expect(await accessKeyOf({ sesProfile: 'other' })).toBe('AKIDOTHERPROFILE');
    // Unset, the SDK's default chain takes the [default] profile.
    expect(await accessKeyOf({})).toBe('AKIDDEFAULTPROFILE');
  });
});

describeEachBackend('email.outbox_poll_interval_ms (issue 20)', (ctx) => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  /**
   * An instance whose worker is not started yet, with one mail already due in its outbox: queued while no worker
   * could be woken, as when another instance (or one without a worker) queued it. Then the worker starts, and only
   * its polling can find the mail.
   */
  const dueMailThenWorker = async (outboxPollIntervalMs: number, email: string) => {
    const mailbox = createMailbox();
    const regstack = await createRegstack({
      config: parseConfig({
        jwtSecret: TEST_SECRET,
        databaseUrl: ctx.url,
        baseUrl: 'https://accounts.example.test',
        email: { outboxPollIntervalMs },
      }),
      email: mailbox,
      logger: silentLogger,
      startWorkers: false,
    });
    close = () => regstack.close();
    await regstack.installSchema();
    await regstack.createCaller().register({ email, password: 'correct horse battery staple' });
    expect(mailbox.messages).toEqual([]);
    regstack.startWorkers();
    return { regstack, delivered: () => mailbox.messages.some((m) => m.to === email) };
  };
  const waitUntil = async (done: () => boolean, ms: number) => {
    for (const end = Date.now() + ms; !done() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 50));
    return done();
  };

  // Far longer than the short interval, far shorter than the long one: no tight timing on a loaded machine.
  const WINDOW_MS = 4_000;

  it('email.outbox_poll_interval_ms is how long a due mail waits for the worker', async () => {
    // A long interval: the mail is due, yet for the whole window nothing looks for it.
    const slow = await dueMailThenWorker(30_000, 'slow-poll@example.com');
    expect(await waitUntil(slow.delivered, WINDOW_MS)).toBe(false);
    // It was due all along: a pass sends it at once.
    await slow.regstack.drainOutbox();
    expect(slow.delivered()).toBe(true);
    await close?.();
    close = undefined;

    // A short one: the worker finds it within the same window (forty of its intervals).
    const quick = await dueMailThenWorker(100, 'quick-poll@example.com');
    expect(await waitUntil(quick.delivered, WINDOW_MS)).toBe(true);
  });
});
