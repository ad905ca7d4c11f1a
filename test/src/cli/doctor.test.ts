/**
 * Issue 20 item 2: `regstack doctor` (the real command, a child process). Green — exit 0, every line ✓ (the argon2
 * cost may warn on a loaded machine, never fail) — on a good setup on every backend, with SMTP to a real server in
 * this process, whose `--send-test-email` message really arrives; `--json` parses and says the same. Red — exit 1,
 * a ✗ line with the right message and a fix — for a missing migration (every backend), a wrong password in the
 * PostgreSQL URL, an unreachable PostgreSQL / MongoDB / SQLite, a weak JWT secret, the development secret under
 * NODE_ENV=production, http base_url in production, a closed SMTP port, and an unknown configuration key. No run
 * prints the JWT secret or the database password.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDevSecret } from '@regstack/server';
import { openStorage } from '@regstack/server/internal';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startSmtpServer, type TestSmtpServer } from '../email/smtp-test-server.ts';
import { createTestDatabase, type TestDatabase } from '../harness/backends.ts';
import { describeEachBackend } from '../harness/each-backend.ts';
import { freePort } from '../harness/ferretdb.ts';
import { TEST_SECRET } from '../harness/regstack.ts';
import { type CliRun, expectNoStackTrace, freshDir, runCli } from './cli-process.ts';

interface Check {
  check: string;
  status: 'ok' | 'warn' | 'fail';
  message: string;
  fix?: string;
}

let smtp: TestSmtpServer;
beforeAll(async () => {
  // Plain SMTP without AUTH: the child process has no way to trust this run's self-signed certificate.
  smtp = await startSmtpServer({ starttls: false, users: {} });
});
afterAll(async () => {
  await smtp?.stop();
});

function smtpEnv(port = smtp.port): Record<string, string> {
  return {
    REGSTACK_EMAIL__BACKEND: 'smtp',
    REGSTACK_EMAIL__SMTP_HOST: '127.0.0.1',
    REGSTACK_EMAIL__SMTP_PORT: String(port),
    REGSTACK_EMAIL__SMTP_STARTTLS: 'false',
    REGSTACK_EMAIL__FROM_ADDRESS: 'accounts@example.com',
  };
}

function doctor(args: string[], env: Record<string, string>, cwd?: string): Promise<CliRun> {
  return runCli(['doctor', ...args], { env, ...(cwd && { cwd }), timeoutMs: 90_000 });
}

/** The ✓/⚠/✗ lines of a text report, by check name. */
function lines(run: CliRun, check: string): string[] {
  return run.stdout.split('\n').filter((line) => new RegExp(`^[✓⚠✗] ${check.replace('.', '\\.')}: `).test(line));
}

function expectClean(run: CliRun, secrets: string[]): void {
  expectNoStackTrace(run);
  for (const secret of secrets) expect(run.stdout + run.stderr, 'a secret in the output').not.toContain(secret);
}

/** A failed check: exit 1, the ✗ line matching `message`, and a fix line right under it matching `fix`. */
function expectFailure(run: CliRun, check: string, message: RegExp, fix: RegExp): void {
  expect(run.code, run.stdout + run.stderr).toBe(1);
  const all = run.stdout.split('\n');
  const at = all.findIndex((line) => line.startsWith(`✗ ${check}: `) && message.test(line));
  expect(at, `no ✗ ${check} line matching ${message}:\n${run.stdout}`).toBeGreaterThanOrEqual(0);
  expect(all[at + 1] ?? '').toMatch(/^ {4}fix: /);
  expect(all[at + 1] ?? '').toMatch(fix);
}

