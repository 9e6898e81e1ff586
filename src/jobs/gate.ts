/**
 * The gate and baseline jobs, shared by the action and the CLI. A job takes a way to produce one
 * run (load on a fleet, or files brought from elsewhere) and a baseline store, and applies the
 * decision rule from src/gate. It never stores a failed or partial run as a baseline, and every
 * path ends in a verdict: PASS, FAIL, INCONCLUSIVE or ERROR, with its reasons.
 */
import type { BaselineRecord } from '../baseline/model.js'
import type { BaselineStore } from '../baseline/store.js'
import { baselineRecordFromRun, BaselineRefusedError, refusalReason } from '../baseline/model.js'
import {
  buildFamily,
  decideFinal,
  decideStage1,
  evaluateScriptThresholds,
  evaluateSlos,
  extractRunMetrics,
  parseThresholdSpec,
  type GateOptions,
  type RunMetrics,
  type Slo,
  type SloResult,
  type Verdict
} from '../gate/index.js'
import type { GateLabels } from '../config/gate-labels.js'
import { baselineMetrics, withLabelMetrics } from './label-baselines.js'
import type { RunResult } from '../results/model.js'
import type { ThresholdSpec } from '../model/index.js'
import { ResultView } from '../results/query.js'
import { redactDeep } from '../report/redact.js'
import { unhealthyReason } from './health.js'
import type { JobOutcome } from '../model/index.js'
import { errorMessage } from '../util/index.js'

export interface JobContext {
  repo: string
  commit: string
  ref: string
  scenario: string
  fingerprint: string
  gate: Partial<GateOptions>
  /** Labels whose p95 and error rate are gated (`gate-labels`); none by default. */
  gateLabels?: GateLabels
  /** SLOs from the configuration (k6 threshold syntax, already parsed). */
  slos: Slo[]
  store: BaselineStore | null
  /** Share of tasks (0–1) that must complete for a partial run to be judged (default 1: all). */
  minTaskSuccess?: number
  /** Prefer baselines at or before this commit (the PR's merge base) or time. */
  beforeCommit?: string
  beforeMs?: number
  /** Cancellation (SIGINT/SIGTERM): no further run is started and a baseline job stores nothing. */
  signal?: AbortSignal
  log: (message: string) => void
}

/** Produces run number `replicate` (0 = the screening run). */
export type RunOnce = (replicate: number) => Promise<RunResult>

export interface GateJobResult {
  outcome: JobOutcome
  /** Why, most important first. */
  reasons: string[]
  verdict: Verdict | null
  runs: RunResult[]
  /** All PR runs together, for the report. */
  view: ResultView | null
  metrics: RunMetrics[]
  baselines: BaselineRecord[]
  /** The baselines' figures as judged (with per-label figures when labels are gated). */
  baselineFigures?: RunMetrics[]
  /** The newest comparable baseline run, for per-label comparisons. */
  newestBaseline: RunResult | null
  slo: SloResult[]
}

function sameSlo(a: Slo, b: Slo): boolean {
  return (
    a.metric === b.metric &&
    a.label === b.label &&
    a.check === b.check &&
    a.op === b.op &&
    a.value === b.value &&
    JSON.stringify(a.aggregation) === JSON.stringify(b.aggregation)
  )
}

/** The view with the thresholds that repeat a configured SLO left out of the task metadata. */
function withoutConfigSlos(view: ResultView, slos: readonly Slo[]): ResultView {
  if (!slos.length) return view
  const keep = (t: ThresholdSpec) => {
    try {
      const parsed = parseThresholdSpec(t, 'task', 'script')
      return !slos.some(s => sameSlo(s, parsed))
    } catch {
      return true
    }
  }
  return new ResultView(
    view.tasks.map(t => ({ ...t, task: { ...t.task, thresholds: t.task.thresholds.filter(keep) } })),
    view.names
  )
}

