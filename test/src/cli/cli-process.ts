/**
 * Runs the real `regstack` command (server/src/cli/main.ts from source) as a child process, in a fresh directory,
 * with exactly the given environment (plus PATH): what an operator's shell does, with nothing of vitest's.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll } from 'vitest';

export const REPO_ROOT = resolve(import.meta.dirname, '../../..');
export const CLI = resolve(REPO_ROOT, 'server/src/cli/main.ts');
export const NODE_ARGS = ['--conditions=@regstack/source', '--disable-warning=ExperimentalWarning', CLI];

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A temporary directory removed after the test file. */
export function freshDir(prefix = 'regstack-cli-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

export interface RunCliOptions {
  env?: Record<string, string>;
  /** Working directory. @default a fresh one */
  cwd?: string;
  /** Piped to stdin, then closed; unset: no stdin. */
  stdin?: string;
  /** Killed after this long (the run then shows what it printed). @default 60000 */
  timeoutMs?: number;
}

/** `regstack <args>` to completion. */
export function runCli(args: string[], options: RunCliOptions = {}): Promise<CliRun> {
  const child = spawn(process.execPath, [...NODE_ARGS, ...args], {
    cwd: options.cwd ?? freshDir(),
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += String(d);
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += String(d);
  });
  if (options.stdin !== undefined) child.stdin?.end(options.stdin);
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  return new Promise((r) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      r({ code, stdout, stderr });
    }),
  );
}

/** What every run must show: no stack trace. */
export function expectNoStackTrace(run: CliRun): void {
  if (/^\s+at /m.test(run.stdout + run.stderr)) {
    throw new Error(`a stack trace in the output:\n${run.stdout}${run.stderr}`);
  }
}
