/**
 * Scenario 9 — two instances over one PostgreSQL (issue 21): the throughput of two regstack server processes over
 * the same database against one, for `auth.account.me` and `auth.login`, printed with the machine's core count
 * (it decides what a second process can add: on two cores the load generator, both servers, their hashing
 * processes and PostgreSQL share them). The same total connections either way — `BENCH_CONNECTIONS` on one
 * instance, half on each of two, at the same time — so the figure is what a second instance adds for the same
 * clients, not more clients. Each instance's users registered through its own API (same database); one user per
 * connection, correct passwords only.
 */
import { availableParallelism, loadavg } from 'node:os';
import type { BenchChild } from '../lib/ipc.ts';
import type { LoadResult } from '../lib/load.ts';
import type { RegstackReady } from '../lib/protocol.ts';
import type { Metric } from '../lib/report.ts';
import type { ScenarioContext, ScenarioOutcome } from './context.ts';
import { addMetric, ratio, settle } from './metrics.ts';
import { loginLoad, meLoad } from './scale.ts';

interface TwoRound {
  round: number;
  loadAverage: number;
  one: { me?: LoadResult; login?: LoadResult };
  /** One result per instance, run at the same time. */
  two: { me?: LoadResult[]; login?: LoadResult[] };
}

const sum = (results: LoadResult[] | undefined) => results?.reduce((n, r) => n + r.rps, 0);

export async function runTwoInstancesScenario(ctx: ScenarioContext): Promise<ScenarioOutcome> {
  const { settings } = ctx;
  const C = settings.connections;
  const cores = availableParallelism();
  console.log(`\nScenario 9 — two regstack instances over one PostgreSQL vs one (${cores} cores)`);
  const skip = (why: string): ScenarioOutcome => {
    ctx.notes.push(`two instances skipped: ${why}`);
    console.warn(`! two instances skipped: ${why}`);
    return { metrics: [], rounds: [] };
  };
  if (!settings.backends.includes('postgres')) return skip('BENCH_BACKENDS leaves PostgreSQL out');
  if (C < 2) return skip('BENCH_CONNECTIONS must be at least 2');
  const databaseUrl = await ctx.databaseFor('postgres', 'two-instances');
  if (!databaseUrl) return skip('no PostgreSQL');
  const half = [Math.ceil(C / 2), Math.floor(C / 2)];
  const a = await ctx.startRegstack(databaseUrl, { BENCH_USERS: String(C) });
  const b = await ctx.startRegstack(databaseUrl, { BENCH_USERS: String(half[1]) });
  console.log(`  regstack/postgres instances ready over one database (pids ${a.pid}, ${b.pid})`);
  const both: Array<[BenchChild<RegstackReady>, number]> = [
    [a, half[0]!],
    [b, half[1]!],
  ];

  const one = (load: 'me' | 'login', seconds: number) =>
    ctx.load(
      `postgres ${load} one instance`,
      load === 'me'
        ? meLoad(a.ready.hostUrl, a.ready.meUsers, C, seconds)
        : loginLoad(a.ready.hostUrl, a.ready.loginUsers, C, seconds),
      a,
    );
  const two = (load: 'me' | 'login', seconds: number) =>
    Promise.all(
      both.map(([child, connections], i) =>
        ctx.load(
          `postgres ${load} instance ${i + 1} of 2`,
          load === 'me'
            ? meLoad(child.ready.hostUrl, child.ready.meUsers, connections, seconds)
            : loginLoad(child.ready.hostUrl, child.ready.loginUsers, connections, seconds),
          child,
        ),
      ),
    );
  const w = settings.warmupSeconds;
  await one('me', w);
  await two('me', w);
  await one('login', w);
  await two('login', w);

  const rounds: TwoRound[] = [];
  const S = settings.seconds;
  for (let r = 0; r < settings.rounds; r++) {
    console.log(`  round ${r + 1}/${settings.rounds}`);
    const round: TwoRound = { round: r + 1, loadAverage: 0, one: {}, two: {} };
    const steps: Array<() => Promise<void>> = [
      async () => {
        round.one.me = await one('me', S);
      },
      async () => {
        round.two.me = await two('me', S);
      },
      async () => {
        round.one.login = await one('login', S);
      },
      async () => {
        round.two.login = await two('login', S);
      },
    ];
    for (let i = 0; i < steps.length; i++) {
      await settle();
      await steps[(i + r) % steps.length]!();
    }
    round.loadAverage = Math.round(loadavg()[0]! * 100) / 100;
    console.log(`  (1-minute load average ${round.loadAverage} on ${cores} cores)`);
    rounds.push(round);
  }
  await a.stop();
  await b.stop();

  const metrics: Metric[] = [];
  const meta = (id: string, label: string, unit: Metric['unit']) => ({
    id: `two-instances.${id}`,
    scenario: 9,
    backend: 'postgres' as const,
    label,
    unit,
  });
  for (const load of ['me', 'login'] as const) {
    addMetric(
      metrics,
      meta(`${load}.ratio`, `${load} req/s two instances / one (${cores} cores)`, 'ratio'),
      rounds.map((r) => ratio(sum(r.two[load]), r.one[load]?.rps)),
    );
    addMetric(
      metrics,
      meta(`${load}.one`, `${load}, one instance`, 'req/s'),
      rounds.map((r) => r.one[load]?.rps),
    );
    addMetric(
      metrics,
      meta(`${load}.two`, `${load}, two instances`, 'req/s'),
      rounds.map((r) => sum(r.two[load])),
    );
  }
  ctx.notes.push(
    `two instances: ${C} connections on one instance against ${half.join(' + ')} on two at once, over one PostgreSQL, on ${cores} cores`,
  );
  return { metrics, rounds, details: { cores, connections: { one: C, two: half } } };
}
