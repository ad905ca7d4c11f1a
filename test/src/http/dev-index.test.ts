/**
 * Issue 16 item 6: `regstack serve --dev` answers `/` with an index of what it serves — the tRPC endpoint
 * with every procedure and its method, `/healthz`, the link pages — under the pages' strict headers (R59);
 * without `--dev` (production) `/` stays a 404. Runs the real command line in a child process on SQLite.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../harness/ferretdb.ts';
import { TEST_SECRET } from '../harness/regstack.ts';

const CLI = resolve(import.meta.dirname, '../../../server/src/cli/main.ts');

interface Served {
  url: string;
  child: ChildProcess;
}

async function serve(dir: string, args: string[]): Promise<Served> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      '--conditions=@regstack/source',
      '--disable-warning=ExperimentalWarning',
      CLI,
      'serve',
      '--port',
      String(port),
      ...args,
    ],
    {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '',
        REGSTACK_JWT_SECRET: TEST_SECRET,
        REGSTACK_DATABASE_URL: `sqlite:${join(dir, `index-${port}.db`)}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (d) => {
    output += String(d);
  });
  child.stderr?.on('data', (d) => {
    output += String(d);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited: ${output}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { url, child };
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`server did not start: ${output}`);
}

async function stop(served: Served | undefined) {
  if (!served || served.child.exitCode !== null) return;
  const exited = new Promise((r) => served.child.once('exit', r));
  served.child.kill('SIGTERM');
  await exited;
}

describe('the development index at / (issue 16 item 6)', () => {
  let dir: string;
  let dev: Served | undefined;
  let production: Served | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'regstack-index-'));
    [dev, production] = await Promise.all([serve(dir, ['--dev']), serve(dir, [])]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([stop(dev), stop(production)]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('with --dev, / lists the tRPC procedures with their methods, /healthz and the pages', async () => {
    const res = await fetch(`${dev!.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.get('content-security-policy')).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    expect(html).not.toMatch(/<script|<style>|\son[a-z]+=/i);
    expect(html).toContain('<tr><td>POST</td><td><code>/trpc/auth.register</code></td></tr>');
    expect(html).toContain('<tr><td>GET</td><td><code>/trpc/auth.account.me</code></td></tr>');
    expect(html).toContain('<tr><td>POST</td><td><code>/trpc/auth.account.confirmEmailChange</code></td></tr>');
    expect(html).toContain('href="/healthz"');
    for (const page of ['/account/verify', '/account/reset', '/account/confirm-email-change']) {
      expect(html).toContain(`<code>${page}</code>`);
    }
    // Every listed path is really served: the pages answer, a listed query answers with a regstack code.
    expect((await fetch(`${dev!.url}/account/reset`)).status).toBe(200);
    const me = await fetch(`${dev!.url}/trpc/auth.account.me`);
    expect(me.status).toBe(401);
    expect((await fetch(`${dev!.url}/`, { method: 'POST' })).status).toBe(405);
  });

  it('without --dev, / stays a 404 and lists nothing', async () => {
    const res = await fetch(`${production!.url}/`);
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain('auth.register');
  });
});
