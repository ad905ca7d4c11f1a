/**
 * Loading the configuration. Sources, highest first: explicit `overrides` (camelCase), `REGSTACK_*` environment
 * variables (sections nested with `__`), `regstack.secrets.env` (the same `REGSTACK_*` names in dotenv syntax),
 * `regstack.toml` (snake_case keys), schema defaults. Text values are coerced by the schema's type for that key
 * (integers, booleans, lists as JSON arrays or comma-separated); an empty value counts as unset (`[]` for lists).
 *
 * Unknown keys: a `REGSTACK_*` variable, TOML key or override that names no option is an error with a suggestion,
 * because a silently ignored typo is a misconfiguration nobody notices. The exception is the Python regstack's own
 * keys that this port does not support (`behind_proxy`, `*_collection`, …): a Python `regstack.toml` must
 * load, so those are ignored — with a warning when their value would have changed behaviour in Python. Reserved
 * variables that are not options: `REGSTACK_CONFIG` (TOML path, as in Python), `REGSTACK_SECRETS_FILE`, and
 * `REGSTACK_TEST_*` (the test harness's own settings).
 *
 * Every problem from every source is collected and thrown as one `ConfigError`; nothing is read lazily later.
 */
import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import { configSchema, type RegstackConfig, type RegstackConfigInput } from './config.schema.ts';
import { ConfigError, type ConfigIssue, formatConfigIssues } from './config-error.ts';
import {
  type ConfigNode,
  childByCamel,
  childBySnake,
  coerceText,
  configTree,
  ENV_PREFIX,
  isPythonDefault,
  pythonOnlyKey,
  type RecordNode,
  type SectionNode,
  snakeKeyOf,
  suggestNode,
} from './config-keys.ts';
import {
  CONFIG_FILE_ENV,
  type EnvSource,
  type FileLocation,
  RESERVED_ENV_NAMES,
  RESERVED_ENV_PREFIX,
  readSecretsFile,
  readTomlFile,
  resolveSourcePaths,
  SECRETS_FILE_ENV,
} from './config-sources.ts';

export interface LoadConfigOptions {
  /**
   * Directory the default files are looked up in, and relative paths resolved against.
   * @default process.cwd()
   */
  cwd?: string | undefined;
  /**
   * The TOML file. When given (here or as `REGSTACK_CONFIG`) it must exist; the default may be absent.
   * @default `REGSTACK_CONFIG`, else 'regstack.toml'
   */
  configFile?: string | undefined;
  /**
   * The dotenv secrets file. When given (here or as `REGSTACK_SECRETS_FILE`) it must exist; the default may be absent.
   * @default `REGSTACK_SECRETS_FILE`, else 'regstack.secrets.env'
   */
  secretsFile?: string | undefined;
  /**
   * Environment to read `REGSTACK_*` variables from (injectable for tests).
   * @default process.env
   */
  env?: EnvSource | undefined;
  /**
   * Explicit values, highest precedence; any subset of the options, camelCase.
   * @default {}
   */
  overrides?: RegstackConfigInput | undefined;
  /**
   * Receives warnings (ignored Python-only keys, a secrets file readable by others, secrets in the TOML file).
   * @default emits a Node process warning
   */
  onWarning?: ((warning: ConfigIssue) => void) | undefined;
}

type Style = 'toml' | 'env' | 'options';

interface Entry {
  readonly path: readonly string[];
  readonly value: unknown;
  readonly source: string;
}

/** Accumulates the merged values (one entry per leaf, highest source last wins) and every issue on the way. */
class Collector {
  readonly entries = new Map<string, Entry>();
  readonly issues: ConfigIssue[] = [];
  readonly warnings: ConfigIssue[] = [];
  readonly failed = new Set<string>();
  unreadableFile = false;

  set(path: readonly string[], value: unknown, source: string): void {
    const key = path.join('.');
    // A higher source replaces the whole subtree (or the scalar above it) that a lower one set.
    for (const existing of [...this.entries.keys()]) {
      if (existing.startsWith(`${key}.`) || key.startsWith(`${existing}.`)) this.entries.delete(existing);
    }
    this.entries.set(key, { path, value, source });
  }

  fail(path: readonly string[] | undefined, issue: ConfigIssue): void {
    this.issues.push(issue);
    if (path) this.failed.add(path.join('.'));
  }

