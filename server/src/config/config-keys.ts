/**
 * The key map derived from `configSchema`: every option's camelCase path, its snake_case spelling in
 * `regstack.toml`, its `REGSTACK_*` variable, and the kind of value text must be coerced to. Derived once from the
 * schema (no second list to keep in sync), plus the table of Python regstack keys this port knowingly ignores and the
 * typo suggestions used in "unknown key" messages.
 */
import type { z } from 'zod';
import { configSchema, SECRET_CONFIG_KEYS } from './config.schema.ts';

/** How a text value (environment, secrets file, a string in TOML) becomes the option's value. */
export type LeafKind = 'string' | 'number' | 'boolean' | 'list';

interface NodeBase {
  readonly camelPath: readonly string[];
  readonly snakePath: readonly string[];
  /** Dotted snake path: `email.smtp_port`. */
  readonly key: string;
  /** `REGSTACK_EMAIL__SMTP_PORT`. */
  readonly envName: string;
}

export interface LeafNode extends NodeBase {
  readonly type: 'leaf';
  readonly kind: LeafKind;
  readonly secret: boolean;
}

export interface SectionNode extends NodeBase {
  readonly type: 'section';
  readonly bySnake: ReadonlyMap<string, ConfigNode>;
  readonly byCamel: ReadonlyMap<string, ConfigNode>;
}

/**
 * A table of same-shaped sections keyed by a name the user picks (`[oauth.providers.<name>]`,
 * `REGSTACK_OAUTH__PROVIDERS__<NAME>__ISSUER`). `entry(name)` is that name's section.
 */
export interface RecordNode extends NodeBase {
  readonly type: 'record';
  entry(name: string): SectionNode;
}

export type ConfigNode = LeafNode | SectionNode | RecordNode;

/** The child of a section (by snake name) or of a record (any name: its entry). */
export function childBySnake(node: ConfigNode | undefined, name: string): ConfigNode | undefined {
  if (node?.type === 'section') return node.bySnake.get(name);
  if (node?.type === 'record') return node.entry(name);
  return undefined;
}

/** The child of a section (by camelCase name) or of a record (any name: its entry). */
export function childByCamel(node: ConfigNode | undefined, name: string): ConfigNode | undefined {
  if (node?.type === 'section') return node.byCamel.get(name);
  if (node?.type === 'record') return node.entry(name);
  return undefined;
}

export const ENV_PREFIX = 'REGSTACK_';

// Names the mechanical camel → snake rule would get wrong (the Python name splits the digit off).
const SNAKE_EXCEPTIONS: Readonly<Record<string, string>> = { enableSms2fa: 'enable_sms_2fa' };

