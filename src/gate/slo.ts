/**
 * Absolute SLOs in k6 threshold syntax: their types and their parser (slo-evaluate.ts judges them
 * on merged fleet results).
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
 * A k6 script's own thresholds (TaskMeta.thresholds) are parsed the same way and judged again on
 * the merged data, since each k6 instance only judged its own slice. Those on metrics perf-gate does
 * not record (custom metrics, iteration_duration, tags other than name) do not parse, and are
 * reported as `unsupported`.
 */
import type { ThresholdSpec } from '../model/index.js'
import type { MetricUnit } from './format.js'

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

/** Throws the parse error of the threshold being parsed. */
type Fail = (detail: string) => never

/** What is left of the threshold text after a part was read. */
interface Read<T> {
  value: T
  rest: string
}

/** The optional metric prefix: a name, optional `{tags}`, then `:`. */
function readMetricPrefix(
  text: string,
  fail: Fail
): Read<{ metricName: string | null; tagText: string | null }> {
  const id = IDENT.exec(text)
  if (!id) return { value: { metricName: null, tagText: null }, rest: text }
  let after = text.slice(id[0].length).trimStart()
  let tags: string | null = null
  if (after.startsWith('{')) {
    const close = after.indexOf('}')
    if (close < 0) fail(`missing '}' after the tag filter of '${id[0]}'`)
    tags = after.slice(0, close + 1)
    after = after.slice(close + 1).trimStart()
  }
  if (after.startsWith(':')) {
    const metricName = id[0]
    const rest = after.slice(1).trim()
    if (!rest) fail(`expected an expression such as p(95)<500 after '${metricName}:'`)
    return { value: { metricName, tagText: tags }, rest }
  }
  if (tags !== null) fail(`expected ':' after '${id[0]}${tags}'`)
  if ((SLO_METRICS as readonly string[]).includes(id[0])) fail(`expected ':' after the metric '${id[0]}'`)
  return { value: { metricName: null, tagText: null }, rest: text }
}

/** The aggregation: a name, or `p(N)`. */
function readAggregation(text: string, fail: Fail): Read<SloAggregation> {
  const agg = IDENT.exec(text)
  if (!agg) fail(`expected an aggregation (avg, min, max, med, p(N), count or rate) at '${show(text)}'`)
  const aggName = agg![0]
  const rest = text.slice(aggName.length)
  if (aggName === 'p' && rest.startsWith('(')) {
    const close = rest.indexOf(')')
    if (close < 0) fail(`missing ')' in the percentile p(${show(rest.slice(1))}`)
    const inner = rest.slice(1, close).trim()
    const p = NUMBER.exec(inner)
    if (!p || p[0].length !== inner.length) fail(`expected a number inside p(...), got 'p(${inner})'`)
    const pv = Number(inner)
    if (!(pv >= 0 && pv <= 100)) fail(`percentile must be between 0 and 100, got p(${inner})`)
    return { value: { kind: 'p', p: pv }, rest: rest.slice(close + 1) }
  }
  if ((AGGREGATIONS as readonly string[]).includes(aggName))
    return { value: { kind: aggName as (typeof AGGREGATIONS)[number] }, rest }
  return fail(`unknown aggregation '${aggName}' (expected avg, min, max, med, p(N), count or rate)`)
}

/** The operator (`===` reads as `==`); `aggLabel` names what it follows in errors. */
function readOperator(text: string, aggLabel: string, fail: Fail): Read<SloOperator> {
  const rest = text.trimStart()
  const opMatch = /^[<>=!]+/.exec(rest)
  if (!opMatch)
    fail(`expected an operator (${OPERATOR_LIST}) after '${aggLabel}'${rest ? `, got '${show(rest)}'` : ''}`)
  let op = opMatch![0]
  if (op === '===') op = '=='
  if (!(SLO_OPERATORS as readonly string[]).includes(op))
    fail(`expected an operator (${OPERATOR_LIST}) after '${aggLabel}', got '${opMatch![0]}'`)
  return { value: op as SloOperator, rest: rest.slice(opMatch![0].length).trimStart() }
}

/** The limit: a plain number that ends the threshold. */
function readLimit(text: string, op: string, fail: Fail): number {
  const numMatch = NUMBER.exec(text)
  if (!numMatch) fail(`expected a number after '${op}'${text ? `, got '${show(text)}'` : ''}`)
  const value = Number(numMatch![0])
  if (!Number.isFinite(value)) fail(`expected a finite number after '${op}', got '${numMatch![0]}'`)
  const rest = text.slice(numMatch![0].length).trim()
  if (rest)
    fail(
      `unexpected '${show(rest)}' after ${numMatch![0]} (limits are plain numbers; latency is in milliseconds)`
    )
  return value
}

/** The metric (named, or implied by the aggregation), checked against the aggregation. */
function resolveMetric(metricName: string | null, aggregation: SloAggregation, fail: Fail): SloMetric {
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
    fail(
      `aggregation '${aggregationText(aggregation)}' does not apply to ${metric} (use ${ALLOWED[metric].hint})`
    )
  return metric
}

/** The label or check a `{key:value}` tag filter selects. */
function readTagFilter(
  tagText: string | null,
  metric: SloMetric,
  fail: Fail
): { label: string | null; check: string | null } {
  let label: string | null = null
  let check: string | null = null
  if (tagText === null) return { label, check }
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
  return { label, check }
}

/**
 * Parses one threshold. `where` names it in errors (`thresholds[2]`); throws SloParseError with a
 * one-line message such as `thresholds[2] "p(95)<<5": expected an operator (<, <=, >, >=, ==, !=)
 * after 'p(95)', got '<<'`.
 */
export function parseSlo(text: string, where = 'threshold', source: SloSource = 'config'): Slo {
  const fail: Fail = detail => {
    throw new SloParseError(where, text, detail)
  }
  if (typeof text !== 'string') fail('expected a threshold string such as "p(95)<500"')
  const trimmed = text.trim()
  if (!trimmed) fail('empty threshold; expected something like "p(95)<500"')
  const prefix = readMetricPrefix(trimmed, fail)
  const aggregation = readAggregation(prefix.rest, fail)
  const op = readOperator(aggregation.rest, aggregationText(aggregation.value), fail)
  const value = readLimit(op.rest, op.value, fail)
  const metric = resolveMetric(prefix.value.metricName, aggregation.value, fail)
  const { label, check } = readTagFilter(prefix.value.tagText, metric, fail)
  return { source, where, text, metric, label, check, aggregation: aggregation.value, op: op.value, value }
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
