/**
 * Event-loop delay of the process it runs in, over windows the runner opens and closes. Sampled with
 * `perf_hooks.monitorEventLoopDelay` at 1 ms resolution: a timer that should fire every millisecond records
 * how late it fires, so the maximum is the longest stall (a synchronous stretch nothing else could run in).
 * Enabled only inside a window, so the 1 kHz timer never runs during the throughput scenarios.
 */
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import type { LoopDelay } from './protocol.ts';

const RESOLUTION_MS = 1;
const NS_PER_MS = 1e6;

export function createLoopMonitor() {
  let histogram: IntervalHistogram | undefined;
  return {
    start(): void {
      histogram?.disable();
      histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
      histogram.enable();
    },
    stop(): LoopDelay {
      if (!histogram) throw new Error('loop monitor was not started');
      histogram.disable();
      const h = histogram;
      histogram = undefined;
      return {
        maxMs: h.max / NS_PER_MS,
        p99Ms: h.percentile(99) / NS_PER_MS,
        p50Ms: h.percentile(50) / NS_PER_MS,
        meanMs: h.mean / NS_PER_MS,
        resolutionMs: RESOLUTION_MS,
      };
    },
  };
}
