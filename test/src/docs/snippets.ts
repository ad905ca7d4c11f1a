/**
 * Checking the code blocks of README.md and docs/**.md (issue 16 item 5): a block shown to users must be one that
 * works. Rules, by the fence's language:
 * - `ts`/`tsx`: typechecked under the workspace's strict settings against the workspace packages, all snippets in
 *   one TypeScript program (each snippet a module of its own). `.ts` snippets resolve packages from test/, `.tsx`
 *   ones from examples/react-page (where React is installed). Only the snippets' own diagnostics count.
 * - `toml`: parsed and validated by `loadConfig` (the real schema; a warning counts as a failure too).
 * - `json`: parses.
 * - `sh`: every command names something that exists — `./dev` subcommands, pnpm scripts of the named package,
 *   `regstack` subcommands and their flags — or a well-known tool from the list below.
 * - `env` (dotenv, e.g. regstack.secrets.env): every `REGSTACK_*` name is one the config loader accepts.
 * - `text`, `yaml`, `ini`, `nginx`, `dockerfile`, `http`, `diff`: shown as they are. A block without a language, or
 *   with one not listed, is refused, so nothing escapes the check by omission.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { loadConfig } from '@regstack/server';
import ts from 'typescript';
import { REPO_ROOT } from './reference-pages.ts';

export interface Block {
  readonly file: string;
  /** 1-based line of the first code line. */
  readonly line: number;
  readonly lang: string;
  readonly code: string;
}

export interface Problem {
  readonly where: string;
  readonly message: string;
}

/** Fence languages the check understands; aliases are checked as the language they name. */
export const LANG_ALIASES: Readonly<Record<string, string>> = {
  typescript: 'ts',
  bash: 'sh',
  shell: 'sh',
  dotenv: 'env',
};
/** Checked: ts, tsx, toml, json, sh, env. Shown as they are (nothing to run them against): the rest. */
export const KNOWN_LANGS = new Set([
  'ts',
  'tsx',
  'toml',
  'json',
  'sh',
  'env',
  'text',
  'yaml',
  'ini',
  'nginx',
  'dockerfile',
  'http',
  'diff',
  ...Object.keys(LANG_ALIASES),
]);

/** Fenced blocks (``` or ~~~, any indentation) of one Markdown text. */
export function fencedBlocks(file: string, text: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)/.exec(lines[i] ?? '');
    if (!open) continue;
    const [, indent = '', fence = '', lang = ''] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const line = lines[j] ?? '';
      if (line.trim().startsWith(fence) && line.trim().replace(/[`~]/g, '') === '') break;
      body.push(line.startsWith(indent) ? line.slice(indent.length) : line);
    }
    const name = lang.toLowerCase();
    blocks.push({ file, line: i + 2, lang: LANG_ALIASES[name] ?? name, code: body.join('\n') });
    i = j;
  }
  return blocks;
}

/** README.md and every page under docs/. */
export function markdownFiles(): string[] {
  const out = [join(REPO_ROOT, 'README.md')];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.md')) out.push(path);
    }
  };
  if (existsSync(join(REPO_ROOT, 'docs'))) walk(join(REPO_ROOT, 'docs'));
  return out;
}

const where = (block: Block, offset = 0) => `${relative(REPO_ROOT, block.file)}:${block.line + offset}`;

// ── TypeScript ──────────────────────────────────────────────────────────────────────────────────────────────────

const SNIPPET_DIRS = {
  ts: join(REPO_ROOT, 'test', '.artifacts', 'doc-snippets'),
  tsx: join(REPO_ROOT, 'examples', 'react-page', '.artifacts', 'doc-snippets'),
} as const;

/**
 * Typechecks `blocks` (ts/tsx) in one program. `extra` are further blocks (the planted ones of the self-check);
 * the result maps every block to its diagnostics.
 */
export function typecheckBlocks(blocks: readonly Block[]): Map<Block, string[]> {
  for (const dir of Object.values(SNIPPET_DIRS)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
  }
  const byFile = new Map<string, Block>();
  blocks.forEach((block, index) => {
    const ext = block.lang === 'tsx' ? 'tsx' : 'ts';
    const slug = relative(REPO_ROOT, block.file).replace(/[^A-Za-z0-9]+/g, '-');
    const path = join(SNIPPET_DIRS[ext], `${String(index).padStart(3, '0')}-${slug}-L${block.line}.${ext}`);
    // `export {}` makes every snippet a module: its own scope, top-level await allowed.
    writeFileSync(path, `${block.code}\nexport {};\n`);
    byFile.set(path, block);
  });
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2023,
    lib: ['lib.es2023.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    customConditions: ['@regstack/source'],
    strict: true,
    noUncheckedIndexedAccess: true,
    verbatimModuleSyntax: true,
    allowImportingTsExtensions: true,
    isolatedModules: true,
    resolveJsonModule: true,
    skipLibCheck: true,
    noEmit: true,
    jsx: ts.JsxEmit.ReactJSX,
    types: ['node'],
  };
  try {
    const program = ts.createProgram({ rootNames: [...byFile.keys()], options });
    const result = new Map<Block, string[]>(blocks.map((block) => [block, []]));
    for (const [path, block] of byFile) {
      const source = program.getSourceFile(path);
      if (!source) throw new Error(`snippet not in the program: ${path}`);
      for (const d of [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]) {
        const line = d.start === undefined ? 0 : source.getLineAndCharacterOfPosition(d.start).line;
        result.get(block)?.push(`${where(block, line)}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
      }
    }
    return result;
  } finally {
    // Written inside the workspace only so packages resolve as they do for the tests; gone before `pnpm lint`.
    for (const dir of Object.values(SNIPPET_DIRS)) rmSync(dir, { recursive: true, force: true });
  }
}

