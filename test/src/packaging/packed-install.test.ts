/**
 * Issue 16 item 4: the packages install into an outside app the way they would from the npm registry. The
 * three packages are built (when dist/ is older than their sources), packed with `pnpm pack` (which turns
 * `workspace:` ranges into real ones) and installed from the tarballs into fresh projects in a temp dir
 * outside the workspace:
 *
 * - a Vite + React app installed with npm (`--strict-peer-deps`), which has @regstack/client and not the
 *   server: `tsc` under `strict` accepts the app and rejects each planted misuse (so the router's types are
 *   real, not `any`), and `vite build` bundles it;
 * - the server and the client installed side by side with npm, as a full-stack app would (strict peers);
 * - a Node host installed with pnpm (strict peers, argon2's build approved as docs/installing.md says) that
 *   nests @regstack/server in its own tRPC router on Node's adapter and uses @regstack/client server-side:
 *   typechecked the same way, then run — register, login and `account.me` over real HTTP.
 *
 * It needs the npm registry; without it the suite is skipped with the reason (in CI, where it must run, it
 * fails instead). npm's and pnpm's own caches are shared across runs, so a second run downloads nothing.
 */
import { execFile, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../../..');
const FIXTURES = join(import.meta.dirname, 'fixtures');
const PACKAGES = ['shared', 'server', 'client'] as const;
type PackageDir = (typeof PACKAGES)[number];

// npm's shebang runs the first `node` on PATH: make it this Node (22), as for pnpm.
const ENV: NodeJS.ProcessEnv = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
delete ENV.NODE_OPTIONS; // vitest's, not for the child tools
// What `pnpm test` sets about its own run (the package, the script, itself), not for the tools run here; an
// npm_config_* setting of the environment (a registry, a proxy) stays.
const RUN_VARIABLES = /^npm_(package_|lifecycle_|command$|execpath$|node_execpath$|config_user_agent$)/;
for (const key of Object.keys(ENV)) if (RUN_VARIABLES.test(key)) delete ENV[key];
// The outside apps get no regstack settings from the test run (database URLs, config files): only their own.
for (const key of Object.keys(ENV)) if (key.startsWith('REGSTACK_')) delete ENV[key];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string, timeoutMs = 300_000, env = ENV): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

