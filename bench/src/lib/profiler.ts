/**
 * CPU profiles of a child over exactly one load's window (BENCH_CPU_PROF=1), through the inspector protocol
 * in the child itself — a whole-process `--cpu-prof` would mix warm-up, seeding and every scenario together.
 * Files are ordinary `.cpuprofile`s (Chrome DevTools, speedscope) and are summarised by cpu-profile.ts.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';

/** Sampling interval in microseconds: finer than V8's 1 ms default, still cheap. */
const SAMPLING_INTERVAL_US = 250;

export function createProfiler() {
  let session: Session | undefined;
  return {
    async start(): Promise<void> {
      if (session) throw new Error('a profile is already being recorded');
      session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_US });
      await session.post('Profiler.start');
    },
    async stop(file: string): Promise<string> {
      if (!session) throw new Error('no profile is being recorded');
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      session = undefined;
      await writeFile(file, JSON.stringify(profile));
      return file;
    },
  };
}
