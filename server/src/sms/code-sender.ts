/**
 * The one way a service sends a one-time code by SMS. Rule: every send passes the abuse checks first (R21 — SMS
 * pumping costs real money and floods harass), and only then is handed to a background send:
 *
 * 1. `sms.backend = "none"` refuses every send (FEATURE_DISABLED);
 * 2. the destination must be on `sms.allowed_country_codes` (SMS_DESTINATION_NOT_ALLOWED), checked before anything
 *    is counted, so a refused country never reaches the transport nor uses up anyone's allowance;
 * 3. the limits per client IP, per account, per destination number and for the whole deployment (the global cap),
 *    in that order, each counted in the database (`login_attempts`, insert-then-count) so they hold across
 *    instances and under concurrency. A send is counted by every limit or by none: a send one limit refuses is
 *    withdrawn from the limits it had already passed, so a client stopped by its own per-IP limit cannot go on to
 *    use up the global cap that every other user depends on. Over a limit → RATE_LIMITED with a truthful
 *    `retryAfterSeconds`; a counter that cannot be read refuses the send (fail closed).
 *
 * Each refusal is a typed `RegstackError` thrown from `sendCode`, so the caller sees it. Past the checks, sending is
 * out of band: `sendCode` returns once the message is handed to a background send, so a response's timing never
 * depends on the provider (R11's rule for mail, here for SMS); a provider failure is logged (masked number, no body,
 * no provider text) and the user asks for a new code. Codes are never stored in a queue or table in clear (R48), so
 * an SMS is not durable like mail: a lost message costs a resend. Numbers are counted under a digest, never stored.
 */
import { createHash } from 'node:crypto';
import { maskPhone, phoneRegion } from '@regstack/shared';
import type { RateLimitRule } from '../config/index.ts';
import type { MfaPurpose } from '../db/entities/index.ts';
import { RegstackError } from '../errors/regstack-error.ts';
import type { Logger } from '../logger.ts';
import type { Clock } from '../security/clock.ts';
import { type SmsTransport, smsDisabledError } from './transport.ts';

export interface SmsCodeRequest {
  /** Canonical E.164 destination (R52). */
  to: string;
  /** The raw code; it exists only in memory and in the message. */
  code: string;
  purpose: MfaPurpose;
  userId: string;
  /** The requesting client's IP, for per-IP limits (none apply when it is unknown: a server-side caller). */
  ip: string | null;
}

export interface SmsCodeSender {
  /**
   * Checks the send against the country allowlist and the limits, then hands the code to a background send.
   * Throws a `RegstackError` when the send is refused up front: FEATURE_DISABLED, SMS_DESTINATION_NOT_ALLOWED or
   * RATE_LIMITED; nothing is sent then.
   */
  sendCode(request: SmsCodeRequest): Promise<void>;
  /** Resolves when every send started so far has finished (tests, shutdown). */
  drain(): Promise<void>;
}

/**
 * The counters the limits are kept in: the `login_attempts` repository's insert-then-count primitives, passed in
 * by `createRegstack` (sms/ sits below the services and never opens storage itself).
 */
export interface SmsLimitCounter {
  /** Records one event on `key` at `now`, then counts the key's events after `windowStart` (this one included). */
  recordAndCount(key: string, now: Date, windowStart: Date): Promise<{ id: string; count: number }>;
  /** The newest `limit` event times on `key` after `windowStart`, newest first. */
  recentTimes(key: string, windowStart: Date, limit: number): Promise<Date[]>;
  /** Withdraws one recorded event. */
  remove(id: string): Promise<void>;
}

/** `[sms]` settings the checks read. */
export interface SmsSendPolicy {
  /** ISO 3166-1 alpha-2 codes (`GB`) and calling-code prefixes (`+44`); empty allows every destination. */
  allowedCountryCodes: readonly string[];
  /** Per destination number. */
  recipientLimits: readonly RateLimitRule[];
  /** Per client IP (its limit key: IPv6 per /64). */
  ipLimits: readonly RateLimitRule[];
  /** Per account. */
  userLimits: readonly RateLimitRule[];
  /** The whole deployment (the global cap). */
  globalLimits: readonly RateLimitRule[];
}

export interface SmsCodeSenderOptions {
  transport: SmsTransport;
  logger: Logger;
  appName: string;
  clock: Clock;
  policy: SmsSendPolicy;
  /** Opens the counters for one send (a fresh unit of work each time). */
  counter: () => SmsLimitCounter;
  /** The key a client IP is limited under (R20: IPv6 per /64). @default the address itself */
  ipKey?: (ip: string) => string;
  /** `sms.backend = "none"`: every send is refused with FEATURE_DISABLED. @default false */
  refuseAll?: boolean;
}

