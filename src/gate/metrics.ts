/**
 * From results to the gate's inputs: the per-run figures the gate compares (stored for every
 * baseline run), and the metric family built from a PR's runs and the comparable baselines.
 *
 * Primary family: overall p95; p99 when the screening run's tail holds at least `minTailSamples`
 * requests (n·(1 − 0.99)); error rate; throughput; and, for each label `gate-labels` selects (see
 * labels.ts), the label's p95 and error rate when its screening run holds at least `minTailSamples`
 * requests beyond its p95. Advisory: overall p50 and p90, and p95, p99 and error rate of the other
 * labels.
 *
 * Error rates are floored before the logarithm at max(errorRateFloor, 0.5 / R), where R is the
 * median request count over all the runs involved (half an error in a typical run); the same floor
 * applies to every run, so runs of different lengths are not given different floors. An error rate
 * must also worsen by errorRateMinAbsolute (0.1 percentage points by default) to fail.
 */
import type { ResultView, Stats, WindowSpec } from '../results/query.js'
import { DEFAULT_GATE_OPTIONS, resolveGateOptions, type GateOptions } from './options.js'
import { selectGateLabels, type LabelMetrics } from './labels.js'
import { NO_GATE_LABELS, type GateLabels } from '../config/gate-labels.js'
import type { MetricObservation } from './rule.js'
import { median } from './stats.js'
import { num } from './format.js'

/** The figures of one run that the gate compares; plain JSON, suitable for a baseline store. */
export interface RunMetrics {
  requests: number
  failures: number
  durationS: number
  errorRate: number
  rps: number
  p50Ms: number
  p90Ms: number
  p95Ms: number
  p99Ms: number
  /** Samples beyond p99: requests · (1 − 0.99). */
  p99TailSamples: number
  labels: Record<string, LabelMetrics>
}

function labelMetrics(s: Stats): LabelMetrics {
  return {
    requests: s.requests,
    failures: s.failures,
    errorRate: s.errorRate,
    rps: s.rps,
    p95Ms: s.p95Ms,
    p99Ms: s.p99Ms
  }
}

/** The run's figures over its steady window (or `window`). */
export function extractRunMetrics(view: ResultView, window: WindowSpec = 'steady'): RunMetrics {
  const s = view.stats({ window })
  const labels: Record<string, LabelMetrics> = {}
  for (const [label, ls] of Object.entries(view.statsByLabel({ window }))) labels[label] = labelMetrics(ls)
  return {
    requests: s.requests,
    failures: s.failures,
    durationS: s.durationS,
    errorRate: s.errorRate,
    rps: s.rps,
    p50Ms: s.p50Ms,
    p90Ms: s.p90Ms,
    p95Ms: s.p95Ms,
    p99Ms: s.p99Ms,
    p99TailSamples: s.requests * (1 - 0.99),
    labels
  }
}

/** The error-rate floor for a set of runs: max(errorRateFloor, 0.5 / median request count). */
export function errorRateFloor(requests: number[], options: GateOptions = DEFAULT_GATE_OPTIONS): number {
  const r = median(requests.filter(x => Number.isFinite(x) && x > 0))
  return Number.isFinite(r) ? Math.max(options.errorRateFloor, 0.5 / r) : options.errorRateFloor
}

export interface FamilyOptions {
  /** Add the advisory per-label metrics of the labels that are not gated (default true). */
  perLabel?: boolean
  /** Labels whose p95 and error rate join the primary family (`gate-labels`; default none). */
  gateLabels?: GateLabels
}

/** Name of a per-label metric: `p95{name:GET /fast}`. */
export function labelMetricName(metric: string, label: string): string {
  return `${metric}{name:${label}}`
}

/** Share of the screening run's p95 samples that lie in its tail: n·(1 − 0.95). */
const P95_TAIL = 0.05

/** The whole run's metrics: the primary p95, p99, error rate and throughput, and advisory p50 and p90. */
function overallMetrics(
  pr: RunMetrics[],
  baselines: RunMetrics[],
  floor: number,
  o: GateOptions
): MetricObservation[] {
  return [
    {
      name: 'p95',
      unit: 'ms',
      higherIsWorse: true,
      values: pr.map(r => r.p95Ms),
      baseline: baselines.map(r => r.p95Ms)
    },
    {
      name: 'p99',
      unit: 'ms',
      higherIsWorse: true,
      values: pr.map(r => r.p99Ms),
      baseline: baselines.map(r => r.p99Ms),
      tailSamples: pr[0].p99TailSamples
    },
    {
      name: 'error_rate',
      unit: 'fraction',
      higherIsWorse: true,
      values: pr.map(r => r.errorRate),
      baseline: baselines.map(r => r.errorRate),
      floor,
      minAbsoluteEffect: o.errorRateMinAbsolute
    },
    {
      name: 'throughput',
      unit: 'req/s',
      higherIsWorse: false,
      values: pr.map(r => r.rps),
      baseline: baselines.map(r => r.rps)
    },
    {
      name: 'p50',
      unit: 'ms',
      higherIsWorse: true,
      advisory: true,
      values: pr.map(r => r.p50Ms),
      baseline: baselines.map(r => r.p50Ms)
    },
    {
      name: 'p90',
      unit: 'ms',
      higherIsWorse: true,
      advisory: true,
      values: pr.map(r => r.p90Ms),
      baseline: baselines.map(r => r.p90Ms)
    }
  ]
}