// ── TOML, JSON ──────────────────────────────────────────────────────────────────────────────────────────────────

export async function checkToml(block: Block): Promise<string[]> {
  const dir = join(tmpdir(), `regstack-doc-toml-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `L${block.line}.toml`);
  writeFileSync(file, block.code);
  const warnings: string[] = [];
  try {
    await loadConfig({
      cwd: dir,
      configFile: file,
      secretsFile: undefined,
      // The secret every real deployment supplies from outside the TOML file.
      env: { REGSTACK_JWT_SECRET: 'a-documentation-secret-of-at-least-32-characters' },
      onWarning: (warning) => warnings.push(`${warning.key}: ${warning.message}`),
    });
  } catch (err) {
    return [`${where(block)}: ${(err as Error).message}`];
  }
  return warnings.map((w) => `${where(block)}: warning: ${w}`);
}

/** A dotenv block: each `REGSTACK_*` name must be an option (or a reserved name) the loader knows. */
export async function checkEnv(block: Block): Promise<string[]> {
  const names = block.code
    .split('\n')
    .map((line) => /^\s*(?:export\s+)?([A-Z][A-Z0-9_]*)=/.exec(line)?.[1])
    .filter((name): name is string => name?.startsWith('REGSTACK_') === true);
  const dir = join(tmpdir(), `regstack-doc-env-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  // Empty values count as unset, so only the names are judged: an unknown one is an error with a suggestion.
  const env: Record<string, string> = { REGSTACK_JWT_SECRET: 'a-documentation-secret-of-at-least-32-characters' };
  for (const name of names) if (name !== 'REGSTACK_JWT_SECRET') env[name] = '';
  try {
    await loadConfig({ cwd: dir, env, onWarning: () => {} });
    return [];
  } catch (err) {
    return [`${where(block)}: ${(err as Error).message}`];
  }
}

export function checkJson(block: Block): string[] {
  try {
    JSON.parse(block.code);
    return [];
  } catch (err) {
    return [`${where(block)}: ${(err as Error).message}`];
  }
}

// ── Shell ───────────────────────────────────────────────────────────────────────────────────────────────────────

/** Well-known tools a command line may start with; anything else must be one of ours. */
const KNOWN_TOOLS = new Set([
  '.',
  'apt-get',
  'bash',
  'cat',
  'cd',
  'chmod',
  'corepack',
  'cp',
  'createdb',
  'createuser',
  'curl',
  'docker',
  'dropdb',
  'echo',
  'env',
  'exec',
  'export',
  'git',
  'go',
  'grep',
  'head',
  'id',
  'journalctl',
  'jq',
  'kill',
  'ln',
  'ls',
  'make',
  'mkdir',
  'mongosh',
  'mv',
  'node',
  'npm',
  'openssl',
  'pg_dump',
  'printf',
  'psql',
  'rm',
  'sed',
  'sh',
  'source',
  'su',
  'sudo',
  'systemctl',
  'tail',
  'tar',
  'test',
  'time',
  'touch',
  'true',
  'unzip',
  'useradd',
  'wget',
  'which',
  'whoami',
  'xargs',
  'yarn',
]);

const PNPM_BUILTINS = new Set([
  'add',
  'approve-builds',
  'create',
  'dlx',
  'exec',
  'i',
  'install',
  'list',
  'pack',
  'publish',
  'remove',
  'update',
  'why',
]);

interface WorkspacePackage {
  readonly name: string;
  readonly dir: string;
  readonly scripts: Readonly<Record<string, string>>;
}

function workspacePackages(): WorkspacePackage[] {
  const dirs = ['.', 'shared', 'server', 'client', 'test', 'bench'];
  for (const parent of ['examples']) {
    for (const entry of readdirSync(join(REPO_ROOT, parent), { withFileTypes: true })) {
      if (entry.isDirectory()) dirs.push(join(parent, entry.name));
    }
  }
  return dirs
    .map((dir) => join(REPO_ROOT, dir, 'package.json'))
    .filter((file) => existsSync(file))
    .map((file) => {
      const json = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; scripts?: Record<string, string> };
      return { name: json.name ?? '', dir: dirname(file), scripts: json.scripts ?? {} };
    });
}

