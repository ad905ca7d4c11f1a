/**
 * How a login step ended, as the host's metrics count it (`regstack.login.attempts`, docs/observability.md). The
 * answer a caller gets is the same for every refused credential (R9); the metric tells them apart — the operator's
 * view of credential stuffing (unknown accounts) against guessing (wrong passwords) — and carries nothing else: no
 * address, no account id. Any other refusal is its stable error code, lower-cased; an unexpected failure is `error`.
 */
import { RegstackError } from '../../errors/regstack-error.ts';
import type { LoginOutcome } from '../../telemetry/instruments.ts';

/** Why a password check refused, known only inside the check. */
export type CredentialRefusal = 'wrong_password' | 'unknown_account' | 'no_password' | 'inactive_account';

export function loginOutcomeOf(err: unknown, refusal: CredentialRefusal): LoginOutcome {
  if (!RegstackError.is(err)) return 'error';
  switch (err.code) {
    case 'INVALID_CREDENTIALS':
      return refusal;
    case 'TOO_MANY_ATTEMPTS':
      return 'locked_out';
    case 'INTERNAL_ERROR':
      return 'error';
    default:
      return err.code.toLowerCase();
  }
}
