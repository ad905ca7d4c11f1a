/**
 * The one way a service sends a one-time code by SMS. Rule: sending is out of band — `sendCode` returns once the
 * message is handed to a background send, so a response's timing never depends on the provider (R11's rule for mail,
 * here for SMS); a provider failure is logged (masked number, no body) and the user asks for a new code. Codes are
 * never stored in a queue or table in clear (R48), so an SMS is not durable like mail: a lost message costs a resend.
 */
import { maskPhone } from '@regstack/shared';
import type { MfaPurpose } from '../db/entities/index.ts';
import type { Logger } from '../logger.ts';
import type { SmsTransport } from './transport.ts';

export interface SmsCodeRequest {
  /** Canonical E.164 destination (R52). */
  to: string;
  /** The raw code; it exists only in memory and in the message. */
  code: string;
  purpose: MfaPurpose;
  userId: string;
  /** The requesting client's IP, for per-IP limits. */
  ip: string | null;
}

export interface SmsCodeSender {
  /** Hands the code to a background send. Throws a `RegstackError` only when the send is refused up front. */
  sendCode(request: SmsCodeRequest): Promise<void>;
  /** Resolves when every send started so far has finished (tests, shutdown). */
  drain(): Promise<void>;
}

export function createSmsCodeSender(options: {
  transport: SmsTransport;
  logger: Logger;
  appName: string;
}): SmsCodeSender {
  const inFlight = new Set<Promise<void>>();
  const body = (code: string) => `${code} is your ${options.appName} verification code. Never share it.`;
  return {
    async sendCode(request) {
      const send: Promise<void> = options.transport
        .send({ to: request.to, body: body(request.code) })
        .catch((err: unknown) =>
          options.logger.warn('SMS not sent', { to: maskPhone(request.to), purpose: request.purpose, err }),
        )
        .finally(() => inFlight.delete(send));
      inFlight.add(send);
    },
    async drain() {
      await Promise.all([...inFlight]);
    },
  };
}
