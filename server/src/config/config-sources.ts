/**
 * Finding and reading the two configuration files: `regstack.toml` (smol-toml) and `regstack.secrets.env` (dotenv
 * syntax, parsed by Node's own `util.parseEnv`). A file the caller named explicitly (option or `REGSTACK_CONFIG` /
 * `REGSTACK_SECRETS_FILE`) must exist; the default files are optional. Parse errors are reported with line and
 * column only — the parser's code excerpt is dropped because the lines around an error may hold a secret.
 */
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { parse as parseToml, TomlError } from 'smol-toml';
import type { ConfigIssue } from './config-error.ts';

export const DEFAULT_CONFIG_FILE = 'regstack.toml';
export const DEFAULT_SECRETS_FILE = 'regstack.secrets.env';

/** `REGSTACK_*` variables that are not options: file locations, and the test harness's own settings. */
export const CONFIG_FILE_ENV = 'REGSTACK_CONFIG';
export const SECRETS_FILE_ENV = 'REGSTACK_SECRETS_FILE';
export const RESERVED_ENV_PREFIX = 'REGSTACK_TEST_';
/** CI's switch that turns a skipped test backend into a failure (see docs/testing.md). */
export const RESERVED_ENV_NAMES: ReadonlySet<string> = new Set(['REGSTACK_REQUIRE_BACKENDS']);

export type EnvSource = Readonly<Record<string, string | undefined>>;

export interface FileLocation {
  readonly path: string;
  /** How messages name the file: relative to `cwd` when inside it. */
  readonly display: string;
  /** Named by the caller (must exist) rather than the default (optional). */
  readonly explicit: boolean;
}

export interface SourcePaths {
  readonly cwd: string;
  readonly toml: FileLocation;
  readonly secrets: FileLocation;
}

export interface PathOptions {
  readonly cwd?: string | undefined;
  readonly configFile?: string | undefined;
  readonly secretsFile?: string | undefined;
  readonly env?: EnvSource | undefined;
}

function locate(cwd: string, named: string | undefined, fallback: string): FileLocation {
  const chosen = named !== undefined && named !== '' ? named : undefined;
  const path = resolve(cwd, chosen ?? fallback);
  const fromCwd = relative(cwd, path);
  const display = fromCwd !== '' && !fromCwd.startsWith('..') && !isAbsolute(fromCwd) ? fromCwd : path;
  return { path, display, explicit: chosen !== undefined };
}

export function resolveSourcePaths(options: PathOptions): SourcePaths {
  const env = options.env ?? process.env;
  const cwd = resolve(options.cwd ?? process.cwd());
  return {
    cwd,
    toml: locate(cwd, options.configFile ?? env[CONFIG_FILE_ENV], DEFAULT_CONFIG_FILE),
    secrets: locate(cwd, options.secretsFile ?? env[SECRETS_FILE_ENV], DEFAULT_SECRETS_FILE),
  };
}

export interface FileRead<T> {
  readonly data?: T | undefined;
  readonly issues: ConfigIssue[];
  readonly warnings: ConfigIssue[];
}

async function readText(file: FileLocation): Promise<{ text?: string; issue?: ConfigIssue }> {
  try {
    return { text: await readFile(file.path, 'utf8') };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !file.explicit) return {};
    const reason =
      code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code})`;
    return { issue: { key: file.display, message: reason } };
  }
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** Reads and parses `regstack.toml`; `data` is undefined when the (default) file is absent or invalid. */
export async function readTomlFile(file: FileLocation): Promise<FileRead<Record<string, unknown>>> {
  const { text, issue } = await readText(file);
  if (issue) return { issues: [issue], warnings: [] };
  if (text === undefined) return { issues: [], warnings: [] };
  try {
    const data: unknown = parseToml(text);
    return isTable(data) ? { data, issues: [], warnings: [] } : { issues: [], warnings: [] };
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    const reason = (error.message.split('\n')[0] ?? '').replace(/^Invalid TOML document:\s*/, '');
    return {
      issues: [{ key: file.display, message: `invalid TOML at line ${error.line}, column ${error.column}: ${reason}` }],
      warnings: [],
    };
  }
}

/**
 * Reads `regstack.secrets.env`. Warns (does not fail) when the file is readable by group or others: it holds the
 * JWT secret, so it should be 0600 like `regstack init` and the dev server write it.
 */
export async function readSecretsFile(file: FileLocation): Promise<FileRead<ReadonlyMap<string, string>>> {
  const { text, issue } = await readText(file);
  if (issue) return { issues: [issue], warnings: [] };
  if (text === undefined) return { issues: [], warnings: [] };
  const warnings: ConfigIssue[] = [];
  if (process.platform !== 'win32') {
    const { mode } = await stat(file.path);
    if ((mode & 0o077) !== 0) {
      warnings.push({
        key: file.display,
        message: `is readable by other users (mode ${(mode & 0o777).toString(8)}); run: chmod 600 ${file.display}`,
      });
    }
  }
  const data = new Map<string, string>();
  for (const [name, value] of Object.entries(parseEnv(text))) {
    if (typeof value === 'string') data.set(name, value);
  }
  return { data, issues: [], warnings };
}
