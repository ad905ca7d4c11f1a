/**
 * The bench's knobs, all from the environment so `pnpm bench` needs no arguments. The defaults keep a run
 * to a few minutes on a 2-core machine; raise BENCH_ROUNDS / BENCH_SECONDS for tighter figures.
 */

export type Backend = 'sqlite' | 'postgres';
export type Scenario =
  | 'me'
  | 'better-auth'
  | 'login'
  | 'flood'
  | 'admin'
  // Scenarios 6 and up, in src/scenarios/:
  | 'totp'
  | 'scale'
  | 'regstack-py'
  | 'two-instances';
export const SCENARIOS: readonly Scenario[] = [
  'me',
  'better-auth',
  'login',
  'flood',
  'admin',
  'totp',
  'scale',
  'regstack-py',
  'two-instances',
];

export interface BenchSettings {
  /** BENCH_ROUNDS: measured rounds; each round measures every scenario once. @default 3 */
  rounds: number;
  /** BENCH_SECONDS: length of each measured load. @default 5 */
  seconds: number;
  /** BENCH_WARMUP_SECONDS: one unmeasured load per endpoint before the first round (JIT, caches). @default 2 */
  warmupSeconds: number;
  /** BENCH_CONNECTIONS: concurrent HTTP connections per load (and argon2 calls in flight for the baseline). @default 10 */
  connections: number;
  /** BENCH_BACKENDS: regstack storage backends to run. @default 'sqlite,postgres' */
  backends: Backend[];
  /** BENCH_SCENARIOS: which scenarios to run. @default every one of SCENARIOS */
  scenarios: Set<Scenario>;
  /**
   * BENCH_ADMIN_USERS: the user counts the `admin` scenario seeds, one database each per backend, comma-separated;
   * the smallest is the baseline of the others' p99. The issue's goal is judged at 1,000,000
   * (`BENCH_ADMIN_USERS=1000,1000000`), which makes seeding the longest part of the run and takes a few hundred MB
   * of disk per backend; the default's 100,000 already shows a query whose cost grows with the table, at a tenth
   * of the seeding. @default '1000,100000'
   */
  adminUsers: number[];
  /** BENCH_PG_URL (or REGSTACK_TEST_PG_URL): an administrative PostgreSQL URL; a database is created per run. */
  pgUrl: string;
  /**
   * BENCH_PROBE_RATE: requests per second of the paced `auth.account.me` probe during the login flood. Latency
   * at a steady moderate rate measures responsiveness; the closed-loop probe (as fast as answers come) is
   * reported beside it. @default 200
   */
  probeRate: number;
  /**
   * BENCH_FLOOD_CLOSED=1: also run scenario 4 with a closed-loop probe (as fast as answers come). Its latency is
   * mostly the probe queueing behind itself (Little's law), so it is off by default. @default false
   */
  floodClosedLoop: boolean;
  /**
   * BENCH_STANDALONE=1: also measure `auth.account.me` through `regstack.listen()` (regstack's own fetch handler)
   * in scenarios 1 and 2, beside the host-router figure the goals are judged on. Off by default to keep the run
   * under four minutes; in runs so far the two differed by less than the noise. @default false
   */
  standalone: boolean;
  /**
   * BENCH_CPU_PROF=1: in the first round, record a CPU profile of the server child over each load's window, and
   * print where its main thread spent the time. Profiling costs a little: that round's figures are slightly low.
   * @default false
   */
  cpuProfile: boolean;
  /**
   * BENCH_REGSTACK_CONFIG: JSON merged into the bench instance's regstack options, for what-if runs (e.g.
   * `{"hashConcurrency":1}`). Unset means regstack's defaults (plus `loginRateLimit: "none"`). @default undefined
   */
  regstackConfig: string | undefined;
  /**
   * BENCH_SERVER_NODE_FLAGS: extra Node flags for the regstack server children only, space-separated, for
   * what-if runs (e.g. `--single-threaded-gc`). @default []
   */
  serverNodeFlags: string[];
  /**
   * BENCH_HOST_ADAPTER: how the host router is served. `standalone` is @trpc/server's Node adapter (what most
   * hosts use); `fetch` (what-if) is tRPC's fetch adapter behind regstack's Node bridge, whose Requests carry no
   * abort signal. @default 'standalone'
   */
  hostAdapter: HostAdapter;
  /**
   * BENCH_ABORT_SIGNAL_ANY: `native` leaves Node's `AbortSignal.any` alone; `trpc-fallback` (what-if) deletes it
   * in the regstack server children before they serve, so @trpc/server combines its per-request signals with its
   * own listener-based fallback instead. Node's implementation registers every combined signal in
   * FinalizationRegistries whose entries outlive the request by whole GC cycles (nodejs/node#54614); under
   * sustained load they fill the old generation and lengthen mark-compact pauses. @default 'native'
   */
  abortSignalAny: AbortSignalAny;
}

