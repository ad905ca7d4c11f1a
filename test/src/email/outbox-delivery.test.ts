/**
 * Mail through the whole path, on every backend: a register call over HTTP → the durable outbox → the SMTP
 * transport chosen by configuration (no `email` option) → a real SMTP server → the link read from the received
 * message verifies the account. And an outage: with the SMTP server down the API answers exactly as usual (R11),
 * the message waits in the outbox, and once the server is back it arrives exactly once.
 */
import { createJsonLogger, createManualClock, createRegstack, parseConfig, type Regstack } from '@regstack/server';
import { afterEach, expect, it, vi } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { TEST_SECRET } from '../harness/regstack.ts';
import { addressOf, freePort, linkIn, startSmtpServer, type TestSmtpServer } from './smtp-test-server.ts';

const PASSWORD = 'correct horse battery staple';
const SMTP_PASSWORD = 'outbox-smtp-Pa55';
const BASE_URL = 'https://accounts.example.test';

describeEachBackend('email delivery through the outbox over SMTP', (ctx) => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function start(smtpPort: number, extra: { clock?: ReturnType<typeof createManualClock>; worker?: boolean }) {
    const logs: string[] = [];
    const config = parseConfig({
      jwtSecret: TEST_SECRET,
      databaseUrl: ctx.url,
      baseUrl: BASE_URL,
      appName: 'Acme <Accounts>',
      hashQueueLimit: 256,
      email: {
        backend: 'smtp',
        smtpHost: '127.0.0.1',
        smtpPort,
        // The test server offers no STARTTLS (configuration has no way to trust its throwaway certificate);
        // TLS itself is covered in smtp-transport.test.ts.
        smtpStarttls: false,
        smtpUsername: 'mailer',
        smtpPassword: SMTP_PASSWORD,
        fromAddress: 'noreply@acme.test',
        fromName: 'Acme',
      },
    });
    // No `email` option: the transport is the one `email.backend` names.
    const regstack: Regstack = await createRegstack({
      config,
      logger: createJsonLogger({ level: 'debug', write: (line) => logs.push(line) }),
      startWorkers: extra.worker ?? true,
      ...(extra.clock && { clock: extra.clock }),
    });
    cleanup.push(() => regstack.close());
    await regstack.installSchema();
    return { regstack, logs };
  }

  async function smtpServer(port?: number): Promise<TestSmtpServer> {
    const server = await startSmtpServer({
      starttls: false,
      users: { mailer: SMTP_PASSWORD },
      ...(port !== undefined && { port }),
    });
    cleanup.push(() => server.stop());
    return server;
  }

  /** `auth.register` over HTTP, with a hostile Host header: links must still use base_url (R28). */
  async function registerOverHttp(regstack: Regstack, email: string) {
    const response = await regstack.handle(
      new Request('http://evil.example/trpc/auth.register', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          host: 'evil.example',
          'x-forwarded-host': 'evil.example',
          forwarded: 'host=evil.example;proto=http',
        },
        body: JSON.stringify({ json: { email, password: PASSWORD } }),
      }),
    );
    return { status: response.status, body: await response.text() };
  }

  it('the outbox worker delivers the verification mail over SMTP, and its link verifies the account', async () => {
    const smtp = await smtpServer();
    const { regstack, logs } = await start(smtp.port, {});
    const email = `ada-${ctx.backend}@example.com`;
    const answer = await registerOverHttp(regstack, email);
    expect(answer.status).toBe(200);

    const [mail] = await smtp.waitForMessages(1);
    if (!mail) throw new Error('no mail');
    expect(mail.user).toBe('mailer');
    expect(mail.rcptTo).toEqual([email]);
    expect(addressOf(mail.parsed.to)).toBe(email);
    expect(addressOf(mail.parsed.from)).toBe('noreply@acme.test');
    expect(mail.parsed.subject).toBe('Confirm your email for Acme <Accounts>');
    expect(String(mail.parsed.html)).toContain('Acme &#60;Accounts&#62;');
    const link = linkIn(mail, 'verify');
    expect(link?.origin).toBe(BASE_URL);
    // The pages are off here, so the link is the host's own `/verify` (email_link_prefix unset: "").
    expect(link?.pathname).toBe('/verify');
    expect(mail.parsed.text).not.toContain('evil.example');
    expect(String(mail.parsed.html)).not.toContain('evil.example');

    const token = link?.searchParams.get('token');
    if (!token) throw new Error('no token in the link');
    const { user } = await regstack.createCaller().verifyEmail({ token });
    expect(user).toMatchObject({ email, isVerified: true });

    // R62: the send was logged (once the server's reply reached the worker), without the SMTP password, the
    // token or the address in clear.
    await vi.waitFor(() => expect(logs.join('\n')).toContain('"msg":"email sent"'));
    const log = logs.join('\n');
    const sent = logs.filter((line) => line.includes('"msg":"email sent"'));
    expect(sent).toHaveLength(1);
    expect(sent[0]).toContain(`"to":"a***@example.com"`);
    expect(log).not.toContain(SMTP_PASSWORD);
    expect(log).not.toContain(token);
  });

  it('with the SMTP server down the answer is unchanged; once it is back the mail arrives exactly once', async () => {
    const port = await freePort();
    const t0 = Date.now();
    const clock = createManualClock(t0);
    // The worker is off so the test decides when the outbox runs (drainOutbox) and what time it is (clock).
    const { regstack } = await start(port, { clock, worker: false });
    const down = `down-${ctx.backend}@example.com`;
    const up = `up-${ctx.backend}@example.com`;

    const duringOutage = await registerOverHttp(regstack, down);
    expect(await regstack.drainOutbox()).toBe(0); // the send failed: connection refused

    const smtp = await smtpServer(port);
    // The failed message waits for its backoff: not due yet.
    expect(await regstack.drainOutbox()).toBe(0);
    expect(smtp.messages).toHaveLength(0);

    clock.advance(60_000);
    expect(await regstack.drainOutbox()).toBe(1);
    const [mail] = await smtp.waitForMessages(1);
    expect(mail?.rcptTo).toEqual([down]);

    // Exactly once: nothing is due any more, however much time passes.
    clock.advance(24 * 3600_000);
    expect(await regstack.drainOutbox()).toBe(0);
    expect(smtp.messages.filter((m) => m.rcptTo.includes(down))).toHaveLength(1);

    // The same call, at the same instant, with the server up answers identically (only the address differs).
    clock.set(t0);
    const whileUp = await registerOverHttp(regstack, up);
    expect(whileUp.status).toBe(duringOutage.status);
    expect(whileUp.body.replaceAll(up, '<email>')).toBe(duringOutage.body.replaceAll(down, '<email>'));
    expect(await regstack.drainOutbox()).toBe(1);

    // The delayed link still works.
    const token = mail && linkIn(mail, 'verify')?.searchParams.get('token');
    if (!token) throw new Error('no token in the delayed mail');
    const { user } = await regstack.createCaller().verifyEmail({ token });
    expect(user).toMatchObject({ email: down, isVerified: true });
  });
});