describeEachBackend('regstack doctor on a good setup (issue 20 item 2)', (ctx) => {
  it('every check passes (exit 0); --send-test-email delivers; --json says the same', async () => {
    const env = { REGSTACK_DATABASE_URL: ctx.url, REGSTACK_JWT_SECRET: TEST_SECRET, ...smtpEnv() };
    const before = smtp.messages.length;
    const run = await doctor(['--send-test-email', 'ops@example.com'], env);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expectClean(run, [TEST_SECRET]);
    expect(run.stdout).not.toMatch(/^✗/m);
    for (const check of ['config', 'jwt_secret', 'base_url', 'database', 'schema', 'clock', 'sms']) {
      expect(lines(run, check), run.stdout).toEqual([expect.stringMatching(/^✓ /)]);
    }
    expect(lines(run, 'database')[0]).toMatch(/reachable \(opened in \d+ ms, round trip [\d.]+ ms\)/);
    expect(lines(run, 'schema')[0]).toMatch(/^✓ schema: current/);
    expect(lines(run, 'email')).toEqual([
      `✓ email: SMTP 127.0.0.1:${smtp.port} accepts the connection and credentials`,
      expect.stringMatching(/^✓ email: test message to ops@example\.com accepted by the smtp backend/),
    ]);
    expect(lines(run, 'argon2')[0]).toMatch(/^[✓⚠] argon2: m=19456 KiB, t=2, p=1: \d+ ms per hash/);
    expect(run.stdout).toMatch(/^all checks passed/m);
    const [mail] = await smtp.waitForMessages(before + 1);
    const sent = smtp.messages[before] ?? mail;
    expect(sent?.rcptTo).toEqual(['ops@example.com']);
    expect(sent?.parsed.subject).toBe('RegStack: regstack doctor test message');

    const json = await doctor(['--json'], env);
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as { ok: boolean; failed: number; checks: Check[] };
    expect(report.ok).toBe(true);
    expect(report.failed).toBe(0);
    expect(report.checks.map((c) => c.check)).toEqual(
      expect.arrayContaining(['config', 'jwt_secret', 'base_url', 'database', 'schema', 'clock', 'email', 'argon2']),
    );
    expect(report.checks.find((c) => c.check === 'schema')?.status).toBe('ok');
    expect(smtp.messages.length, '--send-test-email was not given: nothing more is sent').toBe(before + 1);
  });

  it('a missing migration (or index): ✗ schema naming it, fix "regstack migrate"', async () => {
    const db: TestDatabase = await createTestDatabase(ctx.backend, inject('backends').mongoUrls);
    const storage = await openStorage(db.url);
    try {
      const mongo = ctx.backend === 'mongodb' || ctx.backend === 'mongodb-real';
      // SQL: every migration but the first has run; MongoDB: no index at all.
      if (!mongo) await storage.orm.migrator.up({ to: (await storage.orm.migrator.getPending())[0]?.name as string });
      const state = await storage.schemaState();
      if (state.current) throw new Error('expected missing schema');
      const env = { REGSTACK_DATABASE_URL: db.url, REGSTACK_JWT_SECRET: TEST_SECRET };
      const run = await doctor([], env);
      const unit = mongo ? 'indexes' : 'migrations';
      const named = state.missing.map((m) => m.replace(/[()]/g, '\\$&')).join('; ');
      expectFailure(
        run,
        'schema',
        new RegExp(`^✗ schema: ${state.missing.length} ${unit} missing: ${named}$`),
        /run "regstack migrate"/,
      );
      expect(lines(run, 'database')[0]).toMatch(/^✓ /);
      const json = JSON.parse((await doctor(['--json'], env)).stdout) as { ok: boolean; checks: Check[] };
      expect(json.ok).toBe(false);
      expect(json.checks.find((c) => c.check === 'schema')).toMatchObject({
        status: 'fail',
        fix: expect.stringMatching(/regstack migrate/),
      });
    } finally {
      await storage.close();
      await db.drop();
    }
  });
});

