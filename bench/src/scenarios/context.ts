/**
 * What the runner (run.ts) lends the scenarios that live in their own modules (6 and up): its settings, its way to
 * get a database of the run's own and to start a regstack server child, its measured load, and its notes and
 * clean-ups. Each such scenario runs its own rounds after scenarios 1–5 and returns figures in the same form.
 */
import type { BenchChild } from '../lib/ipc.ts';
import type { LoadResult, LoadSpec } from '../lib/load.ts';
import type { RegstackReady } from '../lib/protocol.ts';
import type { Metric } from '../lib/report.ts';
import type { Backend, BenchSettings } from '../lib/settings.ts';

export interface ScenarioContext {
  settings: BenchSettings;
  /** The run's temporary directory (removed at the end). */
  tmp: string;
  notes: string[];
  /** Registers a clean-up run at the end, even after a failure. */
  onCleanup(task: () => Promise<void>): void;
  /** A database of the run's own on `backend`, or undefined when PostgreSQL is out (noted by the runner). */
  databaseFor(backend: Backend, name: string): Promise<string | undefined>;
  startRegstack(
    databaseUrl: string,
    env: Record<string, string>,
    timeoutMs?: number,
  ): Promise<BenchChild<RegstackReady>>;
  /** One autocannon load, printed, with the server child's CPU over its window. */
  load(label: string, spec: LoadSpec, server?: BenchChild<RegstackReady>): Promise<LoadResult>;
}

export interface ScenarioOutcome {
  metrics: Metric[];
  /** Per-round raw results, for the JSON file. */
  rounds: unknown[];
  /** Anything else the JSON file should carry (seeding times, versions). */
  details?: Record<string, unknown>;
}
