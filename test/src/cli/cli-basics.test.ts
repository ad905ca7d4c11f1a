/**
 * Issue 20 item 7: `regstack --version`, `--config` on every command, `--help` with examples and the exit codes,
 * and the exit codes themselves: 0 done (help and version asked for), 1 failed, 2 called wrong (nothing done).
 * Every run is the real command as a child process.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectNoStackTrace, freshDir, REPO_ROOT, runCli } from './cli-process.ts';

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'server/package.json'), 'utf8')) as { version: string })
  .version;
/** Every command of the CLI; each must take --config and show examples. */
const COMMANDS = ['init', 'serve', 'migrate', 'doctor', 'purge', 'create-admin'];

describe('regstack --version and --help (issue 20 item 7)', () => {
  it.for(['--version', '-V'])('%s prints the package version and exits 0', async (flag) => {
    const run = await runCli([flag]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(`${VERSION}\n`);
  });

  it('--help lists every command, examples and the exit codes, and exits 0', async () => {
    const run = await runCli(['--help']);
    expect(run.code, run.stderr).toBe(0);
    for (const command of COMMANDS) expect(run.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    expect(run.stdout).toMatch(/^Examples:\n {2}\$ regstack /m);
    expect(run.stdout).toMatch(/^Exit codes:\n {2}0 .*\n {2}1 .*\n {2}2 {2}usage error.*\n {2}3 {2}purge/m);
  });

  it.for(COMMANDS)(
    '%s --help shows -c, --config and examples; "regstack help <command>" is the same',
    async (command) => {
      const run = await runCli([command, '--help']);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/^ {2}-c, --config <file> /m);
      expect(run.stdout).toMatch(new RegExp(`^Examples:\\n {2}\\$ (\\S+=\\S+ )?regstack ${command}`, 'm'));
      const help = await runCli(['help', command]);
      expect(help.code).toBe(0);
      expect(help.stdout).toBe(run.stdout);
    },
  );
});

describe('regstack usage errors exit 2, having done nothing (issue 20 item 7)', () => {
  it.for([
    [['frobnicate'], /^error: unknown command 'frobnicate'/],
    [['purge', '--no-such-flag'], /^error: unknown option '--no-such-flag'/],
    [['purge', '--batch-size', 'many'], /^error: option '--batch-size <rows>' argument 'many' is invalid/],
    [['create-admin'], /^error: required option '--email <email>' not specified/],
    [[], /^Usage: regstack /],
  ] as const)('regstack %j', async ([args, message]) => {
    const run = await runCli([...args]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(message);
    expectNoStackTrace(run);
  });
});

describe('regstack --config on every command (issue 20 item 7)', () => {
  it.for(COMMANDS.filter((c) => !['init', 'create-admin', 'doctor'].includes(c)))(
    '%s --config names the file it reads: a missing one is a configuration error, exit 1',
    async (command) => {
      const run = await runCli([command, '--config', 'missing.toml']);
      expect(run.code, run.stderr).toBe(1);
      expect(run.stderr).toBe('Invalid regstack configuration (1 problem):\n  - missing.toml: file not found\n');
    },
  );

  it('doctor --config: the missing file is its failed config check', async () => {
    const run = await runCli(['doctor', '--config', 'missing.toml']);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/^✗ config: missing\.toml: file not found$/m);
  });

  it('create-admin --config is read too', async () => {
    const run = await runCli(['create-admin', '--email', 'a@example.com', '--no-password', '-c', 'missing.toml']);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/missing\.toml: file not found/);
  });

  it('the file given is the one read: its database_url is used', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'elsewhere.toml'), 'database_url = "sqlite:./from-elsewhere.db"\n');
    const run = await runCli(['migrate', '--config', 'elsewhere.toml'], {
      cwd: dir,
      env: { REGSTACK_JWT_SECRET: 'x'.repeat(40) },
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/from-elsewhere\.db/);
  });
});