/** Splits a line into words, honouring quotes; `$(…)` and quoted text are kept as single words. */
function words(command: string): string[] {
  const out: string[] = [];
  let current = '';
  let quote: string | null = null;
  let depth = 0;
  for (const ch of command) {
    if (quote) {
      current += ch;
      if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      current += ch;
    } else if (ch === '(' && current.endsWith('$')) {
      depth++;
      current += ch;
    } else if (ch === ')' && depth > 0) {
      depth--;
      current += ch;
    } else if (/\s/.test(ch) && depth === 0) {
      if (current) out.push(current);
      current = '';
    } else current += ch;
  }
  if (current) out.push(current);
  return out;
}

/** Logical command lines: continuations joined, comments dropped, split at `&&`, `||`, `;`, `|` (outside quotes). */
export function shellCommands(code: string): { offset: number; command: string }[] {
  const out: { offset: number; command: string }[] = [];
  const lines = code.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i] ?? '';
    while (line.endsWith('\\') && i + 1 < lines.length) line = `${line.slice(0, -1)} ${lines[++i] ?? ''}`;
    let text = '';
    let quote: string | null = null;
    const parts: string[] = [];
    for (let k = 0; k < line.length; k++) {
      const ch = line[k] ?? '';
      if (quote) {
        if (ch === quote) quote = null;
        text += ch;
      } else if (ch === "'" || ch === '"') {
        quote = ch;
        text += ch;
      } else if (ch === '#' && (k === 0 || /\s/.test(line[k - 1] ?? ''))) break;
      else if (ch === ';' || ch === '|' || (ch === '&' && line[k + 1] === '&')) {
        parts.push(text);
        text = '';
        if (line[k + 1] === ch) k++;
      } else text += ch;
    }
    parts.push(text);
    for (const part of parts) if (part.trim()) out.push({ offset: start, command: part.trim() });
  }
  return out;
}

