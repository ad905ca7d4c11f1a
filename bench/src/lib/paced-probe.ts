/**
 * A paced latency probe for scenario 4: GET requests at evenly spaced instants (open loop, wrk2-style), each
 * timed from the instant it was *due*, so a stalled server or client cannot hide the wait (no coordinated
 * omission). autocannon generates every load of the bench, but its `overallRate`/`connectionRate` are
 * per-second quotas — each connection fires its quota back to back, then waits for the next second
 * (autocannon/lib/httpClient.js) — so the "paced" latencies it reports are those of a burst every second.
 * This probe is the measuring instrument next to autocannon's flood, not a load of its own: 200 req/s by default.
 */
import { Agent, request } from 'node:http';
import type { LoadResult } from './load.ts';

export interface ProbeSpec {
  url: string;
  path: string;
  /** Requests per second, evenly spaced. */
  rate: number;
  seconds: number;
  /** Sockets the probe may use at once (a request waits for a free one, and that wait counts). */
  connections: number;
  /** Headers of the n-th request. */
  headersFor: (n: number) => Record<string, string>;
  /**
   * Seconds of paced requests sent first and not counted: a server idle for a while may have let its
   * database pool close idle connections (pg-pool's default is 10 s), and reopening them is not what a
   * server under steady traffic pays. @default 1
   */
  warmupSeconds?: number;
  /** Called when the first counted request is due (e.g. to open the server's measuring windows). */
  onMeasuring?: () => Promise<unknown>;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function runPacedProbe(spec: ProbeSpec): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: spec.connections });
  const target = new URL(spec.path, spec.url);
  const latencies: number[] = [];
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  const statusCodes: Record<string, number> = {};
  const intervalMs = 1000 / spec.rate;
  const warmup = Math.round(spec.rate * (spec.warmupSeconds ?? 1));
  const total = warmup + Math.round(spec.rate * spec.seconds);
  const inFlight = new Set<Promise<void>>();

  const send = (n: number, dueAt: number) => {
    const done = new Promise<void>((resolve) => {
      const req = request(target, { agent, method: 'GET', headers: spec.headersFor(n) }, (res) => {
        res.resume();
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (n < warmup) {
            // Warm-up: not counted.
          } else if (status >= 200 && status < 300) {
            ok += 1;
            latencies.push(performance.now() - dueAt);
          } else {
            non2xx += 1;
            statusCodes[status] = (statusCodes[status] ?? 0) + 1;
          }
          resolve();
        });
      });
      req.on('error', () => {
        if (n >= warmup) errors += 1;
        resolve();
      });
      req.end();
    });
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
  };

  const start = performance.now();
  let measuredFrom = start;
  let measuring: Promise<unknown> | undefined;
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      // Send everything due by now (more than one when the timer fired late), each timed from its due instant.
      while (next < total && start + next * intervalMs <= now) {
        if (next === warmup) {
          measuredFrom = start + next * intervalMs;
          measuring = spec.onMeasuring?.();
        }
        send(next, start + next * intervalMs);
        next += 1;
      }
      if (next >= total) {
        resolve();
        return;
      }
      setTimeout(tick, Math.max(0, start + next * intervalMs - performance.now()));
    };
    tick();
  });
  await Promise.all(inFlight);
  await measuring;
  const seconds = (performance.now() - measuredFrom) / 1000;
  agent.destroy();

  const sorted = [...latencies].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, v) => sum + v, 0) / (sorted.length || 1);
  return {
    rps: ok / seconds,
    ok,
    non2xx,
    errors,
    timeouts: 0,
    ...(non2xx > 0 && { statusCodes }),
    seconds,
    latencyMs: {
      mean,
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: sorted.at(-1) ?? Number.NaN,
    },
  };
}
