/**
 * Steady-state windows. When the load profile says when its hold phase ran, that is the window.
 * Otherwise it is detected from throughput: the partial first and last intervals are dropped, then
 * leading and trailing intervals whose request count is below a fraction of the median (ramp-up and
 * ramp-down).
 */
export interface Window {
  /** Inclusive start, epoch ms. */
  startMs: number
  /** Exclusive end, epoch ms. */
  endMs: number
}

/** Fraction of the median interval throughput below which an edge interval counts as ramping. */
export const RAMP_FRACTION = 0.8
/** Never trim more than this share of the run from either end. */
const MAX_TRIM_SHARE = 0.25

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/**
 * @param series requests per interval from interval `first` on
 * @param known  the profile's own steady window, when it has one
 * @param all    the whole run, used when the run is too short to trim
 */
export function steadyWindow(
  series: { first: number; counts: number[] },
  intervalMs: number,
  known: Window | null,
  all: Window
): Window {
  if (known && known.endMs > known.startMs) {
    // Whole intervals inside the known window.
    const lo = Math.ceil(known.startMs / intervalMs)
    const hi = Math.floor(known.endMs / intervalMs)
    if (hi > lo) return { startMs: lo * intervalMs, endMs: hi * intervalMs }
    return known
  }
  const n = series.counts.length
  if (n < 5) return all
  let lo = 1
  let hi = n - 2
  const m = median(series.counts.slice(lo, hi + 1))
  const maxTrim = Math.floor(n * MAX_TRIM_SHARE)
  while (lo < maxTrim && series.counts[lo] < RAMP_FRACTION * m) lo++
  while (n - 1 - hi < maxTrim && series.counts[hi] < RAMP_FRACTION * m) hi--
  if (hi - lo + 1 < 3) return all
  return { startMs: (series.first + lo) * intervalMs, endMs: (series.first + hi + 1) * intervalMs }
}
