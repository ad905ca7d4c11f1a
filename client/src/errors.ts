/**
 * Reading regstack's error data off whatever a call threw. Codes are API (SPEC §5): branch on
 * `getRegstackErrorCode(err)`, show `fieldErrors` next to form fields, wait `retryAfterSeconds` — never
 * parse messages.
 */
import { getRegstackErrorCode, isRegstackErrorCode, type RegstackErrorData } from '@regstack/shared';

function read(value: unknown, key: string): unknown {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return undefined;
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/**
 * The regstack part of a failed call's error data (`regstackCode`, `retryAfterSeconds`, `fieldErrors`), or
 * `undefined` when the error did not come from regstack (a host procedure's own error). A request that got no
 * answer reads `{ regstackCode: 'NETWORK_ERROR' }`.
 */
export function getRegstackErrorData(err: unknown): RegstackErrorData | undefined {
  const data = read(err, 'data') ?? read(read(err, 'shape'), 'data');
  const code = read(data, 'regstackCode');
  // No answer was read (NETWORK_ERROR): the code is on the client's own error, the `cause`.
  if (code === undefined && getRegstackErrorCode(err) === 'NETWORK_ERROR') return { regstackCode: 'NETWORK_ERROR' };
  if (!isRegstackErrorCode(code)) return undefined;
  const out: RegstackErrorData = { regstackCode: code };
  const retry = read(data, 'retryAfterSeconds');
  if (typeof retry === 'number' && Number.isFinite(retry)) out.retryAfterSeconds = retry;
  const fields = read(data, 'fieldErrors');
  if (typeof fields === 'object' && fields !== null) {
    const clean: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(fields)) {
      if (Array.isArray(v)) clean[k] = v.filter((m): m is string => typeof m === 'string');
    }
    out.fieldErrors = clean;
  }
  return out;
}
