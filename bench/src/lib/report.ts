/**
 * What the bench prints and writes: one line per load as it finishes, then per figure the min / median / max
 * over the rounds with its goal and verdict, then the absolute figures. A goal counts as met when the median
 * meets it; the verdict says whether every round did too, so noise is visible rather than averaged away.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { summarizeCpuProfile } from './cpu-profile.ts';
import { type LoadResult, mainThreadUsPerRequest } from './load.ts';
import type { Argon2RunResult, CpuWindow, LoopDelay } from './protocol.ts';
import { SEED_RARE_SEARCH, SEED_SEARCH } from './seed-users.ts';
import type { Backend, BenchSettings } from './settings.ts';
import { type Spread, spread } from './stats.ts';

export interface FloodResult {
  /** The `auth.account.me` probe. */
  probe: LoadResult;
  /** The login flood running at the same time (absent for the probe alone). */
  flood?: LoadResult;
  /** The server's event-loop delay over the probe's window. */
  loop: LoopDelay;
  /** The server's CPU over the probe's window. */
  cpu: CpuWindow;
  /** The runner's own event-loop delay over the same window (the probe times requests there). */
  runnerLoop?: LoopDelay;
}

/** Scenario 5 on one seeded database: the two admin-list loads. */
export interface AdminListRound {
  /** `search` + first page. */
  search?: LoadResult;
  /** The rare search (one user) + first page. */
  rareSearch?: LoadResult;
  /** The deep page, by cursor. */
  deepPage?: LoadResult;
}

export interface BackendRound {
  ping?: LoadResult;
  meHost?: LoadResult;
  meStandalone?: LoadResult;
  login?: LoadResult;
  /** The paced probe with no flood: scenario 4's baseline. */
  probeAlone?: FloodResult;
  floodPaced?: FloodResult;
  floodClosed?: FloodResult;
  /** Scenario 5, per number of seeded users. */
  adminList?: Record<number, AdminListRound>;
}

export interface RoundRecord {
  round: number;
  /** 1-minute load average when the round ended: other work on the machine shows up here. */
  loadAverage?: number;
  backends: Partial<Record<Backend, BackendRound>>;
  betterAuth?: LoadResult;
  argon2?: Argon2RunResult;
}

export interface Goal {
  op: '>=' | '<=';
  value: number;
  /** The figure the goal is judged on; secondary figures show the same goal for comparison. */
  primary: boolean;
}

export interface Metric extends Spread {
  id: string;
  /** 1–5 in run.ts; 6 and up in src/scenarios/. */
  scenario: number;
  backend: Backend | null;
  label: string;
  unit: 'ratio' | 'req/s' | 'verify/s' | 'ms' | 'µs/req' | '%' | 'count';
  goal?: Goal;
  verdict?: string;
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  availableParallelism: number;
  memoryGb: number;
  platform: string;
  osRelease: string;
  node: string;
  loadAverageAtStart: number[];
  uvThreadpoolSize: string;
  /** The commit measured, and whether regstack's sources differed from it (other work in progress). */
  gitCommit: string | null;
  uncommittedSourceChanges: boolean | null;
}

/** A user count as a short label: 1000 → 1k, 1000000 → 1M. */
export function usersLabel(users: number): string {
  if (users >= 1_000_000 && users % 1_000_000 === 0) return `${users / 1_000_000}M`;
  if (users >= 1000 && users % 1000 === 0) return `${users / 1000}k`;
  return String(users);
}