async function ok(command: string, args: string[], cwd: string, timeoutMs?: number, env = ENV): Promise<Run> {
  const started = Date.now();
  const result = await run(command, args, cwd, timeoutMs, env);
  console.log(
    `[packaging] ${command} ${args.join(' ')} (${relative(workDir ?? ROOT, cwd) || '.'}): ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} failed (exit ${result.code}) in ${cwd}\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result;
}

async function registryReachable(): Promise<string | null> {
  const registry =
    (await run('npm', ['config', 'get', 'registry'], ROOT, 20_000)).stdout.trim() || 'https://registry.npmjs.org/';
  try {
    const response = await fetch(new URL('react', registry.endsWith('/') ? registry : `${registry}/`), {
      signal: AbortSignal.timeout(10_000),
      headers: { accept: 'application/vnd.npm.install-v1+json' },
    });
    return response.ok ? null : `the npm registry ${registry} answered ${response.status}`;
  } catch (err) {
    return `the npm registry ${registry} is unreachable (${(err as Error).message})`;
  }
}

const unreachable = await registryReachable();
if (unreachable && process.env.CI) throw new Error(`packed-tarball tests must run in CI, but ${unreachable}`);
if (unreachable) console.warn(`[packaging] skipped: ${unreachable}`);

let workDir: string | undefined;

/** Newest modification time of what a package's build reads: src/, scripts/, package.json, tsconfig*.json. */
function newestInput(packageDir: string): number {
  const newest = (path: string): number =>
    statSync(path).isDirectory()
      ? Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))))
      : statSync(path).mtimeMs;
  return Math.max(
    0,
    ...readdirSync(packageDir)
      .filter((name) => ['src', 'scripts', 'package.json'].includes(name) || /^tsconfig.*\.json$/.test(name))
      .map((name) => newest(join(packageDir, name))),
  );
}

/** CI has built already (`pnpm build` before `pnpm test`); a developer's stale or missing dist/ is rebuilt. */
async function ensureBuilt() {
  const stale = PACKAGES.filter((dir) => {
    const marker = join(ROOT, dir, 'dist/index.d.ts');
    return !existsSync(marker) || statSync(marker).mtimeMs < newestInput(join(ROOT, dir));
  });
  if (stale.length > 0) await ok('pnpm', ['build'], ROOT, 600_000);
}

interface Packed {
  version: string;
  tarball: string;
  /** The tarball unpacked (`package/…`). */
  unpacked: string;
  manifest: Record<string, unknown> & {
    engines?: { node?: string };
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
    exports?: Record<string, unknown>;
    bin?: Record<string, string>;
  };
  files: string[];
}

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(join(dir, entry.name), `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`],
  );
}

/** Every file path an `exports` map points at (conditions and subpaths flattened). */
function exportTargets(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value && typeof value === 'object') return Object.values(value).flatMap(exportTargets);
  return [];
}

/** The lowest Node major an `engines.node` range of the form `>=X.Y.Z` admits. */
function lowestNodeMajor(range: string | undefined): number {
  const match = /^>=\s*(\d+)/.exec(range ?? '');
  if (!match) throw new Error(`engines.node should be a plain >= range, got ${range}`);
  return Number(match[1]);
}

/** Lines marked `// misuse` in a fixture's misuse/ folder, as `file:line`. */
function plantedMisuses(projectDir: string): string[] {
  const folder = join(projectDir, 'misuse');
  return readdirSync(folder).flatMap((name) =>
    readFileSync(join(folder, name), 'utf8')
      .split('\n')
      .flatMap((line, i) => (line.includes('// misuse') ? [`misuse/${name}:${i + 1}`] : [])),
  );
}

/** Runs tsc; returns the `file:line` of every error (the run must fail only there). */
async function typeErrors(projectDir: string): Promise<{ at: string[]; output: string }> {
  const result = await run(
    join(projectDir, 'node_modules/.bin/tsc'),
    ['-p', 'tsconfig.json', '--pretty', 'false'],
    projectDir,
  );
  const output = `${result.stdout}${result.stderr}`;
  const at = [...output.matchAll(/^([^\s(][^(]*)\((\d+),\d+\): error TS\d+/gm)].map((m) => `${m[1]}:${m[2]}`);
  if (result.code !== 0 && at.length === 0) throw new Error(`tsc failed without diagnostics:\n${output}`);
  return { at: [...new Set(at)].sort(), output };
}

/** A Node binary of the given major version: `$NODE20` for 20, else the system's `/usr/bin/node` if it is one. */
async function nodeOfMajor(major: number): Promise<string | null> {
  for (const candidate of [process.env[`NODE${major}`], '/usr/bin/node']) {
    if (!candidate || !existsSync(candidate)) continue;
    const { stdout } = await run(candidate, ['--version'], ROOT, 10_000);
    if (stdout.trim().startsWith(`v${major}.`)) return candidate;
  }
  return null;
}

describe.skipIf(unreachable !== null)('the packed packages in an outside app', () => {
  const packed = {} as Record<PackageDir, Packed>;
  let tarballs: string;

  beforeAll(async () => {
    const started = Date.now();
    await ensureBuilt();
    workDir = mkdtempSync(join(tmpdir(), 'regstack-packaging-'));
    tarballs = join(workDir, 'tarballs');
    mkdirSync(tarballs);
    await Promise.all(
      PACKAGES.map(async (dir) => {
        const { version } = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as { version: string };
        await ok('pnpm', ['pack', '--pack-destination', tarballs], join(ROOT, dir));
        const tarball = join(tarballs, `regstack-${dir}-${version}.tgz`);
        const unpacked = join(workDir!, 'unpacked', dir);
        mkdirSync(unpacked, { recursive: true });
        await ok('tar', ['-xzf', tarball, '-C', unpacked], workDir!);
        const root = join(unpacked, 'package');
        packed[dir] = {
          version,
          tarball,
          unpacked: root,
          manifest: JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')),
          files: listFiles(root),
        };
      }),
    );
    console.log(`[packaging] built and packed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 900_000);

  afterAll(() => {
    // REGSTACK_KEEP_PACKAGING=1 keeps the projects for a look (the path is printed).
    if (workDir && process.env.REGSTACK_KEEP_PACKAGING) console.log(`[packaging] kept ${workDir}`);
    else if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('the tarballs are publishable: real ranges, right engines, dist with types, a working bin', () => {
    const { shared, server, client } = packed;
    for (const { manifest, files } of Object.values(packed)) {
      expect(JSON.stringify(manifest)).not.toContain('workspace:');
      // Everything `exports` names is in the tarball, types included for each entry point.
      for (const target of exportTargets(manifest.exports)) expect(files).toContain(target.replace(/^\.\//, ''));
      expect(files.filter((f) => /\.test\.|(^|\/)tests?\//.test(f))).toEqual([]);
      expect(files.every((f) => /^(dist|src)\/|^(package\.json|README\.md|LICENSE|CHANGELOG\.md)$/.test(f))).toBe(true);
    }
    expect(server.manifest.dependencies?.['@regstack/shared']).toBe(shared.version);
    expect(client.manifest.dependencies?.['@regstack/shared']).toBe(shared.version);
    expect(client.manifest.peerDependencies?.['@regstack/server']).toBe(`^${server.version}`);

    // The server needs Node 22.17; the browser client and the shared schemas must not demand Node 22.
    expect(server.manifest.engines?.node).toBe('>=22.17.0');
    expect(lowestNodeMajor(client.manifest.engines?.node)).toBeLessThan(22);
    expect(lowestNodeMajor(shared.manifest.engines?.node)).toBeLessThan(22);

    // The `regstack` command: an executable file with a node shebang.
    const bin = join(server.unpacked, server.manifest.bin?.regstack ?? 'missing');
    expect(statSync(bin).mode & 0o111).not.toBe(0);
    expect(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    // The migrations ship compiled into dist (they are listed in code, not read from a folder).
    expect(server.files.some((f) => /^dist\/db\/migrations\/sqlite\/index\.js$/.test(f))).toBe(true);
    expect(server.files.some((f) => /^dist\/db\/migrations\/postgresql\/index\.js$/.test(f))).toBe(true);

    // The client's declarations carry the router's type: none of them reaches for @regstack/server.
    const declarations = client.files.filter((f) => f.endsWith('.d.ts'));
    expect(declarations.length).toBeGreaterThan(0);
    for (const file of declarations) {
      const text = readFileSync(join(client.unpacked, file), 'utf8');
      expect(text, file).not.toMatch(/(from\s+|import\()['"]@regstack\/server['"]/);
    }
  });

  it('a Vite + React app installs the client with npm, typechecks strictly (misuse rejected) and builds', async () => {
    const app = join(workDir!, 'react-app');
    cpSync(join(FIXTURES, 'react-app'), app, { recursive: true });
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify(
        {
          name: 'react-app',
          private: true,
          type: 'module',
          dependencies: {
            // No @regstack/server, no @trpc/*: the client's peers are npm's to resolve.
            '@regstack/client': `file:${packed.client.tarball}`,
            '@regstack/shared': `file:${packed.shared.tarball}`,
            '@tanstack/react-query': '^5.80.3',
            '@trpc/tanstack-react-query': '^11.22.1',
            react: '^19.0.0',
            'react-dom': '^19.0.0',
          },
          devDependencies: {
            '@types/react': '^19.0.0',
            '@types/react-dom': '^19.0.0',
            typescript: '~5.9.3',
            vite: '^8.3.8',
          },
        },
        null,
        2,
      ),
    );
    await ok('npm', ['install', '--strict-peer-deps', '--prefer-offline', '--no-audit', '--no-fund'], app, 600_000);
    expect(existsSync(join(app, 'node_modules/@regstack/server'))).toBe(false);

    const { at, output } = await typeErrors(app);
    expect(at, output).toEqual(plantedMisuses(app).sort());

    rmSync(join(app, 'misuse'), { recursive: true });
    await ok(join(app, 'node_modules/.bin/vite'), ['build', '--logLevel', 'warn'], app);
    const assets = readdirSync(join(app, 'dist/assets')).filter((f) => f.endsWith('.js'));
    expect(assets.length).toBeGreaterThan(0);
    const bundle = assets.map((f) => readFileSync(join(app, 'dist/assets', f), 'utf8')).join('\n');
    expect(bundle).toContain('authorization'); // the client's bearer-token link is in the bundle
    expect(bundle).not.toMatch(/argon2|mikro-orm|better-sqlite3/i);
  }, 900_000);

  it('npm installs the server and the client side by side with strict peers, and `regstack migrate` runs', async () => {
    // What `npm install @regstack/server @regstack/client` does in a full-stack app: the peers (tRPC, the
    // SQLite driver) must resolve together, whatever versions npm settles on.
    const app = join(workDir!, 'npm-server');
    mkdirSync(app);
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({
        name: 'npm-server',
        private: true,
        type: 'module',
        dependencies: {
          '@regstack/client': `file:${packed.client.tarball}`,
          '@regstack/server': `file:${packed.server.tarball}`,
          '@regstack/shared': `file:${packed.shared.tarball}`,
        },
      }),
    );
    await ok('npm', ['install', '--strict-peer-deps', '--prefer-offline', '--no-audit', '--no-fund'], app, 600_000);
    await ok('npm', ['ls', '--all'], app); // exits non-zero on a missing or invalid peer
    // The bin loads the server with the versions npm chose and installs the schema in a new SQLite file.
    const database = join(app, 'app.db');
    const env = {
      ...ENV,
      REGSTACK_DATABASE_URL: `sqlite:${database}`,
      REGSTACK_JWT_SECRET: 'packed-tarball-npm-test-secret-0123456789abcdef',
    };
    await ok(join(app, 'node_modules/.bin/regstack'), ['migrate'], app, 120_000, env);
    expect(existsSync(database)).toBe(true);
  }, 900_000);

  it('a Node host installs server and client with pnpm, nests the router, typechecks and serves over HTTP', async () => {
    const host = join(workDir!, 'node-host');
    cpSync(join(FIXTURES, 'node-host'), host, { recursive: true });
    writeFileSync(
      join(host, 'package.json'),
      JSON.stringify(
        {
          name: 'node-host',
          private: true,
          type: 'module',
          dependencies: {
            '@regstack/client': `file:${packed.client.tarball}`,
            '@regstack/server': `file:${packed.server.tarball}`,
            '@trpc/client': '^11.25.2',
            '@trpc/server': '^11.25.2',
          },
          devDependencies: { '@types/node': '^22.15.0', typescript: '~5.9.3' },
        },
        null,
        2,
      ),
    );
    writeFileSync(
      join(host, 'pnpm-workspace.yaml'),
      [
        // What docs/installing.md tells pnpm users: approve argon2's install script.
        'allowBuilds:',
        '  argon2: true',
        'strictPeerDependencies: true',
        // Stands in for the registry: the packages depend on @regstack/shared at the packed version.
        'overrides:',
        `  "@regstack/shared": "file:${packed.shared.tarball}"`,
        '',
      ].join('\n'),
    );
    await ok('pnpm', ['install', '--prefer-offline', '--config.confirmModulesPurge=false'], host, 600_000);

    const { at, output } = await typeErrors(host);
    expect(at, output).toEqual(plantedMisuses(host).sort());

    // The `regstack` bin from the tarball runs.
    const help = await ok(join(host, 'node_modules/.bin/regstack'), ['--help'], host);
    expect(help.stdout).toContain('serve');

    const server = spawn(process.execPath, ['src/server.ts'], {
      cwd: host,
      env: ENV,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let stderr = '';
      server.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const port = await new Promise<number>((resolve, reject) => {
        let stdout = '';
        const timer = setTimeout(() => reject(new Error(`host did not start:\n${stdout}\n${stderr}`)), 60_000);
        server.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          const line = stdout.split('\n').find((l) => l.startsWith('{"port":'));
          if (line) {
            clearTimeout(timer);
            resolve((JSON.parse(line) as { port: number }).port);
          }
        });
        server.once('exit', (code) => reject(new Error(`host exited (${code}):\n${stdout}\n${stderr}`)));
      });
      const calls = await ok(process.execPath, ['src/client.ts', `http://127.0.0.1:${port}/trpc`], host, 60_000);
      expect(JSON.parse(calls.stdout.trim().split('\n').pop() ?? '')).toEqual({
        registered: 'registered',
        wrongPassword: 'INVALID_CREDENTIALS',
        login: 'authenticated',
        me: { email: expect.stringMatching(/^host-\d+@example\.com$/), createdAtIsDate: true },
        greeting: { hello: expect.stringMatching(/^host-\d+@example\.com$/), sinceIsDate: true },
      });

      // The client's `engines` say Node 20.19: where a Node 20 is at hand (the system's), it makes the calls too.
      const node20 = await nodeOfMajor(20);
      if (node20) {
        const old = await ok(node20, ['src/node20-client.mjs', `http://127.0.0.1:${port}/trpc`], host, 60_000);
        expect(JSON.parse(old.stdout.trim().split('\n').pop() ?? '')).toEqual({
          node: '20',
          registered: 'registered',
          login: 'authenticated',
          me: true,
        });
      } else {
        console.log('[packaging] no Node 20 found (NODE20 or /usr/bin/node): the client was not run on Node 20');
      }
    } finally {
      if (server.exitCode === null && server.signalCode === null) {
        const exited = new Promise((resolve) => server.once('exit', resolve));
        server.kill('SIGTERM');
        await exited;
      }
    }
  }, 900_000);
});
