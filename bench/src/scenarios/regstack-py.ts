/**
 * Scenario 8 — regstack-py side by side (issue 21): the Python regstack (PyPI `regstack`, `BENCH_PY_VERSION`,
 * default 0.9.3) in a scratch virtualenv, served by uvicorn (one process, its default) on SQLite, against a regstack
 * server on SQLite, both with the same argon2id parameters (regstack's; the peer's hasher is given them,
 * peers/regstack-py/app.py). Figures, round by round: `me` req/s regstack / regstack-py (goal ≥ 10), login req/s
 * regstack / regstack-py (goal ≥ 1.3) and login p99 regstack / regstack-py (goal ≤ 0.5), same connections, each side
 * one user per connection, correct passwords only.
 *
 * The virtualenv is made once (`BENCH_PY_VENV`, default in the OS temporary directory) with `python -m venv` and
 * `pip install regstack==<version> uvicorn` from PyPI; without Python (`BENCH_PYTHON`, default `python3`), or when
 * the install fails, the scenario is skipped with a note saying why.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { LoadResult, LoadSpec } from '../lib/load.ts';
import type { BenchCredential } from '../lib/protocol.ts';
import type { Metric } from '../lib/report.ts';
import type { ScenarioContext, ScenarioOutcome } from './context.ts';
import { addMetric, atLeast, atMost, ratio, settle } from './metrics.ts';
import { loginLoad, meLoad } from './scale.ts';

const run = promisify(execFile);
const APP_DIR = fileURLToPath(new URL('../../peers/regstack-py/', import.meta.url));

/** The virtualenv's python with regstack-py installed, or why there is none. */
async function ensureVenv(version: string): Promise<{ python: string } | { skip: string }> {
  const base = process.env.BENCH_PYTHON ?? 'python3';
  const dir = process.env.BENCH_PY_VENV ?? join(tmpdir(), `regstack-bench-regstack-py-${version}`);
  const python = join(dir, 'bin', 'python');
  const installed = async () => {
    try {
      const { stdout } = await run(python, ['-c', 'import regstack, uvicorn; print(regstack.__version__)']);
      return stdout.trim() === version;
    } catch {
      return false;
    }
  };
  if (existsSync(python) && (await installed())) return { python };
  try {
    await run(base, ['--version']);
  } catch {
    return { skip: `no Python (${base}) on this machine` };
  }
  try {
    console.log(`  making a virtualenv for regstack-py ${version} in ${dir} (pip, from PyPI)`);
    await run(base, ['-m', 'venv', dir]);
    await run(python, ['-m', 'pip', 'install', '--quiet', `regstack==${version}`, 'uvicorn'], { timeout: 600_000 });
  } catch (err) {
    return { skip: `could not install regstack ${version} from PyPI (${(err as Error).message.split('\n')[0]})` };
  }
  return (await installed()) ? { python } : { skip: `regstack ${version} did not import after installing` };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function json(url: string, init: RequestInit): Promise<Record<string, unknown>> {
  const res = await fetch(url, { ...init, headers: { 'content-type': 'application/json', ...init.headers } });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url} answered ${res.status}: ${text.slice(0, 200)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

interface PyRound {
  round: number;
  loadAverage: number;
  regstack: { me?: LoadResult; login?: LoadResult };
  py: { me?: LoadResult; login?: LoadResult };
}

export async function runRegstackPyScenario(ctx: ScenarioContext): Promise<ScenarioOutcome> {
  const { settings } = ctx;
  const C = settings.connections;
  const version = process.env.BENCH_PY_VERSION ?? '0.9.3';
  console.log(`\nScenario 8 — regstack-py ${version} side by side (SQLite)`);
  const skip = (why: string): ScenarioOutcome => {
    const note = `regstack-py skipped: ${why}`;
    console.warn(`! ${note}`);
    ctx.notes.push(note);
    return { metrics: [], rounds: [] };
  };
  if (!settings.backends.includes('sqlite')) return skip('BENCH_BACKENDS leaves SQLite out');
  const venv = await ensureVenv(version);
  if ('skip' in venv) return skip(venv.skip);

  const databaseUrl = await ctx.databaseFor('sqlite', 'regstack-vs-py');
  const child = await ctx.startRegstack(databaseUrl!, { BENCH_USERS: String(C) });
  const params = child.ready.argon2;

  const port = await freePort();
  const py: ChildProcess = spawn(
    venv.python,
    [
      '-m',
      'uvicorn',
      'app:app',
      '--app-dir',
      APP_DIR,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--log-level',
      'warning',
    ],
    {
      env: {
        ...process.env,
        BENCH_PY_DATABASE_URL: `sqlite+aiosqlite:///${join(ctx.tmp, 'regstack-py.db')}`,
        BENCH_PY_JWT_SECRET: randomBytes(32).toString('base64url'),
        BENCH_ARGON2_M: String(params.memoryKib),
        BENCH_ARGON2_T: String(params.iterations),
        BENCH_ARGON2_P: String(params.parallelism),
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const pyExited = new Promise<void>((resolve) => py.once('exit', () => resolve()));
  const stopPy = async () => {
    if (py.exitCode !== null || py.signalCode !== null) return;
    py.kill('SIGTERM');
    const timer = setTimeout(() => py.kill('SIGKILL'), 10_000);
    await pyExited;
    clearTimeout(timer);
  };
  ctx.onCleanup(stopPy);
  const pyUrl = `http://127.0.0.1:${port}`;
  const api = `${pyUrl}/api/auth`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`${pyUrl}/openapi.json`)).ok) break;
    } catch {
      // not listening yet
    }
    if (py.exitCode !== null || Date.now() > deadline) {
      await stopPy();
      return skip('uvicorn did not start regstack-py');
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const { stdout: uvicornVersion } = await run(venv.python, ['-c', 'import uvicorn; print(uvicorn.__version__)']);

  // Its users through its own API: register (verification off), then login for the `me` users' tokens.
  const runId = randomBytes(4).toString('hex');
  const makeUser = async (role: string, i: number): Promise<BenchCredential> => {
    const email = `${role}-${i}-${runId}@bench.example.com`;
    const password = `${randomBytes(18).toString('base64url')}-Bench`;
    await json(`${api}/register`, { method: 'POST', body: JSON.stringify({ email, password }) });
    const login = await json(`${api}/login`, { method: 'POST', body: JSON.stringify({ email, password }) });
    return { email, password, token: String(login.access_token) };
  };
  const pyMe: BenchCredential[] = [];
  const pyLogin: BenchCredential[] = [];
  for (let i = 0; i < C; i++) {
    pyMe.push(await makeUser('me', i));
    pyLogin.push(await makeUser('login', i));
  }
  console.log(
    `  regstack/sqlite ready (pid ${child.pid}); regstack-py ${version} under uvicorn ${uvicornVersion.trim()} (pid ${py.pid}): ${pyUrl}`,
  );

  const pyMeSpec = (seconds: number): LoadSpec => ({
    url: api,
    path: '/me',
    connections: C,
    seconds,
    headersFor: (i) => ({ authorization: `Bearer ${pyMe[i % pyMe.length]!.token}` }),
  });
  const pyLoginSpec = (seconds: number): LoadSpec => ({
    url: api,
    path: '/login',
    method: 'POST',
    connections: C,
    seconds,
    headersFor: () => ({ 'content-type': 'application/json' }),
    bodyFor: (i) =>
      JSON.stringify({ email: pyLogin[i % pyLogin.length]!.email, password: pyLogin[i % pyLogin.length]!.password }),
  });
  const { hostUrl, meUsers, loginUsers } = child.ready;
  const w = settings.warmupSeconds;
  await ctx.load('regstack    warm me', meLoad(hostUrl, meUsers, C, w));
  await ctx.load('regstack-py warm me', pyMeSpec(w));
  await ctx.load('regstack    warm login', loginLoad(hostUrl, loginUsers, C, w));
  await ctx.load('regstack-py warm login', pyLoginSpec(w));

  const rounds: PyRound[] = [];
  const S = settings.seconds;
  for (let r = 0; r < settings.rounds; r++) {
    console.log(`  round ${r + 1}/${settings.rounds}`);
    const round: PyRound = { round: r + 1, loadAverage: 0, regstack: {}, py: {} };
    const steps: Array<() => Promise<void>> = [
      async () => {
        round.regstack.me = await ctx.load('regstack    me', meLoad(hostUrl, meUsers, C, S), child);
      },
      async () => {
        round.py.me = await ctx.load('regstack-py me', pyMeSpec(S));
      },
      async () => {
        round.regstack.login = await ctx.load('regstack    login', loginLoad(hostUrl, loginUsers, C, S), child);
      },
      async () => {
        round.py.login = await ctx.load('regstack-py login', pyLoginSpec(S));
      },
    ];
    // Rotated every round, so a drift does not always favour one side.
    for (let i = 0; i < steps.length; i++) {
      await settle();
      await steps[(i + r) % steps.length]!();
    }
    round.loadAverage = Math.round(loadavg()[0]! * 100) / 100;
    console.log(`  (1-minute load average ${round.loadAverage} on ${availableParallelism()} cores)`);
    rounds.push(round);
  }
  await child.stop();
  await stopPy();

  const metrics: Metric[] = [];
  const meta = (id: string, label: string, unit: Metric['unit'], goal?: Metric['goal']) => ({
    id: `regstack-py.${id}`,
    scenario: 8,
    backend: 'sqlite' as const,
    label,
    unit,
    ...(goal && { goal }),
  });
  addMetric(
    metrics,
    meta('me.rps-ratio', 'me req/s regstack / regstack-py', 'ratio', atLeast(10)),
    rounds.map((r) => ratio(r.regstack.me?.rps, r.py.me?.rps)),
  );
  addMetric(
    metrics,
    meta('login.rps-ratio', 'login req/s regstack / regstack-py', 'ratio', atLeast(1.3)),
    rounds.map((r) => ratio(r.regstack.login?.rps, r.py.login?.rps)),
  );
  addMetric(
    metrics,
    meta('login.p99-ratio', 'login p99 regstack / regstack-py', 'ratio', atMost(0.5)),
    rounds.map((r) => ratio(r.regstack.login?.latencyMs.p99, r.py.login?.latencyMs.p99)),
  );
  for (const side of ['regstack', 'py'] as const) {
    const name = side === 'py' ? 'regstack-py' : 'regstack';
    for (const load of ['me', 'login'] as const) {
      addMetric(
        metrics,
        meta(`${side}.${load}.rps`, `${name} ${load}`, 'req/s'),
        rounds.map((r) => r[side][load]?.rps),
      );
      addMetric(
        metrics,
        meta(`${side}.${load}.p99`, `${name} ${load} p99`, 'ms'),
        rounds.map((r) => r[side][load]?.latencyMs.p99),
      );
    }
  }
  ctx.notes.push(
    `regstack-py ${version} under uvicorn ${uvicornVersion.trim()} (one process, as uvicorn starts by default) on SQLite, ` +
      `argon2id m=${params.memoryKib} KiB, t=${params.iterations}, p=${params.parallelism} on both sides`,
  );
  return {
    metrics,
    rounds,
    details: { version, uvicorn: uvicornVersion.trim(), argon2: params },
  };
}
