/**
 * Turns a job's outcome into the renderers' plain input (src/report/types.ts).
 */
import type { MetricJudgement } from '../gate/rule.js'
import type { SloResult } from '../gate/slo.js'
import type { MetricUnit as GateUnit } from '../gate/format.js'
import type { RunResult } from '../results/model.js'
import { ResultView } from '../results/query.js'
import type {
  MetricStatus,
  MetricUnit,
  Percentiles,
  ReportFacts,
  ReportInput,
  ReportLabel,
  ReportMetric,
  ReportSlo
} from '../report/types.js'
import type { Outcome } from '../model/index.js'
import type { BaselineJobResult, GateJobResult } from './gate.js'
import { estimateRunCost, firstRequestAfter, type FleetCostSpec } from './run-cost.js'

export interface ReportContext {
  key: string
  scenario: string
  backend: string
  engine: string
  vus?: number | null
  commit?: string | null
  runUrl?: string | null
  pr?: { number: number; url?: string | null } | null
  artifactName?: string | null
  /** A cost figure made elsewhere; `fleet` is preferred when given. */
  costUsd?: number | null
  /** The fleet the runs used, for their estimated cost. */
  fleet?: FleetCostSpec
  /** When the step (action step or CLI command) started, epoch ms, for the time to first request. */
  stepStartMs?: number
}

const METRIC_LABELS: Record<string, string> = {
  p50: 'p50 latency',
  p90: 'p90 latency',
  p95: 'p95 latency',
  p99: 'p99 latency',
  error_rate: 'Error rate',
  throughput: 'Throughput'
}

function unitOf(u: GateUnit): MetricUnit {
  return u === 'req/s' ? 'rps' : u === 'fraction' ? '%' : 'ms'
}

function scale(v: number | null, unit: MetricUnit): number | null {
  if (v === null || !Number.isFinite(v)) return null
  return unit === '%' ? v * 100 : v
}

function statusOf(j: MetricJudgement): MetricStatus {
  if (j.advisory) return 'advisory'
  if (j.status === 'fail') return 'fail'
  if (j.status === 'inconclusive' || j.status === 'no-data') return 'inconclusive'
  return 'pass'
}

/** `p95 latency`, or `p95 latency · GET /fast` for a per-label metric (`p95{name:GET /fast}`). */
export function metricDisplayName(name: string): string {
  const m = /^([a-z0-9_]+)\{name:(.*)\}$/s.exec(name)
  if (m) return `${METRIC_LABELS[m[1]] ?? m[1]} · ${m[2]}`
  return METRIC_LABELS[name] ?? name
}

function reportMetric(j: MetricJudgement): ReportMetric {
  const unit = unitOf(j.unit)
  return {
    name: j.name,
    label: metricDisplayName(j.name),
    unit,
    baseline: scale(j.reference, unit),
    current: scale(j.current, unit),
    deltaPct: j.deltaPct,
    status: statusOf(j),
    primary: !j.advisory,
    note: j.method === 'no-baseline' ? 'no baseline' : (j.advisoryReason ?? undefined)
  }
}

function reportSlo(r: SloResult): ReportSlo {
  const unit = unitOf(r.unit)
  return {
    expr: r.text,
    metric: r.metric,
    source: r.source,
    ok: r.status === 'pass' || r.status === 'unsupported',
    ...(r.status === 'unsupported' ? { judged: false } : {}),
    observed: scale(r.observed, unit),
    unit,
    reason: r.reason
  }
}

/** The view of the first run, or null when it has no task results (e.g. no task got capacity). */
function firstView(runs: RunResult[]): ResultView | null {
  const tasks = runs[0]?.tasks ?? []
  return tasks.length ? new ResultView(tasks) : null
}

/** The figures of a run without any task result: none. */
const NO_STATS = {
  p50Ms: Number.NaN,
  p90Ms: Number.NaN,
  p95Ms: Number.NaN,
  p99Ms: Number.NaN,
  errorRate: 0,
  rps: 0
}

function costFacts(ctx: ReportContext, runs: RunResult[]): Pick<ReportFacts, 'costUsd' | 'costDetail'> {
  if (ctx.fleet && runs.length) {
    const c = estimateRunCost(ctx.fleet, runs)
    return { costUsd: c.usd, costDetail: c.detail }
  }
  return { costUsd: ctx.costUsd ?? null, costDetail: null }
}

