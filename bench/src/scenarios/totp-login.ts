/**
 * Scenario 6 — login with an authenticator app (issue 18 item 10): completed sign-ins per second, each
 * `auth.login` (→ `mfa_required`) + `auth.mfa.confirmLogin { method: 'totp', code }` (lib/totp-load.ts), over
 * raw argon2 verifications per second at the same parameters and the same number in flight (the scenario 3
 * baseline, servers/argon2-baseline.ts), measured in the same round. Goal ≥ 0.8. A sign-in costs one password
 * hash, like a login without a factor; the second step adds the pending-token check, the TOTP check and its
 * replay claim, and the session.
 *
 * One server per backend, with `BENCH_TOTP_USERS` users bulk-seeded with a confirmed TOTP factor
 * (servers/totp-users.ts). Failed sign-ins never count; they are printed by kind.
 */
import { availableParallelism, loadavg } from 'node:os';
import { startArgon2Baseline } from '../lib/argon2-baseline.ts';
import type { BenchChild } from '../lib/ipc.ts';
import type { Argon2RunResult, CpuWindow, RegstackReady } from '../lib/protocol.ts';
import type { Metric } from '../lib/report.ts';
import type { Backend } from '../lib/settings.ts';
import { createTotpUserPool, runTotpLoad, type TotpLoadResult, type TotpUserPool } from '../lib/totp-load.ts';
import type { ScenarioContext, ScenarioOutcome } from './context.ts';
import { addMetric, atLeast, fmt, ratio, settle } from './metrics.ts';

/** BENCH_TOTP_USERS: users seeded per server; each signs in at most once per 30-s step. */
export function totpUsers(): number {
  const raw = process.env.BENCH_TOTP_USERS;
  const value = raw === undefined || raw === '' ? 3000 : Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`BENCH_TOTP_USERS must be a positive integer, got ${raw}`);
  return value;
}

interface Target {
  backend: Backend;
  child: BenchChild<RegstackReady>;
  pool: TotpUserPool;
}

interface TotpRound {
  round: number;
  loadAverage: number;
  signIns: Partial<Record<Backend, TotpLoadResult & { serverCpu?: CpuWindow }>>;
  argon2?: Argon2RunResult;
}

function printTotp(label: string, r: TotpLoadResult): void {
  let line =
    `  ${label.padEnd(34)} ${fmt(r.perSecond).padStart(9)} sign-in/s  ` +
    `p50 ${fmt(r.latencyMs.p50)} p99 ${fmt(r.latencyMs.p99)} max ${fmt(r.latencyMs.max)} ms`;
  if (r.failed > 0) line += `  ! ${r.failed} failed ${JSON.stringify(r.failures)}`;
  if (r.starvedMs > 0) line += `  ! lanes waited ${fmt(r.starvedMs, 0)} ms for a user with an unspent step`;
  console.log(line);
}

