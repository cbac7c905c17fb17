/** Latency and round arithmetic: pure, so its unit tests pin the figures the bench prints. */

/**
 * The q-quantile (0..1) of ascending samples by the nearest-rank method: the smallest sample
 * such that at least q of all samples are at or below it. NaN when there are no samples.
 */
export function percentile(sortedAsc: ArrayLike<number>, q: number): number {
  const n = sortedAsc.length;
  if (n === 0) return NaN;
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile ${q} is not in [0, 1]`);
  const rank = Math.max(1, Math.ceil(q * n));
  return sortedAsc[rank - 1];
}

export interface LatencySummary {
  p50Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
}

/** p50, p99, p99.9 and max of latencies in microseconds (sorts a copy). */
export function summarizeLatencies(samplesUs: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(samplesUs).sort();
  return {
    p50Us: percentile(sorted, 0.5),
    p99Us: percentile(sorted, 0.99),
    p999Us: percentile(sorted, 0.999),
    maxUs: sorted.length ? sorted[sorted.length - 1] : NaN,
  };
}

/** The median of round results (the mean of the middle two for an even count); NaN for none. */
export function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** CPU microseconds per request from clock ticks spent during a run. */
export function cpuUsPerRequest(ticks: number, ticksPerSecond: number, requests: number): number {
  if (requests <= 0 || ticksPerSecond <= 0) return NaN;
  return (ticks * 1e6) / ticksPerSecond / requests;
}
