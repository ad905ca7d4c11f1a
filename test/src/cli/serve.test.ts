/**
 * Issue 16 item 2: starting the real `regstack serve` (a child process, in a fresh directory) like a Node user
 * expects. `PORT` / `HOST` are honoured and the flags beat them; an invalid `PORT` is a configuration error naming
 * it. In development `base_url` follows the address actually bound (`PORT=0`), unless set. The production start
 * (`NODE_ENV=production`, no `--dev`) names every missing requirement at once and serves when given them. Nothing
 * is written to disk when the port is taken or the database is dead, and such a start prints one clean error, no
 * stack trace and no worker output. The server's behaviour here does not depend on the backend: SQLite (the dead
 * databases are PostgreSQL and MongoDB URLs to a closed port).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../harness/ferretdb.ts';
import { TEST_SECRET } from '../harness/regstack.ts';

const REPO_ROOT = resolve(import.meta.dirname, '../../..');
const CLI = resolve(REPO_ROOT, 'server/src/cli/main.ts');
const NODE_ARGS = ['--conditions=@regstack/source', '--disable-warning=ExperimentalWarning', CLI, 'serve'];
const PASSWORD = 'correct horse battery staple';

interface Started {
  child: ChildProcess;
  dir: string;
  /** stdout and stderr so far. */
  output(): string;
  /** The URL from the "serving on" line, once it is printed. */
  url: Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'regstack-serve-'));
  dirs.push(dir);
  return dir;
}

