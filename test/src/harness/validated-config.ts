/**
 * Values the config schema has checked, for suites that build a token service, sealer or OTP hasher directly. The
 * schema is the one validator of the master secret (R32) and the clock tolerance (R34) — those building blocks take
 * only its branded types — so a test obtains them the way `createRegstack` does: through `parseConfig`.
 */
import { parseConfig } from '@regstack/server';
import type { ClockToleranceSeconds, JwtSecret } from '@regstack/server/internal';

/** `secret` as a checked master secret; throws `ConfigError` if the schema refuses it. */
export function checkedSecret(secret: string): JwtSecret {
  return parseConfig({ jwtSecret: secret }).jwtSecret;
}

/** `seconds` as a checked clock tolerance; throws `ConfigError` if the schema refuses it. */
export function checkedTolerance(seconds: number): ClockToleranceSeconds {
  return parseConfig({ jwtSecret: 'x'.repeat(32), jwtClockToleranceSeconds: seconds }).jwtClockToleranceSeconds;
}