/** Why a run cannot be judged (failed or partial), or null when it is complete. */
export function incompleteReason(run: RunResult, minTaskSuccess = 1): string | null {
  const reason = refusalReason(run)
  if (reason) {
    const expected = Math.max(run.run.expectedTasks, run.tasks.length)
    const ok = run.tasks.filter(t => t.task.status === 'ok').length
    if (
      minTaskSuccess >= 1 ||
      run.run.facts.aborted === true ||
      expected === 0 ||
      ok / expected < minTaskSuccess
    )
      return minTaskSuccess < 1
        ? `${reason}; ${ok} of ${expected} task(s) succeeded, below min-task-success`
        : reason
  }
  const requests = new ResultView(run.tasks).stats({ window: 'all' }).requests
  return requests > 0 ? null : 'the run completed no requests'
}

async function listBaselines(ctx: JobContext): Promise<BaselineRecord[]> {
  if (!ctx.store) return []
  const limit = ctx.gate.maxBaselines ?? 30
  return ctx.store.list({
    repo: ctx.repo,
    scenario: ctx.scenario,
    fingerprint: ctx.fingerprint,
    limit,
    beforeCommit: ctx.beforeCommit,
    beforeMs: ctx.beforeMs
  })
}

/** The view of the runs' tasks, or null when there are none (e.g. every task was refused capacity). */
function viewOf(runs: RunResult[]): ResultView | null {
  const tasks = runs.flatMap(r => r.tasks)
  return tasks.length ? new ResultView(tasks) : null
}

function errorResult(runs: RunResult[], reasons: string[], baselines: BaselineRecord[] = []): GateJobResult {
  return {
    outcome: 'ERROR',
    reasons,
    verdict: null,
    runs,
    view: viewOf(runs),
    metrics: [],
    baselines,
    newestBaseline: null,
    slo: []
  }
}

/**
 * Gate mode: screen one run; when a primary metric trips and more runs can be made, run the
 * confirmation replicates; then decide.
 */
export async function runGateJob(
  ctx: JobContext,
  runOnce: RunOnce,
  canRerun: boolean
): Promise<GateJobResult> {
  const first = await runOnce(0)
  const runs = [first]
  const tripped = first.run.facts.abortOn
  if (typeof tripped === 'string')
    return { ...errorResult(runs, [`the fleet was stopped early: abort-on ${tripped}`]), outcome: 'FAIL' }
  const bad = incompleteReason(first, ctx.minTaskSuccess)
  if (bad) return errorResult(runs, [`the run cannot be judged: ${bad}`])
  const partial = refusalReason(first)
  if (partial) ctx.log(`judging a partial run (min-task-success): ${partial}`)

  let baselines: BaselineRecord[]
  try {
    baselines = await listBaselines(ctx)
  } catch (e) {
    return errorResult(runs, [`could not read baselines: ${errorMessage(e)}`])
  }
  if (baselines.length)
    ctx.log(`using ${baselines.length} comparable baseline(s) from ${ctx.store?.location}`)
  else ctx.log('no comparable baseline found')
  const gateLabels = ctx.gateLabels ?? { kind: 'none' }
  const base =
    ctx.store && gateLabels.kind !== 'none'
      ? await withLabelMetrics(ctx.store, baselines, ctx.log)
      : baselines.map(baselineMetrics)
  const metrics = [extractRunMetrics(new ResultView(first.tasks))]
  const familyOf = () => buildFamily(metrics, base, ctx.gate, { perLabel: false, gateLabels })

  const stage1 = decideStage1(familyOf(), ctx.gate)
  if (stage1.outcome === 'confirm') {
    if (canRerun && stage1.replicates > 0) {
      ctx.log(
        `stage 1 tripped on ${stage1.metricsToConfirm.join(', ')}: ${stage1.replicates} confirmation run(s)`
      )
      for (let i = 1; i <= stage1.replicates; i++) {
        const run = await runOnce(i)
        runs.push(run)
        const why = incompleteReason(run, ctx.minTaskSuccess)
        if (why) return errorResult(runs, [`confirmation run ${i} cannot be judged: ${why}`], baselines)
        metrics.push(extractRunMetrics(new ResultView(run.tasks)))
      }
    } else {
      ctx.log('stage 1 tripped, but no confirmation runs can be made: judging the single run')
    }
  }

  const view = new ResultView(runs.flatMap(r => r.tasks))
  const slo = [
    ...evaluateSlos(view, ctx.slos),
    ...evaluateScriptThresholds(withoutConfigSlos(view, ctx.slos))
  ]
  const verdict = decideFinal(familyOf(), ctx.gate, slo)
  let newestBaseline: RunResult | null = null
  if (ctx.store && baselines.length) {
    try {
      newestBaseline = await ctx.store.load(baselines[baselines.length - 1])
    } catch (e) {
      ctx.log(`could not load the newest baseline for per-label figures: ${errorMessage(e)}`)
    }
  }
  return {
    outcome: verdict.outcome,
    reasons: verdict.reasons,
    verdict,
    runs,
    view,
    metrics,
    baselines,
    baselineFigures: base,
    newestBaseline,
    slo
  }
}

