/**
 * Number and text formatting shared by the markdown and HTML renderers. Every formatter turns
 * null, undefined, NaN and ±Infinity into an em dash, so a missing figure never shows as "NaN".
 * Output is locale-independent (comma thousands separators, dot decimals).
 */
import type { MetricStatus, MetricUnit } from './types.js'
import type { Outcome } from '../model/index.js'

/** Shown for any missing or non-finite number. */
export const MISSING = '—'

/** The typographic minus sign used for negative changes. */
export const MINUS = '\u2212'

type Num = number | null | undefined

function finite(v: Num): v is number {
  return typeof v === 'number' && Number.isFinite(v)
}

/** Adds comma thousands separators to the integer part of a non-negative decimal string. */
function group(digits: string): string {
  const [int, frac] = digits.split('.')
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  return frac === undefined ? grouped : `${grouped}.${frac}`
}

/** Formats with a fixed number of decimals and thousands separators; negatives use a real minus. */
export function formatNumber(v: Num, decimals = 0): string {
  if (!finite(v)) return MISSING
  const s = Math.abs(v).toFixed(decimals)
  const isZero = Number(s) === 0
  return (v < 0 && !isZero ? MINUS : '') + group(s)
}

/** An integer count with separators: `1,234,567`. */
export function formatCount(v: Num): string {
  return formatNumber(finite(v) ? Math.round(v) : v, 0)
}

/** Decimals giving about three significant digits for magnitudes from 0.001 upwards. */
function adaptiveDecimals(abs: number): number {
  if (abs >= 100) return 0
  if (abs >= 10) return 1
  if (abs >= 1) return 2
  return 3
}

/** A latency in milliseconds without the unit: `0`, `0.123`, `4.56`, `78.9`, `1,234`. */
export function formatMsValue(v: Num): string {
  if (!finite(v)) return MISSING
  const abs = Math.abs(v)
  if (abs === 0) return '0'
  if (abs < 0.001) return v < 0 ? `>${MINUS}0.001` : '<0.001'
  return formatNumber(v, adaptiveDecimals(abs))
}

/** A latency with its unit: `12.3 ms`. */
export function formatMs(v: Num): string {
  const s = formatMsValue(v)
  return s === MISSING ? s : `${s} ms`
}

/** Requests per second without the unit: `0`, `0.52`, `45.6`, `1,234`, `12,345,678`. */
export function formatRpsValue(v: Num): string {
  if (!finite(v)) return MISSING
  const abs = Math.abs(v)
  if (abs === 0) return '0'
  if (abs < 0.01) return '<0.01'
  return formatNumber(v, abs >= 1000 ? 0 : abs >= 10 ? 1 : 2)
}

/** Requests per second with the unit: `1,234 req/s`. */
export function formatRps(v: Num): string {
  const s = formatRpsValue(v)
  return s === MISSING ? s : `${s} req/s`
}

/** A value already in percent: `0%`, `<0.01%`, `0.42%`, `6.2%`, `12.3%`, `100%`. */
export function formatPercent(v: Num): string {
  if (!finite(v)) return MISSING
  const abs = Math.abs(v)
  if (abs === 0) return '0%'
  if (abs < 0.01) return v < 0 ? `>${MINUS}0.01%` : '<0.01%'
  const decimals = abs >= 100 ? 0 : abs >= 1 ? 1 : 2
  return `${formatNumber(v, decimals)}%`
}

/** A 0..1 fraction as percent: 0.0042 → `0.42%`. */
export function formatRate(v: Num): string {
  return finite(v) ? formatPercent(v * 100) : MISSING
}

/**
 * A signed change in percent with one decimal: `+12.3%`, `−4.0%`, `0.0%` (a change that rounds to
 * zero carries no sign).
 */
export function formatDelta(v: Num): string {
  if (!finite(v)) return MISSING
  const body = group(Math.abs(v).toFixed(1))
  if (Number(Math.abs(v).toFixed(1)) === 0) return '0.0%'
  return `${v > 0 ? '+' : MINUS}${body}%`
}

/** A value in the given summary unit. */
export function formatValue(v: Num, unit: MetricUnit | '' | undefined): string {
  switch (unit) {
    case 'ms':
      return formatMs(v)
    case 'rps':
      return formatRps(v)
    case '%':
      return formatPercent(v)
    default: {
      if (!finite(v)) return MISSING
      const abs = Math.abs(v)
      if (abs > 0 && abs < 0.001) return v.toExponential(2)
      return formatNumber(v, Number.isInteger(v) ? 0 : adaptiveDecimals(abs))
    }
  }
}

/** A duration: `0.5s`, `45s`, `5m 0s`, `1h 2m`. */
export function formatDuration(seconds: Num): string {
  if (!finite(seconds) || seconds < 0) return MISSING
  if (seconds < 10 && !Number.isInteger(seconds)) return `${Number(seconds.toFixed(1))}s`
  const s = Math.round(seconds)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`
}

/** Elapsed time on a chart axis: `0:05`, `12:30`, `1:02:03`. */
export function formatClock(seconds: Num): string {
  if (!finite(seconds)) return MISSING
  const s = Math.max(0, Math.round(seconds))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const ss = String(s % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`
}

/** US dollars: `$0.42`, `<$0.01`, `$1,234.50`. */
export function formatUsd(v: Num): string {
  if (!finite(v)) return MISSING
  if (v > 0 && v < 0.01) return '<$0.01'
  return `$${formatNumber(v, 2)}`
}

/** A commit id shortened to seven characters. */
export function shortSha(sha: string | null | undefined): string {
  return sha ? sha.slice(0, 7) : MISSING
}

/** Rounds a number for a chart: three or so significant digits, non-finite as 0. */
export function roundForChart(v: Num): number {
  if (!finite(v)) return 0
  const abs = Math.abs(v)
  const decimals = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3
  const r = Number(v.toFixed(decimals))
  return Object.is(r, -0) ? 0 : r
}

export const OUTCOME_EMOJI: Record<Outcome, string> = {
  PASS: '✅',
  FAIL: '❌',
  INCONCLUSIVE: '⚠️',
  ERROR: '⛔',
  CANCELLED: '🚫'
}

export const STATUS_EMOJI: Record<MetricStatus, string> = {
  pass: '✅',
  fail: '❌',
  inconclusive: '⚠️',
  advisory: '➖'
}

/** `✅ pass`, `❌ fail`, `⚠️ inconclusive`, `➖ advisory`. */
export function formatStatus(status: MetricStatus): string {
  return `${STATUS_EMOJI[status]} ${status}`
}

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, c =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;'
  )
}

/** Accepts only absolute http(s) URLs, so user data cannot smuggle `javascript:` links. */
export function safeHttpUrl(url: string | null | undefined): string | null {
  if (!url) return null
  try {
    const u = new URL(url)
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null
  } catch {
    return null
  }
}

/** When the first request was answered: `first request 7.2–8.2 s after the step started`. */
export function formatFirstRequest(r: { fromS: number; toS: number }): string {
  const f = (x: number) => formatNumber(x, x >= 100 ? 0 : 1)
  return `first request ${f(r.fromS)}–${f(r.toS)} s after the step started`
}
