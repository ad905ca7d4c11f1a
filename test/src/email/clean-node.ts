/**
 * Runs the SES transport in a plain Node process. Why: vitest starts its workers with the resolve conditions of
 * `test/vitest.config.ts` as Node flags (`--conditions module` among them), and under the `module` condition Node
 * resolves `@aws-sdk/*` to their `dist-es` builds, which only bundlers can load (extensionless relative imports).
 * Production Node never sets that condition, and neither does this child: it loads the SDK exactly as a host's
 * process does, so the test still exercises the real SDK — signing, serialisation, errors — end to end.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SesChildJob, SesChildResult } from './ses-child.ts';

const CHILD = fileURLToPath(new URL('./ses-child.ts', import.meta.url));

export function runSesInCleanNode(job: SesChildJob): Promise<SesChildResult> {
  return new Promise((resolve, reject) => {
    const { NODE_OPTIONS: _ignored, ...env } = process.env;
    execFile(
      process.execPath,
      ['--conditions=@regstack/source', '--disable-warning=ExperimentalWarning', CHILD, JSON.stringify(job)],
      { env, timeout: 60_000 },
      (err, stdout, stderr) => {
        const line = stdout.trim().split('\n').pop() ?? '';
        try {
          resolve(JSON.parse(line) as SesChildResult);
        } catch {
          reject(new Error(`SES child failed: ${err?.message ?? 'no result'}\n${stderr}`));
        }
      },
    );
  });
}
