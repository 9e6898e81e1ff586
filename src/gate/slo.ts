/**
 * Absolute SLOs in k6 threshold syntax, parsed and judged on merged fleet results. An SLO that
 * fails, or that cannot be evaluated (a label or check that does not exist, no requests at all),
 * fails the gate whatever the statistics say.
 *
 * Syntax: `[metric[{tag:value}]:] aggregation operator number`, e.g.
 *
 *   p(95)<500                               http_req_duration (the default metric), milliseconds
 *   http_req_failed: rate<0.01              error rate, a 0..1 fraction
 *   http_req_duration{name:login}: p(99)<800  one label (the request name)
 *   http_reqs: rate>100                     requests per second; `count` is the request count
 *   checks: rate>0.9                        pass rate of the run's checks; checks{check:X} for one
 *
 * Without a metric, `rate` means http_req_failed, `count` http_reqs and everything else
 * http_req_duration. Aggregations: avg, min, max, med, p(N) (0 ≤ N ≤ 100) and count for
 * http_req_duration; rate for http_req_failed and checks; count and rate for http_reqs. Operators:
 * <, <=, >, >=, == (also ===) and !=. Limits are plain numbers.
 *
 * A k6 script's own thresholds (TaskMeta.thresholds) are judged again the same way on the merged
 * data, since each k6 instance only judged its own slice. Those on metrics perf-gate does not record
 * (custom metrics, iteration_duration, tags other than name) are reported as `unsupported` and do
 * not fail the gate. SLOs are judged over the whole run by default, as k6 does. Percentiles of a k6
 * script's thresholds follow k6's definition (linear interpolation between ranks, k6-percentile.ts);
 * those of perf-gate's own SLOs are nearest-rank.
 */
import type { ResultView, WindowSpec } from '../results/query.js'
import type { ThresholdSpec } from '../model/index.js'
import { formatValue, type MetricUnit } from './format.js'
import { k6Percentile } from './k6-percentile.js'

export const SLO_METRICS = ['http_req_duration', 'http_req_failed', 'http_reqs', 'checks'] as const
export type SloMetric = (typeof SLO_METRICS)[number]

export const SLO_OPERATORS = ['<', '<=', '>', '>=', '==', '!='] as const
export type SloOperator = (typeof SLO_OPERATORS)[number]

export type SloAggregation =
  { kind: 'avg' | 'min' | 'max' | 'med' | 'count' | 'rate' } | { kind: 'p'; p: number }

export type SloSource = 'config' | 'script'

export interface Slo {
  source: SloSource
  /** Where it was declared, for messages: `thresholds[2]`, `k6 script`. */
  where: string
  /** The threshold as written. */
  text: string
  metric: SloMetric
  /** `{name:X}`: the label X; null for the whole run. */
  label: string | null
  /** `checks{check:X}`: the check X; null for all checks. */
  check: string | null
  aggregation: SloAggregation
  op: SloOperator
  value: number
}

export type SloStatus = 'pass' | 'fail' | 'invalid' | 'unsupported'

export interface SloResult {
  source: SloSource
  where: string
  text: string
  metric: string
  label: string | null
  /** `invalid` (cannot be evaluated) fails the gate like `fail`; `unsupported` (script only) does not. */
  status: SloStatus
  /** The figure the expression was evaluated on; null when unavailable. */
  observed: number | null
  unit: MetricUnit
  reason: string
}

/** A threshold string that is not valid; the message names it and what is wrong. */
export class SloParseError extends Error {
  constructor(
    readonly where: string,
    readonly text: string,
    readonly detail: string
  ) {
    super(`${where} "${text}": ${detail}`)
    this.name = 'SloParseError'
  }
}

const AGGREGATIONS = ['avg', 'min', 'max', 'med', 'count', 'rate'] as const
const ALLOWED: Record<SloMetric, { kinds: string[]; hint: string }> = {
  http_req_duration: {
    kinds: ['avg', 'min', 'max', 'med', 'p', 'count'],
    hint: 'avg, min, max, med, p(N) or count'
  },
  http_req_failed: { kinds: ['rate'], hint: 'rate' },
  http_reqs: { kinds: ['count', 'rate'], hint: 'count or rate' },
  checks: { kinds: ['rate'], hint: 'rate' }
}
const TAG_FOR: Record<SloMetric, string> = {
  http_req_duration: 'name',
  http_req_failed: 'name',
  http_reqs: 'name',
  checks: 'check'
}
const OPERATOR_LIST = '<, <=, >, >=, ==, !='
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*/
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/

