/**
 * Runs the SES transport in a plain Node process. Why: vitest starts its workers with the resolve conditions of
 * `test/vitest.config.ts` as Node flags (`--conditions module` among them), and under the `module` condition Node
 * resolves `@aws-sdk/*` to their `dist-es` builds, which only bundlers can load (extensionless relative imports).
 * Production Node never sets that condition, and neither does this child: it loads the SDK exactly as a host's
 * process does, so the test still exercises the real SDK — signing, serialisation, errors — end to end.
 */
import { fileURLToPath } from 'node:url';
import { runNodeChild } from '../harness/node-child.ts';
import type { SesChildJob, SesChildResult } from './ses-child.ts';

const CHILD = fileURLToPath(new URL('./ses-child.ts', import.meta.url));

export function runSesInCleanNode(job: SesChildJob): Promise<SesChildResult> {
  return runNodeChild<SesChildResult>(CHILD, [JSON.stringify(job)], 'SES');
}
