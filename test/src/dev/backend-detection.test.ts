/**
 * Issue 16 item 1: `./dev test` passes on SQLite alone and says plainly which backends ran and why the others
 * were skipped. `detectBackends` is checked against real unreachable servers (a loopback port nothing listens
 * on, a FerretDB binary that is not there), and a whole vitest run with PostgreSQL pointed at a dead port must
 * open and close with that report and still end on the `N passed, N failed` line CI reads.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { backendReport, detectBackends, PG_ADMIN_URL } from '../harness/backends.ts';
import { freePort } from '../harness/ferretdb.ts';

const TEST_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('backend detection (issue 16 item 1)', () => {
  it('skips PostgreSQL and MongoDB that are not there, naming where it looked and never the password', async () => {
    const port = await freePort(); // free a moment ago: nothing listens there
    const started = Date.now();
    const { availability, cleanups } = await detectBackends({
      wanted: ['sqlite', 'postgres', 'mongodb'],
      pgUrl: `postgresql://regstack:hunter2-secret@127.0.0.1:${port}/postgres`,
      ferretDbBin: '/nonexistent/regstack/ferretdb',
    });
    expect(cleanups).toEqual([]);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(availability.available).toEqual(['sqlite']);
    const reasons = Object.fromEntries(availability.skipped.map((s) => [s.backend, s.reason]));
    expect(reasons.postgres).toMatch(new RegExp(`^127\\.0\\.0\\.1:${port} not reachable \\(ECONNREFUSED\\)`));
    expect(reasons.postgres).toContain('REGSTACK_TEST_PG_URL');
    expect(reasons.mongodb).toContain('no FerretDB binary at /nonexistent/regstack/ferretdb');
    expect(reasons.mongodb).toContain('.ci/setup.sh');
    const report = backendReport(availability, 'ran', null);
    expect(report).toMatch(
      new RegExp(
        `^backends: sqlite ran; postgres skipped \\(127\\.0\\.0\\.1:${port} not reachable .*\\); mongodb skipped \\(no FerretDB binary`,
      ),
    );
    expect(report).not.toContain('hunter2');
  });

  it('reports a given MongoDB-wire URL that does not answer', async () => {
    const port = await freePort();
    const { availability } = await detectBackends({
      wanted: ['mongodb'],
      pgUrl: PG_ADMIN_URL,
      ferretDbUrl: `mongodb://127.0.0.1:${port}`,
      timeoutMs: 1000,
    });
    expect(availability.available).toEqual([]);
    expect(availability.skipped[0]?.reason).toMatch(
      new RegExp(`^REGSTACK_TEST_FERRETDB_URL: 127\\.0\\.0\\.1:${port} not reachable`),
    );
  });

  it.skipIf(!inject('backends').available.includes('postgres'))(
    'finds the PostgreSQL server that is there',
    async () => {
      const { availability } = await detectBackends({ wanted: ['postgres'], pgUrl: PG_ADMIN_URL });
      expect(availability).toEqual({ available: ['postgres'], skipped: [], mongoUrls: {} });
    },
  );

  it('a run with PostgreSQL unreachable says so at its start and end, and still passes', async () => {
    const port = await freePort();
    const { REGSTACK_REQUIRE_BACKENDS: _required, NODE_OPTIONS: _options, VITEST: _v, ...env } = process.env;
    const run = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          join(TEST_ROOT, 'node_modules/vitest/vitest.mjs'),
          'run',
          'src/storage/ids.test.ts',
          'src/storage/outbox-leases.test.ts',
        ],
        {
          cwd: TEST_ROOT,
          env: {
            ...env,
            REGSTACK_TEST_BACKENDS: 'sqlite,postgres',
            REGSTACK_TEST_PG_URL: `postgresql://regstack:regstack@127.0.0.1:${port}/postgres`,
            NO_COLOR: '1',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      child.stdout.on('data', (d) => {
        out += String(d);
      });
      child.stderr.on('data', (d) => {
        out += String(d);
      });
      child.once('error', reject);
      child.once('exit', (code) => resolve({ code, out }));
    });
    const lines = run.out.trimEnd().split('\n');
    const skipped = `postgres skipped (127.0.0.1:${port} not reachable (ECONNREFUSED)`;
    const opening = lines.find((l) => l.startsWith('[regstack tests] backends: sqlite runs; '));
    const closing = lines.at(-2);
    expect(opening, run.out).toContain(skipped);
    expect(closing, run.out).toContain(`[regstack tests] backends: sqlite ran; ${skipped}`);
    expect(lines.at(-1), run.out).toMatch(/^[1-9][0-9]* passed, 0 failed, [1-9][0-9]* skipped$/);
    expect(run.code, run.out).toBe(0);
  }, 120_000);
});
