/**
 * `pnpm bench` — regstack's performance as RATIOS against baselines measured in the same run, over real HTTP
 * on loopback, never as timed assertions. Absolute figures depend on the machine; a ratio to a baseline
 * measured minutes apart on the same machine mostly does not.
 *
 * Scenarios (SQLite and PostgreSQL where a database is involved):
 *  1. `auth.account.me` (bearer token) vs a bare `ping` query on the same server process and tRPC setup — goal ≥ 0.6
 *  2. `auth.account.me` vs better-auth 1.7 `get-session` (its own SQLite), same connections — goal ≥ 3.0
 *  3. `auth.login` throughput vs raw argon2 verify throughput, same parameters and concurrency — goal ≥ 0.85
 *  4. p99 of `auth.account.me` while a login flood saturates hashing — goal ≤ 25 ms — and the server's
 *     event-loop stalls over the same window — goal: none over 50 ms (the same probe without the flood is its
 *     baseline)
 *  5. `auth.admin.users.list` as a superuser — a common search's first page, a rare search (one user), and page 500
 *     reached by cursor — over
 *     databases of bulk-seeded users (BENCH_ADMIN_USERS): p99 at the largest within 1.5× of p99 at the smallest
 *
 * The runner only generates load (autocannon) and keeps score; every server is a child process. Each round
 * measures every scenario once; min / median / max over the rounds show the machine's noise. Results are
 * printed and written to bench/results/ as JSON. Settings: see lib/settings.ts.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startArgon2Baseline } from './lib/argon2-baseline.ts';
import { type BenchChild, startChild } from './lib/ipc.ts';
import { type LoadResult, type LoadSpec, runLoad } from './lib/load.ts';
import { createLoopMonitor } from './lib/loop-monitor.ts';
import { runPacedProbe } from './lib/paced-probe.ts';
import { createBenchDatabase } from './lib/postgres.ts';
import type {
  AdminSeed,
  Argon2Ready,
  Argon2RunResult,
  BenchCredential,
  BetterAuthReady,
  CpuWindow,
  LoopDelay,
  RegstackReady,
} from './lib/protocol.ts';
import {
  type AdminListRound,
  type BackendRound,
  busyNote,
  type FloodResult,
  machineInfo,
  printCpu,
  printHeader,
  printLoad,
  printProfiles,
  printRunnerLoop,
  printSummary,
  type RoundRecord,
  summarize,
  usersLabel,
  writeResults,
} from './lib/report.ts';
import { type Backend, readSettings } from './lib/settings.ts';
import { runScenarioModules } from './scenarios/index.ts';

const settings = readSettings();
const started = new Date();
const resultsDir = new URL('../results/', import.meta.url);
const profileDir = join(resultsDir.pathname, 'profiles', started.toISOString().replace(/[:.]/g, '-'));
const cleanups: Array<() => Promise<void>> = [];
const notes: string[] = [];

const C = settings.connections;
type AnyChild = BenchChild<RegstackReady> | BenchChild<BetterAuthReady>;
const wantMe = settings.scenarios.has('me') || settings.scenarios.has('better-auth');

function bearer(users: BenchCredential[]) {
  return (i: number) => ({ authorization: `Bearer ${users[i % users.length]!.token}` });
}

function meSpec(url: string, users: BenchCredential[], seconds: number): LoadSpec {
  return { url, path: '/trpc/auth.account.me', connections: C, seconds, headersFor: bearer(users) };
}

function pingSpec(url: string, seconds: number): LoadSpec {
  return { url, path: '/trpc/ping', connections: C, seconds };
}

function loginSpec(url: string, users: BenchCredential[], seconds: number): LoadSpec {
  return {
    url,
    path: '/trpc/auth.login',
    method: 'POST',
    connections: C,
    seconds,
    headersFor: () => ({ 'content-type': 'application/json' }),
    // One user per connection: a connection has one login in flight, so no account ever has two at once and
    // correct passwords never trip the lockout's in-flight reservations (R17).
    bodyFor: (i) => {
      const user = users[i % users.length]!;
      return JSON.stringify({ json: { email: user.email, password: user.password } });
    },
  };
}

function betterAuthSpec(ready: BetterAuthReady, seconds: number): LoadSpec {
  return {
    url: ready.url,
    path: '/api/auth/get-session',
    connections: C,
    seconds,
    headersFor: (i) => ({ cookie: ready.users[i % ready.users.length]!.token }),
  };
}

// ── Scenario 5: the admin user list. ─────────────────────────────────────────────────────────────────────────
/** Page size of both admin-list loads. */
const ADMIN_PAGE_SIZE = 50;
/** The page the deep load fetches by cursor, where the database has that many. */
const ADMIN_DEEP_PAGE = 500;