  /** An unknown key: ignored with a warning when the Python regstack has it, otherwise an error with a suggestion. */
  unknown(snakePath: readonly string[], value: unknown, source: string, style: Style): void {
    // Python compatibility concerns files and variables a Python deployment already has, not typed options.
    const python = style === 'options' ? undefined : pythonOnlyKey(snakePath);
    const snakeKey = snakePath.join('.');
    if (python) {
      if (isPlainObject(value) && !('pythonDefault' in python)) {
        // A Python-only table: judge its keys one by one, so defaults stay silent.
        for (const [name, child] of Object.entries(value)) this.unknown([...snakePath, name], child, source, style);
        return;
      }
      if (!isPythonDefault(python, value)) {
        this.warnings.push({
          key: snakeKey,
          source,
          message: `is a Python regstack setting ignored here: ${python.reason}`,
        });
      }
      return;
    }
    const suggestion = suggestNode(snakeKey);
    const hint = suggestion ? `; did you mean ${renderKey(suggestion, style)}?` : '';
    const what = style === 'env' ? 'environment variable' : style === 'options' ? 'option' : 'setting';
    this.issues.push({ key: snakeKey, source, message: `unknown ${what}: no regstack option has this name${hint}` });
  }
}

function renderKey(node: ConfigNode, style: Style): string {
  if (style === 'env') return node.envName;
  if (style === 'options') return node.camelPath.join('.');
  return node.key;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function addToml(
  collector: Collector,
  table: Record<string, unknown>,
  section: SectionNode | RecordNode,
  file: FileLocation,
): void {
  for (const [name, value] of Object.entries(table)) {
    const node = childBySnake(section, name);
    if (!node) {
      collector.unknown([...section.snakePath, name], value, file.display, 'toml');
      continue;
    }
    if (node.type === 'section' || node.type === 'record') {
      if (isPlainObject(value)) {
        addToml(collector, value, node, file);
      } else {
        collector.fail(node.camelPath, {
          key: node.key,
          source: file.display,
          message: `must be a table ([${node.key}])`,
        });
      }
      continue;
    }
    if (node.secret && node.key !== 'database_url') {
      collector.warnings.push({
        key: node.key,
        source: file.display,
        message: `is a secret: keep it in regstack.secrets.env (mode 0600) or the environment as ${node.envName}, not in a config file that may be committed`,
      });
    }
    // The Python loader passes TOML values through environment strings, so "3600" works there: coerce text too.
    if (typeof value === 'string' && node.kind !== 'string') {
      const coerced = coerceText(node, value);
      if (coerced === undefined) continue;
      if (!coerced.ok) {
        collector.fail(node.camelPath, { key: node.key, source: file.display, message: coerced.message });
        continue;
      }
      collector.set(node.camelPath, coerced.value, file.display);
      continue;
    }
    collector.set(node.camelPath, value, file.display);
  }
}

function isReservedName(name: string): boolean {
  return (
    name === CONFIG_FILE_ENV ||
    name === SECRETS_FILE_ENV ||
    RESERVED_ENV_NAMES.has(name) ||
    name.startsWith(RESERVED_ENV_PREFIX)
  );
}

function firstLeaf(section: SectionNode | RecordNode): ConfigNode | undefined {
  const entries = section.type === 'record' ? section.entry('<name>') : section;
  const first = [...entries.bySnake.values()][0];
  return first?.type === 'leaf' || first === undefined ? first : firstLeaf(first);
}

/** Adds `REGSTACK_*` text values from the environment or the secrets file. */
function addVariables(
  collector: Collector,
  variables: Iterable<readonly [string, string | undefined]>,
  sourceOf: (name: string) => string,
  fromFile: FileLocation | undefined,
): void {
  const sorted = [...variables].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, text] of sorted) {
    if (text === undefined) continue;
    if (!name.startsWith(ENV_PREFIX)) {
      if (fromFile) {
        collector.warnings.push({
          key: name,
          source: fromFile.display,
          message: 'ignored: only REGSTACK_* names are read from the secrets file',
        });
      }
      continue;
    }
    if (isReservedName(name)) continue;
    const source = sourceOf(name);
    const snakePath = name
      .slice(ENV_PREFIX.length)
      .split('__')
      .map((segment) => segment.toLowerCase());
    let node: ConfigNode | undefined = configTree;
    for (const segment of snakePath) node = childBySnake(node, segment);
    if (!node || node === configTree) {
      collector.unknown(snakePath, text, source, 'env');
      continue;
    }
    if (node.type !== 'leaf') {
      const example = firstLeaf(node);
      collector.fail(node.camelPath, {
        key: node.key,
        source,
        message: `is a section: set its keys one by one${example ? `, e.g. ${example.envName}` : ''}`,
      });
      continue;
    }
    const coerced = coerceText(node, text);
    if (coerced === undefined) continue;
    if (!coerced.ok) {
      collector.fail(node.camelPath, { key: node.key, source, message: coerced.message });
      continue;
    }
    collector.set(node.camelPath, coerced.value, source);
  }
}

