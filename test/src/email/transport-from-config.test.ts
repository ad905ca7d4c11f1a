/**
 * `createTransportFromConfig` picks the backend `email.backend` names and applies its settings; every send leaves
 * one debug line with a masked recipient and never a password, body or link (R62). (The `ses` case runs in
 * ses-transport.test.ts, in a plain Node process.)
 */
import {
  createJsonLogger,
  createTemplates,
  createTransportFromConfig,
  type EmailMessage,
  parseConfig,
  type RegstackConfigInput,
} from '@regstack/server';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TEST_SECRET } from '../harness/regstack.ts';
import { addressOf, freePort, linkIn, startSmtpServer, type TestSmtpServer } from './smtp-test-server.ts';

const SMTP_PASSWORD = 'smtp-secret-Pa55';
const templates = createTemplates({ appName: 'Acme', baseUrl: 'https://accounts.example.test', uiPrefix: '/account' });
const message: EmailMessage = {
  to: 'ada@example.com',
  from: 'noreply@acme.test',
  ...templates.passwordReset({ token: 'the-reset-token', ttlSeconds: 600 }),
};

function config(email: NonNullable<RegstackConfigInput['email']>) {
  return parseConfig({ jwtSecret: TEST_SECRET, email });
}

function capturingLogger() {
  const lines: string[] = [];
  return { lines, logger: createJsonLogger({ level: 'debug', write: (line) => lines.push(line) }) };
}

const servers: TestSmtpServer[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

describe('createTransportFromConfig', () => {
  it('console (the default) prints the envelope only, unless log_bodies is on', async () => {
    const printed: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed.push(String(chunk));
      return true;
    });
    const { lines, logger } = capturingLogger();
    const quiet = await createTransportFromConfig(config({}), logger);
    await quiet.send(message);
    expect(printed.join('')).toContain('To: ada@example.com');
    expect(printed.join('')).not.toContain('the-reset-token');
    printed.splice(0);
    const loud = await createTransportFromConfig(config({ backend: 'console', logBodies: true }), logger);
    await loud.send(message);
    expect(printed.join('')).toContain('https://accounts.example.test/account/reset?token=the-reset-token');
    // The log line never carries the body, even when the console prints it.
    expect(lines.filter((l) => l.includes('"msg":"email sent"'))).toHaveLength(2);
    expect(lines.join('\n')).not.toContain('the-reset-token');
    expect(lines.join('\n')).toContain('"backend":"console"');
  });

  it('smtp: delivers with the configured host, port and login, and logs no secret', async () => {
    const smtp = await startSmtpServer({ starttls: false, users: { mailer: SMTP_PASSWORD } });
    servers.push(smtp);
    const { lines, logger } = capturingLogger();
    const transport = await createTransportFromConfig(
      config({
        backend: 'smtp',
        smtpHost: '127.0.0.1',
        smtpPort: smtp.port,
        smtpStarttls: false,
        smtpUsername: 'mailer',
        smtpPassword: SMTP_PASSWORD,
      }),
      logger,
    );
    try {
      await transport.send(message);
    } finally {
      await transport.close?.();
    }
    const [mail] = await smtp.waitForMessages(1);
    expect(mail?.user).toBe('mailer');
    expect(mail && addressOf(mail.parsed.to)).toBe('ada@example.com');
    expect(mail && linkIn(mail, 'reset')?.href).toBe(
      'https://accounts.example.test/account/reset?token=the-reset-token',
    );
    const log = lines.join('\n');
    expect(log).toContain('"msg":"email sent"');
    expect(log).toContain('"to":"a***@example.com"');
    expect(log).not.toContain(SMTP_PASSWORD);
    expect(log).not.toContain('ada@example.com');
    expect(log).not.toContain('the-reset-token');
  });

  it('smtp: requires STARTTLS by default (smtp_starttls = true), refusing a server that does not offer it', async () => {
    const smtp = await startSmtpServer({ starttls: false, users: { mailer: SMTP_PASSWORD } });
    servers.push(smtp);
    const { lines, logger } = capturingLogger();
    const transport = await createTransportFromConfig(
      config({
        backend: 'smtp',
        smtpHost: '127.0.0.1',
        smtpPort: smtp.port,
        smtpUsername: 'mailer',
        smtpPassword: SMTP_PASSWORD,
      }),
      logger,
    );
    try {
      await expect(transport.send(message)).rejects.toThrow();
    } finally {
      await transport.close?.();
    }
    expect(smtp.messages).toHaveLength(0);
    expect(lines.join('\n')).toContain('"msg":"email send failed"');
    expect(lines.join('\n')).not.toContain(SMTP_PASSWORD);
  });

  it('smtp: a server that is down makes send reject (the outbox retries)', async () => {
    const { logger } = capturingLogger();
    const transport = await createTransportFromConfig(
      config({ backend: 'smtp', smtpHost: '127.0.0.1', smtpPort: await freePort() }),
      logger,
    );
    try {
      await expect(transport.send(message)).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await transport.close?.();
    }
  });
});
