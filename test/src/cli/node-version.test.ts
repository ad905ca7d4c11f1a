/**
 * Issue 16 item 2: an older Node running any entry point gets one sentence naming Node ≥ 22.17 — before any
 * loader error (the `.ts` entry of `pnpm start`) and before the native modules' segfault (the built `regstack`
 * command, the library's main import). Run with the machine's system Node when it is older than 22.17 (Debian's
 * Node 20 here); the built package is laid out as an install would have it: every module of server/src and
 * shared/src compiled one to one, as tsc emits them, under node_modules/@regstack with their package.json files
 * and dependencies. The same layout runs under this Node, so the failure is the check's, not the layout's.
 */
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO_ROOT = resolve(import.meta.dirname, '../../..');
const SYSTEM_NODE = '/usr/bin/node';

function versionOf(node: string): string | undefined {
  try {
    return execFileSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

function run(node: string, args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const { NODE_OPTIONS: _dropped, ...env } = process.env;
    execFile(node, args, { cwd, env, timeout: 60_000 }, (err, stdout, stderr) => {
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

/** Compiles every module of `<pkg>/src` one to one into `<out>/dist`, as the package build does (no types). */
function compilePackage(pkg: string, out: string): void {
  const src = join(REPO_ROOT, pkg, 'src');
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
    );
  for (const file of walk(src)) {
    const target = join(out, 'dist', relative(src, file));
    mkdirSync(dirname(target), { recursive: true });
    if (!file.endsWith('.ts')) {
      cpSync(file, target);
      continue;
    }
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
      fileName: file,
      compilerOptions: {
        target: ts.ScriptTarget.ES2023,
        // ESM, as NodeNext emits for a `"type": "module"` package (a lone file cannot tell transpileModule that).
        module: ts.ModuleKind.ESNext,
        verbatimModuleSyntax: true,
        rewriteRelativeImportExtensions: true,
      },
    });
    writeFileSync(target.replace(/\.ts$/, '.js'), outputText);
  }
  cpSync(join(REPO_ROOT, pkg, 'package.json'), join(out, 'package.json'));
  // Its dependencies, as the install would link them (the workspace's own packages come from this layout).
  const modules = join(REPO_ROOT, pkg, 'node_modules');
  for (const entry of readdirSync(modules)) {
    if (entry === '@regstack' || entry.startsWith('.')) continue;
    mkdirSync(join(out, 'node_modules'), { recursive: true });
    symlinkSync(join(modules, entry), join(out, 'node_modules', entry));
  }
}

const systemVersion = versionOf(SYSTEM_NODE);
const [major = 99, minor = 0] = (systemVersion ?? '99.0').split('.').map(Number);
const older = systemVersion !== undefined && (major < 22 || (major === 22 && minor < 17));

describe.skipIf(!older)(`an older Node (${SYSTEM_NODE} ${systemVersion}) gets "Node ≥ 22.17" (issue 16 item 2)`, () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'regstack-node-version-'));
    compilePackage('shared', join(dir, 'node_modules/@regstack/shared'));
    compilePackage('server', join(dir, 'node_modules/@regstack/server'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
    writeFileSync(
      join(dir, 'app.js'),
      "import { createRegstack } from '@regstack/server';\nconsole.log(typeof createRegstack);\n",
    );
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const expectRefused = (result: { code: number | null; output: string }) => {
    expect(result.code, result.output).toBe(1);
    expect(result.output).toContain('regstack needs Node ≥ 22.17');
    expect(result.output).toContain(`this is Node ${systemVersion}`);
    // Nothing else went wrong first: no loader or syntax error, no segfault.
    expect(result.output).not.toMatch(/ERR_UNKNOWN_FILE_EXTENSION|SyntaxError|ERR_MODULE_NOT_FOUND|Segmentation/);
  };

  it('pnpm start (the TypeScript sources): the start script run by the older Node', async () => {
    const script: string = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).scripts.start;
    const [command, ...args] = script.split(/\s+/);
    expect(command).toBe('node');
    const result = await run(SYSTEM_NODE, args, REPO_ROOT);
    expectRefused(result);
    expect(readdirSync(REPO_ROOT)).not.toContain('regstack.secrets.env');
  });

  it('the built regstack command', async () => {
    const bin = join(dir, 'node_modules/@regstack/server/dist/cli/main.js');
    expectRefused(await run(SYSTEM_NODE, [bin, 'serve', '--dev'], dir));
    expectRefused(await run(SYSTEM_NODE, [bin, '--help'], dir));
    // The same command under a supported Node works.
    const help = await run(process.execPath, [bin, 'serve', '--help'], dir);
    expect(help.code, help.output).toBe(0);
    expect(help.output).toMatch(/\$PORT/);
  });

  it("the library's main import", async () => {
    const result = await run(SYSTEM_NODE, ['app.js'], dir);
    expectRefused(result);
    expect(result.output).toContain('ERR_REGSTACK_NODE_VERSION');
    const supported = await run(process.execPath, ['app.js'], dir);
    expect(supported, supported.output).toMatchObject({ code: 0, output: 'function\n' });
  });
});
