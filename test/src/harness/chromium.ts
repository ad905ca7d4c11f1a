/**
 * Whether the browser suites can run: they drive Debian's Chromium (installed by `.ci/setup.sh`). Without it
 * they skip with this reason, said at the start and end of the run — except in CI (`CI` set), where a
 * missing browser must fail them rather than pass unseen.
 */
import { existsSync } from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';

/** Why the browser suites skip here, or `null` when they run. */
export function chromiumSkipReason(): string | null {
  if (existsSync(CHROMIUM) || process.env.CI) return null;
  return `no Chromium at ${CHROMIUM}: install it with \`sudo bash .ci/setup.sh\` (or apt-get install chromium)`;
}
