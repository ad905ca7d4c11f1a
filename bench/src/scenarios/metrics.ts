/** Figures of the scenarios in this folder, in the runner's form: a value per round, its spread, the verdict. */
import { type Goal, type Metric, verdictOf } from '../lib/report.ts';
import { spread } from '../lib/stats.ts';

export type MetricMeta = Omit<Metric, 'min' | 'median' | 'max' | 'values' | 'verdict'>;

/** Adds the figure when at least one round has a finite value. */
export function addMetric(metrics: Metric[], meta: MetricMeta, values: Array<number | undefined>): void {
  const finite = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  if (finite.length === 0) return;
  const s = spread(finite);
  metrics.push({ ...meta, ...s, ...(meta.goal && { verdict: verdictOf(s, meta.goal) }) });
}

export const atLeast = (value: number, primary = true): Goal => ({ op: '>=', value, primary });
export const atMost = (value: number, primary = true): Goal => ({ op: '<=', value, primary });

export const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
  a !== undefined && b !== undefined && b > 0 ? a / b : undefined;

export function fmt(value: number, digits = 1): string {
  return Number.isFinite(value)
    ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : '—';
}

/**
 * A pause before each measured load. autocannon stops sending when its time is up, but the requests a server had
 * already accepted — logins queued behind the hashing, above all — still run after it; without the pause they
 * would eat into the next load's window, whichever server or endpoint it measures.
 */
export function settle(ms = 2000): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
