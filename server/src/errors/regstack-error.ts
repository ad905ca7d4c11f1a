/**
 * The one domain error. Services throw `RegstackError` with a stable code from @regstack/shared; the tRPC
 * layer maps the code to a tRPC code through one exhaustive table and copies the code (and, where present,
 * `retryAfterSeconds` and field errors) into the response. Recognise it by `name`/`code`, never only by
 * `instanceof`: two copies of this package in one app would break `instanceof`.
 */
import type { ServerErrorCode } from '@regstack/shared';

export interface RegstackErrorOptions {
  /** Seconds until retrying can succeed (lockout, rate limits, shedding); becomes `Retry-After`. */
  retryAfterSeconds?: number;
  /** Per-field messages for VALIDATION_FAILED and password-policy failures. */
  fieldErrors?: Record<string, string[]>;
  cause?: unknown;
}

export class RegstackError extends Error {
  override readonly name = 'RegstackError';
  readonly code: ServerErrorCode;
  readonly retryAfterSeconds: number | undefined;
  readonly fieldErrors: Record<string, string[]> | undefined;

  constructor(code: ServerErrorCode, message: string, options: RegstackErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.fieldErrors = options.fieldErrors;
  }

  static is(err: unknown): err is RegstackError {
    return (
      typeof err === 'object' &&
      err !== null &&
      (err as { name?: unknown }).name === 'RegstackError' &&
      typeof (err as { code?: unknown }).code === 'string'
    );
  }
}