export function camelToSnake(name: string): string {
  return SNAKE_EXCEPTIONS[name] ?? name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

export function envNameOf(snakePath: readonly string[]): string {
  return ENV_PREFIX + snakePath.map((segment) => segment.toUpperCase()).join('__');
}

interface DefLike {
  readonly type: string;
  readonly innerType?: z.ZodType;
  readonly in?: z.ZodType;
  readonly shape?: Readonly<Record<string, z.ZodType>>;
  readonly valueType?: z.ZodType;
}

const WRAPPERS = new Set(['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch', 'nonoptional']);

function classify(schema: z.ZodType): LeafKind | 'section' | 'record' {
  let current: z.ZodType | undefined = schema;
  while (current) {
    const def = current._zod.def as DefLike;
    if (WRAPPERS.has(def.type)) current = def.innerType;
    else if (def.type === 'pipe') current = def.in;
    else if (def.type === 'object') return 'section';
    else if (def.type === 'record') return 'record';
    else if (def.type === 'array') return 'list';
    else if (def.type === 'number') return 'number';
    else if (def.type === 'boolean') return 'boolean';
    else if (def.type === 'string' || def.type === 'enum' || def.type === 'literal') return 'string';
    else throw new Error(`config-keys: unsupported schema type "${def.type}"`);
  }
  throw new Error('config-keys: wrapper without an inner type');
}

function shapeOf(schema: z.ZodType): Readonly<Record<string, z.ZodType>> {
  let current: z.ZodType | undefined = schema;
  while (current) {
    const def = current._zod.def as DefLike;
    if (def.type === 'object' && def.shape) return def.shape;
    current = WRAPPERS.has(def.type) ? def.innerType : def.type === 'pipe' ? def.in : undefined;
  }
  throw new Error('config-keys: not an object schema');
}

function valueTypeOf(schema: z.ZodType): z.ZodType {
  let current: z.ZodType | undefined = schema;
  while (current) {
    const def = current._zod.def as DefLike;
    if (def.type === 'record' && def.valueType) return def.valueType;
    current = WRAPPERS.has(def.type) ? def.innerType : def.type === 'pipe' ? def.in : undefined;
  }
  throw new Error('config-keys: not a record schema');
}

function buildRecord(
  schema: z.ZodType,
  camelPath: readonly string[],
  snakePath: readonly string[],
  pattern: readonly string[],
): RecordNode {
  const valueType = valueTypeOf(schema);
  const entries = new Map<string, SectionNode>();
  return {
    type: 'record',
    camelPath,
    snakePath,
    key: snakePath.join('.'),
    envName: envNameOf(snakePath),
    entry(name) {
      let section = entries.get(name);
      if (!section) {
        // The name is the user's own word: the same in every spelling, never snake-cased.
        section = buildSection(valueType, [...camelPath, name], [...snakePath, name], [...pattern, '*']);
        entries.set(name, section);
      }
      return section;
    },
  };
}

/** `pattern` is the snake path with `*` for each record name: what SECRET_CONFIG_KEYS lists. */
function buildSection(
  schema: z.ZodType,
  camelPath: readonly string[],
  snakePath: readonly string[],
  pattern: readonly string[] = snakePath,
): SectionNode {
  const bySnake = new Map<string, ConfigNode>();
  const byCamel = new Map<string, ConfigNode>();
  for (const [camel, child] of Object.entries(shapeOf(schema))) {
    const snake = camelToSnake(camel);
    const childCamel = [...camelPath, camel];
    const childSnake = [...snakePath, snake];
    const childPattern = [...pattern, snake];
    const kind = classify(child);
    const node: ConfigNode =
      kind === 'section'
        ? buildSection(child, childCamel, childSnake, childPattern)
        : kind === 'record'
          ? buildRecord(child, childCamel, childSnake, childPattern)
          : {
              type: 'leaf',
              kind,
              camelPath: childCamel,
              snakePath: childSnake,
              key: childSnake.join('.'),
              envName: envNameOf(childSnake),
              secret: SECRET_CONFIG_KEYS.has(childPattern.join('.')),
            };
    bySnake.set(snake, node);
    byCamel.set(camel, node);
  }
  return {
    type: 'section',
    camelPath,
    snakePath,
    key: snakePath.join('.'),
    envName: envNameOf(snakePath),
    bySnake,
    byCamel,
  };
}

/** The whole key tree, rooted at the top-level options. */
export const configTree: SectionNode = buildSection(configSchema, [], []);

function allNodes(section: SectionNode): ConfigNode[] {
  return [...section.bySnake.values()].flatMap((node) =>
    node.type === 'section' ? [node, ...allNodes(node)] : [node],
  );
}

const NODES_BY_KEY: ReadonlyMap<string, ConfigNode> = new Map(allNodes(configTree).map((node) => [node.key, node]));

/** The node at a dotted snake path, if the schema has one. */
export function nodeAtKey(key: string): ConfigNode | undefined {
  return NODES_BY_KEY.get(key);
}

/** Dotted snake path for a path of camelCase keys (unknown segments are snake-cased as written, indices `[i]`). */
export function snakeKeyOf(path: readonly PropertyKey[]): string {
  let node: ConfigNode | undefined = configTree;
  let key = '';
  for (const segment of path) {
    if (typeof segment === 'number') {
      key += `[${segment}]`;
      node = undefined;
      continue;
    }
    const name = String(segment);
    const child: ConfigNode | undefined = childByCamel(node, name);
    const snake = child ? (child.snakePath.at(-1) ?? name) : camelToSnake(name);
    key += key === '' ? snake : `.${snake}`;
    node = child;
  }
  return key;
}

// ── Keys of the Python regstack 0.9.3 that this port does not support ──────────────────────────────────────────
// A Python `regstack.toml` must load: these keys are accepted and ignored, with a warning only when the value
// differs from the Python default (a setting that would have changed behaviour there). Anything else unknown is an
// error, because a silently ignored typo (`jwt_ttl_second`) is a misconfiguration nobody notices.

interface PythonOnlyKey {
  readonly reason: string;
  /** The Python default; a value equal to it changes nothing and is ignored silently. Absent: always warn. */
  readonly pythonDefault?: unknown;
}

const OAUTH_MFA =
  'a user with a second factor always ends an OpenID Connect sign-in in the second-factor step, like a password login';
const FIXED_NAMES = 'table and collection names are fixed (they follow the Python names, SPEC §6)';

const PYTHON_ONLY_KEYS: ReadonlyMap<string, PythonOnlyKey> = new Map<string, PythonOnlyKey>([
  [
    'behind_proxy',
    {
      pythonDefault: false,
      reason:
        'X-Forwarded-For is believed only from the addresses listed in trusted_proxies (R20); list your proxies there',
    },
  ],
  ['rate_limit_disabled', { pythonDefault: false, reason: 'the login lockout cannot be turned off (R14)' }],
  [
    'transport',
    {
      pythonDefault: 'bearer',
      reason: 'the API always takes "Authorization: Bearer"; the pages keep their own HttpOnly cookie',
    },
  ],
  // Always on here: `true` is ignored because it is what happens anyway, and the Python default (`false`, skipping
  // the second factor after a provider sign-in) loads silently but is not honoured.
  ['oauth.enforce_mfa_on_oauth_signin', { pythonDefault: false, reason: OAUTH_MFA }],
  ['sms_code_length', { pythonDefault: 6, reason: 'SMS codes are always 6 digits (R48, R55)' }],
  ['user_collection', { pythonDefault: 'users', reason: FIXED_NAMES }],
  ['pending_collection', { pythonDefault: 'pending_registrations', reason: FIXED_NAMES }],
  ['blacklist_collection', { pythonDefault: 'token_blacklist', reason: FIXED_NAMES }],
  ['login_attempt_collection', { pythonDefault: 'login_attempts', reason: FIXED_NAMES }],
  ['mfa_code_collection', { pythonDefault: 'mfa_codes', reason: FIXED_NAMES }],
  ['oauth_identity_collection', { pythonDefault: 'oauth_identities', reason: FIXED_NAMES }],
  ['oauth_state_collection', { pythonDefault: 'oauth_states', reason: FIXED_NAMES }],
  [
    'extra_template_dirs',
    {
      pythonDefault: [],
      reason: 'Jinja templates do not apply here; use email.templates_dir for mail and theme_css_url for the pages',
    },
  ],
  ['extra_static_dirs', { pythonDefault: [], reason: 'serve extra static files from the host app' }],
]);

/** The Python-only entry covering a snake path (the key itself or a Python-only section above it). */
export function pythonOnlyKey(snakePath: readonly string[]): PythonOnlyKey | undefined {
  const exact = PYTHON_ONLY_KEYS.get(snakePath.join('.'));
  if (exact) return exact;
  for (let length = snakePath.length - 1; length > 0; length -= 1) {
    const section = PYTHON_ONLY_KEYS.get(snakePath.slice(0, length).join('.'));
    if (section) return { reason: section.reason };
  }
  return undefined;
}

/** True when a Python-only key's value (TOML value or text) is the Python default, i.e. ignoring it loses nothing. */
export function isPythonDefault(entry: PythonOnlyKey, value: unknown): boolean {
  if (!('pythonDefault' in entry)) return false;
  const expected = entry.pythonDefault;
  if (typeof value === 'string' && typeof expected !== 'string') {
    if (typeof expected === 'boolean') return parseBoolean(value) === expected;
    if (typeof expected === 'number') return value.trim() !== '' && Number(value) === expected;
    if (Array.isArray(expected) && expected.length === 0) return ['', '[]'].includes(value.trim());
    return false;
  }
  if (Array.isArray(expected)) return Array.isArray(value) && JSON.stringify(value) === JSON.stringify(expected);
  return value === expected;
}

// ── Text coercion ──────────────────────────────────────────────────────────────────────────────────────────────

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

function parseBoolean(text: string): boolean | undefined {
  const word = text.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return undefined;
}

/** Quotes a user value for a message, unless it belongs to a secret key. */
export function showValue(leaf: LeafNode, text: string): string {
  if (leaf.secret) return '(value hidden)';
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

export type Coerced = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly message: string };

/**
 * Turns text into the leaf's type: integers, booleans (`true/false/1/0/yes/no/on/off`), lists (a JSON array or
 * comma-separated values). Empty text means "not set" (`undefined`), except for lists where it means `[]`.
 */
export function coerceText(leaf: LeafNode, text: string): Coerced | undefined {
  const trimmed = text.trim();
  switch (leaf.kind) {
    case 'string':
      return text === '' ? undefined : { ok: true, value: text };
    case 'number':
      if (trimmed === '') return undefined;
      if (!/^[+-]?\d+$/.test(trimmed)) {
        return { ok: false, message: `expected an integer, got ${showValue(leaf, text)}` };
      }
      return { ok: true, value: Number(trimmed) };
    case 'boolean': {
      if (trimmed === '') return undefined;
      const value = parseBoolean(trimmed);
      return value === undefined
        ? { ok: false, message: `expected true or false, got ${showValue(leaf, text)}` }
        : { ok: true, value };
    }
    case 'list': {
      if (trimmed === '') return { ok: true, value: [] };
      if (trimmed.startsWith('[')) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(trimmed);
        } catch {
          parsed = undefined;
        }
        if (Array.isArray(parsed) && parsed.every((item) => typeof item === 'string'))
          return { ok: true, value: parsed };
        return { ok: false, message: 'expected a JSON array of strings (["a", "b"]) or comma-separated values (a,b)' };
      }
      return {
        ok: true,
        value: trimmed
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item !== ''),
      };
    }
  }
}

// ── Suggestions for unknown keys ───────────────────────────────────────────────────────────────────────────────

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The known option a mistyped dotted snake path most likely meant (camelCase, `_` for `.`, small typos). */
export function suggestNode(snakeKey: string): ConfigNode | undefined {
  const snaked = snakeKey
    .split('.')
    .map((segment) => camelToSnake(segment).toLowerCase())
    .join('.');
  const direct = NODES_BY_KEY.get(snaked);
  if (direct) return direct;
  // `email_smtp_host` for `email.smtp_host` (a single `_` where a section separator belongs).
  for (let index = snaked.indexOf('_'); index !== -1; index = snaked.indexOf('_', index + 1)) {
    const candidate = NODES_BY_KEY.get(`${snaked.slice(0, index)}.${snaked.slice(index + 1)}`);
    if (candidate) return candidate;
  }
  let best: ConfigNode | undefined;
  let bestDistance = Math.max(2, Math.floor(snaked.length / 5)) + 1;
  for (const [key, node] of NODES_BY_KEY) {
    const distance = editDistance(snaked, key);
    if (distance < bestDistance) {
      best = node;
      bestDistance = distance;
    }
  }
  return best;
}