export function aggregationText(a: SloAggregation): string {
  return a.kind === 'p' ? `p(${a.p})` : a.kind
}

function show(s: string): string {
  return s.length > 20 ? `${s.slice(0, 20)}…` : s
}

/**
 * Parses one threshold. `where` names it in errors (`thresholds[2]`); throws SloParseError with a
 * one-line message such as `thresholds[2] "p(95)<<5": expected an operator (<, <=, >, >=, ==, !=)
 * after 'p(95)', got '<<'`.
 */
export function parseSlo(text: string, where = 'threshold', source: SloSource = 'config'): Slo {
  const fail = (detail: string): never => {
    throw new SloParseError(where, text, detail)
  }
  if (typeof text !== 'string') fail('expected a threshold string such as "p(95)<500"')
  let rest = text.trim()
  if (!rest) fail('empty threshold; expected something like "p(95)<500"')

  // Optional metric prefix: name, optional {tags}, then ':'.
  let metricName: string | null = null
  let tagText: string | null = null
  const id = IDENT.exec(rest)
  if (id) {
    let after = rest.slice(id[0].length).trimStart()
    let tags: string | null = null
    if (after.startsWith('{')) {
      const close = after.indexOf('}')
      if (close < 0) fail(`missing '}' after the tag filter of '${id[0]}'`)
      tags = after.slice(0, close + 1)
      after = after.slice(close + 1).trimStart()
    }
    if (after.startsWith(':')) {
      metricName = id[0]
      tagText = tags
      rest = after.slice(1).trim()
      if (!rest) fail(`expected an expression such as p(95)<500 after '${metricName}:'`)
    } else if (tags !== null) {
      fail(`expected ':' after '${id[0]}${tags}'`)
    } else if ((SLO_METRICS as readonly string[]).includes(id[0])) {
      fail(`expected ':' after the metric '${id[0]}'`)
    }
  }

  // Aggregation.
  let aggregation: SloAggregation
  const agg = IDENT.exec(rest)
  if (!agg) fail(`expected an aggregation (avg, min, max, med, p(N), count or rate) at '${show(rest)}'`)
  const aggName = agg![0]
  rest = rest.slice(aggName.length)
  if (aggName === 'p' && rest.startsWith('(')) {
    const close = rest.indexOf(')')
    if (close < 0) fail(`missing ')' in the percentile p(${show(rest.slice(1))}`)
    const inner = rest.slice(1, close).trim()
    const p = NUMBER.exec(inner)
    if (!p || p[0].length !== inner.length) fail(`expected a number inside p(...), got 'p(${inner})'`)
    const pv = Number(inner)
    if (!(pv >= 0 && pv <= 100)) fail(`percentile must be between 0 and 100, got p(${inner})`)
    aggregation = { kind: 'p', p: pv }
    rest = rest.slice(close + 1)
  } else if ((AGGREGATIONS as readonly string[]).includes(aggName)) {
    aggregation = { kind: aggName as (typeof AGGREGATIONS)[number] }
  } else {
    return fail(`unknown aggregation '${aggName}' (expected avg, min, max, med, p(N), count or rate)`)
  }
  const aggLabel = aggregationText(aggregation)

  // Operator.
  rest = rest.trimStart()
  const opMatch = /^[<>=!]+/.exec(rest)
  if (!opMatch)
    fail(`expected an operator (${OPERATOR_LIST}) after '${aggLabel}'${rest ? `, got '${show(rest)}'` : ''}`)
  let op = opMatch![0]
  if (op === '===') op = '=='
  if (!(SLO_OPERATORS as readonly string[]).includes(op))
    fail(`expected an operator (${OPERATOR_LIST}) after '${aggLabel}', got '${opMatch![0]}'`)
  rest = rest.slice(opMatch![0].length).trimStart()

  // Limit.
  const numMatch = NUMBER.exec(rest)
  if (!numMatch) fail(`expected a number after '${op}'${rest ? `, got '${show(rest)}'` : ''}`)
  const value = Number(numMatch![0])
  if (!Number.isFinite(value)) fail(`expected a finite number after '${op}', got '${numMatch![0]}'`)
  rest = rest.slice(numMatch![0].length).trim()
  if (rest)
    fail(
      `unexpected '${show(rest)}' after ${numMatch![0]} (limits are plain numbers; latency is in milliseconds)`
    )

  // Metric and its aggregations.
  const metricRaw =
    metricName ??
    (aggregation.kind === 'rate'
      ? 'http_req_failed'
      : aggregation.kind === 'count'
        ? 'http_reqs'
        : 'http_req_duration')
  if (!(SLO_METRICS as readonly string[]).includes(metricRaw))
    fail(`unknown metric '${metricRaw}' (supported: ${SLO_METRICS.join(', ')})`)
  const metric = metricRaw as SloMetric
  if (!ALLOWED[metric].kinds.includes(aggregation.kind))
    fail(`aggregation '${aggLabel}' does not apply to ${metric} (use ${ALLOWED[metric].hint})`)

  // Tag filter.
  let label: string | null = null
  let check: string | null = null
  if (tagText !== null) {
    const body = tagText.slice(1, -1).trim()
    if (!body) fail(`empty tag filter '${tagText}' on ${metric}`)
    for (const part of splitTags(body)) {
      const colon = part.indexOf(':')
      if (colon <= 0) fail(`tag filter '${part.trim()}' must be key:value`)
      const key = part.slice(0, colon).trim()
      const val = unquote(part.slice(colon + 1).trim())
      if (!val) fail(`tag '${key}' has an empty value`)
      if (key !== TAG_FOR[metric])
        fail(`unsupported tag '${key}' on ${metric} (only {${TAG_FOR[metric]}:...} is supported)`)
      if (key === 'name') label = val
      else check = val
    }
  }
  return { source, where, text, metric, label, check, aggregation, op: op as SloOperator, value }
}