export type HostAdapter = 'standalone' | 'fetch';
export type AbortSignalAny = 'native' | 'trpc-fallback';

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return value;
}

/** A comma-separated list of distinct positive integers, in ascending order. */
function positiveInts(name: string, fallback: number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const values = raw.split(',').map((s) => Number(s.trim().replace(/_/g, '')));
  if (values.some((v) => !Number.isSafeInteger(v) || v < 1)) {
    throw new Error(`${name} must be comma-separated positive integers, got ${raw}`);
  }
  return [...new Set(values)].sort((a, b) => a - b);
}

function list<T extends string>(name: string, allowed: readonly T[], fallback: readonly T[]): T[] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return [...fallback];
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of items) {
    if (!(allowed as readonly string[]).includes(item)) {
      throw new Error(`${name}: unknown value ${JSON.stringify(item)} (allowed: ${allowed.join(', ')})`);
    }
  }
  return items as T[];
}

function oneOf<T extends string>(name: string, allowed: readonly [T, ...T[]]): T {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return allowed[0];
  if (!(allowed as readonly string[]).includes(raw.trim())) {
    throw new Error(`${name}: unknown value ${JSON.stringify(raw)} (allowed: ${allowed.join(', ')})`);
  }
  return raw.trim() as T;
}

function flag(name: string): boolean {
  const raw = process.env[name];
  return raw === '1' || raw === 'true';
}

function readJsonObject(name: string): string | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error(`${name} must be a JSON object, got ${raw}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${name} must be a JSON object, got ${raw}`);
  }
  return raw;
}

export function readSettings(): BenchSettings {
  return {
    rounds: positiveInt('BENCH_ROUNDS', 3),
    seconds: positiveInt('BENCH_SECONDS', 5),
    warmupSeconds: positiveInt('BENCH_WARMUP_SECONDS', 2),
    connections: positiveInt('BENCH_CONNECTIONS', 10),
    backends: list<Backend>('BENCH_BACKENDS', ['sqlite', 'postgres'], ['sqlite', 'postgres']),
    scenarios: new Set(list<Scenario>('BENCH_SCENARIOS', SCENARIOS, SCENARIOS)),
    adminUsers: positiveInts('BENCH_ADMIN_USERS', [1000, 100_000]),
    pgUrl:
      process.env.BENCH_PG_URL ??
      process.env.REGSTACK_TEST_PG_URL ??
      'postgresql://regstack:regstack@127.0.0.1:5432/postgres',
    probeRate: positiveInt('BENCH_PROBE_RATE', 200),
    floodClosedLoop: flag('BENCH_FLOOD_CLOSED'),
    standalone: flag('BENCH_STANDALONE'),
    cpuProfile: flag('BENCH_CPU_PROF'),
    regstackConfig: readJsonObject('BENCH_REGSTACK_CONFIG'),
    serverNodeFlags: (process.env.BENCH_SERVER_NODE_FLAGS ?? '').split(' ').filter(Boolean),
    hostAdapter: oneOf<HostAdapter>('BENCH_HOST_ADAPTER', ['standalone', 'fetch']),
    abortSignalAny: oneOf<AbortSignalAny>('BENCH_ABORT_SIGNAL_ANY', ['native', 'trpc-fallback']),
  };
}
