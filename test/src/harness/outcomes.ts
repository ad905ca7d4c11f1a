/** What a call that must fail failed with: the stable code, the message and any retry time. */
import { getRegstackErrorCode } from '@regstack/shared';

export interface Failure {
  code?: string;
  message: string;
  retryAfterSeconds?: number;
}

export async function failure(promise: Promise<unknown>): Promise<Failure> {
  try {
    await promise;
  } catch (err) {
    const cause = (err as { cause?: { retryAfterSeconds?: number } }).cause;
    return {
      code: getRegstackErrorCode(err),
      message: (err as Error).message,
      ...(cause?.retryAfterSeconds !== undefined && { retryAfterSeconds: cause.retryAfterSeconds }),
    };
  }
  throw new Error('expected the call to fail');
}

/** Just the stable code of a call that must fail. */
export async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  return (await failure(promise)).code;
}
