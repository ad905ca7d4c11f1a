/**
 * The `twilio` transport: the official `twilio` SDK and its Programmable Messaging API (`messages.create`, a form
 * post to `/2010-04-01/Accounts/{sid}/Messages.json` with the account SID and auth token as basic auth), from a
 * sender number or a Messaging Service. regstack composes the message and checks the code itself (R48, R49), so
 * Twilio only carries the text. A refusal becomes an `SmsSendError` with Twilio's status and numeric error code
 * only: Twilio's error texts repeat the destination number (R62).
 */
import { importOptionalPackage } from '../email/optional-package.ts';
import { type SmsMessage, SmsSendError, type SmsTransport } from './transport.ts';

/** Twilio's REST API, as the SDK addresses it. */
export const TWILIO_API_BASE_URL = 'https://api.twilio.com';

export interface TwilioSmsTransportOptions {
  /** Account SID (`AC…`). */
  accountSid: string;
  /** Auth token (a secret: never logged). */
  authToken: string;
  /**
   * Sender: a Twilio number in E.164 or an alphanumeric sender id. Either this or `messagingServiceSid`.
   * @default undefined
   */
  fromNumber?: string | undefined;
  /**
   * Messaging Service SID (`MG…`): Twilio picks the sender from the service's pool. Takes precedence over
   * `fromNumber`.
   * @default undefined
   */
  messagingServiceSid?: string | undefined;
  /**
   * Base URL of Twilio's REST API; change it only to reach a test server or an egress proxy that speaks Twilio's API.
   * @default 'https://api.twilio.com'
   */
  baseUrl?: string | undefined;
  /**
   * Time allowed for one request, in milliseconds.
   * @default 15000
   */
  timeoutMs?: number;
}

interface TwilioErrorShape {
  status?: unknown;
  code?: unknown;
}

/** Twilio's answer as an `SmsSendError`, without its message (which names the number). */
function refusal(err: unknown, what: string): SmsSendError {
  const { status, code } = (err ?? {}) as TwilioErrorShape;
  if (typeof status === 'number') {
    return new SmsSendError('twilio', `refused ${what}`, {
      status,
      ...((typeof code === 'number' || typeof code === 'string') && { providerCode: code }),
    });
  }
  // No answer at all (refused connection, timeout): the network error's code, never its message.
  const networkCode = typeof code === 'string' ? code : undefined;
  return new SmsSendError('twilio', `could not be reached for ${what}`, {
    ...(networkCode && { providerCode: networkCode }),
  });
}

/** Creates the transport; rejects at once if the `twilio` package is not installed. */
export async function createTwilioSmsTransport(options: TwilioSmsTransportOptions): Promise<SmsTransport> {
  if (!options.messagingServiceSid && !options.fromNumber) {
    throw new Error('regstack: the twilio SMS transport needs a from number or a Messaging Service SID');
  }
  const sdk = await importOptionalPackage('twilio', 'twilio', () => import('twilio'), 'sms');
  const twilio = sdk.default;
  const client = twilio(options.accountSid, options.authToken, {
    timeout: options.timeoutMs ?? 15_000,
    // Twilio answers 429 when an account sends faster than its queue allows: the SDK waits and retries those.
    autoRetry: true,
    maxRetries: 3,
  });
  // The SDK addresses each product by a fixed base URL; the Messages API lives on the `api` domain.
  if (options.baseUrl) client.api.baseUrl = options.baseUrl;
  const sender = options.messagingServiceSid
    ? { messagingServiceSid: options.messagingServiceSid }
    : { from: options.fromNumber as string };

  return {
    async send(message: SmsMessage) {
      try {
        await client.messages.create({ to: message.to, body: message.body, ...sender });
      } catch (err) {
        throw refusal(err, 'the message');
      }
    },
    async verify() {
      // Reads the account: proves the SID and token, sends nothing. A suspended or closed account cannot send.
      let status: string;
      try {
        status = (await client.api.v2010.accounts(options.accountSid).fetch()).status;
      } catch (err) {
        throw refusal(err, 'the account lookup (check twilio_account_sid and twilio_auth_token)');
      }
      if (status !== 'active') throw new SmsSendError('twilio', `the account is ${status}, not active`);
    },
  };
}
