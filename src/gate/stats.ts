/**
 * Small numeric helpers for the gate: sample mean and standard deviation, median, and Student-t
 * quantiles and CDF (from jStat, cached per (p, df) so repeated verdicts stay cheap).
 */
import jStat from 'jstat'

export function mean(xs: readonly number[]): number {
  let s = 0
  for (const x of xs) s += x
  return s / xs.length
}

/** Sample standard deviation with the n−1 denominator; 0 for fewer than two values. */
export function sampleSd(xs: readonly number[]): number {
  const n = xs.length
  if (n < 2) return 0
  const m = mean(xs)
  let ss = 0
  for (const x of xs) ss += (x - m) * (x - m)
  return Math.sqrt(ss / (n - 1))
}

export function median(xs: readonly number[]): number {
  const n = xs.length
  if (!n) return Number.NaN
  // Insertion sort: the gate's series are short (at most a few dozen values).
  const s = new Array<number>(n)
  for (let i = 0; i < n; i++) {
    const x = xs[i]
    let j = i - 1
    while (j >= 0 && s[j] > x) {
      s[j + 1] = s[j]
      j--
    }
    s[j + 1] = x
  }
  const m = n >> 1
  return n % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

const quantileCache = new Map<number, Map<number, number>>()

/** The p-quantile of Student's t with `df` degrees of freedom (df > 0, 0 < p < 1). */
export function tQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`t quantile: p must be in (0, 1), got ${p}`)
  if (!(df > 0)) throw new RangeError(`t quantile: degrees of freedom must be positive, got ${df}`)
  let byP = quantileCache.get(df)
  if (!byP) {
    byP = new Map()
    quantileCache.set(df, byP)
  }
  let q = byP.get(p)
  if (q === undefined) {
    q = jStat.studentt.inv(p, df)
    byP.set(p, q)
  }
  return q
}

/** P(T ≤ x) for Student's t with `df` degrees of freedom. */
export function tCdf(x: number, df: number): number {
  if (x === Number.POSITIVE_INFINITY) return 1
  if (x === Number.NEGATIVE_INFINITY) return 0
  return jStat.studentt.cdf(x, df)
}