function cliCommands(): Map<string, string> {
  const source = readFileSync(join(REPO_ROOT, 'server', 'src', 'cli', 'program.ts'), 'utf8');
  const commands = new Map<string, string>();
  const parts = source.split(/\.command\('/).slice(1);
  for (const part of parts) {
    const name = part.slice(0, part.indexOf("'"));
    commands.set(name, part);
  }
  return commands;
}

function checkRegstackCli(args: string[], cli: Map<string, string>): string | undefined {
  const sub = args[0];
  if (!sub || sub.startsWith('-')) {
    return ['--help', '-h', '--version', '-V'].includes(sub ?? '') ? undefined : 'regstack needs a subcommand';
  }
  const spec = cli.get(sub);
  if (!spec) return `regstack has no subcommand "${sub}" (it has: ${[...cli.keys()].join(', ')})`;
  for (const arg of args.slice(1)) {
    const flag = /^(--?[A-Za-z][\w-]*)/.exec(arg)?.[1];
    if (flag && flag !== '--help' && !new RegExp(`['\\s,]${flag}[\\s',]`).test(spec)) {
      return `regstack ${sub} has no option ${flag}`;
    }
  }
  return undefined;
}

export function checkShell(block: Block): string[] {
  const problems: string[] = [];
  const packages = workspacePackages();
  const root = packages.find((p) => p.dir === REPO_ROOT);
  const cli = cliCommands();
  const devScript = join(REPO_ROOT, 'dev');
  for (const { offset, command } of shellCommands(block.code)) {
    let ws = words(command);
    while (ws[0] && /^[A-Za-z_][A-Za-z0-9_]*=/.test(ws[0])) ws = ws.slice(1); // VAR=value prefixes
    const [cmd, ...args] = ws;
    if (!cmd) continue;
    const at = where(block, offset);
    if (cmd === './dev') {
      const sub = args[0] ?? '';
      // Until the script exists only the two decided commands may be shown; then it must handle the subcommand.
      const known = existsSync(devScript)
        ? new RegExp(`\\b${sub.replace(/[^\w-]/g, '')}\\b`).test(readFileSync(devScript, 'utf8'))
        : sub === 'start' || sub === 'test';
      if (!sub || !known) problems.push(`${at}: ./dev has no subcommand "${sub}"`);
    } else if (cmd === 'pnpm') {
      let rest = args;
      let pkg = root;
      while (rest[0]?.startsWith('-')) {
        if (rest[0] === '--filter' || rest[0] === '-F') {
          const name = rest[1] ?? '';
          pkg = packages.find((p) => p.name === name);
          if (!pkg) problems.push(`${at}: no workspace package "${name}"`);
          rest = rest.slice(2);
        } else if (rest[0] === '--dir' || rest[0] === '-C') {
          const dir = join(REPO_ROOT, rest[1] ?? '');
          pkg = packages.find((p) => p.dir === dir);
          if (!pkg) problems.push(`${at}: no workspace package in "${rest[1] ?? ''}"`);
          rest = rest.slice(2);
        } else rest = rest.slice(1);
      }
      const [first, second] = rest;
      if (!first || !pkg) continue;
      if (PNPM_BUILTINS.has(first)) continue;
      const script = first === 'run' ? second : first;
      if (!script || !(script in pkg.scripts)) {
        problems.push(`${at}: ${pkg.name} has no script "${script ?? ''}"`);
      }
    } else if (cmd === 'regstack' || (cmd === 'npx' && args[0] === 'regstack')) {
      const problem = checkRegstackCli(cmd === 'npx' ? args.slice(1) : args, cli);
      if (problem) problems.push(`${at}: ${problem}`);
    } else if (cmd === 'npx' || KNOWN_TOOLS.has(cmd)) {
      // Node running regstack's CLI from source: check the subcommand like `regstack …`.
      const main = args.findIndex((a) => a.endsWith('cli/main.ts') || a.endsWith('cli/main.js'));
      if (cmd === 'node' && main >= 0) {
        const problem = checkRegstackCli(args.slice(main + 1), cli);
        if (problem) problems.push(`${at}: ${problem}`);
      }
    } else {
      problems.push(
        `${at}: unknown command "${cmd}" (add it to KNOWN_TOOLS in test/src/docs/snippets.ts if it is real)`,
      );
    }
  }
  return problems;
}
