/**
 * The `sns` transport: Amazon SNS direct SMS through the official SDK (`@aws-sdk/client-sns`, `Publish` with a
 * `PhoneNumber`), marked Transactional so carriers route it as a one-time code rather than marketing. Credentials
 * come from explicit keys when given, else the SDK's default chain (environment, shared files, instance/task role).
 * `endpoint` points the SDK elsewhere (a VPC endpoint, a local test server). A refusal becomes an `SmsSendError`
 * with the HTTP status and the AWS error name only: AWS's error texts repeat the number (R62).
 */
import { importOptionalPackage } from '../email/optional-package.ts';
import { type SmsMessage, SmsSendError, type SmsTransport } from './transport.ts';

export interface SnsSmsTransportOptions {
  /** AWS region that sends the SMS, e.g. `eu-west-1`. */
  region: string;
  /**
   * Endpoint URL override; unset means the region's public SNS endpoint.
   * @default undefined
   */
  endpoint?: string | undefined;
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
   * Sender: an origination number in E.164 (`+…`, sent as `AWS.MM.SMS.OriginationNumber`) or an alphanumeric sender
   * id (`AWS.SNS.SMS.SenderID`, where the destination country allows one). Unset lets AWS choose.
   * @default undefined
   */
  fromNumber?: string | undefined;
  /**
   * Attempts the SDK makes per send before it gives up.
   * @default 3
   */
  maxAttempts?: number;
  /**
   * Time allowed to connect to the endpoint, in milliseconds.
   * @default 10000
   */
  connectionTimeoutMs?: number;
  /**
   * Time allowed for one request once connected, in milliseconds.
   * @default 15000
   */
  requestTimeoutMs?: number;
}

/** An SDK failure as an `SmsSendError`: the HTTP status and AWS error name, never the message (it names the number). */
function refusal(err: unknown, what: string): SmsSendError {
  const e = (err ?? {}) as { name?: unknown; code?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  const code = typeof e.code === 'string' ? e.code : typeof e.name === 'string' ? e.name : undefined;
  return new SmsSendError('sns', status === undefined ? `could not be reached for ${what}` : `refused ${what}`, {
    ...(status !== undefined && { status }),
    ...(code !== undefined && { providerCode: code }),
  });
}

/** Creates the transport; rejects at once if `@aws-sdk/client-sns` is not installed. */
export async function createSnsSmsTransport(options: SnsSmsTransportOptions): Promise<SmsTransport> {
  const sdk = await importOptionalPackage('@aws-sdk/client-sns', 'sns', () => import('@aws-sdk/client-sns'), 'sms');
  const hasKeys = options.accessKeyId !== undefined && options.secretAccessKey !== undefined;
  const client = new sdk.SNSClient({
    region: options.region,
    ...(options.endpoint && { endpoint: options.endpoint }),
    ...(hasKeys && {
      credentials: { accessKeyId: options.accessKeyId as string, secretAccessKey: options.secretAccessKey as string },
    }),
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? 10_000,
      requestTimeout: options.requestTimeoutMs ?? 15_000,
    },
  });
  const attributes: Record<string, { DataType: string; StringValue: string }> = {
    'AWS.SNS.SMS.SMSType': { DataType: 'String', StringValue: 'Transactional' },
  };
  if (options.fromNumber?.startsWith('+')) {
    attributes['AWS.MM.SMS.OriginationNumber'] = { DataType: 'String', StringValue: options.fromNumber };
  } else if (options.fromNumber) {
    attributes['AWS.SNS.SMS.SenderID'] = { DataType: 'String', StringValue: options.fromNumber };
  }

  return {
    async send(message: SmsMessage) {
      try {
        await client.send(
          new sdk.PublishCommand({ PhoneNumber: message.to, Message: message.body, MessageAttributes: attributes }),
        );
      } catch (err) {
        throw refusal(err, 'the message');
      }
    },
    async verify() {
      // A signed read of the account's SMS settings: proves region, endpoint and credentials; sends nothing. The
      // credentials need sns:GetSMSAttributes besides sns:Publish.
      try {
        await client.send(new sdk.GetSMSAttributesCommand({}));
      } catch (err) {
        throw refusal(err, 'the credentials check (GetSMSAttributes)');
      }
    },
    async close() {
      client.destroy();
    },
  };
}
