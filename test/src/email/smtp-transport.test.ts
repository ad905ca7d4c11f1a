/**
 * The `smtp` transport against a real SMTP server (npm `smtp-server`, in-process on a loopback port): STARTTLS
 * required and really verified (the client trusts exactly the run's certificate), AUTH, implicit TLS, pooling,
 * and every failure — server down, wrong password, no STARTTLS, untrusted certificate — rejecting `send`, so
 * the outbox retries instead of losing the message.
 */

import {
  createSmtpTransport,
  createTemplates,
  type EmailMessage,
  type EmailTransport,
  type SmtpTransportOptions,
} from '@regstack/server';
import { afterEach, describe, expect, it } from 'vitest';
import {
  addressOf,
  DEFAULT_SMTP_USERS,
  freePort,
  linkIn,
  startSmtpServer,
  type TestSmtpServer,
} from './smtp-test-server.ts';

const templates = createTemplates({
  appName: 'Acme <script>alert(1)</script>',
  baseUrl: 'https://accounts.example.test',
  uiPrefix: '/account',
});

function resetMessage(to = 'ada@example.com', token = 'reset-token-123'): EmailMessage {
  return {
    to,
    from: '"Acme Accounts" <noreply@acme.test>',
    ...templates.passwordReset({ token, ttlSeconds: 1800, fullName: 'Ada <b>Lovelace</b>' }),
  };
}

const opened: { servers: TestSmtpServer[]; transports: EmailTransport[] } = { servers: [], transports: [] };
async function server(options: Parameters<typeof startSmtpServer>[0] = {}) {
  const s = await startSmtpServer(options);
  opened.servers.push(s);
  return s;
}
async function transport(options: SmtpTransportOptions) {
  const t = await createSmtpTransport({ connectionTimeoutMs: 3000, greetingTimeoutMs: 3000, ...options });
  opened.transports.push(t);
  return t;
}
afterEach(async () => {
  await Promise.all(opened.transports.splice(0).map((t) => t.close?.()));
  await Promise.all(opened.servers.splice(0).map((s) => s.stop()));
});

const login = { username: 'mailer', password: DEFAULT_SMTP_USERS.mailer };