export async function runTotpLoginScenario(ctx: ScenarioContext): Promise<ScenarioOutcome> {
  const { settings } = ctx;
  const C = settings.connections;
  const users = totpUsers();
  console.log(`\nScenario 6 — login with TOTP (${users.toLocaleString('en-US')} users per backend)`);
  const targets: Target[] = [];
  const seeds: Record<string, number> = {};
  for (const backend of settings.backends) {
    const databaseUrl = await ctx.databaseFor(backend, 'totp');
    if (!databaseUrl) continue;
    const child = await ctx.startRegstack(databaseUrl, { BENCH_USERS: '0', BENCH_TOTP_USERS: String(users) });
    const seed = child.ready.totp!;
    seeds[backend] = seed.seedSeconds;
    targets.push({ backend, child, pool: createTotpUserPool(seed.users) });
    console.log(
      `  regstack/${backend} ready (pid ${child.pid}): ${seed.users.length} TOTP users seeded in ${fmt(seed.seedSeconds, 1)} s`,
    );
  }
  if (targets.length === 0) return { metrics: [], rounds: [] };
  const params = targets[0]!.child.ready.argon2;
  const argon2 = await startArgon2Baseline(params);
  ctx.onCleanup(() => argon2.stop());

  const load = (t: Target, seconds: number) =>
    runTotpLoad({
      url: t.child.ready.hostUrl,
      password: t.child.ready.totp!.password,
      pool: t.pool,
      connections: C,
      seconds,
    });
  for (const t of targets) printTotp(`${t.backend.padEnd(8)} warm login+totp`, await load(t, settings.warmupSeconds));
  await argon2.request<Argon2RunResult>('argon2:run', { seconds: 1, inFlight: C });

  const rounds: TotpRound[] = [];
  for (let r = 0; r < settings.rounds; r++) {
    console.log(`  round ${r + 1}/${settings.rounds}`);
    const round: TotpRound = { round: r + 1, loadAverage: 0, signIns: {} };
    // The baseline first in odd rounds, last in even ones, so a drift does not always favour one side.
    const baseline = async () => {
      await settle();
      round.argon2 = await argon2.request<Argon2RunResult>('argon2:run', { seconds: settings.seconds, inFlight: C });
      console.log(
        `  ${'argon2 raw verify'.padEnd(34)} ${fmt(round.argon2.perSecond).padStart(9)} verify/s  (${C} in flight)`,
      );
    };
    if (r % 2 === 1) await baseline();
    for (const t of targets) {
      await settle();
      await t.child.request('cpu:start');
      const result = await load(t, settings.seconds);
      const serverCpu = await t.child.request<CpuWindow>('cpu:stop');
      round.signIns[t.backend] = { ...result, serverCpu };
      printTotp(`${t.backend.padEnd(8)} login+totp`, result);
    }
    if (r % 2 === 0) await baseline();
    round.loadAverage = Math.round(loadavg()[0]! * 100) / 100;
    console.log(`  (1-minute load average ${round.loadAverage} on ${availableParallelism()} cores)`);
    rounds.push(round);
  }
  for (const t of targets) await t.child.stop();
  await argon2.stop();

  const metrics: Metric[] = [];
  for (const { backend } of targets) {
    const at = (r: TotpRound) => r.signIns[backend];
    addMetric(
      metrics,
      {
        id: `login-totp-vs-argon2.${backend}`,
        scenario: 6,
        backend,
        label: 'login + TOTP sign-ins / raw argon2 verify',
        unit: 'ratio',
        goal: atLeast(0.8),
      },
      rounds.map((r) => ratio(at(r)?.perSecond, r.argon2?.perSecond)),
    );
    const abs = (id: string, label: string, unit: Metric['unit'], pick: (r: TotpRound) => number | undefined) =>
      addMetric(metrics, { id: `${id}.${backend}`, scenario: 6, backend, label, unit }, rounds.map(pick));
    abs('login-totp.rps', 'login + TOTP completed sign-ins', 'req/s', (r) => at(r)?.perSecond);
    abs('login-totp.p50', 'login + TOTP sign-in p50 (both steps)', 'ms', (r) => at(r)?.latencyMs.p50);
    abs('login-totp.p99', 'login + TOTP sign-in p99 (both steps)', 'ms', (r) => at(r)?.latencyMs.p99);
    abs('login-totp.failed', 'login + TOTP failed sign-ins (not counted)', 'count', (r) => at(r)?.failed);
  }
  addMetric(
    metrics,
    {
      id: 'login-totp.argon2',
      scenario: 6,
      backend: null,
      label: `raw argon2 verify (${C} in flight)`,
      unit: 'verify/s',
    },
    rounds.map((r) => r.argon2?.perSecond),
  );
  const failed = rounds.reduce((n, r) => n + Object.values(r.signIns).reduce((m, s) => m + (s?.failed ?? 0), 0), 0);
  const starved = rounds.reduce((n, r) => n + Object.values(r.signIns).reduce((m, s) => m + (s?.starvedMs ?? 0), 0), 0);
  ctx.notes.push(
    `login with TOTP: ${users.toLocaleString('en-US')} users per backend, each at most once per 30-s step; ` +
      `${failed} failed sign-ins over the measured rounds (never counted)` +
      (starved > 0 ? `; lanes waited ${fmt(starved, 0)} ms for users — raise BENCH_TOTP_USERS` : ''),
  );
  return { metrics, rounds, details: { totpUsers: users, seedSeconds: seeds } };
}
