/**
 * Value parsers shared by the config file's schema and the command-line flags. Each returns the
 * value or an error text (`expected a positive integer, got "ten"`); the caller prefixes the field
 * or flag the value came from.
 */
import { parseDuration } from './duration.js'
import { durationProblem, MAX_VUS } from './limits.js'
import { ConfigError } from './scenario.js'
import { ENGINE_NAMES, type EngineName, type HttpRequestSpec, type ThresholdSpec } from '../model/index.js'

/** A parsed value, or why the input is not one. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string }
export const ok = <T>(value: T): Parsed<T> => ({ ok: true, value })
export const fail = <T>(error: string): Parsed<T> => ({ ok: false, error })

/** A short, one-line rendering of a user value for error messages. */
export function show(v: unknown): string {
  if (v === undefined) return 'nothing'
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a mapping'
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v)
  return s.length > 60 ? s.slice(0, 57) + '...' : s
}

/** The value of a flag, or a ConfigError naming the flag. */
export function flagValue<T>(flag: string, r: Parsed<T>): T {
  if (!r.ok) throw new ConfigError(`${flag}: ${r.error}`)
  return r.value
}

/** A duration in seconds within perf-gate's limits; `positive` refuses zero. */
export function durationValue(v: unknown, opts: { positive: boolean }): Parsed<number> {
  const d = parseDuration(v)
  if (d === null) return fail(`expected a duration like 500ms, 30s, 2m or 1h30m, got ${show(v)}`)
  if (opts.positive && d <= 0) return fail(`expected a duration greater than zero, got ${show(v)}`)
  const limit = durationProblem(d)
  if (limit) return fail(`${show(v)} ${limit}`)
  return ok(d)
}

/** An integer from `min` to `max`, written as a number or a string of digits. */
export function intValue(v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): Parsed<number> {
  const what = min > 0 ? 'a positive integer' : 'a non-negative integer'
  const n =
    typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : Number.NaN
  if (!Number.isInteger(n) || n < min) return fail(`expected ${what}, got ${show(v)}`)
  if (n > max)
    return fail(
      `expected at most ${max}${max === MAX_VUS ? " (perf-gate's limit on virtual users)" : ''}, got ${show(v)}`
    )
  return ok(n)
}

export function engineValue(v: unknown): Parsed<EngineName> {
  if (typeof v === 'string' && (ENGINE_NAMES as readonly string[]).includes(v)) return ok(v as EngineName)
  return fail(`expected one of ${ENGINE_NAMES.join(', ')}, got ${show(v)}`)
}

export function nonEmptyString(v: unknown, what = 'a non-empty string'): Parsed<string> {
  if (typeof v === 'string' && v.trim() !== '') return ok(v)
  return fail(`expected ${what}, got ${show(v)}`)
}

/** An http(s) base URL without credentials, normalised without a trailing slash. */
export function urlValue(v: unknown): Parsed<string> {
  if (typeof v !== 'string' || v.trim() === '')
    return fail(`expected a URL like http://127.0.0.1:8080, got ${show(v)}`)
  let u: URL
  try {
    u = new URL(v.trim())
  } catch {
    return fail(`expected a URL like http://127.0.0.1:8080, got ${show(v)}`)
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    return fail(`expected an http:// or https:// URL, got ${show(v)}`)
  if (u.username || u.password) return fail('credentials in the URL are not supported; pass them through env')
  // A base URL without a trailing slash: engines append paths that start with '/'.
  return ok(u.origin + u.pathname.replace(/\/+$/, '') + u.search)
}

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']

/** A request path relative to the target. */
export function pathValue(v: unknown): Parsed<string> {
  if (typeof v !== 'string' || !v.startsWith('/'))
    return fail(`expected a path starting with / (relative to the target), got ${show(v)}`)
  if (/\s/.test(v)) return fail(`expected a path without spaces, got ${show(v)}`)
  return ok(v)
}

/** Parses the `--request` shorthand `[METHOD] /path`. */
export function parseRequestShorthand(v: string): Parsed<HttpRequestSpec> {
  const parts = v.trim().split(/\s+/)
  if (parts.length === 1 && parts[0] !== '') {
    const p = pathValue(parts[0])
    return p.ok ? ok({ method: 'GET', path: p.value }) : fail(`expected 'METHOD /path', got ${show(v)}`)
  }
  if (parts.length !== 2 || !HTTP_METHODS.includes(parts[0].toUpperCase()))
    return fail(`expected 'METHOD /path' (METHOD one of ${HTTP_METHODS.join(', ')}), got ${show(v)}`)
  const p = pathValue(parts[1])
  if (!p.ok) return p
  return ok({ method: parts[0].toUpperCase(), path: p.value })
}

const THRESHOLD_EXPR =
  /^(avg|min|max|med|p\(\d+(?:\.\d+)?\)|rate|count|value)\s*(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)$/
const THRESHOLD_METRIC = /^([A-Za-z_][A-Za-z0-9_]*(?:\{[^{}]*\})?)\s*:\s*(.+)$/

/**
 * Parses a k6-syntax threshold: `p(95)<500`, `rate<0.01`, or with a metric,
 * `http_req_duration{name:slow}: p(90)<300`. Without a metric, rate expressions apply to
 * `http_req_failed`, count to `http_reqs`, the rest to `http_req_duration`.
 */
export function parseThreshold(v: unknown): Parsed<ThresholdSpec> {
  if (typeof v !== 'string') return fail(`expected a threshold like "p(95)<500", got ${show(v)}`)
  const s = v.trim()
  const m = THRESHOLD_METRIC.exec(s)
  const metric = m ? m[1] : undefined
  const expr = (m ? m[2] : s).replace(/\s+/g, '')
  const e = THRESHOLD_EXPR.exec(expr)
  if (!e) return fail(`expected a threshold like "p(95)<500" or "rate<0.01", got ${show(v)}`)
  const agg = e[1]
  const defaultMetric =
    agg === 'rate' ? 'http_req_failed' : agg === 'count' ? 'http_reqs' : 'http_req_duration'
  return ok({ metric: metric ?? defaultMetric, expr })
}