describe('smtp transport', () => {
  it('delivers over STARTTLS with AUTH: envelope, headers, a text link and an escaped HTML part', async () => {
    const smtp = await server();
    const t = await transport({ host: '127.0.0.1', port: smtp.port, ...login, tls: { ca: smtp.certificate.cert } });
    await t.send(resetMessage());
    const [mail] = await smtp.waitForMessages(1);
    expect(mail).toBeDefined();
    if (!mail) return;
    expect(mail.secure).toBe(true);
    expect(mail.user).toBe('mailer');
    expect(mail.mailFrom).toBe('noreply@acme.test');
    expect(mail.rcptTo).toEqual(['ada@example.com']);
    expect(addressOf(mail.parsed.from)).toBe('noreply@acme.test');
    expect(mail.parsed.from?.value[0]?.name).toBe('Acme Accounts');
    expect(addressOf(mail.parsed.to)).toBe('ada@example.com');
    expect(mail.parsed.subject).toBe('Reset your Acme <script>alert(1)</script> password');
    expect(linkIn(mail, 'reset')?.href).toBe('https://accounts.example.test/account/reset?token=reset-token-123');
    const html = String(mail.parsed.html);
    expect(html).toContain('href="https://accounts.example.test/account/reset?token=reset-token-123"');
    expect(html).not.toContain('<script>');
    expect(html).toContain('Acme &#60;script&#62;alert(1)&#60;/script&#62;');
    expect(html).toContain('Hello Ada &#60;b&#62;Lovelace&#60;/b&#62;,');
    // One message, one Subject header: nothing a value held became a header.
    expect(mail.raw.toString('latin1').match(/^Subject:/gim)).toHaveLength(1);
  });

  it('rejects when the server is down, so the outbox keeps the message for a retry', async () => {
    const port = await freePort();
    const t = await transport({ host: '127.0.0.1', port, ...login });
    await expect(t.send(resetMessage())).rejects.toThrow(/ECONNREFUSED/);
  });

  it('rejects on an authentication failure and delivers nothing', async () => {
    const smtp = await server();
    const t = await transport({
      host: '127.0.0.1',
      port: smtp.port,
      username: 'mailer',
      password: 'wrong password',
      tls: { ca: smtp.certificate.cert },
    });
    await expect(t.send(resetMessage())).rejects.toMatchObject({ code: 'EAUTH' });
    expect(smtp.messages).toHaveLength(0);
  });

  it('rejects instead of sending in clear when STARTTLS is required but not offered', async () => {
    const smtp = await server({ starttls: false });
    const t = await transport({ host: '127.0.0.1', port: smtp.port, ...login });
    await expect(t.send(resetMessage())).rejects.toThrow();
    expect(smtp.messages).toHaveLength(0);
  });

  it('verifies the server certificate by default', async () => {
    const smtp = await server();
    const t = await transport({ host: '127.0.0.1', port: smtp.port, ...login });
    await expect(t.send(resetMessage())).rejects.toThrow(/self.signed|certificate/i);
    expect(smtp.messages).toHaveLength(0);
  });

  it('skips verification only when the TLS options explicitly say rejectUnauthorized: false', async () => {
    const smtp = await server();
    const t = await transport({ host: '127.0.0.1', port: smtp.port, ...login, tls: { rejectUnauthorized: false } });
    await t.send(resetMessage());
    await smtp.waitForMessages(1);
  });

  it('delivers over implicit TLS (SMTPS)', async () => {
    const smtp = await server({ implicitTls: true });
    const t = await transport({
      host: '127.0.0.1',
      port: smtp.port,
      implicitTls: true,
      ...login,
      tls: { ca: smtp.certificate.cert },
    });
    await t.send(resetMessage('grace@example.com'));
    const [mail] = await smtp.waitForMessages(1);
    expect(mail?.secure).toBe(true);
    expect(mail?.rcptTo).toEqual(['grace@example.com']);
  });

  it('sends without AUTH when no user name is configured and the server allows it', async () => {
    const smtp = await server({ users: {} });
    const t = await transport({ host: '127.0.0.1', port: smtp.port, tls: { ca: smtp.certificate.cert } });
    await t.send(resetMessage());
    const [mail] = await smtp.waitForMessages(1);
    expect(mail?.user).toBeUndefined();
  });

  it('pools connections: many messages, few connections, each message once', async () => {
    const smtp = await server();
    const t = await transport({
      host: '127.0.0.1',
      port: smtp.port,
      ...login,
      maxConnections: 2,
      tls: { ca: smtp.certificate.cert },
    });
    const recipients = Array.from({ length: 10 }, (_, i) => `user${i}@example.com`);
    await Promise.all(recipients.map((to, i) => t.send(resetMessage(to, `token-${i}`))));
    const mails = await smtp.waitForMessages(10);
    expect(mails.map((m) => m.rcptTo[0]).sort()).toEqual([...recipients].sort());
    expect(smtp.connections).toBeLessThanOrEqual(2);
  });

  it('verify() checks reachability and credentials without sending', async () => {
    const smtp = await server();
    const good = await transport({ host: '127.0.0.1', port: smtp.port, ...login, tls: { ca: smtp.certificate.cert } });
    await expect(good.verify?.()).resolves.toBeUndefined();
    const bad = await transport({
      host: '127.0.0.1',
      port: smtp.port,
      username: 'mailer',
      password: 'nope',
      tls: { ca: smtp.certificate.cert },
    });
    await expect(bad.verify?.()).rejects.toMatchObject({ code: 'EAUTH' });
    expect(smtp.messages).toHaveLength(0);
  });
});
