/**
 * Issue 20 item 1: `regstack init` without a terminal (the real command, a child process): it writes a
 * regstack.toml that the loader accepts and a regstack.secrets.env of mode 0600 holding a fresh JWT secret (and a
 * database URL with a password, or the SMTP password, moved out of the TOML); it prints no secret; it refuses to
 * overwrite without --force, --if-missing is a quiet success; a bad answer or an unreachable database writes
 * nothing. `regstack doctor` passes on what it wrote.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { loadConfig } from '@regstack/server';
import { describe, expect, it } from 'vitest';
import { freePort } from '../harness/ferretdb.ts';
import { expectNoStackTrace, freshDir, NODE_ARGS, runCli } from './cli-process.ts';

/** util-linux `script` gives the child a real pseudo-terminal with no native dependency of ours. */
const HAS_SCRIPT = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

/**
 * `regstack init` on a pseudo-terminal of 120 columns: each [shown, typed] pair types `typed` once `shown` has
 * appeared on the screen (escape sequences removed), in order. Resolves with the screen text and the exit code.
 */
function initOnTerminal(dir: string, steps: [string, string][]): Promise<{ code: number | null; screen: string }> {
  const command = [process.execPath, ...NODE_ARGS, 'init'].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
  const child = spawn('script', ['-qec', `stty cols 120 rows 40; ${command}`, '/dev/null'], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let raw = '';
  let next = 0;
  const screen = () => stripVTControlCharacters(raw);
  const onData = (d: Buffer) => {
    raw += String(d);
    while (next < steps.length && screen().includes((steps[next] as [string, string])[0])) {
      const typed = (steps[next++] as [string, string])[1];
      // A moment for the prompt to take the keyboard (raw mode) before the keys arrive.
      setTimeout(() => child.stdin.write(typed), 300);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const stuck = setTimeout(() => child.kill('SIGKILL'), 40_000);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(stuck);
      resolve({ code, screen: screen() });
    }),
  );
}

const ENTER = '\r';
const DOWN = '\x1b[B';
const LEFT = '\x1b[D';

