/**
 * Latency arithmetic for the benchmark: percentiles, percentiles over time and a
 * histogram, computed the same way for the order path and the bare-Temporal twin so
 * their figures compare.
 */

/** One measured request: when it was due (ms since its phase started) and how long it took. */
export interface Sample {
  atMs: number;
  latencyMs: number;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of an ascending array (p in 0..100). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

const round1 = (n: number): number => Math.round(n * 10) / 10;

export function summarize(latencies: readonly number[]): LatencySummary {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: round1(percentile(sorted, 50)),
    p95: round1(percentile(sorted, 95)),
    p99: round1(percentile(sorted, 99)),
    max: round1(sorted[sorted.length - 1] ?? Number.NaN),
  };
}

export interface TimeBucket {
  /** Start of the bucket, seconds since the phase started. */
  fromS: number;
  count: number;
  p50: number;
  p95: number;
  p99: number;
}

/** Percentiles per time bucket (by when each request was due), about `buckets` of them. */
export function overTime(samples: readonly Sample[], buckets = 30): TimeBucket[] {
  if (samples.length === 0) return [];
  const span = Math.max(...samples.map((s) => s.atMs)) + 1;
  // Whole or half seconds read better on the chart than an arbitrary width.
  const raw = span / buckets;
  const width = raw <= 500 ? Math.max(50, Math.ceil(raw / 50) * 50) : Math.ceil(raw / 500) * 500;
  const groups = new Map<number, number[]>();
  for (const s of samples) {
    const k = Math.floor(s.atMs / width);
    const g = groups.get(k) ?? [];
    g.push(s.latencyMs);
    groups.set(k, g);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a - b)
    .map(([k, values]) => {
      const sorted = values.sort((a, b) => a - b);
      return { fromS: (k * width) / 1000, count: sorted.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
    });
}

export interface HistogramBin {
  fromMs: number;
  toMs: number;
  count: number;
}

/** Log-spaced bins between `lowMs` and `highMs` (shared bounds make two histograms comparable). */
export function histogram(latencies: readonly number[], lowMs: number, highMs: number, bins = 40): HistogramBin[] {
  const lo = Math.max(0.1, lowMs);
  const hi = Math.max(lo * 1.01, highMs);
  const ratio = Math.log(hi / lo) / bins;
  const out: HistogramBin[] = Array.from({ length: bins }, (_, i) => ({ fromMs: lo * Math.exp(i * ratio), toMs: lo * Math.exp((i + 1) * ratio), count: 0 }));
  for (const v of latencies) {
    const i = Math.floor(Math.log(Math.max(v, lo) / lo) / ratio);
    out[Math.min(bins - 1, Math.max(0, i))].count++;
  }
  return out;
}

/** Events per second over a duration, one decimal. */
export function perSecond(count: number, ms: number): number {
  return ms > 0 ? round1((count * 1000) / ms) : Number.NaN;
}