function facts(ctx: ReportContext, runs: RunResult[], view: ResultView | null): ReportFacts {
  const first = runs[0]
  const tasks = first?.tasks ?? []
  const all = view?.allWindow() ?? { startMs: 0, endMs: 0 }
  const missing = runs.flatMap(r => r.run.missingTasks)
  return {
    backend: ctx.backend,
    regions: view ? view.regions() : [...new Set(missing.map(t => t.region))].sort(),
    tasks: tasks.length,
    vus: ctx.vus ?? null,
    durationS: (all.endMs - all.startMs) / 1000,
    engine: ctx.engine || tasks[0]?.task.engine || '',
    engineVersion: tasks[0]?.task.engineVersion || null,
    steadyWindow: view?.steadyWindow() ?? null,
    ...costFacts(ctx, runs),
    firstRequest: first && ctx.stepStartMs !== undefined ? firstRequestAfter(ctx.stepStartMs, first) : null,
    startSkewMs: typeof first?.run.facts.startSkewMs === 'number' ? first.run.facts.startSkewMs : null,
    missingTasks: missing,
    runUrl: ctx.runUrl ?? null,
    commit: ctx.commit ?? null
  }
}

function labelsOf(view: ResultView, baseline: ResultView | null): ReportLabel[] {
  const base = baseline ? baseline.statsByLabel() : {}
  return Object.entries(view.statsByLabel()).map(([label, s]) => {
    const b = base[label]
    return {
      label,
      requests: s.requests,
      errorRate: s.errorRate,
      p50: s.p50Ms,
      p95: s.p95Ms,
      p99: s.p99Ms,
      baseline: b && b.requests ? { p50: b.p50Ms, p95: b.p95Ms, p99: b.p99Ms } : null
    }
  })
}

/** The series without the empty intervals at its edges (before the first and after the last request). */
function trimSeries(points: ReturnType<ResultView['series']>): ReturnType<ResultView['series']> {
  let lo = 0
  let hi = points.length - 1
  while (lo <= hi && points[lo].requests === 0) lo++
  while (hi >= lo && points[hi].requests === 0) hi--
  return points.slice(lo, hi + 1)
}

/**
 * Error rates are judged with a floor under the logarithm; the report shows the measured rates
 * (mean of the PR runs, median of the baselines) instead of the floored ones, overall and for each
 * gated label.
 */
function rawErrorRates(metrics: ReportMetric[], job: GateJobResult): ReportMetric[] {
  const baseFigures =
    job.baselineFigures ?? job.baselines.map(b => ({ errorRate: b.metrics.errorRate, labels: {} }))
  const pick = (name: string, r: { errorRate: number; labels: Record<string, { errorRate: number }> }) => {
    if (name === 'error_rate') return r.errorRate
    const m = /^error_rate\{name:(.*)\}$/s.exec(name)
    return m ? r.labels[m[1]]?.errorRate : undefined
  }
  const defined = (xs: (number | undefined)[]) => xs.filter((x): x is number => x !== undefined)
  return metrics.map(m => {
    if (!m.name.startsWith('error_rate')) return m
    const pr = defined(job.metrics.map(r => pick(m.name, r)))
    if (!pr.length) return m
    const base = defined(baseFigures.map(r => pick(m.name, r))).sort((a, b) => a - b)
    const median = base.length
      ? base[Math.floor((base.length - 1) / 2)] / 2 + base[Math.ceil((base.length - 1) / 2)] / 2
      : null
    const current = pr.reduce((a, b) => a + b, 0) / pr.length
    return {
      ...m,
      current: 100 * current,
      baseline: median === null ? null : 100 * median,
      deltaPct: median ? (100 * (current - median)) / median : m.deltaPct
    }
  })
}

/**
 * The latency percentiles of the summary table's Baseline or current column, so the charts draw
 * exactly the figures the table beside them shows; null when the table lacks one of them.
 */
function tablePercentiles(metrics: ReportMetric[], column: 'baseline' | 'current'): Percentiles | null {
  const of = (name: string) => metrics.find(m => m.name === name)?.[column]
  const [p50, p90, p95, p99] = ['p50', 'p90', 'p95', 'p99'].map(of)
  if (![p50, p90, p95, p99].every(v => typeof v === 'number' && Number.isFinite(v))) return null
  return { p50: p50!, p90: p90!, p95: p95!, p99: p99! }
}

