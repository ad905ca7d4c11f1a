/**
 * The reference pages generated from the one place each thing is declared, so they cannot drift:
 * docs/configuration.md from the JSDoc (`@default` and text) on each key of `server/src/config/config.schema.ts`,
 * docs/errors.md from `REGSTACK_ERROR_CODES` (@regstack/shared) and `TRPC_CODE_OF` (@regstack/server).
 * `docs-check.test.ts` fails when a committed page differs from what this renders. Regenerate with
 * `pnpm --filter @regstack/test docs:reference`.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TRPC_CODE_OF } from '@regstack/server';
import { CLIENT_ERROR_CODES, type ClientErrorCode, REGSTACK_ERROR_CODES, type ServerErrorCode } from '@regstack/shared';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import ts from 'typescript';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const SCHEMA_FILE = join(REPO_ROOT, 'server', 'src', 'config', 'config.schema.ts');
export const CONFIG_PAGE = join(REPO_ROOT, 'docs', 'configuration.md');
export const ERRORS_PAGE = join(REPO_ROOT, 'docs', 'errors.md');

export interface ConfigOption {
  /** camelCase path: ['email', 'smtpHost']. */
  readonly camelPath: readonly string[];
  /** Dotted snake_case key as written in regstack.toml: `email.smtp_host`. */
  readonly key: string;
  readonly envName: string;
  readonly defaultText: string | undefined;
  readonly description: string;
  readonly group: string;
}

// The one name the mechanical camel → snake rule gets wrong (mirrors config-keys.ts; the env check in
// docs-check.test.ts proves every derived name is one loadConfig accepts).
const SNAKE_EXCEPTIONS: Readonly<Record<string, string>> = { enableSms2fa: 'enable_sms_2fa' };
const snake = (name: string) => SNAKE_EXCEPTIONS[name] ?? name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function strictObjectLiteral(node: ts.Node): ts.ObjectLiteralExpression | undefined {
  let found: ts.ObjectLiteralExpression | undefined;
  const visit = (n: ts.Node): void => {
    if (found) return;
    if (
      ts.isCallExpression(n) &&
      ts.isPropertyAccessExpression(n.expression) &&
      n.expression.name.text === 'strictObject' &&
      n.arguments[0] &&
      ts.isObjectLiteralExpression(n.arguments[0])
    ) {
      found = n.arguments[0];
      return;
    }
    ts.forEachChild(n, visit);
  };
  visit(node);
  return found;
}

/** The object schema named as the values of a `z.record(key, values)` inside `node`, if any. */
function recordValueName(node: ts.Node, objects: ReadonlyMap<string, unknown>): string | undefined {
  let found: string | undefined;
  const visit = (n: ts.Node): void => {
    if (found) return;
    if (
      ts.isCallExpression(n) &&
      ts.isPropertyAccessExpression(n.expression) &&
      n.expression.name.text === 'record' &&
      n.arguments[1] &&
      ts.isIdentifier(n.arguments[1]) &&
      objects.has(n.arguments[1].text)
    ) {
      found = n.arguments[1].text;
      return;
    }
    ts.forEachChild(n, visit);
  };
  visit(node);
  return found;
}