/** Adds explicit camelCase values (the `overrides` option, or `parseConfig`'s argument). */
function addExplicit(
  collector: Collector,
  values: Record<string, unknown>,
  section: SectionNode | RecordNode,
  label: string,
  prefix: readonly string[] = [],
): void {
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) continue;
    const path = [...prefix, name];
    const source = `${label}.${path.join('.')}`;
    const node = childByCamel(section, name);
    if (!node) {
      collector.unknown([...section.snakePath, name], value, source, 'options');
      continue;
    }
    if (node.type !== 'leaf' && isPlainObject(value)) addExplicit(collector, value, node, label, path);
    else collector.set(path, value, source);
  }
}

function assemble(entries: ReadonlyMap<string, Entry>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const { path, value } of entries.values()) {
    let target = root;
    for (const [index, segment] of path.entries()) {
      if (index === path.length - 1) {
        // defineProperty, not assignment: a key named "__proto__" must stay a plain (and then rejected) key.
        Object.defineProperty(target, segment, { value, enumerable: true, writable: true, configurable: true });
      } else {
        const existing = target[segment];
        const next: Record<string, unknown> = isPlainObject(existing) ? existing : {};
        if (existing !== next) {
          Object.defineProperty(target, segment, { value: next, enumerable: true, writable: true, configurable: true });
        }
        target = next;
      }
    }
  }
  return root;
}

const TYPE_WORDS: Readonly<Record<string, string>> = {
  int: 'an integer',
  number: 'an integer', // every numeric option is an integer (z.int() reports its expected type as "number")
  string: 'a string',
  boolean: 'true or false',
  array: 'a list',
  object: 'a table (section)',
};

function describeValueType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Date) return 'a date';
  if (typeof value === 'number' && !Number.isInteger(value)) return 'a fraction';
  if (typeof value === 'object') return 'a table (section)';
  return `a ${typeof value}`;
}

