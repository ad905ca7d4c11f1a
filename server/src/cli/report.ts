/**
 * How `doctor` and `validate` report: one line per check — ✓ fine, ⚠ worth a look, ✗ broken with the fix under
 * it — and a last line counting failures and warnings; or, with `--json`, one object on stdout. The exit code is
 * EXIT.failure when any check failed (warnings alone pass).
 */
import { EXIT } from './exit-codes.ts';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  /** What was checked: `config`, `database`, `healthz`, `cors`, … */
  check: string;
  status: CheckStatus;
  message: string;
  /** What to change; always present on a failed check. */
  fix?: string;
}

const MARK: Record<CheckStatus, string> = { ok: '✓', warn: '⚠', fail: '✗' };

export function printReport(results: readonly CheckResult[], json: boolean, header?: string): void {
  const failed = results.filter((r) => r.status === 'fail').length;
  const warned = results.filter((r) => r.status === 'warn').length;
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ ok: failed === 0, failed, warnings: warned, checks: results }, null, 2)}\n`,
    );
  } else {
    const lines = results.flatMap((r) => [
      `${MARK[r.status]} ${r.check}: ${r.message}`,
      ...(r.fix && r.status !== 'ok' ? [`    fix: ${r.fix}`] : []),
    ]);
    if (header) lines.unshift(header);
    const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
    lines.push(
      failed > 0
        ? `${plural(failed, 'check')} failed, ${plural(warned, 'warning')}`
        : `all checks passed${warned > 0 ? `, ${plural(warned, 'warning')}` : ''}`,
    );
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  process.exitCode = failed > 0 ? EXIT.failure : EXIT.ok;
}
