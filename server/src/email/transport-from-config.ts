/**
 * Builds the transport `email.backend` names — `console`, `smtp` or `ses` — from the validated configuration,
 * wrapped so every send leaves one debug line: backend, masked recipient, kind of outcome, duration. Never a
 * password, a key, a body or a link: bodies carry live one-time tokens (R62). (The console backend prints bodies
 * itself, to stdout, only when `email.log_bodies` is on.)
 */
import type { RegstackConfig } from '../config/index.ts';
import type { Logger } from '../logger.ts';
import { createSesTransport } from './ses.ts';
import { createSmtpTransport } from './smtp.ts';
import { createConsoleTransport, type EmailTransport } from './transport.ts';

/** `ada@example.com` → `a***@example.com`: enough to tell recipients apart in a log, not to harvest them. */
/** The `From:` header: `email.from_name` (unset: `app_name`) as the display name, quoted, of `email.from_address`. */
export function fromHeaderOf(
  config: Pick<RegstackConfig, 'appName'> & { email: Pick<RegstackConfig['email'], 'fromName' | 'fromAddress'> },
): string {
  const name = (config.email.fromName ?? config.appName).replace(/["\\]/g, '\\$&');
  return `"${name}" <${config.email.fromAddress}>`;
}

export function maskEmailAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at <= 0) return '***';
  return `${address.slice(0, 1)}***${address.slice(at)}`;
}

/** Adds the per-send debug line to any transport. */
export function withSendLogging(transport: EmailTransport, backend: string, logger: Logger): EmailTransport {
  const wrapped: EmailTransport = {
    async send(message) {
      const started = performance.now();
      const fields = () => ({
        backend,
        to: maskEmailAddress(message.to),
        durationMs: Math.round(performance.now() - started),
      });
      try {
        await transport.send(message);
      } catch (err) {
        logger.debug('email send failed', { ...fields(), err });
        throw err;
      }
      logger.debug('email sent', fields());
    },
  };
  if (transport.close) wrapped.close = () => transport.close?.() ?? Promise.resolve();
  if (transport.verify) wrapped.verify = () => transport.verify?.() ?? Promise.resolve();
  return wrapped;
}

/**
 * The transport for `config.email.backend`. Rejects when the backend's optional package (nodemailer,
 * @aws-sdk/client-sesv2) is not installed, naming the package to add.
 */
export async function createTransportFromConfig(
  config: Pick<RegstackConfig, 'email'>,
  logger: Logger,
): Promise<EmailTransport> {
  const email = config.email;
  switch (email.backend) {
    case 'console':
      return withSendLogging(createConsoleTransport({ showBodies: email.logBodies }), 'console', logger);
    case 'smtp': {
      // The schema already requires smtp_host for this backend; checked again for a config built by hand.
      if (!email.smtpHost) throw new Error('regstack: email.backend = "smtp" needs email.smtp_host');
      const transport = await createSmtpTransport({
        host: email.smtpHost,
        port: email.smtpPort,
        starttls: email.smtpStarttls,
        implicitTls: email.smtpImplicitTls,
        username: email.smtpUsername,
        password: email.smtpPassword,
      });
      logger.debug('email transport ready', {
        backend: 'smtp',
        host: email.smtpHost,
        port: email.smtpPort,
        tls: email.smtpImplicitTls ? 'implicit' : email.smtpStarttls ? 'starttls-required' : 'starttls-if-offered',
        auth: email.smtpUsername !== undefined,
      });
      return withSendLogging(transport, 'smtp', logger);
    }
    case 'ses': {
      const transport = await createSesTransport({
        region: email.sesRegion,
        endpoint: email.sesEndpoint,
        profile: email.sesProfile,
        accessKeyId: email.sesAccessKeyId,
        secretAccessKey: email.sesSecretAccessKey,
      });
      logger.debug('email transport ready', {
        backend: 'ses',
        region: email.sesRegion,
        endpoint: email.sesEndpoint ?? null,
        credentials: email.sesAccessKeyId ? 'keys' : email.sesProfile ? 'profile' : 'default chain',
      });
      return withSendLogging(transport, 'ses', logger);
    }
    default: {
      const unknown: never = email.backend;
      throw new Error(`regstack: unknown email.backend ${String(unknown)}`);
    }
  }
}
