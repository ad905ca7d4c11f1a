/**
 * Scenario 7 — bench at scale (issue 21): `auth.account.me` and `auth.login` latency over a database of many
 * users against the same loads over 1,000 — p50 and p99 at the largest size over those at the smallest, round by
 * round, goal ≤ 1.2. Sizes from `BENCH_SCALE_USERS` (default 1,000 and 100,000; the issue's figure is
 * `BENCH_SCALE_USERS=1000,1000000`). One server per backend and size, its database bulk-seeded as scenario 5's
 * (servers/scale-users.ts) before it listens, with one known password, so the loads act as users spread over the
 * whole table: `me` with their bearer tokens, login one user per connection with the right password.
 */
import { availableParallelism, loadavg } from 'node:os';
import type { BenchChild } from '../lib/ipc.ts';
import type { LoadResult, LoadSpec } from '../lib/load.ts';
import type { BenchCredential, RegstackReady, ScaleSeed } from '../lib/protocol.ts';
import { type Metric, usersLabel } from '../lib/report.ts';
import type { Backend } from '../lib/settings.ts';
import type { ScenarioContext, ScenarioOutcome } from './context.ts';
import { addMetric, atMost, fmt, ratio, settle } from './metrics.ts';

/** BENCH_SCALE_USERS: ascending distinct sizes; the smallest is the baseline. */
export function scaleSizes(): number[] {
  const raw = process.env.BENCH_SCALE_USERS;
  if (raw === undefined || raw.trim() === '') return [1000, 100_000];
  const values = raw.split(',').map((s) => Number(s.trim().replace(/_/g, '')));
  if (values.length < 2 || values.some((v) => !Number.isSafeInteger(v) || v < 1)) {
    throw new Error(`BENCH_SCALE_USERS must be two or more comma-separated positive integers, got ${raw}`);
  }
  return [...new Set(values)].sort((a, b) => a - b);
}

export function meLoad(url: string, users: BenchCredential[], connections: number, seconds: number): LoadSpec {
  return {
    url,
    path: '/trpc/auth.account.me',
    connections,
    seconds,
    headersFor: (i) => ({ authorization: `Bearer ${users[i % users.length]!.token}` }),
  };
}

/** One user per connection, so no account has two logins in flight (R17) and none ever fails. */
export function loginLoad(url: string, users: BenchCredential[], connections: number, seconds: number): LoadSpec {
  return {
    url,
    path: '/trpc/auth.login',
    method: 'POST',
    connections,
    seconds,
    headersFor: () => ({ 'content-type': 'application/json' }),
    bodyFor: (i) => {
      const user = users[i % users.length]!;
      return JSON.stringify({ json: { email: user.email, password: user.password } });
    },
  };
}

interface Target {
  backend: Backend;
  users: number;
  child: BenchChild<RegstackReady>;
  seed: ScaleSeed;
}

interface ScaleRound {
  round: number;
  loadAverage: number;
  /** backend → users → loads. */
  results: Partial<Record<Backend, Record<number, { me?: LoadResult; login?: LoadResult }>>>;
}