/** Every option declared in the schema, in declaration order, with its JSDoc. */
export function readConfigOptions(source = readFileSync(SCHEMA_FILE, 'utf8')): ConfigOption[] {
  const file = ts.createSourceFile(SCHEMA_FILE, source, ts.ScriptTarget.Latest, true);
  const objects = new Map<string, ts.ObjectLiteralExpression>();
  for (const statement of file.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const decl of statement.declarationList.declarations) {
      const literal = ts.isIdentifier(decl.name) && decl.initializer && strictObjectLiteral(decl.initializer);
      if (literal && ts.isIdentifier(decl.name)) objects.set(decl.name.text, literal);
    }
  }
  const root = objects.get('configSchema');
  if (!root) throw new Error('config-reference: configSchema = z.strictObject({...}) not found');

  const options: ConfigOption[] = [];
  const walk = (literal: ts.ObjectLiteralExpression, camelPrefix: string[], defaultGroup: string) => {
    let group = defaultGroup;
    for (const prop of literal.properties) {
      if (!ts.isPropertyAssignment(prop) || !ts.isIdentifier(prop.name)) continue;
      for (const range of ts.getLeadingCommentRanges(source, prop.getFullStart()) ?? []) {
        const text = source.slice(range.pos, range.end);
        const heading = /^\/\/ ── (.+?)\s*─*$/.exec(text);
        if (heading?.[1]) group = heading[1].replace(/\s*─+$/, '');
      }
      const name = prop.name.text;
      const nested = ts.isCallExpression(prop.initializer) ? prop.initializer : undefined;
      const sectionName =
        nested &&
        ts.isPropertyAccessExpression(nested.expression) &&
        ts.isIdentifier(nested.expression.expression) &&
        objects.has(nested.expression.expression.text)
          ? nested.expression.expression.text
          : undefined;
      if (sectionName) {
        walk(objects.get(sectionName)!, [...camelPrefix, name], `[${snake(name)}]`);
        continue;
      }
      // A table of named sections (`providers: z.record(name, oauthProviderSchema)`): its keys under `<name>`.
      const recordOf = recordValueName(prop.initializer, objects);
      if (recordOf) {
        const prefix = [...camelPrefix, name];
        walk(objects.get(recordOf)!, [...prefix, '<name>'], `[${[...prefix.map(snake), '<name>'].join('.')}]`);
        continue;
      }
      const docs = ts.getJSDocCommentsAndTags(prop).filter(ts.isJSDoc);
      const doc = docs.at(-1);
      const description = ts.getTextOfJSDocComment(doc?.comment)?.replace(/\s+/g, ' ').trim() ?? '';
      const defaultTag = doc?.tags?.find((tag) => tag.tagName.text === 'default');
      const camelPath = [...camelPrefix, name];
      const snakePath = camelPath.map((segment) => (segment === '<name>' ? segment : snake(segment)));
      options.push({
        camelPath,
        key: snakePath.join('.'),
        envName: `REGSTACK_${snakePath.map((s) => s.toUpperCase()).join('__')}`,
        defaultText: defaultTag ? ts.getTextOfJSDocComment(defaultTag.comment)?.replace(/\s+/g, ' ').trim() : undefined,
        description,
        group,
      });
    }
  };
  walk(root, [], 'General');
  return options;
}

const cell = (text: string) => text.replace(/\|/g, '\\|');

/** Every server source outside config/, for telling options regstack reads from ones it only accepts. */
function serverSourcesOutsideConfig(): string {
  const root = join(REPO_ROOT, 'server', 'src');
  const configDir = join(root, 'config');
  // `regstack doctor` checks keys (the SMS settings among them) before their feature reads them: a check of a key
  // is not the code path it configures.
  const doctor = join(root, 'cli', 'doctor.ts');
  const texts: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (path !== configDir) walk(path);
      } else if (entry.name.endsWith('.ts') && path !== doctor) texts.push(readFileSync(path, 'utf8'));
    }
  };
  walk(root);
  return texts.join('\n');
}

/**
 * Whether code outside the config module reads the option (`config.jwtTtlSeconds`, `config.email.smtpHost`):
 * some keys are accepted — a Python regstack.toml must load — before the feature that reads them is built.
 */
export function isReadByServer(option: ConfigOption, sources = serverSourcesOutsideConfig()): boolean {
  return option.camelPath.every(
    (name, index) =>
      name === '<name>' ||
      new RegExp(index < option.camelPath.length - 1 ? `\\.${name}\\b` : `\\b${name}\\b`).test(sources),
  );
}

/** The whole of docs/configuration.md. */
export function renderConfigReference(options = readConfigOptions()): string {
  const lines = [
    '# Configuration reference',
    '',
    '<!-- Generated from server/src/config/config.schema.ts by `pnpm --filter @regstack/test docs:reference`; do not edit by hand. -->',
    '',
    'Every option, its default and what it means. Sources, highest first: options passed to `loadConfig({ overrides })`',
    '(camelCase), `REGSTACK_*` environment variables, `regstack.secrets.env` (the same variables in dotenv syntax),',
    '`regstack.toml` (the snake_case keys below), then the defaults. A key in a section is written under its TOML table',
    '(`[email]` → `smtp_host = "…"`) and its variable joins the names with `__` (`REGSTACK_EMAIL__SMTP_HOST`); a top-level',
    'key is `REGSTACK_` plus the key in capitals (`jwt_ttl_seconds` → `REGSTACK_JWT_TTL_SECONDS`). Lists are TOML arrays,',
    'or JSON arrays / comma-separated text in variables. An unknown key, an invalid value or a missing required one stops',
    'the start with one error listing every problem. A Python regstack `regstack.toml` loads: its Python-only keys are',
    'ignored, with a warning when they would have changed behaviour. Some keys are accepted before the feature that',
    'reads them is built (SMS, the admin procedures, custom link pages); the table marks those.',
    '',
    'Secrets (`jwt_secret`, `jwt_previous_secrets`, `jwt_private_key`, `database_url` when it holds a password,',
    '`email.smtp_password`, `email.ses_*` keys, `sms.twilio_auth_token`, `sms.sns_*` keys) belong in the environment or',
    '`regstack.secrets.env`, not in `regstack.toml`. `regstack serve --dev` writes a random `jwt_secret` to',
    '`regstack.secrets.env` on first run.',
    '',
    'Rate limits are text: `"5/minute"`, `"3 per 10 minutes"`, several rules joined with `;` (`"10/minute;100/hour"`),',
    'or `"none"`.',
  ];
  let group: string | undefined;
  const sources = serverSourcesOutsideConfig();
  for (const option of options) {
    if (option.group !== group) {
      group = option.group;
      lines.push('', `## ${group}`, '', '| key | default | meaning |', '| --- | --- | --- |');
    }
    const def =
      option.defaultText === undefined || option.defaultText === 'undefined'
        ? 'unset'
        : option.defaultText === 'undefined (required)'
          ? 'required'
          : `\`${option.defaultText}\``;
    const unread = isReadByServer(option, sources) ? '' : ' _Accepted, but nothing reads it yet._';
    lines.push(`| \`${option.key}\` | ${cell(def)} | ${cell(option.description)}${unread} |`);
  }
  lines.push('');
  return lines.join('\n');
}