describe('regstack doctor: what it catches (issue 20 item 2)', () => {
  const sqlite = { REGSTACK_DATABASE_URL: 'sqlite:./doctor.db', REGSTACK_JWT_SECRET: TEST_SECRET };

  it('a wrong password in the PostgreSQL URL: ✗ database, the password never printed', async () => {
    const { backends } = { backends: inject('backends') };
    if (!backends.available.includes('postgres')) return;
    const url = 'postgresql://regstack:not-the-password-4711@127.0.0.1:5432/postgres';
    const run = await doctor([], { REGSTACK_DATABASE_URL: url, REGSTACK_JWT_SECRET: TEST_SECRET });
    expectFailure(run, 'database', /password authentication failed/, /user name or password in database_url is wrong/);
    expectClean(run, ['not-the-password-4711', TEST_SECRET]);
  });

  it.for([
    ['PostgreSQL', (port: number) => `postgresql://regstack:regstack@127.0.0.1:${port}/regstack`],
    ['MongoDB', (port: number) => `mongodb://127.0.0.1:${port}/regstack`],
  ] as const)('an unreachable %s: ✗ database, fix: start it or correct host and port', async ([name, url]) => {
    const run = await doctor([], {
      REGSTACK_DATABASE_URL: url(await freePort()),
      REGSTACK_DATABASE_CONNECT_TIMEOUT_MS: '1000',
      REGSTACK_JWT_SECRET: TEST_SECRET,
    });
    expectFailure(
      run,
      'database',
      new RegExp(`cannot reach the ${name} database`),
      /start the database server, or correct the host and port/,
    );
    expect(lines(run, 'schema'), 'no schema check without a database').toEqual([]);
    expectClean(run, [TEST_SECRET]);
  });

  it('a PostgreSQL host list where no host can be used: ✗ database naming each host, with the host-list fix', async () => {
    const [a, b] = [await freePort(), await freePort()];
    const url = `postgresql://regstack:not-printed-4711@127.0.0.1:${a},127.0.0.1:${b}/postgres?target_session_attrs=read-write`;
    const run = await doctor([], { REGSTACK_DATABASE_URL: url, REGSTACK_JWT_SECRET: TEST_SECRET });
    expectFailure(
      run,
      'database',
      new RegExp(
        `no PostgreSQL server of the list accepted a read-write connection.*127\\.0\\.0\\.1:${a}.*127\\.0\\.0\\.1:${b}`,
      ),
      /start or promote a primary, or correct the host list/,
    );
    expectClean(run, ['not-printed-4711']);
  });

  it('a SQLite file in a directory that does not exist: ✗ database, and the doctor does not create it', async () => {
    const cwd = freshDir();
    const run = await doctor([], { ...sqlite, REGSTACK_DATABASE_URL: 'sqlite:./no/such/dir/x.db' }, cwd);
    expectFailure(
      run,
      'database',
      /the SQLite file \S+x\.db does not exist and its directory/,
      /create that directory/,
    );
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('a SQLite file not created yet (right after init): ⚠ database, exit 0, and the doctor does not create it', async () => {
    const cwd = freshDir();
    const run = await doctor([], { ...sqlite, REGSTACK_DATABASE_URL: 'sqlite:./fresh.db' }, cwd);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /^⚠ database: the SQLite file \S+fresh\.db does not exist yet: "regstack serve" or "regstack migrate" creates it/m,
    );
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('a weak JWT secret (long enough, but a pattern): ✗ jwt_secret, never printed', async () => {
    const weak = 'abcdabcdabcdabcdabcdabcdabcdabcdabcdabcd';
    const run = await doctor([], { ...sqlite, REGSTACK_JWT_SECRET: weak });
    expectFailure(run, 'jwt_secret', /40 characters but only about \d+ bits of entropy/, /randomBytes\(32\)/);
    expectClean(run, [weak]);
  });

  it('the development secret with NODE_ENV=production: ✗ jwt_secret; http base_url in production: ✗ base_url', async () => {
    const cwd = freshDir();
    await ensureDevSecret({ cwd, env: {} });
    const run = await doctor(
      [],
      {
        NODE_ENV: 'production',
        REGSTACK_DATABASE_URL: 'sqlite:./doctor.db',
        REGSTACK_BASE_URL: 'http://accounts.example.com',
      },
      cwd,
    );
    expectFailure(run, 'jwt_secret', /is the development secret/, /NODE_ENV=production needs a secret of its own/);
    expectFailure(run, 'base_url', /is not https with NODE_ENV=production/, /https:\/\/accounts\.example\.com/);
    // The same file outside production is fine.
    const dev = await doctor([], { REGSTACK_DATABASE_URL: 'sqlite:./doctor.db' }, cwd);
    expect(lines(dev, 'jwt_secret')[0]).toMatch(/^✓ /);
  });

  it('a closed SMTP port: ✗ email naming smtp_host and smtp_port', async () => {
    const port = await freePort();
    const run = await doctor([], { ...sqlite, ...smtpEnv(port) });
    expectFailure(
      run,
      'email',
      new RegExp(`SMTP 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`),
      /check email\.smtp_host and email\.smtp_port/,
    );
  });

  it('an unknown configuration key: ✗ config with the suggestion, and nothing else is checked', async () => {
    const cwd = freshDir();
    writeFileSync(join(cwd, 'regstack.toml'), 'jwt_ttl_secnds = 600\n');
    const run = await doctor([], sqlite, cwd);
    expectFailure(
      run,
      'config',
      /jwt_ttl_secnds .*unknown setting.*did you mean jwt_ttl_seconds\?/,
      /docs\/configuration\.md/,
    );
    expect(lines(run, 'database')).toEqual([]);
  });

  it('--check-dns looks up SPF, DMARC and MX of the sender domain (a .invalid domain has none)', async () => {
    const run = await doctor(['--check-dns'], { ...sqlite, REGSTACK_EMAIL__FROM_ADDRESS: 'noreply@regstack.invalid' });
    // Without a resolver at all the lookups are warnings ("could not look up"); with one, .invalid has no records.
    const spf = lines(run, 'dns.spf')[0] ?? '';
    expect(spf).toMatch(
      /^(✗ dns\.spf: regstack\.invalid publishes no SPF record|⚠ dns\.spf: could not look up regstack\.invalid)/,
    );
    expect(lines(run, 'dns.dmarc')).toHaveLength(1);
    expect(lines(run, 'dns.mx')).toHaveLength(1);
  });
});
