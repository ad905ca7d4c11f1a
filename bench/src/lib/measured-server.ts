/**
 * Child side, for the servers under test: answers the runner's measurement commands (main-thread CPU,
 * event-loop delay, CPU profile, memory) and its shutdown. Every server measures itself the same way, so
 * their figures compare.
 */
import { createCpuMeter } from './cpu-usage.ts';
import { serveCommands } from './ipc.ts';
import { createLoopMonitor } from './loop-monitor.ts';
import { createProfiler } from './profiler.ts';
import type { ChildStats } from './protocol.ts';

export function serveMeasuredServer(close: () => Promise<void>): void {
  const loop = createLoopMonitor();
  const profiler = createProfiler();
  const cpu = createCpuMeter();
  serveCommands({
    'cpu:start': () => cpu.start(),
    'cpu:stop': () => cpu.stop(),
    'loop:start': () => loop.start(),
    'loop:stop': () => loop.stop(),
    'profile:start': () => profiler.start(),
    'profile:stop': (request) => profiler.stop(request.file),
    stats: (): ChildStats => ({ rssMb: process.memoryUsage().rss / 2 ** 20 }),
    async shutdown() {
      await close();
      setImmediate(() => process.exit(0));
    },
  });
}