describe('regstack init, non-interactive (issue 20 item 1)', () => {
  it('--yes writes a loadable regstack.toml and a 0600 secrets file with a fresh secret, printing no secret', async () => {
    const dir = freshDir();
    const run = await runCli(['init', '--yes', '--base-url', 'https://accounts.example.com', '--admin', '--no-pages'], {
      cwd: dir,
    });
    expect(run.code, run.stderr).toBe(0);
    expectNoStackTrace(run);
    expect(readdirSync(dir).sort()).toEqual(['regstack.secrets.env', 'regstack.toml']);
    const secrets = readFileSync(join(dir, 'regstack.secrets.env'), 'utf8');
    expect(statSync(join(dir, 'regstack.secrets.env')).mode & 0o777).toBe(0o600);
    const secret = /^REGSTACK_JWT_SECRET=([A-Za-z0-9_-]{43})$/m.exec(secrets)?.[1];
    expect(secret).toBeDefined();
    expect(run.stdout + run.stderr).not.toContain(secret as string);
    expect(readFileSync(join(dir, 'regstack.toml'), 'utf8')).not.toMatch(/jwt_secret|REGSTACK_JWT_SECRET=/);
    const config = await loadConfig({ cwd: dir, env: {} });
    expect(config).toMatchObject({
      baseUrl: 'https://accounts.example.com',
      enableAdminRouter: true,
      enableUiRouter: false,
      databaseUrl: 'sqlite:./regstack.db',
    });
    expect(config.jwtSecret).toBe(secret);

    const second = await runCli(['init', '--yes'], { cwd: dir });
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/already exist; nothing written \(use --force to replace, --if-missing to keep\)/);
    expect(readFileSync(join(dir, 'regstack.secrets.env'), 'utf8')).toBe(secrets);
    const quiet = await runCli(['init', '--if-missing'], { cwd: dir });
    expect(quiet.code).toBe(0);
    expect(readFileSync(join(dir, 'regstack.secrets.env'), 'utf8')).toBe(secrets);
    const forced = await runCli(['init', '--yes', '--force'], { cwd: dir });
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(join(dir, 'regstack.secrets.env'), 'utf8')).not.toBe(secrets);

    // What it wrote passes the doctor once the schema is installed.
    expect((await runCli(['migrate'], { cwd: dir })).code).toBe(0);
    const doctor = await runCli(['doctor'], { cwd: dir });
    expect(doctor.code, doctor.stdout).toBe(0);
  });

  it('secrets go to the secrets file: a database URL with a password, the SMTP password from stdin', async () => {
    const dir = freshDir();
    const url = 'postgresql://regstack:regstack@127.0.0.1:5432/postgres';
    const run = await runCli(
      [
        'init',
        '--yes',
        '--database-url',
        url,
        '--email-backend',
        'smtp',
        '--smtp-host',
        'smtp.example.com',
        '--smtp-username',
        'mailer',
        '--smtp-password-stdin',
      ],
      { cwd: dir, stdin: 'smtp-secret-9911\n' },
    );
    expect(run.code, run.stderr).toBe(0);
    const toml = readFileSync(join(dir, 'regstack.toml'), 'utf8');
    const secrets = readFileSync(join(dir, 'regstack.secrets.env'), 'utf8');
    expect(toml).not.toMatch(/regstack:regstack@|smtp-secret-9911/);
    expect(secrets).toMatch(/^REGSTACK_DATABASE_URL=postgresql:\/\/regstack:regstack@/m);
    expect(secrets).toMatch(/^REGSTACK_EMAIL__SMTP_PASSWORD=smtp-secret-9911$/m);
    expect(run.stdout + run.stderr).not.toMatch(/smtp-secret-9911|regstack:regstack@/);
    const config = await loadConfig({ cwd: dir, env: {} });
    expect(config.email).toMatchObject({ backend: 'smtp', smtpHost: 'smtp.example.com', smtpUsername: 'mailer' });
    expect(config.email.smtpPassword).toBe('smtp-secret-9911');
  });

  it('--sms-backend twilio: SID and sender in the TOML, the auth token from stdin to the secrets file (issue 20 item 2)', async () => {
    const dir = freshDir();
    const token = 'twilio-token-5521';
    const run = await runCli(
      [
        'init',
        '--yes',
        '--sms-backend',
        'twilio',
        '--twilio-account-sid',
        'AC0123456789abcdef0123456789abcdef',
        '--twilio-messaging-service-sid',
        'MG0123456789abcdef0123456789abcdef',
        '--twilio-auth-token-stdin',
      ],
      { cwd: dir, stdin: `${token}\n` },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout + run.stderr).not.toContain(token);
    expect(readFileSync(join(dir, 'regstack.toml'), 'utf8')).not.toContain(token);
    expect(readFileSync(join(dir, 'regstack.secrets.env'), 'utf8')).toMatch(
      new RegExp(`^REGSTACK_SMS__TWILIO_AUTH_TOKEN=${token}$`, 'm'),
    );
    const config = await loadConfig({ cwd: dir, env: {} });
    expect(config.sms).toMatchObject({
      backend: 'twilio',
      twilioAccountSid: 'AC0123456789abcdef0123456789abcdef',
      twilioMessagingServiceSid: 'MG0123456789abcdef0123456789abcdef',
      twilioAuthToken: token,
    });
    const sns = freshDir();
    const snsRun = await runCli(['init', '--yes', '--sms-backend', 'sns', '--sns-region', 'us-east-2'], { cwd: sns });
    expect(snsRun.code, snsRun.stderr).toBe(0);
    expect((await loadConfig({ cwd: sns, env: {} })).sms).toMatchObject({ backend: 'sns', snsRegion: 'us-east-2' });
    const missing = await runCli(['init', '--yes', '--sms-backend', 'twilio'], { cwd: freshDir() });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/twilio_account_sid is required/);
  });

  it('an unreachable database or an invalid answer: exit 1, nothing written', async () => {
    const dir = freshDir();
    const dead = await runCli(['init', '--yes', '--database-url', `postgresql://u:p@127.0.0.1:${await freePort()}/x`], {
      cwd: dir,
    });
    expect(dead.code).toBe(1);
    expect(dead.stderr).toMatch(/^regstack: database_url: cannot reach the PostgreSQL database/);
    expect(dead.stderr).not.toContain('u:p@');
    const bad = await runCli(['init', '--yes', '--base-url', 'accounts.example.com'], { cwd: dir });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/base_url .*must be an absolute http\(s\) URL/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe.runIf(HAS_SCRIPT)('regstack init on a terminal (issue 20 item 1)', () => {
  it('asks each question, masks the SMTP password, and writes what was answered', async () => {
    const dir = freshDir();
    const secret = 'typed-smtp-secret-77';
    const run = await initOnTerminal(dir, [
      ['Public URL', ENTER],
      ['SQLite file', ENTER],
      ['Database URL', ENTER],
      ['Email transport', DOWN + ENTER], // SMTP
      ['Sender address', ENTER],
      ['SMTP host', `smtp.example.com${ENTER}`],
      ['SMTP port', ENTER],
      ['SMTP user', `mailer${ENTER}`],
      ['SMTP password', secret + ENTER],
      ['SMS (for', DOWN + ENTER], // console
      ['account pages', ENTER],
      ['admin API', LEFT + ENTER], // Yes
    ]);
    expect(run.code, run.screen).toBe(0);
    expect(run.screen).toMatch(/wrote \S+regstack\.secrets\.env \(mode 0600: REGSTACK_JWT_SECRET/);
    expect(run.screen, 'the SMTP password on the screen').not.toContain(secret);
    expect(statSync(join(dir, 'regstack.secrets.env')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'regstack.secrets.env'), 'utf8')).toMatch(
      new RegExp(`^REGSTACK_EMAIL__SMTP_PASSWORD=${secret}$`, 'm'),
    );
    const config = await loadConfig({ cwd: dir, env: {} });
    expect(config).toMatchObject({
      enableUiRouter: true,
      enableAdminRouter: true,
      databaseUrl: 'sqlite:./regstack.db',
    });
    expect(config.email).toMatchObject({
      backend: 'smtp',
      smtpHost: 'smtp.example.com',
      smtpPort: 587,
      smtpUsername: 'mailer',
    });
    expect(config.sms.backend).toBe('console');
  });

  it('Twilio: asks the SID, the auth token (masked) and the sender (issue 20 item 2)', async () => {
    const dir = freshDir();
    const token = 'typed-twilio-token-31';
    const run = await initOnTerminal(dir, [
      ['Public URL', ENTER],
      ['SQLite file', ENTER],
      ['Database URL', ENTER],
      ['Email transport', ENTER],
      ['Sender address', ENTER],
      ['SMS (for', DOWN + DOWN + ENTER], // Twilio
      ['account SID', `AC0123456789abcdef0123456789abcdef${ENTER}`],
      ['auth token', token + ENTER],
      ['Twilio sender', `+15005550006${ENTER}`],
      ['account pages', ENTER],
      ['admin API', ENTER],
    ]);
    expect(run.code, run.screen).toBe(0);
    expect(run.screen).not.toContain(token);
    const config = await loadConfig({ cwd: dir, env: {} });
    expect(config.sms).toMatchObject({
      backend: 'twilio',
      twilioAccountSid: 'AC0123456789abcdef0123456789abcdef',
      twilioAuthToken: token,
      fromNumber: '+15005550006',
    });
  });

  it('Ctrl-C at a prompt exits 130 and writes nothing (issue 20 item 4)', async () => {
    const dir = freshDir();
    const run = await initOnTerminal(dir, [['Public URL', '\x03']]);
    expect(run.code, run.screen).toBe(130);
    expect(readdirSync(dir)).toEqual([]);
  });
});
