/**
 * Email transports: where a rendered message finally goes. Any object with `send(message)` is a transport;
 * regstack ships `console` here, `smtp` in `smtp.ts` and `ses` in `ses.ts` (`createTransportFromConfig`
 * picks one from `email.backend`). A transport throws when a message was not accepted: the outbox retries
 * with backoff, so a failing provider delays mail but never loses it or slows a response (R11).
 */
export interface EmailMessage {
  to: string;
  from: string;
  subject: string;
  text: string;
  html: string;
}

export interface EmailTransport {
  /** Delivers one message to the provider; rejects when it was not accepted (the outbox then retries). */
  send(message: EmailMessage): Promise<void>;
  /** Releases connections (the SMTP pool, the SES client). */
  close?(): Promise<void>;
  /** Checks that the provider is reachable and accepts the credentials, delivering nothing (`regstack doctor`). */
  verify?(): Promise<void>;
}

/**
 * Prints each message to stdout. With `showBodies` (the development server turns it on) the text body —
 * and so its links — is printed too, so a newcomer can follow the verification link; otherwise only the
 * envelope is, since bodies carry one-time tokens (R62).
 */
export function createConsoleTransport(
  options: { showBodies?: boolean; write?: (text: string) => void } = {},
): EmailTransport {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  return {
    async send(message) {
      const lines = [
        '----- regstack email -----',
        `To: ${message.to}`,
        `From: ${message.from}`,
        `Subject: ${message.subject}`,
      ];
      if (options.showBodies) lines.push('', message.text);
      else lines.push('(body hidden: set email.log_bodies = true to print it)');
      lines.push('--------------------------', '');
      write(lines.join('\n'));
    },
  };
}
