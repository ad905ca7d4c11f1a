/**
 * Runs a TypeScript script in a plain Node child process (our source condition, no vitest flags: NODE_OPTIONS is
 * dropped) and returns the JSON its last line of output holds. For tests that need a process of their own.
 */
import { execFile } from 'node:child_process';

export function runNodeChild<T>(script: string, args: string[], what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const { NODE_OPTIONS: _ignored, ...env } = process.env;
    execFile(
      process.execPath,
      ['--conditions=@regstack/source', '--disable-warning=ExperimentalWarning', script, ...args],
      { env, timeout: 60_000 },
      (err, stdout, stderr) => {
        try {
          resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as T);
        } catch {
          reject(new Error(`${what} child failed: ${err?.message ?? 'no result'}\n${stderr}`));
        }
      },
    );
  });
}
