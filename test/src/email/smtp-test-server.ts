/**
 * A real SMTP server in the test process: npm `smtp-server` on a loopback port, offering STARTTLS with a
 * certificate made for the run and requiring AUTH (PLAIN/LOGIN) for the configured users. It records every
 * accepted message as raw bytes plus the SMTP envelope and the session facts (TLS, user), and parses them with
 * `mailparser` — the tests read links out of what a mail server really received.
 */
import { createServer } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { createSelfSignedCertificate, type TestCertificate } from './self-signed-cert.ts';

export interface ReceivedMail {
  raw: Buffer;
  mailFrom: string;
  rcptTo: string[];
  /** The session was TLS (STARTTLS upgraded or implicit) when the message was sent. */
  secure: boolean;
  /** The authenticated user, if any. */
  user: string | undefined;
  parsed: ParsedMail;
}

export interface TestSmtpServerOptions {
  /** @default a free loopback port */
  port?: number;
  /** Accepted logins; with none, AUTH is optional. @default { mailer: 'mail-password' } */
  users?: Record<string, string>;
  /** Offer STARTTLS. @default true */
  starttls?: boolean;
  /** TLS from the first byte (SMTPS). @default false */
  implicitTls?: boolean;
  /** @default a fresh self-signed certificate for localhost / 127.0.0.1 */
  certificate?: TestCertificate;
}

export interface TestSmtpServer {
  readonly port: number;
  readonly certificate: TestCertificate;
  readonly messages: ReceivedMail[];
  /** Sessions that reached the server (connections), for pool assertions. */
  readonly connections: number;
  /** Resolves once `count` messages have arrived (or rejects after `timeoutMs`). */
  waitForMessages(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  stop(): Promise<void>;
}

/** A loopback port that was free a moment ago (for "the server is down" tests). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address !== 'object') throw new Error('no port');
  return address.port;
}

export const DEFAULT_SMTP_USERS = { mailer: 'mail-password' } as const;

export async function startSmtpServer(options: TestSmtpServerOptions = {}): Promise<TestSmtpServer> {
  const users: Record<string, string> = options.users ?? { ...DEFAULT_SMTP_USERS };
  const certificate = options.certificate ?? createSelfSignedCertificate();
  const starttls = options.starttls ?? true;
  const implicitTls = options.implicitTls ?? false;
  const messages: ReceivedMail[] = [];
  const waiters = new Set<() => void>();
  let connections = 0;
  const requireAuth = Object.keys(users).length > 0;

  const server = new SMTPServer({
    secure: implicitTls,
    key: certificate.key,
    cert: certificate.cert,
    hideSTARTTLS: !starttls,
    authMethods: ['PLAIN', 'LOGIN'],
    authOptional: !requireAuth,
    // Credentials in clear only when the test deliberately runs without TLS.
    allowInsecureAuth: !starttls && !implicitTls,
    logger: false,
    closeTimeout: 200,
    onConnect(_session, callback) {
      connections += 1;
      callback();
    },
    onAuth(auth, _session, callback) {
      const expected = auth.username === undefined ? undefined : users[auth.username];
      if (expected !== undefined && auth.password === expected) return callback(null, { user: auth.username });
      const err = Object.assign(new Error('Invalid username or password'), { responseCode: 535 });
      return callback(err);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        simpleParser(raw)
          .then((parsed) => {
            const from = session.envelope.mailFrom;
            messages.push({
              raw,
              mailFrom: from ? from.address : '',
              rcptTo: session.envelope.rcptTo.map((r) => r.address),
              secure: session.secure,
              user: typeof session.user === 'string' ? session.user : undefined,
              parsed,
            });
            for (const wake of waiters) wake();
            callback(null);
          })
          .catch((err: Error) => callback(err));
      });
    },
  });
  const port = options.port ?? (await freePort());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  // A client dropping its connection is normal here (pools closing, tests ending); keep it off the test output.
  server.on('error', () => {});

  return {
    port,
    certificate,
    messages,
    get connections() {
      return connections;
    },
    waitForMessages(count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (messages.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(messages.slice());
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`expected ${count} message(s), got ${messages.length}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    stop() {
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The first `token` link to `page` in a received message's text part. */
export function linkIn(mail: ReceivedMail, page: string): URL | undefined {
  const path = page === 'reset' ? 'reset(?:-password)?' : page;
  const match = new RegExp(`https?://\\S+/${path}\\?token=[A-Za-z0-9_-]+`).exec(mail.parsed.text ?? '');
  return match ? new URL(match[0]) : undefined;
}

/** The single address of a parsed `To`/`From` header. */
export function addressOf(field: ParsedMail['from'] | ParsedMail['to']): string | undefined {
  const first = Array.isArray(field) ? field[0] : field;
  return first?.value[0]?.address;
}
