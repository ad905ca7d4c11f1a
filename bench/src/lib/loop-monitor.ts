/**
 * Event-loop delay of the process it runs in, over windows the runner opens and closes. Sampled with
 * `perf_hooks.monitorEventLoopDelay` at 1 ms resolution: a timer that should fire every millisecond records
 * how late it fires, so the maximum is the longest stall (a synchronous stretch nothing else could run in).
 * Enabled only inside a window, so the 1 kHz timer never runs during the throughput scenarios. Also the
 * window's garbage-collection pauses (`gc` performance entries), so a stall can be told from a GC pause.
 */
import {
  constants,
  type IntervalHistogram,
  monitorEventLoopDelay,
  type PerformanceEntry,
  PerformanceObserver,
} from 'node:perf_hooks';
import type { LoopDelay } from './protocol.ts';

const RESOLUTION_MS = 1;
/** Names of the kinds a `gc` entry's `detail.kind` holds. */
const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
};
const NS_PER_MS = 1e6;

export function createLoopMonitor() {
  let histogram: IntervalHistogram | undefined;
  let gc: PerformanceObserver | undefined;
  let gcMaxMs = 0;
  let gcTotalMs = 0;
  let gcMaxKind = '';
  const count = (entries: PerformanceEntry[]) => {
    for (const entry of entries) {
      gcTotalMs += entry.duration;
      if (entry.duration <= gcMaxMs) continue;
      gcMaxMs = entry.duration;
      const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      gcMaxKind = kind === undefined ? '' : (GC_KINDS[kind] ?? String(kind));
    }
  };
  return {
    start(): void {
      histogram?.disable();
      gc?.disconnect();
      gcMaxMs = 0;
      gcTotalMs = 0;
      gcMaxKind = '';
      gc = new PerformanceObserver((list) => count(list.getEntries()));
      gc.observe({ entryTypes: ['gc'] });
      histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
      histogram.enable();
    },
    stop(): LoopDelay {
      if (!histogram || !gc) throw new Error('loop monitor was not started');
      histogram.disable();
      count(gc.takeRecords());
      gc.disconnect();
      gc = undefined;
      const h = histogram;
      histogram = undefined;
      return {
        maxMs: h.max / NS_PER_MS,
        p99Ms: h.percentile(99) / NS_PER_MS,
        p50Ms: h.percentile(50) / NS_PER_MS,
        meanMs: h.mean / NS_PER_MS,
        resolutionMs: RESOLUTION_MS,
        gcMaxMs,
        gcMaxKind,
        gcTotalMs,
      };
    },
  };
}