/** One seeded database of the admin-list scenario and its two loads. */
interface AdminTarget {
  backend: Backend;
  child: BenchChild<RegstackReady>;
  seed: AdminSeed;
  /** `search` + first page. */
  searchPath: string;
  /** The rare search (one user): its only page. */
  rarePath: string;
  /** The deep page, by its cursor (walked to once, before any load). */
  deepPath: string;
  deepPage: number;
}

/** `auth.admin.users.list` as a GET (a tRPC query), its input in superjson's envelope. */
function listPath(input: Record<string, unknown>): string {
  return `/trpc/auth.admin.users.list?input=${encodeURIComponent(JSON.stringify({ json: input }))}`;
}

interface ListPage {
  items: unknown[];
  nextCursor: string | null;
}

async function fetchList(url: string, token: string, path: string): Promise<ListPage> {
  const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  if (!res.ok) throw new Error(`auth.admin.users.list answered ${res.status}: ${text.slice(0, 300)}`);
  return (JSON.parse(text) as { result: { data: { json: ListPage } } }).result.data.json;
}

/**
 * The path of the admin loads of one seeded database. The deep page is page 500, or the deepest page with a
 * page after it where there are fewer users (page 20 of 1,000), so every load reads a full page and a row beyond.
 */
async function adminTarget(backend: Backend, child: BenchChild<RegstackReady>): Promise<AdminTarget> {
  const seed = child.ready.admin!;
  const url = child.ready.hostUrl;
  const searchPath = listPath({ search: seed.search, limit: ADMIN_PAGE_SIZE });
  const first = await fetchList(url, seed.token, searchPath);
  if (first.items.length !== ADMIN_PAGE_SIZE || !first.nextCursor) {
    throw new Error(`the admin search found ${first.items.length} users, expected a full page and more`);
  }
  const rarePath = listPath({ search: seed.rareSearch, limit: ADMIN_PAGE_SIZE });
  const rare = await fetchList(url, seed.token, rarePath);
  if (rare.items.length !== 1) throw new Error(`the rare admin search found ${rare.items.length} users, expected one`);
  // users + 1 rows (the superuser heads the list): this page has a row after it.
  const deepPage = Math.min(ADMIN_DEEP_PAGE, Math.floor(seed.users / ADMIN_PAGE_SIZE));
  let cursor: string | undefined;
  for (let page = 1; page < deepPage; page++) {
    const next = (await fetchList(url, seed.token, listPath({ limit: ADMIN_PAGE_SIZE, ...(cursor && { cursor }) })))
      .nextCursor;
    if (!next) throw new Error(`the admin list ended at page ${page}, before page ${deepPage}`);
    cursor = next;
  }
  const deepPath = listPath({ limit: ADMIN_PAGE_SIZE, ...(cursor && { cursor }) });
  const deep = await fetchList(url, seed.token, deepPath);
  if (deep.items.length !== ADMIN_PAGE_SIZE || !deep.nextCursor) {
    throw new Error(`admin list page ${deepPage} has ${deep.items.length} users, expected a full page and more`);
  }
  return { backend, child, seed, searchPath, rarePath, deepPath, deepPage };
}

function adminSpec(target: AdminTarget, path: string, seconds: number): LoadSpec {
  const authorization = `Bearer ${target.seed.token}`;
  return { url: target.child.ready.hostUrl, path, connections: C, seconds, headersFor: () => ({ authorization }) };
}

/** Whether loads are being profiled now (first measured round of a BENCH_CPU_PROF=1 run). */
let profiling = false;

function profileFile(label: string): string {
  return join(profileDir, `${label.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '')}.cpuprofile`);
}