/** Plain-language messages for zod's built-in issues; never quotes the input (it may be a secret). */
function describeIssue(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return `expected ${TYPE_WORDS[issue.expected] ?? issue.expected}, got ${describeValueType(issue.input)}`;
    case 'too_small': {
      const bound = String(issue.minimum);
      if (issue.origin === 'string') {
        return issue.minimum === 1 ? 'must not be empty' : `must be at least ${bound} characters long`;
      }
      if (issue.origin === 'array') return `must have at least ${bound} entries`;
      return issue.inclusive === false ? `must be greater than ${bound}` : `must be at least ${bound}`;
    }
    case 'too_big': {
      const bound = String(issue.maximum);
      if (issue.origin === 'string') return `must be at most ${bound} characters long`;
      if (issue.origin === 'array') return `must have at most ${bound} entries`;
      return issue.inclusive === false ? `must be less than ${bound}` : `must be at most ${bound}`;
    }
    case 'invalid_value':
      return `must be one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    case 'invalid_format':
      return `must be a valid ${issue.format}`;
    case 'unrecognized_keys':
      return 'unknown setting';
    default:
      return undefined;
  }
}

function sourceFor(entries: ReadonlyMap<string, Entry>, path: readonly PropertyKey[]): string | undefined {
  const names = path.filter((segment): segment is string => typeof segment === 'string');
  for (let length = names.length; length > 0; length -= 1) {
    const entry = entries.get(names.slice(0, length).join('.'));
    if (entry) return entry.source;
  }
  return undefined;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function validate(collector: Collector): RegstackConfig {
  const result = configSchema.safeParse(assemble(collector.entries), { error: describeIssue });
  const schemaIssues: ConfigIssue[] = [];
  if (!result.success) {
    for (const issue of result.error.issues) {
      const camelKey = issue.path.filter((segment) => typeof segment === 'string').join('.');
      // A value whose text could not be coerced was already reported (and left out); don't report it twice.
      if ([...collector.failed].some((failed) => camelKey === failed || camelKey.startsWith(`${failed}.`))) continue;
      // A file that could not be parsed may hold the missing value: "is required" would then mislead.
      const missing = issue.code === 'invalid_type' && sourceFor(collector.entries, issue.path) === undefined;
      if (missing && collector.unreadableFile) continue;
      if (issue.code === 'unrecognized_keys') {
        for (const name of issue.keys) {
          const path = [...issue.path, name];
          schemaIssues.push({
            key: snakeKeyOf(path),
            message: issue.message,
            source: sourceFor(collector.entries, path),
          });
        }
        continue;
      }
      schemaIssues.push({
        key: snakeKeyOf(issue.path),
        message: issue.message,
        source: sourceFor(collector.entries, issue.path),
      });
    }
  }
  const issues = [...collector.issues, ...schemaIssues];
  if (issues.length > 0 || !result.success) throw new ConfigError(issues);
  return deepFreeze(result.data);
}

function defaultWarning(warning: ConfigIssue): void {
  process.emitWarning(`regstack configuration:\n${formatConfigIssues([warning])}`, {
    type: 'RegstackConfigWarning',
    code: 'REGSTACK_CONFIG_WARNING',
  });
}

/**
 * Validates an explicit configuration object (camelCase) and applies the defaults; no files, no environment.
 * Throws `ConfigError` listing every problem.
 */
export function parseConfig(input: RegstackConfigInput): RegstackConfig {
  if (!isPlainObject(input)) {
    throw new ConfigError([{ key: '(input)', message: `expected a plain object, got ${describeValueType(input)}` }]);
  }
  const collector = new Collector();
  addExplicit(collector, input, configTree, 'input');
  return validate(collector);
}

/**
 * Loads the configuration from `overrides`, `REGSTACK_*` variables, `regstack.secrets.env`, `regstack.toml` and the
 * defaults (highest first). Throws `ConfigError` listing every problem from every source; warnings go to `onWarning`.
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<RegstackConfig> {
  return (await loadConfigWithSources(options)).config;
}

/** A key some caller needs set explicitly (by any source), and what to say when it is not. */
export interface RequiredKey {
  /** camelCase path, dotted for sections: `baseUrl`, `email.smtpHost`. */
  readonly path: string;
  readonly message: string;
}

/**
 * `loadConfig`, also saying where each value that was set came from (camelCase dotted path → source, e.g.
 * `baseUrl` → `REGSTACK_BASE_URL`; keys left at their default are absent). `required` names keys that must be set
 * by some source here even though the schema has a default (the CLI's production start needs `base_url`); a missing
 * one is reported with the other problems, in the same `ConfigError`.
 */
export async function loadConfigWithSources(
  options: LoadConfigOptions & { required?: readonly RequiredKey[] } = {},
): Promise<{ config: RegstackConfig; sources: ReadonlyMap<string, string> }> {
  const { config, sources } = await loadCollected(options, false);
  return { config, sources };
}

/** A configuration for a command that signs and verifies nothing: `jwt_secret` may be absent (never invented). */
export type ConfigWithoutSecret = Omit<RegstackConfig, 'jwtSecret'> & { jwtSecret?: RegstackConfig['jwtSecret'] };

/**
 * `loadConfigWithSources` for the commands that never sign or verify a token (`regstack migrate`, `purge`,
 * `doctor`, which reports a missing secret as a failed check of its own): a missing `jwt_secret` is not an error,
 * and the result then has none. A secret that is set but invalid (too short) is still reported: the file is wrong
 * whoever reads it. `serve` and `createRegstack` keep requiring it.
 */
export async function loadConfigWithoutSecret(
  options: LoadConfigOptions = {},
): Promise<{ config: ConfigWithoutSecret; sources: ReadonlyMap<string, string> }> {
  const { config, sources, secretMissing } = await loadCollected(options, true);
  if (!secretMissing) return { config, sources };
  const { jwtSecret: _placeholder, ...rest } = config;
  return { config: rest, sources };
}

async function loadCollected(
  options: LoadConfigOptions & { required?: readonly RequiredKey[] },
  secretOptional: boolean,
): Promise<{ config: RegstackConfig; sources: ReadonlyMap<string, string>; secretMissing: boolean }> {
  const env = options.env ?? process.env;
  const paths = resolveSourcePaths({ ...options, env });
  const [toml, secrets] = await Promise.all([readTomlFile(paths.toml), readSecretsFile(paths.secrets)]);
  const collector = new Collector();
  collector.issues.push(...toml.issues, ...secrets.issues);
  collector.unreadableFile = toml.issues.length + secrets.issues.length > 0;
  collector.warnings.push(...toml.warnings, ...secrets.warnings);

  if (toml.data) addToml(collector, toml.data, configTree, paths.toml);
  if (secrets.data) {
    addVariables(collector, secrets.data, (name) => `${paths.secrets.display}: ${name}`, paths.secrets);
  }
  addVariables(collector, Object.entries(env), (name) => name, undefined);
  if (options.overrides !== undefined) {
    if (isPlainObject(options.overrides)) addExplicit(collector, options.overrides, configTree, 'overrides');
    else collector.fail(undefined, { key: '(overrides)', message: 'expected a plain object' });
  }

  for (const required of options.required ?? []) {
    if (!collector.entries.has(required.path)) {
      collector.issues.push({ key: snakeKeyOf(required.path.split('.')), message: required.message });
    }
  }

  const onWarning = options.onWarning ?? defaultWarning;
  for (const warning of collector.warnings) onWarning(warning);
  const sources = new Map([...collector.entries].map(([key, entry]) => [key, entry.source]));
  const secretMissing = secretOptional && !collector.entries.has('jwtSecret') && !collector.failed.has('jwtSecret');
  // A throwaway value only lets the rest validate; the caller drops it before anyone sees the configuration.
  if (secretMissing) collector.set(['jwtSecret'], randomBytes(32).toString('base64url'), '(not needed)');
  const config = validate(collector);
  return { config, sources, secretMissing };
}
