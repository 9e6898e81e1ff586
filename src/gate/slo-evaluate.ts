/**
 * SLOs judged on merged fleet results (see slo.ts for the syntax). An SLO that fails, or that
 * cannot be evaluated (a label or check that does not exist, no requests at all), fails the gate
 * whatever the statistics say; a k6 script's threshold perf-gate cannot evaluate is `unsupported`
 * and does not. SLOs are judged over the whole run by default, as k6 does. Percentiles of a k6
 * script's thresholds follow k6's definition (linear interpolation between ranks,
 * k6-percentile.ts); those of perf-gate's own SLOs are nearest-rank.
 */
import type { ResultView, WindowSpec } from '../results/query.js'
import { formatValue, type MetricUnit } from './format.js'
import { k6Percentile } from './k6-percentile.js'
import {
  aggregationText,
  compare,
  parseThresholdSpec,
  SloParseError,
  type Slo,
  type SloResult
} from './slo.js'

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

/** The figure an SLO is judged on, or why it cannot be evaluated; in the unit the figure has. */
type Observation = { observed: number; unit: MetricUnit } | { invalid: string; unit: MetricUnit }

/** The pass rate of the run's checks (of one check when the SLO names it). */
function observeChecks(view: ResultView, slo: Slo): Observation {
  const unit: MetricUnit = 'fraction'
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
    return {
      invalid: `check '${slo.check}' does not exist in the results (checks: ${listSome([...names].sort())})`,
      unit
    }
  if (passes + fails === 0) return { invalid: 'the run recorded no checks', unit }
  return { observed: passes / (passes + fails), unit }
}

/** ` for label 'X'` when the SLO is on one label. */
function scope(slo: Slo): string {
  return slo.label !== null ? ` for label '${slo.label}'` : ''
}

/** A latency aggregation of the requests in the window (of one label when the SLO names it). */
function observeLatency(view: ResultView, slo: Slo, window: WindowSpec): Observation {
  const q = { window, ...(slo.label !== null ? { label: slo.label } : {}) }
  const stats = view.stats(q)
  const a = slo.aggregation
  if (a.kind === 'count') return { observed: stats.requests, unit: '' }
  const unit: MetricUnit = 'ms'
  if (stats.requests === 0) return { invalid: `no requests in the window${scope(slo)}`, unit }
  if (a.kind === 'avg') return { observed: stats.meanMs, unit }
  if (a.kind === 'min') return { observed: stats.minMs, unit }
  if (a.kind === 'max') return { observed: stats.maxMs, unit }
  const p = a.kind === 'med' ? 50 : (a as { p: number }).p
  const h = view.counts(q).toHistogram()
  // A k6 script's threshold is judged with k6's own (interpolated) percentile.
  const us = slo.source === 'script' ? k6Percentile(h, p) : h.getValueAtPercentile(p)
  return { observed: Math.min(us / 1000, stats.maxMs), unit }
}

/** The request count, request rate or error rate in the window (of one label when the SLO names it). */
function observeRequests(view: ResultView, slo: Slo, window: WindowSpec): Observation {
  const stats = view.stats({ window, ...(slo.label !== null ? { label: slo.label } : {}) })
  if (slo.metric === 'http_reqs') {
    if (slo.aggregation.kind === 'count') return { observed: stats.requests, unit: '' }
    if (!(stats.durationS > 0)) return { invalid: 'the window has no duration', unit: 'req/s' }
    return { observed: stats.rps, unit: 'req/s' }
  }
  if (stats.requests === 0) return { invalid: `no requests in the window${scope(slo)}`, unit: 'fraction' }
  return { observed: stats.errorRate, unit: 'fraction' }
}

/** Evaluates one SLO on the merged results. */
export function evaluateSlo(view: ResultView, slo: Slo, opts: SloEvalOptions = {}): SloResult {
  const window = opts.window ?? 'all'
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

  const o =
    slo.metric === 'checks'
      ? observeChecks(view, slo)
      : slo.metric === 'http_req_duration'
        ? observeLatency(view, slo, window)
        : observeRequests(view, slo, window)
  if ('invalid' in o) return invalid(o.invalid, o.unit)
  const { observed, unit } = o
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
    reason: `${describe(slo)} ${ok ? 'held' : 'failed'}: ${aggregationText(slo.aggregation)} = ${shown}, limit ${slo.op} ${slo.value}`
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