/** Runs one load; `server` is the child it hits, profiled over the window when profiling is on. */
async function load(label: string, spec: LoadSpec, server?: AnyChild): Promise<LoadResult> {
  const profile = profiling && server !== undefined;
  if (profile) await server.request('profile:start');
  await server?.request('cpu:start');
  const result = await runLoad(spec);
  if (server) result.serverCpu = await server.request<CpuWindow>('cpu:stop');
  if (profile) await server.request('profile:stop', { file: profileFile(label) });
  printLoad(label, result);
  return result;
}

/**
 * Scenario 4: an `auth.account.me` probe with the server's event-loop delay and CPU measured over its window —
 * `paced` / `closed` while a login flood saturates hashing (the flood starts first and outlasts the probe, so
 * the probe only ever sees a saturated hasher), `alone` with no flood: the same paced probe as the baseline.
 */
async function probe(
  child: BenchChild<RegstackReady>,
  backend: Backend,
  mode: 'alone' | 'paced' | 'closed',
): Promise<FloodResult> {
  const { hostUrl, meUsers, loginUsers } = child.ready;
  let floodRun: Promise<LoadResult> | undefined;
  if (mode !== 'alone') {
    // The paced probe adds its 1 s warm-up to this 0.5 s lead; the flood outlasts the probe by 0.25 s.
    floodRun = runLoad(loginSpec(hostUrl, loginUsers, settings.seconds + (mode === 'paced' ? 1.75 : 0.75)));
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  // The runner's own event loop over the same window: the probe times its requests here, so a stall of the
  // runner (autocannon's flood runs in it too) would show as server latency the server never had.
  const runnerLoop = createLoopMonitor();
  const openWindows = async () => {
    if (profiling) await child.request('profile:start');
    await child.request('loop:start');
    await child.request('cpu:start');
    runnerLoop.start();
  };
  if (mode === 'closed') await openWindows();
  const probeResult =
    mode === 'closed'
      ? await runLoad(meSpec(hostUrl, meUsers, settings.seconds))
      : await runPacedProbe({
          url: hostUrl,
          path: '/trpc/auth.account.me',
          rate: settings.probeRate,
          seconds: settings.seconds,
          connections: C,
          headersFor: bearer(meUsers),
          // The server's windows open once the probe's warm-up is over.
          onMeasuring: openWindows,
        });
  const runner = runnerLoop.stop();
  const cpu = await child.request<CpuWindow>('cpu:stop');
  const loop = await child.request<LoopDelay>('loop:stop');
  if (profiling) await child.request('profile:stop', { file: profileFile(`${backend} probe ${mode}`) });
  const floodResult = await floodRun;
  const label = mode === 'alone' ? 'me probe, no flood' : `flood(${mode}) me probe`;
  printLoad(`${backend.padEnd(8)} ${label}`, probeResult, loop);
  if (floodResult) printLoad(`${backend.padEnd(8)} flood(${mode}) login`, floodResult);
  printCpu(cpu);
  printRunnerLoop(runner);
  return { probe: probeResult, ...(floodResult && { flood: floodResult }), loop, cpu, runnerLoop: runner };
}

async function main(): Promise<void> {
  const machine = machineInfo();
  printHeader(settings, machine);
  const busy = busyNote(machine.loadAverageAtStart[0] ?? 0, machine.availableParallelism);
  if (busy) notes.push(busy);

  // ── Servers ──────────────────────────────────────────────────────────────────────────────────────────
  const tmp = await mkdtemp(join(tmpdir(), 'regstack-bench-'));
  cleanups.push(() => rm(tmp, { recursive: true, force: true }));
  if (settings.cpuProfile) await mkdir(profileDir, { recursive: true });
  if (settings.regstackConfig) notes.push(`what-if run: regstack options ${settings.regstackConfig}`);
  if (settings.hostAdapter === 'fetch') {
    notes.push("what-if run: the host router served through tRPC's fetch adapter, Requests without a signal");
  }
  if (settings.abortSignalAny === 'trpc-fallback') {
    notes.push("what-if run: AbortSignal.any deleted in the regstack servers (tRPC's listener fallback)");
  }
  if (settings.serverNodeFlags.length > 0) {
    notes.push(`what-if run: regstack servers run with ${settings.serverNodeFlags.join(' ')}`);
  }

  let pgVersion: string | undefined;
  const skipped = new Set<Backend>();
  /** A database of the run's own on `backend` (`name` is the SQLite file's), or undefined when PostgreSQL is out. */
  const databaseFor = async (backend: Backend, name: string): Promise<string | undefined> => {
    if (backend === 'sqlite') return `sqlite:${join(tmp, `${name}.db`)}`;
    if (skipped.has(backend)) return undefined;
    try {
      const db = await createBenchDatabase(settings.pgUrl);
      cleanups.push(() => db.drop());
      pgVersion = db.serverVersion;
      return db.url;
    } catch (err) {
      const note = `PostgreSQL skipped: cannot create a database at ${redact(settings.pgUrl)} (${(err as Error).message})`;
      notes.push(note);
      console.warn(`! ${note}`);
      skipped.add(backend);
      return undefined;
    }
  };
  const startRegstack = async (databaseUrl: string, env: Record<string, string>, timeoutMs?: number) => {
    const child = await startChild<RegstackReady>({
      script: 'servers/regstack-server.ts',
      nodeFlags: settings.serverNodeFlags,
      env: {
        BENCH_DATABASE_URL: databaseUrl,
        BENCH_HOST_ADAPTER: settings.hostAdapter,
        BENCH_ABORT_SIGNAL_ANY: settings.abortSignalAny,
        ...(settings.regstackConfig && { BENCH_REGSTACK_CONFIG: settings.regstackConfig }),
        ...env,
      },
      ...(timeoutMs !== undefined && { timeoutMs }),
    });
    cleanups.push(() => child.stop());
    return child;
  };

  // Scenarios 1–4 share one server per backend; scenario 5 has one per backend and seeded size.
  const regstacks = new Map<Backend, BenchChild<RegstackReady>>();
  if (wantMe || settings.scenarios.has('login') || settings.scenarios.has('flood')) {
    for (const backend of settings.backends) {
      const databaseUrl = await databaseFor(backend, 'regstack');
      if (!databaseUrl) continue;
      const child = await startRegstack(databaseUrl, { BENCH_USERS: String(C) });
      regstacks.set(backend, child);
      console.log(
        `  regstack/${backend} ready (pid ${child.pid}): host ${child.ready.hostUrl}, standalone ${child.ready.standaloneUrl}`,
      );
    }
  }
  const admins: AdminTarget[] = [];
  if (settings.scenarios.has('admin')) {
    for (const backend of settings.backends) {
      for (const users of settings.adminUsers) {
        const databaseUrl = await databaseFor(backend, `admin-${users}`);
        if (!databaseUrl) continue;
        // Seeding a million rows takes a while on a small machine: the child announces itself after it.
        const child = await startRegstack(
          databaseUrl,
          { BENCH_USERS: '0', BENCH_ADMIN_SEED: String(users) },
          3_600_000,
        );
        const target = await adminTarget(backend, child);
        admins.push(target);
        console.log(
          `  regstack/${backend} admin list, ${users.toLocaleString('en-US')} users seeded in ` +
            `${fmt(target.seed.seedSeconds, 1)} s (pid ${child.pid}); deep page ${target.deepPage} reached by cursor`,
        );
      }
    }
  }
  const backends = settings.backends.filter((b) => regstacks.has(b) || admins.some((a) => a.backend === b));

  let betterAuth: BenchChild<BetterAuthReady> | undefined;
  if (settings.scenarios.has('better-auth')) {
    betterAuth = await startChild<BetterAuthReady>({
      script: 'servers/better-auth-server.ts',
      env: { BENCH_SQLITE_PATH: join(tmp, 'better-auth.db'), BENCH_USERS: String(C) },
    });
    cleanups.push(() => betterAuth!.stop());
    console.log(`  better-auth ${betterAuth.ready.version} ready (pid ${betterAuth.pid}): ${betterAuth.ready.url}`);
  }

  let argon2: BenchChild<Argon2Ready> | undefined;
  if (settings.scenarios.has('login')) {
    const first = regstacks.values().next().value;
    const params = first?.ready.argon2 ?? { memoryKib: 19_456, iterations: 2, parallelism: 1 };
    argon2 = await startArgon2Baseline(params);
    cleanups.push(() => argon2!.stop());
    console.log(`  argon2 baseline ready (pid ${argon2.pid}, ${argon2.ready.poolThreads} pool threads)`);
  }

  // ── Warm-up: every endpoint once, unmeasured (JIT, statement caches, connection pools). ─────────────────
  const w = settings.warmupSeconds;
  console.log(`\nWarm-up (${w} s per endpoint, not measured)`);
  for (const [backend, child] of regstacks) {
    const { hostUrl, standaloneUrl, meUsers, loginUsers } = child.ready;
    if (wantMe) {
      await load(`${backend.padEnd(8)} warm ping`, pingSpec(hostUrl, w));
      await load(`${backend.padEnd(8)} warm me(host)`, meSpec(hostUrl, meUsers, w));
      if (settings.standalone) {
        await load(`${backend.padEnd(8)} warm me(standalone)`, meSpec(standaloneUrl, meUsers, w));
      }
    }
    if (settings.scenarios.has('login') || settings.scenarios.has('flood')) {
      await load(`${backend.padEnd(8)} warm login`, loginSpec(hostUrl, loginUsers, w));
    }
  }
  for (const target of admins) {
    const at = `${target.backend.padEnd(8)} warm admin`;
    await load(`${at} search @${usersLabel(target.seed.users)}`, adminSpec(target, target.searchPath, w));
    await load(`${at} rare @${usersLabel(target.seed.users)}`, adminSpec(target, target.rarePath, w));
    await load(
      `${at} page ${target.deepPage} @${usersLabel(target.seed.users)}`,
      adminSpec(target, target.deepPath, w),
    );
  }
  if (betterAuth) await load('better-auth warm get-session', betterAuthSpec(betterAuth.ready, w));
  if (argon2) await argon2.request<Argon2RunResult>('argon2:run', { seconds: 1, inFlight: C });

  // ── Rounds ───────────────────────────────────────────────────────────────────────────────────────────
  const rounds: RoundRecord[] = [];
  const S = settings.seconds;
  // No rounds here when only scenarios 6 and up (src/scenarios/, their own rounds) were asked for.
  const ownRounds = regstacks.size + admins.length > 0 || betterAuth !== undefined ? settings.rounds : 0;
  for (let r = 0; r < ownRounds; r++) {
    profiling = settings.cpuProfile && r === 0;
    console.log(`\nRound ${r + 1}/${settings.rounds}${profiling ? ' (CPU-profiled: figures slightly low)' : ''}`);
    const record: RoundRecord = { round: r + 1, backends: {} };
    const per = (backend: Backend): BackendRound => {
      record.backends[backend] ??= {};
      return record.backends[backend]!;
    };

    if (wantMe) {
      for (const [backend, child] of regstacks) {
        const { hostUrl, standaloneUrl, meUsers } = child.ready;
        const rec = per(backend);
        // Rotate the order every round so a drift (thermal, a neighbour) does not always hit the same figure.
        const steps: Array<() => Promise<void>> = [
          async () => {
            rec.ping = await load(`${backend.padEnd(8)} ping`, pingSpec(hostUrl, S), child);
          },
          async () => {
            rec.meHost = await load(`${backend.padEnd(8)} me(host)`, meSpec(hostUrl, meUsers, S), child);
          },
        ];
        if (settings.standalone) {
          steps.push(async () => {
            rec.meStandalone = await load(
              `${backend.padEnd(8)} me(standalone)`,
              meSpec(standaloneUrl, meUsers, S),
              child,
            );
          });
        }
        for (let i = 0; i < steps.length; i++) await steps[(i + r) % steps.length]!();
      }
    }
    if (betterAuth) {
      record.betterAuth = await load('better-auth get-session', betterAuthSpec(betterAuth.ready, S), betterAuth);
    }

    if (settings.scenarios.has('login')) {
      for (const [backend, child] of regstacks) {
        per(backend).login = await load(
          `${backend.padEnd(8)} login`,
          loginSpec(child.ready.hostUrl, child.ready.loginUsers, S),
          child,
        );
      }
      if (argon2) {
        record.argon2 = await argon2.request<Argon2RunResult>('argon2:run', { seconds: S, inFlight: C });
        console.log(
          `  ${'argon2 raw verify'.padEnd(34)} ${fmt(record.argon2.perSecond, 1).padStart(9)} verify/s  (${C} in flight)`,
        );
      }
    }

    if (settings.scenarios.has('flood')) {
      for (const [backend, child] of regstacks) {
        per(backend).probeAlone = await probe(child, backend, 'alone');
        per(backend).floodPaced = await probe(child, backend, 'paced');
        if (settings.floodClosedLoop) per(backend).floodClosed = await probe(child, backend, 'closed');
      }
    }
    if (admins.length > 0) {
      for (const backend of backends) {
        const targets = admins.filter((a) => a.backend === backend);
        const steps: Array<() => Promise<void>> = [];
        for (const target of targets) {
          const size = usersLabel(target.seed.users);
          const rec: AdminListRound = {};
          per(backend).adminList = { ...per(backend).adminList, [target.seed.users]: rec };
          const at = `${backend.padEnd(8)} admin`;
          steps.push(async () => {
            rec.search = await load(`${at} search @${size}`, adminSpec(target, target.searchPath, S), target.child);
          });
          steps.push(async () => {
            rec.rareSearch = await load(`${at} rare @${size}`, adminSpec(target, target.rarePath, S), target.child);
          });
          steps.push(async () => {
            rec.deepPage = await load(
              `${at} page ${target.deepPage} @${size}`,
              adminSpec(target, target.deepPath, S),
              target.child,
            );
          });
        }
        // Rotated like scenario 1, so a drift does not always favour one size.
        for (let i = 0; i < steps.length; i++) await steps[(i + r) % steps.length]!();
      }
    }
    record.loadAverage = Math.round(loadavg()[0]! * 100) / 100;
    console.log(`  (1-minute load average ${record.loadAverage} on ${availableParallelism()} cores)`);
    rounds.push(record);
  }
  profiling = false;

  // ── Report ───────────────────────────────────────────────────────────────────────────────────────────
  for (const child of regstacks.values()) await child.stop();
  for (const target of admins) await target.child.stop();
  if (betterAuth) await betterAuth.stop();
  if (argon2) await argon2.stop();
  const modules = await runScenarioModules({
    settings,
    tmp,
    notes,
    onCleanup: (task) => cleanups.push(task),
    databaseFor,
    startRegstack,
    load,
  });
  const finished = new Date();
  const metrics = [...summarize(rounds, backends, settings), ...modules.metrics];
  for (const a of admins) {
    notes.push(
      `admin list (${a.backend}): ${a.seed.users.toLocaleString('en-US')} users bulk-seeded in ${fmt(a.seed.seedSeconds, 1)} s ` +
        `before any load; its deep load is page ${a.deepPage} (${ADMIN_PAGE_SIZE} users a page)`,
    );
  }
  printSummary(metrics, settings, machine, notes);
  if (settings.cpuProfile) await printProfiles(profileDir);
  const file = await writeResults(resultsDir, {
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationSeconds: (finished.getTime() - started.getTime()) / 1000,
    settings: { ...settings, scenarios: [...settings.scenarios], pgUrl: redact(settings.pgUrl) },
    machine: {
      ...machine,
      postgresVersion: pgVersion ?? null,
      betterAuthVersion: betterAuth?.ready.version ?? null,
      argon2: regstacks.values().next().value?.ready.argon2 ?? null,
    },
    adminSeeds: admins.map((a) => ({
      backend: a.backend,
      users: a.seed.users,
      seedSeconds: a.seed.seedSeconds,
      deepPage: a.deepPage,
    })),
    notes,
    metrics,
    rounds,
    scenarioModules: modules.records,
  });
  console.log(`\nTotal ${fmt((finished.getTime() - started.getTime()) / 1000, 0)} s. Results: ${file}`);
}

function fmt(value: number, digits: number): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

async function cleanup(): Promise<void> {
  for (const task of cleanups.reverse()) {
    try {
      await task();
    } catch (err) {
      console.warn(`! cleanup failed: ${(err as Error).message}`);
    }
  }
  cleanups.length = 0;
}

process.once('SIGINT', () => {
  void cleanup().finally(() => process.exit(130));
});

try {
  await main();
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await cleanup();
}
