/**
 * Builds the transport `sms.backend` names — `console`, `twilio`, `sns` or `none` — from the validated configuration,
 * wrapped so every send leaves one debug line: backend, masked destination, outcome, duration. Never a token, a key
 * or a body: bodies carry one-time codes (R62). (The console backend prints bodies itself, to stdout, only when
 * `sms.log_bodies` is on.)
 */
import { maskPhone } from '@regstack/shared';
import type { RegstackConfig } from '../config/index.ts';
import type { Logger } from '../logger.ts';
import { createSnsSmsTransport } from './sns.ts';
import { createConsoleSmsTransport, createNoneSmsTransport, type SmsTransport } from './transport.ts';
import { createTwilioSmsTransport } from './twilio.ts';

/** Adds the per-send debug line to any transport. */
export function withSmsSendLogging(transport: SmsTransport, backend: string, logger: Logger): SmsTransport {
  const wrapped: SmsTransport = {
    async send(message) {
      const started = performance.now();
      const fields = () => ({
        backend,
        to: maskPhone(message.to),
        durationMs: Math.round(performance.now() - started),
      });
      try {
        await transport.send(message);
      } catch (err) {
        // The error itself is logged (sanitised) by the code sender; here only the fact and the timing.
        logger.debug('sms send failed', fields());
        throw err;
      }
      logger.debug('sms sent', fields());
    },
  };
  if (transport.close) wrapped.close = () => transport.close?.() ?? Promise.resolve();
  if (transport.verify) wrapped.verify = () => transport.verify?.() ?? Promise.resolve();
  return wrapped;
}

/**
 * The transport for `config.sms.backend`. Rejects when the backend's optional package (`twilio`,
 * `@aws-sdk/client-sns`) is not installed, naming the package to add.
 */
export async function createSmsTransportFromConfig(config: RegstackConfig, logger: Logger): Promise<SmsTransport> {
  const sms = config.sms;
  switch (sms.backend) {
    case 'console':
      return withSmsSendLogging(createConsoleSmsTransport({ showBodies: sms.logBodies }), 'console', logger);
    case 'none':
      return createNoneSmsTransport();
    case 'twilio': {
      // The schema already requires these for this backend; checked again for a config built by hand.
      if (!sms.twilioAccountSid || !sms.twilioAuthToken) {
        throw new Error('regstack: sms.backend = "twilio" needs sms.twilio_account_sid and sms.twilio_auth_token');
      }
      const transport = await createTwilioSmsTransport({
        accountSid: sms.twilioAccountSid,
        authToken: sms.twilioAuthToken,
        fromNumber: sms.fromNumber,
        messagingServiceSid: sms.twilioMessagingServiceSid,
        baseUrl: sms.twilioBaseUrl,
      });
      logger.debug('sms transport ready', {
        backend: 'twilio',
        sender: sms.twilioMessagingServiceSid ? 'messaging service' : 'from number',
        baseUrl: sms.twilioBaseUrl ?? null,
      });
      return withSmsSendLogging(transport, 'twilio', logger);
    }
    case 'sns': {
      const transport = await createSnsSmsTransport({
        region: sms.snsRegion,
        endpoint: sms.snsEndpoint,
        accessKeyId: sms.snsAccessKeyId,
        secretAccessKey: sms.snsSecretAccessKey,
        fromNumber: sms.fromNumber,
      });
      logger.debug('sms transport ready', {
        backend: 'sns',
        region: sms.snsRegion,
        endpoint: sms.snsEndpoint ?? null,
        credentials: sms.snsAccessKeyId ? 'keys' : 'default chain',
      });
      return withSmsSendLogging(transport, 'sns', logger);
    }
    default: {
      const unknown: never = sms.backend;
      throw new Error(`regstack: unknown sms.backend ${String(unknown)}`);
    }
  }
}