/**
 * The p95 and error rate of a label `gate-labels` names but the PR run did not record: they have
 * no data, and say why.
 */
function missingLabel(label: string, pr: RunMetrics[]): MetricObservation[] {
  const why = `gate-labels names "${label}", but the PR run recorded no such label (it recorded: ${Object.keys(pr[0].labels).sort().join(', ') || 'none'})`
  return ['p95', 'error_rate'].map(metric => ({
    name: labelMetricName(metric, label),
    unit: metric === 'p95' ? 'ms' : 'fraction',
    higherIsWorse: true,
    values: [],
    baseline: [],
    noDataReason: why
  }))
}

/** The figures of one label in the runs that recorded it. */
function labelRuns(
  label: string,
  pr: RunMetrics[],
  baselines: RunMetrics[]
): { cur: LabelMetrics[]; base: LabelMetrics[] } {
  return {
    cur: pr.map(r => r.labels[label]).filter((x): x is LabelMetrics => x !== undefined),
    base: baselines.map(r => r.labels[label]).filter((x): x is LabelMetrics => x !== undefined)
  }
}

/** The advisory p95, p99 and error rate of a label that is not gated. */
function advisoryLabel(
  label: string,
  pr: RunMetrics[],
  baselines: RunMetrics[],
  o: GateOptions
): MetricObservation[] {
  const { cur, base } = labelRuns(label, pr, baselines)
  const labelFloor = errorRateFloor(
    [...cur, ...base].map(r => r.requests),
    o
  )
  const tag = `{name:${label}}`
  return [
    {
      name: `p95${tag}`,
      unit: 'ms',
      higherIsWorse: true,
      advisory: true,
      values: cur.map(r => r.p95Ms),
      baseline: base.map(r => r.p95Ms)
    },
    {
      name: `p99${tag}`,
      unit: 'ms',
      higherIsWorse: true,
      advisory: true,
      values: cur.map(r => r.p99Ms),
      baseline: base.map(r => r.p99Ms)
    },
    {
      name: `error_rate${tag}`,
      unit: 'fraction',
      higherIsWorse: true,
      advisory: true,
      values: cur.map(r => r.errorRate),
      baseline: base.map(r => r.errorRate),
      floor: labelFloor,
      minAbsoluteEffect: o.errorRateMinAbsolute
    }
  ]
}

/**
 * The metric family for `pr` (the PR's runs: screening run first) against `baselines` (comparable
 * runs, oldest → newest). Pass the same arrays to decideStage1 and, after confirmation, decideFinal.
 */
export function buildFamily(
  pr: RunMetrics[],
  baselines: RunMetrics[],
  options: Partial<GateOptions> = {},
  family: FamilyOptions = {}
): MetricObservation[] {
  const o = resolveGateOptions(options)
  if (!pr.length) throw new Error('buildFamily: at least one PR run is needed')
  const floor = errorRateFloor(
    [...pr, ...baselines].map(r => r.requests),
    o
  )
  const obs = overallMetrics(pr, baselines, floor, o)
  const selection = selectGateLabels(family.gateLabels ?? NO_GATE_LABELS, pr[0].labels)
  for (const label of selection.labels) obs.push(...gatedLabel(label, pr, baselines, o))
  for (const label of selection.missing) obs.push(...missingLabel(label, pr))
  if (family.perLabel ?? true) {
    const gated = new Set(selection.labels)
    for (const label of Object.keys(pr[0].labels).sort())
      if (!gated.has(label)) obs.push(...advisoryLabel(label, pr, baselines, o))
  }
  return obs
}

/**
 * The primary p95 and error rate of one gated label. When the screening run holds fewer than
 * `minTailSamples` requests beyond the label's p95, both stay advisory and say why.
 */
function gatedLabel(
  label: string,
  pr: RunMetrics[],
  baselines: RunMetrics[],
  o: GateOptions
): MetricObservation[] {
  const { cur, base } = labelRuns(label, pr, baselines)
  const floor = errorRateFloor(
    [...cur, ...base].map(r => r.requests),
    o
  )
  const requests = cur[0]?.requests ?? 0
  const tail = requests * P95_TAIL
  const needed = Math.ceil(o.minTailSamples / P95_TAIL)
  const why =
    tail < o.minTailSamples
      ? `label "${label}" has ${num(requests)} requests in the screening run: its p95 tail holds ` +
        `${num(tail)} samples, fewer than ${o.minTailSamples} (gating it needs about ${needed} requests per run)`
      : undefined
  return [
    {
      name: labelMetricName('p95', label),
      unit: 'ms',
      higherIsWorse: true,
      values: cur.map(r => r.p95Ms),
      baseline: base.map(r => r.p95Ms),
      ...(why ? { advisoryWhy: why } : {})
    },
    {
      name: labelMetricName('error_rate', label),
      unit: 'fraction',
      higherIsWorse: true,
      values: cur.map(r => r.errorRate),
      baseline: base.map(r => r.errorRate),
      floor,
      minAbsoluteEffect: o.errorRateMinAbsolute,
      ...(why ? { advisoryWhy: why } : {})
    }
  ]
}
