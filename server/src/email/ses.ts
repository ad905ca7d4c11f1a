/**
 * The `ses` transport: nodemailer composes the MIME message and hands it to Amazon SES through the official
 * SDK (`@aws-sdk/client-sesv2`, `SendEmail` with raw content — the shape nodemailer 7+ expects:
 * `createTransport({ SES: { sesClient, SendEmailCommand } })`). Credentials come from explicit keys when given,
 * else a named profile, else the SDK's default chain (environment, shared files, instance/task role). `endpoint`
 * points the SDK elsewhere (a VPC endpoint, a local test server). `send` rejects when SES did not accept the
 * message, so the outbox retries it (R11).
 */
import { importOptionalPackage } from './optional-package.ts';
import type { EmailMessage, EmailTransport } from './transport.ts';

export interface SesTransportOptions {
  /** AWS region of the SES endpoint, e.g. `eu-west-1`. */
  region: string;
  /**
   * Endpoint URL override; unset means the region's public SES endpoint.
   * @default undefined
   */
  endpoint?: string | undefined;
  /**
   * Named profile from the shared AWS config files; exclusive with the explicit keys.
   * @default undefined
   */
  profile?: string | undefined;
  /**
   * Explicit access key id; set together with `secretAccessKey`.
   * @default undefined (the SDK's default credential chain)
   */
  accessKeyId?: string | undefined;
  /**
   * Explicit secret access key (a secret: never logged).
   * @default undefined
   */
  secretAccessKey?: string | undefined;
  /**
   * Session token for temporary explicit credentials.
   * @default undefined
   */
  sessionToken?: string | undefined;
  /**
   * SES configuration set applied to every message (event publishing, dedicated IPs).
   * @default undefined
   */
  configurationSetName?: string | undefined;
  /**
   * Attempts the SDK makes per send before it gives up (the outbox then retries later with its own backoff).
   * @default 3
   */
  maxAttempts?: number;
  /**
   * Time allowed to connect to the endpoint.
   * @default 10000
   */
  connectionTimeoutMs?: number;
  /**
   * Time allowed for one request once connected.
   * @default 30000
   */
  requestTimeoutMs?: number;
}

/** Creates the transport; rejects at once if nodemailer or @aws-sdk/client-sesv2 is not installed. */
export async function createSesTransport(options: SesTransportOptions): Promise<EmailTransport> {
  const [nodemailer, sdk] = await Promise.all([
    importOptionalPackage('nodemailer', 'ses', () => import('nodemailer')),
    importOptionalPackage('@aws-sdk/client-sesv2', 'ses', () => import('@aws-sdk/client-sesv2')),
  ]);
  const hasKeys = options.accessKeyId !== undefined && options.secretAccessKey !== undefined;
  const sesClient = new sdk.SESv2Client({
    region: options.region,
    ...(options.endpoint && { endpoint: options.endpoint }),
    ...(hasKeys && {
      credentials: {
        accessKeyId: options.accessKeyId as string,
        secretAccessKey: options.secretAccessKey as string,
        ...(options.sessionToken && { sessionToken: options.sessionToken }),
      },
    }),
    ...(!hasKeys && options.profile && { profile: options.profile }),
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? 10_000,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
    },
  });
  const transporter = nodemailer.createTransport({
    SES: { sesClient, SendEmailCommand: sdk.SendEmailCommand },
    disableFileAccess: true,
    disableUrlAccess: true,
    logger: false,
  });

  return {
    async send(message: EmailMessage) {
      await transporter.sendMail({
        from: message.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html,
        ...(options.configurationSetName && { ses: { ConfigurationSetName: options.configurationSetName } }),
      });
    },
    async verify() {
      await transporter.verify();
    },
    async close() {
      transporter.close();
      sesClient.destroy();
    },
  };
}