export interface BaselineJobResult {
  outcome: 'PASS' | 'ERROR' | 'CANCELLED'
  reasons: string[]
  runs: RunResult[]
  stored: BaselineRecord[]
  refused: { replicate: number; reason: string }[]
  view: ResultView | null
}

/**
 * Baseline mode: run `replicates` runs (2 = an A/A pair) and store every complete, healthy one
 * (see health.ts). A failed, partial or unhealthy run is never stored; the job fails when none could
 * be stored. The runs are stored only after the last one: a job cancelled through `ctx.signal`
 * starts no further run, stores nothing and ends CANCELLED.
 */
export async function runBaselineJob(
  ctx: JobContext,
  runOnce: RunOnce,
  replicates: number,
  now: () => number = Date.now
): Promise<BaselineJobResult> {
  if (!ctx.store) throw new Error('baseline mode needs a baseline store')
  const runs: RunResult[] = []
  const stored: BaselineRecord[] = []
  const refused: { replicate: number; reason: string }[] = []
  const good: { replicate: number; run: RunResult; createdMs: number }[] = []
  const cancelled = (): BaselineJobResult => {
    const reason = `cancelled after ${runs.length} of ${replicates} replicate run(s) started; no baseline was stored`
    ctx.log(reason)
    return { outcome: 'CANCELLED', reasons: [reason], runs, stored, refused, view: viewOf(runs) }
  }
  for (let i = 0; i < replicates; i++) {
    if (ctx.signal?.aborted) return cancelled()
    const run = await runOnce(i)
    if (ctx.signal?.aborted) {
      runs.push(run)
      return cancelled()
    }
    runs.push(run)
    const why = incompleteReason(run) ?? unhealthyReason(run, ctx.slos)
    if (why) {
      refused.push({ replicate: i, reason: why })
      ctx.log(`replicate ${i + 1}: not stored: ${why}`)
      continue
    }
    good.push({ replicate: i, run, createdMs: Math.round(now()) })
  }
  for (const { replicate: i, run, createdMs } of good) {
    try {
      const record = baselineRecordFromRun(run, {
        repo: ctx.repo,
        commit: ctx.commit,
        ref: ctx.ref,
        replicate: i,
        createdMs
      })
      // A stored baseline is published too (e.g. as an artifact): redacted like every report.
      await ctx.store.put(record, redactDeep(run))
      stored.push(record)
      ctx.log(`replicate ${i + 1}: stored baseline ${record.id} in ${ctx.store.location}`)
    } catch (e) {
      const reason = e instanceof BaselineRefusedError ? e.reason : errorMessage(e)
      refused.push({ replicate: i, reason })
      ctx.log(`replicate ${i + 1}: not stored: ${reason}`)
    }
  }
  refused.sort((a, b) => a.replicate - b.replicate)
  const reasons = stored.length
    ? [`stored ${stored.length} of ${replicates} baseline run(s)`]
    : ['no baseline was stored', ...refused.map(r => `replicate ${r.replicate + 1}: ${r.reason}`)]
  return {
    outcome: stored.length ? 'PASS' : 'ERROR',
    reasons,
    runs,
    stored,
    refused,
    view: viewOf(runs)
  }
}
