/** Spread of a figure over the rounds of one run: the bench reports noise, never a single number. */
export interface Spread {
  min: number;
  median: number;
  max: number;
  /** Every round's value, in round order. */
  values: number[];
}

export function spread(values: readonly number[]): Spread {
  if (values.length === 0) return { min: Number.NaN, median: Number.NaN, max: Number.NaN, values: [] };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { min: sorted[0]!, median, max: sorted[sorted.length - 1]!, values: [...values] };
}