/** `regstack serve <args>` in a fresh directory with exactly `env` (plus PATH). */
function start(args: string[], env: Record<string, string>, command = process.execPath, argv = NODE_ARGS): Started {
  const dir = freshDir();
  const child = spawn(command, [...argv, ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  let announce: (url: string) => void;
  const url = new Promise<string>((r) => {
    announce = r;
  });
  const onData = (d: Buffer) => {
    output += String(d);
    const match = /regstack: serving on (http:\/\/\S+) /.exec(output);
    if (match?.[1]) announce(match[1]);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  return { child, dir, output: () => output, url, exited };
}

/** Waits for the "serving on" line; fails with the output if the process exits first. */
async function serving(s: Started): Promise<string> {
  const outcome = await Promise.race([s.url, s.exited.then(() => null)]);
  if (outcome === null) throw new Error(`regstack serve exited:\n${s.output()}`);
  return outcome;
}

async function stop(s: Started): Promise<void> {
  s.child.kill('SIGTERM');
  expect(await s.exited, s.output()).toEqual({ code: 0, signal: null });
}

/** A failed start: exit 1, one clean message, nothing written. */
async function expectFailedStart(s: Started, message: RegExp): Promise<string> {
  const exit = await s.exited;
  const output = s.output();
  expect(exit, output).toEqual({ code: 1, signal: null });
  expect(output).toMatch(message);
  expect(output, 'a stack trace').not.toMatch(/^\s+at /m);
  expect(output, 'worker output').not.toMatch(/outbox|"level"/i);
  expect(readdirSync(s.dir), 'files written by a failed start').toEqual([]);
  return output;
}

const devEnv = (extra: Record<string, string> = {}) => ({ REGSTACK_DATABASE_URL: 'sqlite:./regstack.db', ...extra });
const productionEnv = (extra: Record<string, string> = {}) => ({
  NODE_ENV: 'production',
  REGSTACK_DATABASE_URL: 'sqlite:./regstack.db',
  ...extra,
});

describe('regstack serve: PORT and HOST (issue 16 item 2)', () => {
  it('listens on PORT and HOST', async () => {
    const port = await freePort();
    // All of 127.0.0.0/8 is loopback on Linux: a second address proves HOST was used, not the default.
    const s = start(['--dev'], devEnv({ PORT: String(port), HOST: '127.0.0.2' }));
    expect(await serving(s)).toBe(`http://127.0.0.2:${port}`);
    expect((await fetch(`http://127.0.0.2:${port}/healthz`)).status).toBe(200);
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    await stop(s);
  });

  it('--port and --host win over PORT and HOST (an invalid PORT is then not read)', async () => {
    const port = await freePort();
    const s = start(
      ['--dev', '--port', String(port), '--host', '127.0.0.1'],
      devEnv({ PORT: 'nope', HOST: '10.255.255.1' }),
    );
    expect(await serving(s)).toBe(`http://127.0.0.1:${port}`);
    await stop(s);
  });

  it.for(['eighty', '70000', '-1', '80.5'])('PORT=%s is a configuration error naming PORT', async (value) => {
    const s = start(['--dev'], devEnv({ PORT: value }));
    await expectFailedStart(s, /PORT \(from environment\): must be a port number 0–65535/);
  });
});

describe('regstack serve --dev: base_url follows the listening address (issue 16 item 2)', () => {
  /** Registers through the real endpoint and returns the verification link the console mail printed. */
  async function mailedLink(s: Started, url: string): Promise<string> {
    const email = `link-${Date.now()}@example.com`;
    const res = await fetch(`${url}/trpc/auth.register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ json: { email, password: PASSWORD } }),
    });
    expect(res.status).toBe(200);
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const link = /(https?:\/\/\S+\/verify\?token=[A-Za-z0-9_%-]+)/.exec(s.output())?.[1];
      if (link) return link;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no link printed:\n${s.output()}`);
  }

  it('PORT=0: the mailed link points at the port the system picked, and opens the page', async () => {
    const s = start(['--dev'], devEnv({ PORT: '0' }));
    const url = await serving(s);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(url).not.toBe('http://127.0.0.1:0');
    const link = await mailedLink(s, url);
    expect(link.startsWith(`${url}/account/verify?token=`)).toBe(true);
    const page = await fetch(link);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    await stop(s);
  });

  it('an explicit base_url is kept', async () => {
    const s = start(['--dev'], devEnv({ PORT: '0', REGSTACK_BASE_URL: 'https://accounts.example.test' }));
    const link = await mailedLink(s, await serving(s));
    expect(link.startsWith('https://accounts.example.test/account/verify?token=')).toBe(true);
    await stop(s);
  });
});

describe('regstack serve in production (issue 16 item 2)', () => {
  it('without a JWT secret and base_url: one error naming both, nothing written', async () => {
    const s = start([], productionEnv({ PORT: '0' }));
    const output = await expectFailedStart(s, /Invalid regstack configuration \(2 problems\)/);
    expect(output).toMatch(/jwt_secret: is required: set REGSTACK_JWT_SECRET/);
    expect(output).toMatch(/base_url: is required when NODE_ENV=production/);
  });

  it('without base_url: an error naming base_url', async () => {
    const s = start([], productionEnv({ PORT: '0', REGSTACK_JWT_SECRET: TEST_SECRET }));
    const output = await expectFailedStart(s, /base_url: is required when NODE_ENV=production/);
    expect(output).not.toMatch(/jwt_secret/);
  });

  it('--dev is refused', async () => {
    const s = start(['--dev'], productionEnv({ PORT: '0', REGSTACK_JWT_SECRET: TEST_SECRET }));
    await expectFailedStart(s, /--dev cannot be used with NODE_ENV=production/);
  });

  it('given both it serves, generates nothing, and stops cleanly', async () => {
    const s = start(
      [],
      productionEnv({
        PORT: '0',
        REGSTACK_JWT_SECRET: TEST_SECRET,
        REGSTACK_BASE_URL: 'https://accounts.example.test',
      }),
    );
    const url = await serving(s);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    // Production: no pages, no secrets file.
    expect((await fetch(`${url}/account/verify`)).status).toBe(404);
    expect(readdirSync(s.dir).filter((f) => !f.startsWith('regstack.db'))).toEqual([]);
    expect(s.output()).toMatch(/email\.backend is "console" in production/);
    await stop(s);
  });
});

describe('regstack serve writes nothing before the port is bound and the database answers (issue 16 item 2)', () => {
  it('a port in use: a clear error, no secrets file, no database file', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const address = blocker.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const s = start(['--dev'], devEnv({ PORT: String(port) }));
      await expectFailedStart(s, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port is already in use`));
    } finally {
      blocker.close();
    }
  });

  it('a dead PostgreSQL: exit 1 with one error, no secrets file, no worker output', async () => {
    const dead = await freePort();
    const s = start(
      ['--dev'],
      devEnv({
        PORT: '0',
        REGSTACK_DATABASE_URL: `postgresql://regstack:regstack@127.0.0.1:${dead}/regstack`,
        REGSTACK_DATABASE_CONNECT_TIMEOUT_MS: '2000',
      }),
    );
    const started = Date.now();
    await expectFailedStart(s, /^regstack: /m);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('a dead MongoDB: exit 1 with one error, no outbox worker output before it', async () => {
    const dead = await freePort();
    const s = start(
      ['--dev'],
      devEnv({
        PORT: '0',
        REGSTACK_DATABASE_URL: `mongodb://127.0.0.1:${dead}/regstack`,
        REGSTACK_DATABASE_CONNECT_TIMEOUT_MS: '1000',
      }),
    );
    await expectFailedStart(s, /^regstack: /m);
  });

  it('a SQLite file in a missing directory: exit 1, nothing created', async () => {
    const s = start(['--dev'], devEnv({ PORT: '0', REGSTACK_DATABASE_URL: 'sqlite:./missing/dir/regstack.db' }));
    await expectFailedStart(s, /^regstack: /m);
  });

  it('a successful start does keep the generated secret, mode 0600', async () => {
    const s = start(['--dev'], devEnv({ PORT: '0' }));
    await serving(s);
    const secrets = join(s.dir, 'regstack.secrets.env');
    expect(statSync(secrets).mode & 0o777).toBe(0o600);
    const first = readFileSync(secrets, 'utf8');
    expect(first).toMatch(/^REGSTACK_JWT_SECRET=[A-Za-z0-9_-]{43}$/m);
    expect(s.output()).toMatch(/generated a development JWT secret/);
    await stop(s);
  });
});
