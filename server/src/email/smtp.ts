/**
 * The `smtp` transport: nodemailer's pooled SMTP client. Submission with STARTTLS required by default (port 587),
 * or implicit TLS (SMTPS, port 465); optional AUTH; a small pool of reused connections; bounded timeouts so a
 * stalled server cannot hold the outbox worker. `send` rejects whenever the server did not accept the message —
 * the outbox retries it later, so an outage delays mail and loses none (R11).
 */
import type { ConnectionOptions } from 'node:tls';
import { importOptionalPackage } from './optional-package.ts';
import type { EmailMessage, EmailTransport } from './transport.ts';

export interface SmtpTransportOptions {
  /** SMTP server host name or address. */
  host: string;
  /**
   * Server port (587 = submission with STARTTLS, 465 = implicit TLS).
   * @default 587
   */
  port?: number;
  /**
   * Require STARTTLS: a server that does not offer it, or a failed upgrade, fails the send instead of sending in
   * clear. When false, STARTTLS is still used whenever the server offers it. Ignored with `implicitTls`.
   * @default true
   */
  starttls?: boolean;
  /**
   * TLS from the first byte (SMTPS) instead of upgrading a plain connection.
   * @default false
   */
  implicitTls?: boolean;
  /**
   * User name for SMTP AUTH; unset means no authentication.
   * @default undefined
   */
  username?: string | undefined;
  /**
   * Password for SMTP AUTH (a secret: never logged).
   * @default undefined
   */
  password?: string | undefined;
  /**
   * Connections the pool keeps open at most.
   * @default 3
   */
  maxConnections?: number;
  /**
   * Time allowed to open the TCP connection.
   * @default 10000
   */
  connectionTimeoutMs?: number;
  /**
   * Time allowed for the server's greeting once connected.
   * @default 10000
   */
  greetingTimeoutMs?: number;
  /**
   * Inactivity allowed on an open connection.
   * @default 30000
   */
  socketTimeoutMs?: number;
  /**
   * Extra TLS options for the connection (a private CA, a client certificate, `servername`). Certificates are
   * verified unless this explicitly says `rejectUnauthorized: false` — never do that in production.
   * @default undefined
   */
  tls?: ConnectionOptions | undefined;
  /**
   * Host name this client announces in EHLO.
   * @default the machine's host name
   */
  clientName?: string | undefined;
}

/** Creates the transport; rejects at once if nodemailer is not installed. */
export async function createSmtpTransport(options: SmtpTransportOptions): Promise<EmailTransport> {
  const nodemailer = await importOptionalPackage('nodemailer', 'smtp', () => import('nodemailer'));
  const implicitTls = options.implicitTls ?? false;
  const auth = options.username !== undefined ? { user: options.username, pass: options.password ?? '' } : undefined;
  const transporter = nodemailer.createTransport({
    pool: true,
    maxConnections: options.maxConnections ?? 3,
    host: options.host,
    port: options.port ?? 587,
    secure: implicitTls,
    // Opportunistic STARTTLS is nodemailer's default; `requireTLS` turns a missing or failed upgrade into an error.
    requireTLS: !implicitTls && (options.starttls ?? true),
    ...(auth && { auth }),
    connectionTimeout: options.connectionTimeoutMs ?? 10_000,
    greetingTimeout: options.greetingTimeoutMs ?? 10_000,
    socketTimeout: options.socketTimeoutMs ?? 30_000,
    // Verification stays on unless the caller's own TLS options turn it off explicitly.
    tls: { rejectUnauthorized: true, ...options.tls },
    ...(options.clientName && { name: options.clientName }),
    // Messages are built by regstack's templates: nothing in them may make nodemailer read files or fetch URLs.
    disableFileAccess: true,
    disableUrlAccess: true,
    logger: false,
  });

  return {
    async send(message: EmailMessage) {
      const info = await transporter.sendMail({
        from: message.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html,
      });
      // One recipient per message: accepted by nobody means not delivered, whatever the final reply said.
      if (info.accepted.length === 0) {
        throw new Error(`SMTP server accepted no recipient (${info.response ?? 'no response'})`);
      }
    },
    async verify() {
      await transporter.verify();
    },
    async close() {
      transporter.close();
    },
  };
}