/** Splits `a:1, b:x,y` on commas that start a new `key:` pair (values such as URLs may hold commas). */
function splitTags(body: string): string[] {
  const parts: string[] = []
  for (const piece of body.split(',')) {
    if (parts.length && !/^\s*[A-Za-z_][A-Za-z0-9_]*\s*:/.test(piece)) parts[parts.length - 1] += `,${piece}`
    else parts.push(piece)
  }
  return parts
}

function unquote(s: string): string {
  return s.length >= 2 && (s[0] === '"' || s[0] === "'") && s[s.length - 1] === s[0] ? s.slice(1, -1) : s
}

/** Parses a list of thresholds, naming each `${where}[i]` in errors. */
export function parseSlos(texts: readonly string[], where = 'thresholds'): Slo[] {
  return texts.map((t, i) => parseSlo(t, `${where}[${i}]`))
}

/** Parses a {metric, expr} threshold (config or k6 script); throws SloParseError like parseSlo. */
export function parseThresholdSpec(t: ThresholdSpec, where: string, source: SloSource = 'config'): Slo {
  return parseSlo(`${t.metric}: ${t.expr}`, where, source)
}

export interface SloEvalOptions {
  /** Window the figures are computed over; 'all' (the whole run, as k6 judges) by default. */
  window?: WindowSpec
}

function describe(slo: Pick<Slo, 'source' | 'text'>): string {
  return `${slo.source === 'script' ? 'k6 threshold' : 'SLO'} "${slo.text}"`
}

function listSome(xs: string[]): string {
  if (!xs.length) return 'none'
  const shown = xs.slice(0, 8).map(x => `'${x}'`)
  return xs.length > 8 ? `${shown.join(', ')} and ${xs.length - 8} more` : shown.join(', ')
}

/** Whether `a op b` holds. */
export function compare(a: number, op: SloOperator, b: number): boolean {
  switch (op) {
    case '<':
      return a < b
    case '<=':
      return a <= b
    case '>':
      return a > b
    case '>=':
      return a >= b
    case '==':
      return a === b
    case '!=':
      return a !== b
  }
}