/** The report of a gate job. */
export function gateReportInput(ctx: ReportContext, job: GateJobResult): ReportInput {
  const runs = job.runs
  const screening = firstView(runs)
  const cur = screening?.stats() ?? NO_STATS
  const baselineView = job.newestBaseline ? new ResultView(job.newestBaseline.tasks) : null
  const head = job.verdict?.headline ?? null
  const outcome: Outcome = job.outcome
  const metrics = job.verdict ? rawErrorRates(job.verdict.metrics.map(reportMetric), job) : []
  return {
    key: ctx.key,
    scenario: ctx.scenario,
    mode: 'gate',
    verdict: {
      outcome,
      provisional: job.verdict?.provisional ?? false,
      reasons: [...job.reasons, ...(job.verdict?.notes ?? [])],
      mdePct: head?.mde != null ? head.mde * 100 : null,
      noisePct: head?.noise != null ? head.noise * 100 : null,
      baselines: head?.n ?? job.baselines.length,
      replicates: runs.length,
      detectable10: head?.detectsTarget ?? null,
      ...(job.verdict
        ? {
            minBaselines: job.verdict.minBaselines,
            provisionalThresholdPct: 100 * job.verdict.provisionalThreshold
          }
        : {})
    },
    metrics,
    slos: job.slo.map(reportSlo),
    labels: screening ? labelsOf(screening, baselineView) : [],
    series: screening ? trimSeries(screening.series({ window: 'all' }, 60)) : [],
    baselinePercentiles: tablePercentiles(metrics, 'baseline'),
    currentPercentiles: tablePercentiles(metrics, 'current') ?? {
      p50: cur.p50Ms,
      p90: cur.p90Ms,
      p95: cur.p95Ms,
      p99: cur.p99Ms
    },
    facts: facts(ctx, runs, screening),
    pr: ctx.pr ?? null,
    artifact: ctx.artifactName ? { name: ctx.artifactName } : null
  }
}

/** A metric of a run shown without a comparison (baseline and stress reports). */
export function advisoryMetric(name: string, label: string, unit: MetricUnit, v: number): ReportMetric {
  return { name, label, unit, baseline: null, current: v, deltaPct: null, status: 'advisory', primary: false }
}

/** The report of a baseline job: this run's figures, no comparison. */
export function baselineReportInput(ctx: ReportContext, job: BaselineJobResult): ReportInput {
  const runs = job.runs
  const view = firstView(runs)
  const cur = view?.stats() ?? NO_STATS
  return {
    key: ctx.key,
    scenario: ctx.scenario,
    title: `perf-gate baseline: ${ctx.scenario}`,
    mode: 'gate',
    verdict: {
      outcome: job.outcome,
      provisional: false,
      reasons: job.reasons,
      baselines: job.stored.length,
      replicates: runs.length
    },
    metrics: runFigures(cur),
    slos: [],
    labels: view ? labelsOf(view, null) : [],
    series: view ? trimSeries(view.series({ window: 'all' }, 60)) : [],
    baselinePercentiles: null,
    currentPercentiles: { p50: cur.p50Ms, p90: cur.p90Ms, p95: cur.p95Ms, p99: cur.p99Ms },
    facts: facts(ctx, runs, view),
    pr: null,
    artifact: ctx.artifactName ? { name: ctx.artifactName } : null
  }
}

/** A run's own figures as advisory report rows (no baseline to compare with). */
function runFigures(cur: {
  p50Ms: number
  p90Ms: number
  p95Ms: number
  p99Ms: number
  errorRate: number
  rps: number
}): ReportMetric[] {
  return [
    advisoryMetric('p50', 'p50 latency', 'ms', cur.p50Ms),
    advisoryMetric('p90', 'p90 latency', 'ms', cur.p90Ms),
    advisoryMetric('p95', 'p95 latency', 'ms', cur.p95Ms),
    advisoryMetric('p99', 'p99 latency', 'ms', cur.p99Ms),
    advisoryMetric('error_rate', 'Error rate', '%', cur.errorRate * 100),
    advisoryMetric('throughput', 'Throughput', 'rps', cur.rps)
  ]
}

/**
 * The report of a run (or of results read from files) on its own: no gate, no baseline; the
 * outcome is ERROR when `problems` says what went wrong.
 */
export function runReportInput(
  ctx: ReportContext,
  view: ResultView,
  opts: { runs?: RunResult[]; problems?: string | null; title?: string; reasons?: string[] } = {}
): ReportInput {
  const cur = view.stats()
  const problems = opts.problems ?? null
  return {
    key: ctx.key,
    scenario: ctx.scenario,
    title: opts.title ?? ctx.scenario,
    mode: 'gate',
    verdict: {
      outcome: problems ? 'ERROR' : 'PASS',
      provisional: false,
      reasons: problems ? [problems] : (opts.reasons ?? []),
      baselines: 0,
      replicates: opts.runs?.length ?? 1
    },
    metrics: runFigures(cur),
    slos: [],
    labels: labelsOf(view, null),
    series: trimSeries(view.series({ window: 'all' }, 60)),
    baselinePercentiles: null,
    currentPercentiles: { p50: cur.p50Ms, p90: cur.p90Ms, p95: cur.p95Ms, p99: cur.p99Ms },
    facts: facts(ctx, opts.runs ?? [], view),
    pr: null,
    artifact: null
  }
}