function git(args: string[]): string | null {
  try {
    const here = fileURLToPath(new URL('.', import.meta.url));
    return execFileSync('git', ['-C', here, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpuModel: list[0]?.model ?? 'unknown',
    cores: list.length,
    availableParallelism: availableParallelism(),
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    platform: platform(),
    osRelease: release(),
    node: process.version,
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
    uvThreadpoolSize: process.env.UV_THREADPOOL_SIZE ?? '4 (default)',
    gitCommit: git(['rev-parse', '--short', 'HEAD']),
    uncommittedSourceChanges: ((changes) => (changes === null ? null : changes.length > 0))(
      git(['status', '--porcelain', '--', ':/server/src', ':/shared/src']),
    ),
  };
}

const fmt = (value: number, digits = 1) =>
  Number.isFinite(value)
    ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : '—';

function contentionNote(machine: MachineInfo): string {
  return (
    `This machine has ${machine.availableParallelism} cores. The load generator (autocannon, in this process), ` +
    'the servers under test (child processes), their libuv/argon2 threads and PostgreSQL all compete for them: ' +
    'absolute figures include that contention, and each ratio compares two loads run under the same contention.'
  );
}

/** A warning when other work already loads the machine: its figures would be low and noisy. */
export function busyNote(loadAverage: number, cores: number): string | undefined {
  if (loadAverage <= cores * 0.5) return undefined;
  return (
    `the machine was busy before the bench started (1-minute load average ${loadAverage} on ${cores} cores): ` +
    'other work competes for the cores, so figures are lower and noisier than on a quiet machine.'
  );
}

export function printHeader(settings: BenchSettings, machine: MachineInfo): void {
  console.log('regstack bench — ratios against baselines measured in this run, over HTTP on 127.0.0.1');
  console.log(
    `  ${machine.cpuModel}, ${machine.availableParallelism} cores, ${machine.memoryGb} GB, Node ${machine.node}, ` +
      `${machine.platform} ${machine.osRelease}, load average ${machine.loadAverageAtStart.join(' ')}`,
  );
  if (machine.gitCommit) {
    console.log(
      `  regstack at ${machine.gitCommit}${machine.uncommittedSourceChanges ? ' plus uncommitted changes in server/ or shared/' : ''}`,
    );
  }
  console.log(
    `  ${settings.rounds} rounds × ${settings.seconds} s per load, ${settings.connections} connections, ` +
      `backends ${settings.backends.join(', ')}, scenarios ${[...settings.scenarios].join(', ')}`,
  );
  console.log(`  NOTE: ${contentionNote(machine)}`);
  const busy = busyNote(machine.loadAverageAtStart[0] ?? 0, machine.availableParallelism);
  if (busy) console.log(`  ! ${busy}`);
  console.log(
    '  me(host): regstack nested in a host tRPC router next to `ping` (same adapter, transformer and context) — ' +
      'the goal figures' +
      (settings.standalone
        ? '; me(standalone): the same instance through regstack.listen() / fetchHandler.'
        : ' (BENCH_STANDALONE=1 adds regstack.listen() / fetchHandler).'),
  );
  console.log('');
}

export function printLoad(label: string, result: LoadResult, loop?: LoopDelay): void {
  const l = result.latencyMs;
  let line =
    `  ${label.padEnd(34)} ${fmt(result.rps).padStart(9)} req/s  ` +
    `p50 ${fmt(l.p50)} p99 ${fmt(l.p99)} max ${fmt(l.max)} ms`;
  if (loop) {
    line += `  | server loop delay max ${fmt(loop.maxMs)} p99 ${fmt(loop.p99Ms)} ms`;
    line += `, GC pause max ${fmt(loop.gcMaxMs)} ms (${loop.gcMaxKind || '—'})`;
  }
  const perRequest = mainThreadUsPerRequest(result);
  if (perRequest !== undefined) line += `  | server main thread ${fmt(perRequest, 0)} µs/req`;
  const bad = result.non2xx + result.errors + result.timeouts;
  if (bad > 0) {
    line +=
      `  ! non-2xx ${result.non2xx} ${JSON.stringify(result.statusCodes ?? {})}, ` +
      `errors ${result.errors}, timeouts ${result.timeouts}`;
  }
  console.log(line);
}

/** Share of one core, in percent. */
function corePercent(cpuMs: number | null | undefined, wallMs: number): number | undefined {
  return cpuMs === null || cpuMs === undefined || wallMs <= 0 ? undefined : (100 * cpuMs) / wallMs;
}

export function printCpu(cpu: CpuWindow): void {
  const main = corePercent(cpu.mainThreadCpuMs, cpu.wallMs);
  const all = corePercent(cpu.processCpuMs, cpu.wallMs);
  console.log(
    `  ${''.padEnd(34)} server CPU over the probe: main thread ${main === undefined ? '—' : fmt(main, 0)}% of a core, ` +
      `with child processes ${all === undefined ? '—' : fmt(all, 0)}%` +
      (cpu.machine
        ? `; machine steal ${fmt(cpu.machine.stealMs, 0)} ms, iowait ${fmt(cpu.machine.iowaitMs, 0)} ms`
        : ''),
  );
}

/** The runner's event loop over a probe window: a stall there delays the probe, not the server. */
export function printRunnerLoop(loop: LoopDelay): void {
  console.log(
    `  ${''.padEnd(34)} runner (probe + flood client) loop delay max ${fmt(loop.maxMs)} ms, ` +
      `GC pause max ${fmt(loop.gcMaxMs)} ms (${loop.gcMaxKind || '—'})`,
  );
}

export function verdictOf(values: Spread, goal: Goal): string {
  const meets = (v: number) => (goal.op === '>=' ? v >= goal.value : v <= goal.value);
  if (!meets(values.median)) return 'MISSED';
  const worst = goal.op === '>=' ? values.min : values.max;
  return meets(worst) ? 'met (every round)' : 'met (median; not every round)';
}

/** Turns the rounds into figures: one value per round each, then their spread and verdict. */
export function summarize(rounds: RoundRecord[], backends: Backend[], settings: BenchSettings): Metric[] {
  const metrics: Metric[] = [];
  const add = (m: Omit<Metric, keyof Spread | 'verdict'>, pick: (round: RoundRecord) => number | undefined): void => {
    const values = rounds.map(pick).filter((v): v is number => v !== undefined && Number.isFinite(v));
    if (values.length === 0) return;
    const s = spread(values);
    metrics.push({ ...m, ...s, ...(m.goal && { verdict: verdictOf(s, m.goal) }) });
  };
  const ratio = (a: number | undefined, b: number | undefined) =>
    a !== undefined && b !== undefined && b > 0 ? a / b : undefined;
  const rate = (x: number) => `${x} req/s`;
  const cpuPer = (result: LoadResult | undefined) => (result ? mainThreadUsPerRequest(result) : undefined);

  for (const b of backends) {
    const at = (r: RoundRecord) => r.backends[b];
    add(
      {
        id: `me-vs-ping.${b}.host`,
        scenario: 1,
        backend: b,
        label: 'me(host) / ping',
        unit: 'ratio',
        goal: { op: '>=', value: 0.6, primary: true },
      },
      (r) => ratio(at(r)?.meHost?.rps, at(r)?.ping?.rps),
    );
    add(
      {
        id: `me-vs-ping.${b}.standalone`,
        scenario: 1,
        backend: b,
        label: 'me(standalone) / ping',
        unit: 'ratio',
        goal: { op: '>=', value: 0.6, primary: false },
      },
      (r) => ratio(at(r)?.meStandalone?.rps, at(r)?.ping?.rps),
    );
    add(
      {
        id: `me-vs-better-auth.${b}.host`,
        scenario: 2,
        backend: b,
        label: 'me(host) / better-auth get-session',
        unit: 'ratio',
        goal: { op: '>=', value: 3.0, primary: true },
      },
      (r) => ratio(at(r)?.meHost?.rps, r.betterAuth?.rps),
    );
    add(
      {
        id: `me-vs-better-auth.${b}.standalone`,
        scenario: 2,
        backend: b,
        label: 'me(standalone) / better-auth get-session',
        unit: 'ratio',
        goal: { op: '>=', value: 3.0, primary: false },
      },
      (r) => ratio(at(r)?.meStandalone?.rps, r.betterAuth?.rps),
    );
    add(
      {
        id: `login-vs-argon2.${b}`,
        scenario: 3,
        backend: b,
        label: 'login / raw argon2 verify',
        unit: 'ratio',
        goal: { op: '>=', value: 0.85, primary: true },
      },
      (r) => ratio(at(r)?.login?.rps, r.argon2?.perSecond),
    );
    add(
      {
        id: `flood.${b}.paced.p99`,
        scenario: 4,
        backend: b,
        label: `me p99 during login flood (probe ${rate(settings.probeRate)})`,
        unit: 'ms',
        goal: { op: '<=', value: 25, primary: true },
      },
      (r) => at(r)?.floodPaced?.probe.latencyMs.p99,
    );
    add(
      {
        id: `flood.${b}.paced.loop-max`,
        scenario: 4,
        backend: b,
        label: 'server event-loop stall, max (paced probe)',
        unit: 'ms',
        goal: { op: '<=', value: 50, primary: true },
      },
      (r) => at(r)?.floodPaced?.loop.maxMs,
    );
    add(
      {
        id: `flood.${b}.closed.p99`,
        scenario: 4,
        backend: b,
        label: `me p99 during login flood (closed loop, ${settings.connections} conns)`,
        unit: 'ms',
        goal: { op: '<=', value: 25, primary: false },
      },
      (r) => at(r)?.floodClosed?.probe.latencyMs.p99,
    );
    add(
      {
        id: `flood.${b}.closed.loop-max`,
        scenario: 4,
        backend: b,
        label: 'server event-loop stall, max (closed-loop probe)',
        unit: 'ms',
        goal: { op: '<=', value: 50, primary: false },
      },
      (r) => at(r)?.floodClosed?.loop.maxMs,
    );

    // Absolute figures.
    const abs = (
      id: string,
      scenario: Metric['scenario'],
      label: string,
      unit: Metric['unit'],
      pick: (r: RoundRecord) => number | undefined,
    ) => add({ id: `${id}.${b}`, scenario, backend: b, label, unit }, pick);
    abs('ping.rps', 1, 'ping', 'req/s', (r) => at(r)?.ping?.rps);
    abs('me-host.rps', 1, 'me(host)', 'req/s', (r) => at(r)?.meHost?.rps);
    abs('me-standalone.rps', 1, 'me(standalone)', 'req/s', (r) => at(r)?.meStandalone?.rps);
    abs('ping.p99', 1, 'ping p99 latency', 'ms', (r) => at(r)?.ping?.latencyMs.p99);
    abs('me-host.p99', 1, 'me(host) p99 latency', 'ms', (r) => at(r)?.meHost?.latencyMs.p99);
    abs('ping.cpu', 1, 'server main-thread CPU per ping', 'µs/req', (r) => cpuPer(at(r)?.ping));
    abs('me-host.cpu', 1, 'server main-thread CPU per me(host)', 'µs/req', (r) => cpuPer(at(r)?.meHost));
    abs('me-standalone.cpu', 1, 'server main-thread CPU per me(standalone)', 'µs/req', (r) =>
      cpuPer(at(r)?.meStandalone),
    );
    abs('login.rps', 3, 'login', 'req/s', (r) => at(r)?.login?.rps);
    abs('login.cpu', 3, 'server main-thread CPU per login', 'µs/req', (r) => cpuPer(at(r)?.login));
    abs('login.p99', 3, 'login p99 latency', 'ms', (r) => at(r)?.login?.latencyMs.p99);
    abs('probe-alone.p99', 4, 'me p99, same probe without flood', 'ms', (r) => at(r)?.probeAlone?.probe.latencyMs.p99);
    abs('probe-alone.loop-max', 4, 'server loop stall max, no flood', 'ms', (r) => at(r)?.probeAlone?.loop.maxMs);
    abs('flood.paced.p50', 4, 'me p50 during flood (paced)', 'ms', (r) => at(r)?.floodPaced?.probe.latencyMs.p50);
    abs('flood.paced.max', 4, 'me max during flood (paced)', 'ms', (r) => at(r)?.floodPaced?.probe.latencyMs.max);
    abs('flood.paced.loop-p99', 4, 'server loop delay p99 (paced)', 'ms', (r) => at(r)?.floodPaced?.loop.p99Ms);
    abs('flood.paced.login', 4, 'login during flood (paced probe)', 'req/s', (r) => at(r)?.floodPaced?.flood?.rps);
    abs('flood.paced.main', 4, 'server main thread busy during flood', '%', (r) =>
      corePercent(at(r)?.floodPaced?.cpu.mainThreadCpuMs, at(r)?.floodPaced?.cpu.wallMs ?? 0),
    );
    abs('flood.paced.process', 4, 'server + hashing process CPU in flood (of a core)', '%', (r) =>
      corePercent(at(r)?.floodPaced?.cpu.processCpuMs, at(r)?.floodPaced?.cpu.wallMs ?? 0),
    );
    abs('flood.closed.rps', 4, 'me during flood (closed loop)', 'req/s', (r) => at(r)?.floodClosed?.probe.rps);
    abs('flood.closed.p50', 4, 'me p50 during flood (closed)', 'ms', (r) => at(r)?.floodClosed?.probe.latencyMs.p50);
    abs('flood.closed.loop-p99', 4, 'server loop delay p99 (closed)', 'ms', (r) => at(r)?.floodClosed?.loop.p99Ms);
    abs('flood.closed.login', 4, 'login during flood (closed probe)', 'req/s', (r) => at(r)?.floodClosed?.flood?.rps);

    // Scenario 5: each seeded size's p99 against the smallest size's, load by load, in the same round.
    const [smallest, ...larger] = settings.adminUsers;
    const list = (r: RoundRecord, users: number | undefined) =>
      users === undefined ? undefined : at(r)?.adminList?.[users];
    const loads = [
      { key: 'search', label: `search "${SEED_SEARCH}", first page` },
      { key: 'rareSearch', label: `search "${SEED_RARE_SEARCH}" (one user)` },
      { key: 'deepPage', label: 'deep page by cursor' },
    ] as const;
    for (const users of larger) {
      for (const { key, label } of loads) {
        add(
          {
            id: `admin-list.${b}.${key}.p99-ratio.${users}`,
            scenario: 5,
            backend: b,
            label: `admin list p99 @${usersLabel(users)} / @${usersLabel(smallest!)}: ${label}`,
            unit: 'ratio',
            goal: { op: '<=', value: 1.5, primary: true },
          },
          (r) => ratio(list(r, users)?.[key]?.latencyMs.p99, list(r, smallest)?.[key]?.latencyMs.p99),
        );
      }
    }
    for (const users of settings.adminUsers) {
      const size = usersLabel(users);
      for (const { key, label } of loads) {
        abs(
          `admin-list.${key}.${users}.rps`,
          5,
          `admin list @${size}: ${label}`,
          'req/s',
          (r) => list(r, users)?.[key]?.rps,
        );
        abs(
          `admin-list.${key}.${users}.p99`,
          5,
          `admin list @${size}: ${label}, p99`,
          'ms',
          (r) => list(r, users)?.[key]?.latencyMs.p99,
        );
        abs(`admin-list.${key}.${users}.cpu`, 5, `admin list @${size}: ${label}, server main thread`, 'µs/req', (r) =>
          cpuPer(list(r, users)?.[key]),
        );
      }
    }
  }
  add(
    { id: 'better-auth.rps', scenario: 2, backend: null, label: 'better-auth get-session', unit: 'req/s' },
    (r) => r.betterAuth?.rps,
  );
  add(
    {
      id: 'better-auth.cpu',
      scenario: 2,
      backend: null,
      label: 'better-auth main-thread CPU per get-session',
      unit: 'µs/req',
    },
    (r) => cpuPer(r.betterAuth),
  );
  add(
    { id: 'better-auth.p99', scenario: 2, backend: null, label: 'better-auth get-session p99 latency', unit: 'ms' },
    (r) => r.betterAuth?.latencyMs.p99,
  );
  add(
    {
      id: 'argon2.raw',
      scenario: 3,
      backend: null,
      label: `raw argon2 verify (${settings.connections} in flight)`,
      unit: 'verify/s',
    },
    (r) => r.argon2?.perSecond,
  );
  return metrics.sort((a, b) => a.scenario - b.scenario);
}

function digitsFor(unit: Metric['unit']): number {
  if (unit === 'ratio') return 2;
  return unit === 'µs/req' || unit === '%' || unit === 'count' ? 0 : 1;
}

function table(rows: string[][], header: string[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 || i === 1 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ');
  console.log(`  ${line(header)}`);
  console.log(`  ${widths.map((w) => '─'.repeat(w)).join('  ')}`);
  for (const row of rows) console.log(`  ${line(row)}`);
}

export function printSummary(metrics: Metric[], settings: BenchSettings, machine: MachineInfo, notes: string[]): void {
  console.log(
    `\n═══ Summary: ${settings.rounds} rounds × ${settings.seconds} s, ${settings.connections} connections ═══`,
  );
  const goals = metrics.filter((m) => m.goal);
  table(
    goals.map((m) => {
      const d = digitsFor(m.unit);
      return [
        `${m.scenario}. ${m.label}${m.goal?.primary ? '' : ' (secondary)'}`,
        m.backend ?? '',
        fmt(m.min, d),
        fmt(m.median, d),
        fmt(m.max, d),
        `${m.goal!.op} ${m.goal!.value}${m.unit === 'ms' ? ' ms' : ''}`,
        m.verdict ?? '',
      ];
    }),
    ['figure', 'backend', 'min', 'median', 'max', 'goal', 'verdict'],
  );
  console.log('\nAbsolute figures');
  table(
    metrics
      .filter((m) => !m.goal)
      .map((m) => {
        const d = digitsFor(m.unit);
        return [`${m.scenario}. ${m.label}`, m.backend ?? '', fmt(m.min, d), fmt(m.median, d), fmt(m.max, d), m.unit];
      }),
    ['figure', 'backend', 'min', 'median', 'max', 'unit'],
  );
  console.log(`\nNOTE: ${contentionNote(machine)}`);
  for (const note of notes) console.log(`NOTE: ${note}`);
}

export async function printProfiles(dir: string): Promise<void> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
  } catch {
    files = [];
  }
  if (files.length === 0) {
    console.log(`\nNo CPU profiles found in ${dir}`);
    return;
  }
  for (const file of files.sort()) {
    const summary = await summarizeCpuProfile(join(dir, file));
    console.log(
      `\nCPU profile ${file}: ${fmt(summary.busyMs / 1000)} s busy on the main thread, ${fmt(summary.idleMs / 1000)} s idle`,
    );
    console.log('  by package (self time):');
    for (const e of summary.byPackage.slice(0, 10)) console.log(`    ${fmt(e.percent).padStart(5)}%  ${e.name}`);
    console.log('  top functions (self time):');
    for (const e of summary.topSelf) console.log(`    ${fmt(e.percent).padStart(5)}%  ${e.name}  ${e.where}`);
    console.log('  regstack functions (inclusive time):');
    for (const e of summary.regstackInclusive) console.log(`    ${fmt(e.percent).padStart(5)}%  ${e.name}  ${e.where}`);
    console.log('  longest gaps between samples (stack innermost first):');
    for (const g of summary.longestGaps) console.log(`    ${fmt(g.ms).padStart(7)} ms  ${g.stack.join(' ← ')}`);
  }
  console.log(`  (profiles: ${dir})`);
}

export async function writeResults(dir: URL, data: object): Promise<string> {
  await mkdir(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = new URL(`bench-${stamp}.json`, dir);
  const text = `${JSON.stringify(data, null, 2)}\n`;
  await writeFile(file, text);
  await writeFile(new URL('latest.json', dir), text);
  return file.pathname;
}