/** The whole of docs/errors.md. */
export function renderErrorReference(): string {
  const lines = [
    '# Errors',
    '',
    '<!-- Generated from REGSTACK_ERROR_CODES (shared/src/errors.ts) and TRPC_CODE_OF (server/src/trpc/error-codes.ts) by `pnpm --filter @regstack/test docs:reference`; do not edit by hand. -->',
    '',
    'Every failure carries a stable UPPER_SNAKE code in `error.data.regstackCode`. Codes are API: they are only ever',
    'added, never renamed or reused. Messages may change, so branch on the code, never on the message:',
    '`getRegstackErrorCode(err)` (from `@regstack/client` or `@regstack/shared`) reads it from a client error, a',
    'server-side caller error or a raw tRPC error shape alike; `getRegstackErrorData(err)` (client) also gives',
    '`fieldErrors` and `retryAfterSeconds`.',
    '',
    '- Bad input is `400 VALIDATION_FAILED` with `data.fieldErrors` (messages per field, keyed by dotted path).',
    '- `TOO_MANY_ATTEMPTS`, `RATE_LIMITED`, `SERVER_BUSY` and `SERVICE_UNAVAILABLE` carry `data.retryAfterSeconds`',
    '  and an HTTP `Retry-After` header (through `regstackResponseMeta` when a host serves the router itself).',
    '- An unexpected failure is `500 INTERNAL_ERROR` with a generic message and nothing else: no stack, SQL or',
    '  library names (R64). Anything a client sent is answered with a 4xx, never a 500.',
    '- Security-sensitive codes are vague on purpose: `INVALID_CREDENTIALS` covers an unknown address, a wrong',
    '  password and a disabled account alike (R9).',
    '',
    'One exhaustive table (`TRPC_CODE_OF`, exported by `@regstack/server`) maps each code to a tRPC code and so to',
    'the HTTP status:',
    '',
    '| code | HTTP | tRPC code | when |',
    '| --- | --- | --- | --- |',
  ];
  const clientOnly = new Set<string>(CLIENT_ERROR_CODES);
  for (const [code, meaning] of Object.entries(REGSTACK_ERROR_CODES)) {
    if (clientOnly.has(code)) continue;
    const trpc = TRPC_CODE_OF[code as ServerErrorCode];
    const status = getHTTPStatusCodeFromError(new TRPCError({ code: trpc }));
    lines.push(`| \`${code}\` | ${status} | \`${trpc}\` | ${cell(meaning)} |`);
  }
  lines.push(
    '',
    'Raised by `@regstack/client` itself, never sent by the server:',
    '',
    ...[...clientOnly].map((code) => `- \`${code}\`: ${cell(REGSTACK_ERROR_CODES[code as ClientErrorCode])}`),
    '',
  );
  return lines.join('\n');
}

/**
 * A page as it compares: Biome pads table columns when it formats Markdown (`pnpm format`), so table rows are
 * compared cell by cell, without the padding.
 */
export function comparable(markdown: string): string {
  return markdown
    .split('\n')
    .map((line) =>
      line.startsWith('|')
        ? line
            .split(/(?<!\\)\|/)
            .map((c) => c.trim().replace(/^-{3,}$/, '---'))
            .join('|')
        : line,
    )
    .join('\n')
    .trimEnd();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(CONFIG_PAGE, renderConfigReference());
  writeFileSync(ERRORS_PAGE, renderErrorReference());
  // Formatted as `pnpm format` would, so `pnpm lint` accepts the pages as written.
  execFileSync(join(REPO_ROOT, 'node_modules', '.bin', 'biome'), ['format', '--write', CONFIG_PAGE, ERRORS_PAGE], {
    cwd: REPO_ROOT,
    stdio: 'ignore',
  });
  console.log(`wrote ${relative(REPO_ROOT, CONFIG_PAGE)} and ${relative(REPO_ROOT, ERRORS_PAGE)}`);
}