/** True when the allowlist is empty or names the number's region or a prefix of it (R21). */
export function isSmsDestinationAllowed(to: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  const region = phoneRegion(to);
  return allowed.some((entry) => (entry.startsWith('+') ? to.startsWith(entry) : entry === region));
}

/** A digest of the number: the limits count per number without storing one (R62). */
function numberKey(to: string): string {
  return createHash('sha256').update(`regstack:sms:${to}`).digest('base64url').slice(0, 32);
}

/** Removes the raw code and the number from a text a transport produced (a host transport's error message). */
function redact(text: string, request: SmsCodeRequest): string {
  let out = text;
  for (const secret of [request.code, request.to, request.to.slice(1)]) {
    if (secret.length > 0) out = out.split(secret).join('[redacted]');
  }
  return out;
}

export function createSmsCodeSender(options: SmsCodeSenderOptions): SmsCodeSender {
  const { policy, logger } = options;
  const inFlight = new Set<Promise<void>>();
  const body = (code: string) => `${code} is your ${options.appName} verification code. Never share it.`;

  /** Counts the send under every limit, or — when one refuses — under none, and throws RATE_LIMITED. */
  async function reserve(request: SmsCodeRequest): Promise<void> {
    const scopes: [scope: string, id: string, rules: readonly RateLimitRule[]][] = [];
    if (request.ip) scopes.push(['ip', options.ipKey ? options.ipKey(request.ip) : request.ip, policy.ipLimits]);
    scopes.push(['user', request.userId, policy.userLimits]);
    scopes.push(['number', numberKey(request.to), policy.recipientLimits]);
    scopes.push(['global', 'all', policy.globalLimits]);

    const counter = options.counter();
    const recorded: string[] = [];
    const withdraw = () => Promise.all(recorded.map((id) => counter.remove(id).catch(() => {})));
    const now = options.clock.now();
    try {
      for (const [scope, id, rules] of scopes) {
        for (const rule of rules) {
          const key = `sms:${scope}:${id}:${rule.windowSeconds}`;
          const windowStart = new Date(now.getTime() - rule.windowSeconds * 1000);
          const { id: rowId, count } = await counter.recordAndCount(key, now, windowStart);
          recorded.push(rowId);
          if (count <= rule.limit) continue;
          await withdraw();
          // The send fits again once the `limit`-th newest counted send leaves the window.
          const times = await counter.recentTimes(key, windowStart, rule.limit);
          const pivot = times[rule.limit - 1] ?? now;
          const seconds = Math.max(1, Math.ceil((pivot.getTime() + rule.windowSeconds * 1000 - now.getTime()) / 1000));
          logger.warn('SMS refused: limit reached', {
            limit: scope,
            rule: `${rule.limit}/${rule.windowSeconds}s`,
            to: maskPhone(request.to),
            purpose: request.purpose,
          });
          throw new RegstackError('RATE_LIMITED', 'Too many text messages; try again later', {
            retryAfterSeconds: seconds,
          });
        }
      }
    } catch (err) {
      if (RegstackError.is(err)) throw err;
      // A counter that cannot be written or read refuses the send: no limit is ever skipped (fail closed).
      await withdraw();
      throw err;
    }
  }

  return {
    async sendCode(request) {
      if (options.refuseAll) throw smsDisabledError();
      if (!isSmsDestinationAllowed(request.to, policy.allowedCountryCodes)) {
        logger.warn('SMS refused: destination not on sms.allowed_country_codes', {
          to: maskPhone(request.to),
          region: phoneRegion(request.to) ?? null,
          purpose: request.purpose,
        });
        throw new RegstackError(
          'SMS_DESTINATION_NOT_ALLOWED',
          'Text messages cannot be sent to this country or region from this service',
        );
      }
      await reserve(request);
      const send: Promise<void> = options.transport
        .send({ to: request.to, body: body(request.code) })
        .catch((err: unknown) => {
          const e = (err ?? {}) as { name?: unknown; message?: unknown; code?: unknown };
          logger.warn('SMS not sent', {
            to: maskPhone(request.to),
            purpose: request.purpose,
            // Never the error as it is: a provider's or a host transport's text may carry the number or the body.
            err: {
              name: typeof e.name === 'string' ? e.name : 'Error',
              message: typeof e.message === 'string' ? redact(e.message, request) : '',
              ...((typeof e.code === 'string' || typeof e.code === 'number') && { code: e.code }),
            },
          });
        })
        .finally(() => inFlight.delete(send));
      inFlight.add(send);
    },
    async drain() {
      await Promise.all([...inFlight]);
    },
  };
}