/** Evaluates one SLO on the merged results. */
export function evaluateSlo(view: ResultView, slo: Slo, opts: SloEvalOptions = {}): SloResult {
  const window = opts.window ?? 'all'
  const aggLabel = aggregationText(slo.aggregation)
  const base = { source: slo.source, where: slo.where, text: slo.text, metric: slo.metric, label: slo.label }
  const invalid = (why: string, unit: MetricUnit = ''): SloResult => ({
    ...base,
    status: 'invalid',
    observed: null,
    unit,
    reason: `${describe(slo)} cannot be evaluated: ${why}`
  })

  if (slo.label !== null && !view.labels().includes(slo.label))
    return invalid(`label '${slo.label}' does not exist in the results (labels: ${listSome(view.labels())})`)

  let observed: number
  let unit: MetricUnit
  if (slo.metric === 'checks') {
    unit = 'fraction'
    let passes = 0
    let fails = 0
    const names = new Set<string>()
    for (const t of view.tasks)
      for (const [name, c] of Object.entries(t.checks)) {
        names.add(name)
        if (slo.check !== null && name !== slo.check) continue
        passes += c.passes
        fails += c.fails
      }
    if (slo.check !== null && !names.has(slo.check))
      return invalid(
        `check '${slo.check}' does not exist in the results (checks: ${listSome([...names].sort())})`,
        unit
      )
    if (passes + fails === 0) return invalid('the run recorded no checks', unit)
    observed = passes / (passes + fails)
  } else {
    const q = { window, ...(slo.label !== null ? { label: slo.label } : {}) }
    const stats = view.stats(q)
    const scope = slo.label !== null ? ` for label '${slo.label}'` : ''
    if (slo.metric === 'http_reqs') {
      if (slo.aggregation.kind === 'count') {
        unit = ''
        observed = stats.requests
      } else {
        unit = 'req/s'
        if (!(stats.durationS > 0)) return invalid('the window has no duration', unit)
        observed = stats.rps
      }
    } else if (slo.metric === 'http_req_failed') {
      unit = 'fraction'
      if (stats.requests === 0) return invalid(`no requests in the window${scope}`, unit)
      observed = stats.errorRate
    } else {
      unit = slo.aggregation.kind === 'count' ? '' : 'ms'
      if (slo.aggregation.kind === 'count') observed = stats.requests
      else if (stats.requests === 0) return invalid(`no requests in the window${scope}`, unit)
      else if (slo.aggregation.kind === 'avg') observed = stats.meanMs
      else if (slo.aggregation.kind === 'min') observed = stats.minMs
      else if (slo.aggregation.kind === 'max') observed = stats.maxMs
      else {
        const p = slo.aggregation.kind === 'med' ? 50 : (slo.aggregation as { p: number }).p
        const h = view.counts(q).toHistogram()
        // A k6 script's threshold is judged with k6's own (interpolated) percentile.
        const us = slo.source === 'script' ? k6Percentile(h, p) : h.getValueAtPercentile(p)
        observed = Math.min(us / 1000, stats.maxMs)
      }
    }
  }
  const ok = compare(observed, slo.op, slo.value)
  const shown =
    unit === 'fraction'
      ? `${Number(observed.toPrecision(4))} (${formatValue(observed, unit)})`
      : formatValue(observed, unit)
  return {
    ...base,
    status: ok ? 'pass' : 'fail',
    observed,
    unit,
    reason: `${describe(slo)} ${ok ? 'held' : 'failed'}: ${aggLabel} = ${shown}, limit ${slo.op} ${slo.value}`
  }
}

/** Evaluates SLOs in order. */
export function evaluateSlos(view: ResultView, slos: readonly Slo[], opts: SloEvalOptions = {}): SloResult[] {
  return slos.map(s => evaluateSlo(view, s, opts))
}

/**
 * Judges the k6 script's own thresholds (from every task's metadata, each distinct one once) on the
 * merged data. Thresholds perf-gate cannot evaluate come back as `unsupported` with the reason.
 */
export function evaluateScriptThresholds(view: ResultView, opts: SloEvalOptions = {}): SloResult[] {
  const seen = new Set<string>()
  const out: SloResult[] = []
  for (const task of view.tasks)
    for (const t of task.task.thresholds) {
      const key = `${t.metric}\u0000${t.expr}`
      if (seen.has(key)) continue
      seen.add(key)
      const where = 'k6 script'
      let slo: Slo
      try {
        slo = parseThresholdSpec(t, where, 'script')
      } catch (e) {
        if (!(e instanceof SloParseError)) throw e
        const text = `${t.metric}: ${t.expr}`
        out.push({
          source: 'script',
          where,
          text,
          metric: t.metric,
          label: null,
          status: 'unsupported',
          observed: null,
          unit: '',
          reason: `k6 threshold "${text}" is not re-judged on the merged data: ${e.detail}`
        })
        continue
      }
      out.push(evaluateSlo(view, slo, opts))
    }
  return out
}
