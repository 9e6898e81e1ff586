/**
 * Percentiles as k6 defines them (`TrendSink.P` in k6's metrics package): for n sorted values v
 * and a percentile p, i = p/100 · (n − 1) (0-based) and the result is v[⌊i⌋] + (v[⌈i⌉] − v[⌊i⌋]) ·
 * (i − ⌊i⌋), a linear interpolation between the two ranks around i. perf-gate's own statistics
 * use the nearest rank (the ⌈p/100 · n⌉-th value), which differs most on small runs: at p50 of
 * 264 samples the two can be several percent apart. The values here come from the merged HDR
 * histogram, so each of the two ranks carries the histogram's precision (3 significant digits).
 */
import type { Histogram } from 'hdr-histogram-js'

/** The value at 0-based rank `r` of the histogram (the highest value of its bucket). */
function valueAtRank(h: Histogram, r: number): number {
  const n = h.totalCount
  return h.getValueAtPercentile(Math.min(100, (100 * (r + 1)) / n))
}

/** k6's percentile `p` (0–100) of the histogram's values; 0 for an empty histogram. */
export function k6Percentile(h: Histogram, p: number): number {
  const n = h.totalCount
  if (n === 0) return 0
  if (n === 1) return valueAtRank(h, 0)
  const i = (Math.min(100, Math.max(0, p)) / 100) * (n - 1)
  const lo = Math.floor(i)
  const hi = Math.ceil(i)
  const a = valueAtRank(h, lo)
  const b = hi === lo ? a : valueAtRank(h, hi)
  return a + (b - a) * (i - lo)
}
