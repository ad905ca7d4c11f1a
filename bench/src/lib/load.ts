/**
 * One load run with autocannon's programmatic API, from the runner process (the servers are children).
 * Throughput counts only 2xx answers: an error answer is usually cheaper than the work it refused, so counting
 * it would flatter the server; every non-2xx, socket error and timeout is reported beside the figure.
 */
import autocannon from 'autocannon';
import type { CpuWindow } from './protocol.ts';

export interface LoadSpec {
  url: string;
  path: string;
  method?: 'GET' | 'POST';
  connections: number;
  seconds: number;
  /** Per-connection headers (index = connection): one user per connection. */
  headersFor?: (index: number) => Record<string, string>;
  /** Per-connection body. */
  bodyFor?: (index: number) => string;
  /** Requests per second over all connections; unset means as fast as the server answers (closed loop). */
  overallRate?: number;
}

export interface LoadResult {
  /** 2xx answers per second over the run. */
  rps: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Answers per HTTP status, when any was not 2xx (to say what went wrong). */
  statusCodes?: Record<string, number>;
  seconds: number;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  /** CPU the server child used over the run (filled in by the runner when it knows the server). */
  serverCpu?: CpuWindow;
}

/** Microseconds of the server's main thread per answered request, when known. */
export function mainThreadUsPerRequest(result: LoadResult): number | undefined {
  const ms = result.serverCpu?.mainThreadCpuMs;
  const answered = result.ok + result.non2xx;
  return ms === null || ms === undefined || answered === 0 ? undefined : (ms * 1000) / answered;
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  let clientIndex = 0;
  const result = await autocannon({
    url: `${spec.url}${spec.path}`,
    method: spec.method ?? 'GET',
    connections: spec.connections,
    pipelining: 1,
    duration: spec.seconds,
    timeout: 30,
    ...(spec.overallRate !== undefined && { overallRate: spec.overallRate }),
    setupClient(client) {
      const index = clientIndex++;
      const headers = spec.headersFor?.(index);
      const body = spec.bodyFor?.(index);
      if (headers && body !== undefined) client.setHeadersAndBody(headers, body);
      else if (headers) client.setHeaders(headers);
      else if (body !== undefined) client.setBody(body);
    },
  });
  const ok = result['2xx'];
  const statusCodes =
    result.non2xx > 0
      ? Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, s.count ?? 0]))
      : undefined;
  return {
    rps: ok / result.duration,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    ...(statusCodes && { statusCodes }),
    seconds: result.duration,
    latencyMs: {
      mean: result.latency.mean,
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
  };
}
