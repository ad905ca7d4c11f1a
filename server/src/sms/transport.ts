/**
 * SMS transports: where a message finally goes. Any object with `send({ to, body })` is a transport (a host may pass
 * its own to `createRegstack({ sms })`); regstack ships `console` and `none` here, `twilio` in `twilio.ts` and `sns`
 * in `sns.ts` (`createSmsTransportFromConfig` picks one from `sms.backend`). A transport throws when the provider did
 * not accept a message. Numbers reach a transport only in canonical E.164 (R52); a transport never logs a body
 * unless it was asked to, and a provider's refusal becomes an `SmsSendError` that carries neither the number nor
 * the body (the bodies carry one-time codes, and providers echo numbers in their error texts: R62).
 */
import { maskPhone } from '@regstack/shared';
import { RegstackError } from '../errors/regstack-error.ts';

export interface SmsMessage {
  /** Canonical E.164 destination. */
  to: string;
  body: string;
}

export interface SmsTransport {
  /** Delivers one message to the provider; rejects when it was not accepted. */
  send(message: SmsMessage): Promise<void>;
  /** Releases provider clients. */
  close?(): Promise<void>;
  /**
   * Checks that the provider is reachable and accepts the credentials, sending nothing (`regstack doctor`).
   * Rejects with what is wrong.
   */
  verify?(): Promise<void>;
}

/**
 * A provider did not take a message. Its message and fields hold only the provider's name, the HTTP status and the
 * provider's error code — never the destination or the body, which provider error texts often repeat (R62).
 */
export class SmsSendError extends Error {
  override readonly name = 'SmsSendError';
  /** `twilio`, `sns`, … */
  readonly provider: string;
  /** HTTP status of the provider's answer, when there was one. */
  readonly status: number | undefined;
  /** The provider's own error code (Twilio's numeric codes, AWS error names). */
  readonly providerCode: string | undefined;

  constructor(provider: string, summary: string, fields: { status?: number; providerCode?: string | number } = {}) {
    const parts = [
      fields.status !== undefined ? `HTTP ${fields.status}` : undefined,
      fields.providerCode !== undefined ? `error ${fields.providerCode}` : undefined,
    ].filter(Boolean);
    super(`${provider}: ${summary}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`);
    this.provider = provider;
    this.status = fields.status;
    this.providerCode = fields.providerCode === undefined ? undefined : String(fields.providerCode);
  }
}

/**
 * Prints each message to stdout, clearly marked as not sent. With `showBodies` (`sms.log_bodies`, which
 * `regstack serve --dev` turns on) the body — and so the code — is printed too, so a developer can complete an SMS
 * step locally; otherwise only the masked destination is (R62).
 */
export function createConsoleSmsTransport(
  options: { showBodies?: boolean; write?: (text: string) => void } = {},
): SmsTransport {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  return {
    async send(message) {
      const lines = ['----- regstack SMS (console transport: not sent) -----', `To: ${maskPhone(message.to)}`];
      if (options.showBodies) lines.push(message.body);
      else lines.push('(body hidden: set sms.log_bodies = true, or run regstack serve --dev, to print it)');
      lines.push('-----------------------------------------------------', '');
      write(lines.join('\n'));
    },
  };
}

/** The refusal every send meets when `sms.backend` is `none`. */
export function smsDisabledError(): RegstackError {
  return new RegstackError('FEATURE_DISABLED', 'SMS is turned off on this server (sms.backend = "none")');
}

/**
 * `sms.backend = "none"`: no message can leave. A send is refused with FEATURE_DISABLED — by the code sender before
 * anything is queued, so the caller sees it, and here too for anyone calling the transport directly.
 */
export function createNoneSmsTransport(): SmsTransport {
  return {
    async send() {
      throw smsDisabledError();
    },
  };
}
