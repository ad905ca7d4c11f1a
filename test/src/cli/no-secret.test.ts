/**
 * Issue 20 item 4 (small fixes), the real command as a child process:
 *
 * - `regstack migrate`, `purge` and `doctor` sign and verify nothing, so they run without a `jwt_secret` (a deploy
 *   pipeline's schema step or a cron purge should not hold the signing secret); `doctor` reports the missing secret
 *   as its own failed check and still checks the database. `serve` keeps requiring it (serve.test.ts).
 * - `regstack migrate --status` / `--dry-run` on a SQLite file that does not exist yet report everything pending
 *   and do not create the file.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { expectNoStackTrace, freshDir, runCli } from './cli-process.ts';

describeEachBackend('regstack migrate / purge / doctor without a jwt_secret (issue 20 item 4)', (ctx) => {
  const env = () => ({ REGSTACK_DATABASE_URL: ctx.url });

  it('migrate and purge run without REGSTACK_JWT_SECRET', async () => {
    const migrate = await runCli(['migrate'], { env: env(), cwd: freshDir() });
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(migrate.stderr).toMatch(/schema up to date/);
    const status = await runCli(['migrate', '--status'], { env: env(), cwd: freshDir() });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/the schema is current/);
    const purge = await runCli(['purge'], { env: env(), cwd: freshDir() });
    expect(purge.code, purge.stderr).toBe(0);
    expect(purge.stdout).toMatch(/^removed \d+ rows in total$/m);
    const dry = await runCli(['purge', '--dry-run'], { env: env(), cwd: freshDir() });
    expect(dry.code, dry.stderr).toBe(0);
    for (const run of [migrate, status, purge, dry]) {
      expectNoStackTrace(run);
      expect(run.stderr).not.toMatch(/jwt_secret/);
    }
  });

  it('doctor reports the missing secret as its own failure and still checks the database', async () => {
    const run = await runCli(['doctor', '--json'], { env: env(), cwd: freshDir() });
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as { checks: { check: string; status: string; message: string }[] };
    expect(report.checks.find((c) => c.check === 'jwt_secret')).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(/is not set/),
    });
    expect(report.checks.filter((c) => c.check === 'config' && c.status === 'fail')).toEqual([]);
    expect(report.checks.find((c) => c.check === 'database')?.status).toBe('ok');
  });
});

describe('regstack migrate --status on a SQLite file not created yet (issue 20 item 4)', () => {
  it('reports every migration pending and creates no file', async () => {
    const dir = freshDir();
    for (const flag of ['--status', '--dry-run']) {
      const run = await runCli(['migrate', flag], { env: { REGSTACK_DATABASE_URL: 'sqlite:./later.db' }, cwd: dir });
      expect(run.code, run.stderr).toBe(0);
      expectNoStackTrace(run);
      expect(run.stdout).toMatch(/the file does not exist yet/);
      expect(run.stdout).toMatch(/^0 migrations applied, \d+ pending: run "regstack migrate"/m);
      expect(existsSync(join(dir, 'later.db')), `${flag} created the file`).toBe(false);
    }
    const install = await runCli(['migrate'], { env: { REGSTACK_DATABASE_URL: 'sqlite:./later.db' }, cwd: dir });
    expect(install.code, install.stderr).toBe(0);
    expect(existsSync(join(dir, 'later.db'))).toBe(true);
  });
});
