/**
 * Recovery codes: the fallback second factor when the phone or authenticator is lost. Each code is 10 symbols
 * from a 32-letter alphabet drawn with `randomInt` (no modulo bias): 50 bits, far beyond what the login lockout
 * (R14) lets anyone guess online. Stored only as HMAC-SHA256 under a key derived from the master secret and bound
 * to the user (`OtpHasher` with the challenge `recovery:<user id>`, one-time-tokens.ts), so a leaked table can
 * neither be brute-forced offline nor have one user's code tried against another's account.
 */
import { randomInt } from 'node:crypto';
import { RECOVERY_CODE_ALPHABET, RECOVERY_CODE_COUNT, RECOVERY_CODE_LENGTH } from '@regstack/shared';
import type { OtpHasher } from './one-time-tokens.ts';

/** A fresh set of codes as shown to the user (`xxxxx-xxxxx`). */
export function generateRecoveryCodes(count: number = RECOVERY_CODE_COUNT): string[] {
  return Array.from({ length: count }, () => {
    let code = '';
    for (let i = 0; i < RECOVERY_CODE_LENGTH; i++)
      code += RECOVERY_CODE_ALPHABET[randomInt(RECOVERY_CODE_ALPHABET.length)];
    return `${code.slice(0, 5)}-${code.slice(5)}`;
  });
}

/** The stored form of a code for `userId`; `code` in either spelling (the dash and case do not matter). */
export function hashRecoveryCode(hasher: OtpHasher, userId: string, code: string): string {
  return hasher.hashOtpCode(code.toLowerCase().replace('-', ''), `recovery:${userId}`);
}
