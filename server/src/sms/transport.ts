/**
 * SMS transports: where a message finally goes. Any object with `send({ to, body })` is a transport (a host may pass
 * its own to `createRegstack({ sms })`); regstack ships `console` here. A transport throws when the provider did not
 * accept a message. Numbers reach a transport only in canonical E.164 (R52); a transport never logs a body unless it
 * was asked to (the bodies carry one-time codes, R62).
 */
import { maskPhone } from '@regstack/shared';

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
}

/**
 * Prints each message to stdout, clearly marked as not sent. With `showBodies` the body — and so the code — is
 * printed too, for local development; otherwise only the masked destination is (R62).
 */
export function createConsoleSmsTransport(
  options: { showBodies?: boolean; write?: (text: string) => void } = {},
): SmsTransport {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  return {
    async send(message) {
      const lines = ['----- regstack SMS (console transport: not sent) -----', `To: ${maskPhone(message.to)}`];
      if (options.showBodies) lines.push(message.body);
      lines.push('-----------------------------------------------------', '');
      write(lines.join('\n'));
    },
  };
}
