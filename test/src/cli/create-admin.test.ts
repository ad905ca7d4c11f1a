/**
 * Issue 17 item 1: the real `regstack create-admin` (a child process in a fresh directory) on every backend. A piped
 * password makes a verified, active superuser who can then log in; a second run changes nothing; a weak password is
 * refused with the registration policy's code and creates nothing; an existing account is promoted with its password
 * untouched, and a different password for it is the conflict; with no terminal and no flag it refuses; on a real
 * pseudo-terminal (util-linux `script`) it asks twice and echoes nothing. No run ever prints the password.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UserSchema } from '@regstack/server/internal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { codeOf } from '../harness/outcomes.ts';
import { createVerifiedUser, startRegstack, TEST_SECRET, type TestRegstack } from '../harness/regstack.ts';

const REPO_ROOT = resolve(import.meta.dirname, '../../..');
const CLI = resolve(REPO_ROOT, 'server/src/cli/main.ts');
const NODE_ARGS = ['--conditions=@regstack/source', '--disable-warning=ExperimentalWarning', CLI, 'create-admin'];
const PASSWORD = 'correct horse battery staple';
/** util-linux `script` gives the child a real pseudo-terminal with no native dependency of ours. */
const HAS_SCRIPT = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

interface Run {
  code: number | null;
  output: string;
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'regstack-create-admin-'));
  dirs.push(dir);
  return dir;
}

/** What every run must show: one clean outcome, no stack trace, never a password. */
function expectClean(run: Run, secrets: string[]): void {
  expect(run.output, 'a stack trace').not.toMatch(/^\s+at /m);
  for (const secret of secrets) expect(run.output, 'the password in the output').not.toContain(secret);
}

/** `regstack create-admin <args>` in a fresh directory; `stdin` piped then closed, or /dev/null (no terminal). */
function createAdmin(args: string[], env: Record<string, string>, stdin?: string): Promise<Run> {
  const child = spawn(process.execPath, [...NODE_ARGS, ...args], {
    cwd: freshDir(),
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += String(d);
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += String(d);
  });
  if (stdin !== undefined) child.stdin?.end(stdin);
  return new Promise((r) => child.once('close', (code) => r({ code, output })));
}

/**
 * `create-admin` on a pseudo-terminal: each entry of `typed` is sent once `prompts` has shown its prompt (typed
 * ahead, a terminal still in cooked mode would echo it), followed by Enter.
 */
