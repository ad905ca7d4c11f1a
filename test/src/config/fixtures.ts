/**
 * Real temporary directories for the configuration suites: each test gets its own directory with real
 * `regstack.toml` / `regstack.secrets.env` files, removed afterwards.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigIssue } from '@regstack/server';
import { afterEach } from 'vitest';

/** A valid secret (≥ 32 characters) for suites that are not about the secret. */
export const SECRET = 'test-secret-abcdefghijklmnopqrstuvwxyz-0123456789';

const created: string[] = [];

afterEach(async () => {
  await Promise.all(created.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

export interface ProjectFiles {
  toml?: string;
  secrets?: string;
  /** Mode of the secrets file. @default 0o600 */
  secretsMode?: number;
}

/** A fresh directory holding the given files. */
export async function project(files: ProjectFiles = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'regstack-config-'));
  created.push(dir);
  if (files.toml !== undefined) await writeFile(join(dir, 'regstack.toml'), files.toml);
  if (files.secrets !== undefined) {
    const path = join(dir, 'regstack.secrets.env');
    await writeFile(path, files.secrets);
    await chmod(path, files.secretsMode ?? 0o600);
  }
  return dir;
}

/** Collects warnings instead of emitting process warnings. */
export function warningSink(): { warnings: ConfigIssue[]; onWarning: (warning: ConfigIssue) => void } {
  const warnings: ConfigIssue[] = [];
  return { warnings, onWarning: (warning) => warnings.push(warning) };
}

/** Runs `fn`, expecting it to throw; returns the thrown value. */
export async function thrown(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}