export async function runScaleScenario(ctx: ScenarioContext): Promise<ScenarioOutcome> {
  const { settings } = ctx;
  const C = settings.connections;
  const sizes = scaleSizes();
  console.log(`\nScenario 7 — me and login at scale (${sizes.map(usersLabel).join(' vs ')} users)`);
  const targets: Target[] = [];
  for (const backend of settings.backends) {
    for (const users of sizes) {
      const databaseUrl = await ctx.databaseFor(backend, `scale-${users}`);
      if (!databaseUrl) continue;
      const child = await ctx.startRegstack(
        databaseUrl,
        { BENCH_USERS: '0', BENCH_SCALE_SEED: String(users), BENCH_SCALE_CONNECTIONS: String(C) },
        3_600_000,
      );
      const seed = child.ready.scale!;
      targets.push({ backend, users, child, seed });
      console.log(
        `  regstack/${backend} ${users.toLocaleString('en-US')} users seeded in ${fmt(seed.seedSeconds, 1)} s (pid ${child.pid})`,
      );
    }
  }
  if (targets.length === 0) return { metrics: [], rounds: [] };
  const label = (t: Target, what: string) => `${t.backend.padEnd(8)} ${what} @${usersLabel(t.users)}`;
  const url = (t: Target) => t.child.ready.hostUrl;
  for (const t of targets) {
    await ctx.load(label(t, 'warm me'), meLoad(url(t), t.seed.meUsers, C, settings.warmupSeconds));
    await ctx.load(label(t, 'warm login'), loginLoad(url(t), t.seed.loginUsers, C, settings.warmupSeconds));
  }

  const rounds: ScaleRound[] = [];
  const S = settings.seconds;
  for (let r = 0; r < settings.rounds; r++) {
    console.log(`  round ${r + 1}/${settings.rounds}`);
    const round: ScaleRound = { round: r + 1, loadAverage: 0, results: {} };
    for (const backend of settings.backends) {
      const steps: Array<() => Promise<void>> = [];
      for (const t of targets.filter((x) => x.backend === backend)) {
        const rec: { me?: LoadResult; login?: LoadResult } = {};
        round.results[backend] = { ...round.results[backend], [t.users]: rec };
        steps.push(async () => {
          rec.me = await ctx.load(label(t, 'me'), meLoad(url(t), t.seed.meUsers, C, S), t.child);
        });
        steps.push(async () => {
          rec.login = await ctx.load(label(t, 'login'), loginLoad(url(t), t.seed.loginUsers, C, S), t.child);
        });
      }
      // Rotated every round, so a drift does not always favour one size.
      for (let i = 0; i < steps.length; i++) {
        await settle();
        await steps[(i + r) % steps.length]!();
      }
    }
    round.loadAverage = Math.round(loadavg()[0]! * 100) / 100;
    console.log(`  (1-minute load average ${round.loadAverage} on ${availableParallelism()} cores)`);
    rounds.push(round);
  }
  for (const t of targets) await t.child.stop();

  const metrics: Metric[] = [];
  const [smallest, ...larger] = sizes;
  for (const backend of settings.backends) {
    if (!targets.some((t) => t.backend === backend)) continue;
    const at = (r: ScaleRound, users: number) => r.results[backend]?.[users];
    for (const users of larger) {
      for (const load of ['me', 'login'] as const) {
        for (const p of ['p50', 'p99'] as const) {
          addMetric(
            metrics,
            {
              id: `scale.${backend}.${load}.${p}-ratio.${users}`,
              scenario: 7,
              backend,
              label: `${load} ${p} @${usersLabel(users)} / @${usersLabel(smallest!)}`,
              unit: 'ratio',
              goal: atMost(1.2),
            },
            rounds.map((r) => ratio(at(r, users)?.[load]?.latencyMs[p], at(r, smallest!)?.[load]?.latencyMs[p])),
          );
        }
      }
    }
    for (const users of sizes) {
      for (const load of ['me', 'login'] as const) {
        const meta = (id: string, what: string, unit: Metric['unit']) => ({
          id: `scale.${backend}.${load}.${id}.${users}`,
          scenario: 7,
          backend,
          label: `${load} @${usersLabel(users)} ${what}`.trim(),
          unit,
        });
        addMetric(
          metrics,
          meta('rps', '', 'req/s'),
          rounds.map((r) => at(r, users)?.[load]?.rps),
        );
        addMetric(
          metrics,
          meta('p50', 'p50', 'ms'),
          rounds.map((r) => at(r, users)?.[load]?.latencyMs.p50),
        );
        addMetric(
          metrics,
          meta('p99', 'p99', 'ms'),
          rounds.map((r) => at(r, users)?.[load]?.latencyMs.p99),
        );
      }
    }
  }
  for (const t of targets) {
    ctx.notes.push(
      `at scale (${t.backend}): ${t.users.toLocaleString('en-US')} users bulk-seeded in ${fmt(t.seed.seedSeconds, 1)} s before any load`,
    );
  }
  return {
    metrics,
    rounds,
    details: { seeds: targets.map((t) => ({ backend: t.backend, users: t.users, seedSeconds: t.seed.seedSeconds })) },
  };
}
