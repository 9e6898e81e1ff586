/** Number formatting for the gate's messages. */

/** Display unit of a metric: milliseconds, requests per second, a 0..1 fraction, or none. */
export type MetricUnit = 'ms' | 'req/s' | 'fraction' | ''

/** A plain number with a sensible number of decimals. */
export function num(x: number): string {
  if (!Number.isFinite(x)) return String(x)
  const a = Math.abs(x)
  const d = a >= 100 ? 1 : a >= 1 ? 2 : a >= 0.01 ? 3 : 5
  return Number(x.toFixed(d)).toString()
}

/** A fraction as a signed percentage: 0.123 → "+12.3%". */
export function signedPct(x: number, digits = 1): string {
  const v = 100 * x
  return `${v >= 0 ? '+' : ''}${v.toFixed(digits)}%`
}

/** A fraction as a percentage: 0.123 → "12.3%". */
export function pct(x: number, digits = 1): string {
  return `${(100 * x).toFixed(digits)}%`
}

/** A metric value with its unit. */
export function formatValue(v: number, unit: MetricUnit | undefined): string {
  if (unit === 'fraction') return `${Number((100 * v).toPrecision(3))}%`
  if (unit === 'ms') return `${num(v)} ms`
  if (unit === 'req/s') return `${num(v)} req/s`
  return num(v)
}

/** A test statistic or quantile: up to three decimals. */
export function stat(x: number): string {
  if (!Number.isFinite(x)) return String(x)
  return Number(x.toFixed(3)).toString()
}