function createAdminOnTerminal(args: string[], env: Record<string, string>, typed: string[]): Promise<Run> {
  const command = [process.execPath, ...NODE_ARGS, ...args].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    cwd: freshDir(),
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  let answered = 0;
  const onData = (d: Buffer) => {
    output += String(d);
    const prompts = output.match(/(Password for the new admin|Again, to confirm): /g)?.length ?? 0;
    while (answered < prompts && answered < typed.length) child.stdin.write(`${typed[answered++]}\r`);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  // A prompt that never comes (or never ends) fails the test with what was shown, not at vitest's timeout.
  const stuck = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((r) =>
    child.once('close', (code) => {
      clearTimeout(stuck);
      r({ code, output });
    }),
  );
}

describeEachBackend('regstack create-admin (issue 17 item 1)', (ctx) => {
  let t: TestRegstack;
  let env: Record<string, string>;
  const usersWith = (email: string) => ctx.storage.fork().count(UserSchema, { email });
  const login = (email: string, password: string) => t.regstack.createCaller().login({ email, password });
  const me = async (email: string, password: string) => {
    const res = await login(email, password);
    if (res.status !== 'authenticated') throw new Error(`expected authenticated, got ${res.status}`);
    return t.regstack.createCaller({ accessToken: res.accessToken }).account.me();
  };

  beforeAll(async () => {
    t = await startRegstack(ctx.url);
    env = { REGSTACK_DATABASE_URL: ctx.url, REGSTACK_JWT_SECRET: TEST_SECRET };
  });
  afterAll(async () => {
    await t?.regstack.close();
  });

  it('--password-stdin creates a verified, active superuser who can log in; a second run changes nothing', async () => {
    const run = await createAdmin(
      ['--email', 'Ops@Example.com', '--full-name', 'Ops Team', '--password-stdin'],
      env,
      `${PASSWORD}\n`,
    );
    expect(run.code, run.output).toBe(0);
    expect(run.output.trim()).toMatch(/^regstack: created ops@example\.com as an active, verified admin \(id \S+\)$/);
    expectClean(run, [PASSWORD]);
    expect(await me('ops@example.com', PASSWORD)).toMatchObject({
      email: 'ops@example.com',
      fullName: 'Ops Team',
      isActive: true,
      isVerified: true,
      isSuperuser: true,
    });

    // CRLF from a Windows-made secret file is one line too.
    const again = await createAdmin(['--email', 'ops@example.com', '--password-stdin'], env, `${PASSWORD}\r\n`);
    expect(again.code, again.output).toBe(0);
    expect(again.output.trim()).toBe('regstack: ops@example.com is already an active, verified admin; nothing changed');
    expectClean(again, [PASSWORD]);
    expect(await usersWith('ops@example.com')).toBe(1);
  });

  it.for([
    ['short', 'PASSWORD_TOO_SHORT'],
    ['password1234', 'PASSWORD_TOO_COMMON'],
  ])('refuses the weak password "%s" with the policy code %s and creates nothing', async ([weak, code]) => {
    const run = await createAdmin(['--email', 'weak@example.com', '--password-stdin'], env, `${weak}\n`);
    expect(run.code, run.output).toBe(1);
    expect(run.output.trim().split('\n')).toHaveLength(1);
    expect(run.output).toMatch(new RegExp(`^regstack: .+ \\(${code}\\)\\n$`));
    expectClean(run, [weak as string]);
    expect(await usersWith('weak@example.com')).toBe(0);
  });

  it('promotes an existing account without touching its password; another password for it is the conflict', async () => {
    const email = 'member@example.com';
    await createVerifiedUser(t, email, PASSWORD);
    expect((await me(email, PASSWORD)).isSuperuser).toBe(false);

    const other = 'a different strong passphrase 7';
    const conflict = await createAdmin(['--email', email, '--password-stdin'], env, `${other}\n`);
    expect(conflict.code, conflict.output).toBe(1);
    expect(conflict.output).toMatch(/--no-password .*\(ADMIN_PASSWORD_CONFLICT\)\n$/);
    expectClean(conflict, [other]);
    expect((await me(email, PASSWORD)).isSuperuser, 'a refused run changes nothing').toBe(false);

    const run = await createAdmin(['--email', email, '--no-password'], env);
    expect(run.code, run.output).toBe(0);
    expect(run.output.trim()).toBe(
      `regstack: promoted the existing account ${email} to an active, verified admin; its password is unchanged`,
    );
    expect(await me(email, PASSWORD)).toMatchObject({ isSuperuser: true, isActive: true, isVerified: true });
    expect(await codeOf(login(email, other))).toBe('INVALID_CREDENTIALS');

    // Its own password is accepted, and then there is nothing to do.
    const same = await createAdmin(['--email', email, '--password-stdin'], env, PASSWORD);
    expect(same.code, same.output).toBe(0);
    expect(same.output).toMatch(/already an active, verified admin; nothing changed/);
    expectClean(same, [PASSWORD]);
  });

  it('with no terminal and neither --password-stdin nor --no-password, refuses and creates nothing', async () => {
    const run = await createAdmin(['--email', 'script@example.com'], env);
    expect(run.code, run.output).toBe(1);
    expect(run.output).toMatch(/^regstack: no terminal to ask for the password: pipe it with --password-stdin/);
    expect(run.output.trim().split('\n')).toHaveLength(1);
    expectClean(run, []);
    expect(await usersWith('script@example.com')).toBe(0);
  });

  it('--password-stdin takes exactly one line: more is refused, and nothing is created', async () => {
    const run = await createAdmin(['--email', 'lines@example.com', '--password-stdin'], env, `${PASSWORD}\nsecond\n`);
    expect(run.code, run.output).toBe(1);
    expect(run.output).toBe('regstack: --password-stdin expects the password on one line\n');
    expect(await usersWith('lines@example.com')).toBe(0);
  });

  it('--no-password creates an admin without a password, and says so', async () => {
    const run = await createAdmin(['--email', 'nopass@example.com', '--no-password'], env);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/created nopass@example\.com .* without a password/);
    expect(await usersWith('nopass@example.com')).toBe(1);
  });

  describe.runIf(HAS_SCRIPT)('on a terminal', () => {
    it('asks for the password twice with no echo and creates the admin', async () => {
      const secret = 'terminal typed passphrase 42';
      const run = await createAdminOnTerminal(['--email', 'tty@example.com'], env, [secret, secret]);
      expect(run.code, run.output).toBe(0);
      expect(run.output).toMatch(/Password for the new admin: \r?\nAgain, to confirm: \r?\nregstack: created tty@/);
      expectClean(run, [secret]);
      expect((await me('tty@example.com', secret)).isSuperuser).toBe(true);
    });

    it('two different answers: nothing is created', async () => {
      const run = await createAdminOnTerminal(['--email', 'typo@example.com'], env, [
        'first typed passphrase 1',
        'second typed passphrase 2',
      ]);
      expect(run.code, run.output).toBe(1);
      expect(run.output).toMatch(/regstack: the two passwords differ; nothing done/);
      expectClean(run, ['first typed passphrase 1', 'second typed passphrase 2']);
      expect(await usersWith('typo@example.com')).toBe(0);
    });

    it('Ctrl-C at the password prompt exits 130 and creates nothing (issue 20 item 4)', async () => {
      const run = await createAdminOnTerminal(['--email', 'ctrlc@example.com'], env, ['\x03']);
      expect(run.code, run.output).toBe(130);
      expect(run.output).toMatch(/regstack: interrupted; nothing done/);
      expect(await usersWith('ctrlc@example.com')).toBe(0);
    });
  });
});

describe('regstack create-admin on a database with no schema yet (issue 17 item 1)', () => {
  it('installs the schema first, as serve does', async () => {
    const run = await createAdmin(
      ['--email', 'first@example.com', '--password-stdin'],
      { REGSTACK_DATABASE_URL: 'sqlite:./fresh.db', REGSTACK_JWT_SECRET: TEST_SECRET },
      PASSWORD,
    );
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/^regstack: created first@example\.com/);
  });
});
