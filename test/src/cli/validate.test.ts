/**
 * Issue 20 item 6: `regstack validate <url>` (the real command, a child process) against a real `regstack serve`
 * (another child process, NODE_ENV=production): every probe passes — /healthz, the security headers, no-store,
 * CORS closed to a foreign origin and open to a listed one, error answers 4xx with nothing internal — and plain
 * http on loopback is only a warning; `--json` says the same. Against a careless server in this process (a
 * reflected Origin with credentials, cacheable answers, no headers, 500s with stack traces and SQL in the body)
 * each of those is a ✗ and the exit code is 1. An unreachable URL fails at /healthz; a bad URL is a usage error.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../harness/ferretdb.ts';
import { TEST_SECRET } from '../harness/regstack.ts';
import { type CliRun, expectNoStackTrace, freshDir, NODE_ARGS, runCli } from './cli-process.ts';

const APP_ORIGIN = 'http://app.example.test';
const children: ChildProcess[] = [];
const servers: Server[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const server of servers) server.close();
});

/** `regstack serve` in production on a free port; resolves with its URL once it serves. */
async function serve(): Promise<string> {
  const port = await freePort();
  const child = spawn(process.execPath, [...NODE_ARGS, 'serve'], {
    cwd: freshDir(),
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      PORT: String(port),
      REGSTACK_JWT_SECRET: TEST_SECRET,
      REGSTACK_BASE_URL: 'https://accounts.example.test',
      REGSTACK_DATABASE_URL: 'sqlite:./regstack.db',
      REGSTACK_CORS_ORIGINS: APP_ORIGIN,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += String(d);
      if (/regstack: serving on /.test(output)) resolve(`http://127.0.0.1:${port}`);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', () => reject(new Error(`serve exited:\n${output}`)));
  });
}

function lines(run: CliRun, check: string): string[] {
  return run.stdout.split('\n').filter((line) => line.slice(2).startsWith(`${check}: `));
}

describe('regstack validate against a real regstack serve (issue 20 item 6)', () => {
  it('every probe passes; plain http on loopback is a warning; --json says the same', async () => {
    const url = await serve();
    const run = await runCli(['validate', url, '--origin', APP_ORIGIN]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expectNoStackTrace(run);
    expect(run.stdout.split('\n')[0]).toBe(`regstack validate ${url}`);
    expect(lines(run, 'healthz')).toEqual([expect.stringMatching(/^✓ healthz: 200 \{"status":"ok"/)]);
    expect(lines(run, 'https')).toEqual([`⚠ https: ${url} is plain http (acceptable on loopback only)`]);
    expect(lines(run, 'headers')).toEqual(['✓ headers: nosniff, Referrer-Policy and framing protection are sent']);
    expect(lines(run, 'cache-control')).toEqual(['✓ cache-control: API answers carry "no-store"']);
    expect(lines(run, 'cors')).toEqual(['✓ cors: a foreign origin is not allowed', `✓ cors: ${APP_ORIGIN} is allowed`]);
    expect(lines(run, 'errors')).toEqual([
      '✓ errors: an unknown path: 404, nothing internal in the body',
      '✓ errors: an unknown procedure: 404, nothing internal in the body',
      '✓ errors: malformed JSON: 400, nothing internal in the body',
      '✓ errors: invalid input: 400, nothing internal in the body',
    ]);
    expect(run.stdout).toMatch(/^all checks passed, 1 warning$/m);

    const json = await runCli(['validate', url, '--json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as { ok: boolean; checks: { check: string; status: string }[] };
    expect(report.ok).toBe(true);
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);

    // An origin the deployment does not list is reported when it is expected to be allowed.
    const other = await runCli(['validate', url, '--origin', 'https://elsewhere.example.test']);
    expect(other.code).toBe(1);
    expect(lines(other, 'cors')[1]).toMatch(/^✗ cors: https:\/\/elsewhere\.example\.test is not allowed/);
  });
});

describe('regstack validate against a careless server (issue 20 item 6)', () => {
  it('reflected CORS with credentials, cacheable answers, missing headers and leaking 500s are each a ✗', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/healthz') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
        return;
      }
      const origin = req.headers.origin;
      const cors = origin
        ? { 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true' }
        : ({} as Record<string, string>);
      if (req.method === 'OPTIONS') {
        res.writeHead(204, cors).end();
        return;
      }
      res.writeHead(500, { 'content-type': 'application/json', 'cache-control': 'public, max-age=600', ...cors }).end(
        JSON.stringify({
          error: 'SqliteError: SQLITE_ERROR: near "users": syntax error',
          stack: 'Error: boom\n    at handler (/srv/app/src/server.ts:12:5)\n    at process (node:internal/x:1:1)',
        }),
      );
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

    const run = await runCli(['validate', url]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(lines(run, 'healthz')[0]).toMatch(/^✓ /);
    expect(lines(run, 'headers')[0]).toMatch(/^✗ headers: .* lacks X-Content-Type-Options: nosniff, Referrer-Policy/);
    expect(lines(run, 'cache-control')[0]).toMatch(/^✗ cache-control: .*"public, max-age=600"/);
    expect(lines(run, 'cors')[0]).toMatch(
      /^✗ cors: a foreign origin \(https:\/\/regstack-validate\.invalid\) is allowed: .*, with credentials$/,
    );
    const errors = lines(run, 'errors');
    expect(errors).toHaveLength(4);
    for (const line of errors) expect(line).toMatch(/^✗ errors: .* answered 500: a client mistake must be a 4xx/);
    expect(run.stdout).toMatch(/^\d+ checks failed/m);
  });

  it('a server that leaks in a 4xx body: ✗ naming what leaked', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/healthz') {
        res.writeHead(200).end('ok');
        return;
      }
      res
        .writeHead(400, { 'content-type': 'text/plain', 'cache-control': 'no-store' })
        .end('TypeError: x is undefined\n    at parse (/srv/app/node_modules/lib/index.js:3:9)');
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const run = await runCli([
      'validate',
      `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    ]);
    expect(run.code).toBe(1);
    expect(lines(run, 'errors')[0]).toMatch(
      /^✗ errors: an unknown path \(400\): the body holds a stack trace and a source path$/,
    );
  });

  it('nothing listening: ✗ healthz and nothing else probed; a bad URL is a usage error (exit 2)', async () => {
    const run = await runCli(['validate', `http://127.0.0.1:${await freePort()}`, '--timeout', '2000']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^✗ healthz: .* cannot be reached: .*ECONNREFUSED/m);
    expect(lines(run, 'cors')).toEqual([]);
    const bad = await runCli(['validate', 'accounts.example.com']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /value 'accounts\.example\.com' is invalid for argument 'url'\. must be an absolute http\(s\) URL/,
    );
  });
});
