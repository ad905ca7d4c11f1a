/** What a call that must fail failed with: the stable code, the message and any retry time. */
import { getRegstackErrorCode } from '@regstack/shared';

export interface Failure {
  code?: string;
  message: string;
  retryAfterSeconds?: number;
}

/** The error a call that must fail threw, as is. */
export async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

export async function failure(promise: Promise<unknown>): Promise<Failure> {
  const err = await caught(promise);
  const cause = (err as { cause?: { retryAfterSeconds?: number } }).cause;
  return {
    code: getRegstackErrorCode(err),
    message: (err as Error).message,
    ...(cause?.retryAfterSeconds !== undefined && { retryAfterSeconds: cause.retryAfterSeconds }),
  };
}

/** Just the stable code of a call that must fail. */
export async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  return (await failure(promise)).code;
}

/** The stable code a call failed with, `ok` when it succeeded (for calls that may go either way). */
export function outcome(call: Promise<unknown>): Promise<string> {
  return call.then(
    () => 'ok',
    (err: unknown) => getRegstackErrorCode(err) ?? `unknown: ${(err as Error).message}`,
  );
}
