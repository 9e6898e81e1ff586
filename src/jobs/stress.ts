/**
 * The stress job, shared by the action (`mode: stress`) and the CLI (`perf-gate stress`): run a
 * profile once, stop it early when a stress step breaks an SLO, analyse the per-interval results,
 * keep a capacity record in the baseline store and hand back everything the capacity report needs.
 * It never gates: the outcome is PASS when the run could be analysed (whatever the SLOs did) and
 * ERROR when it could not, or when the record could not be stored.
 */
import type { BaselineStore } from '../baseline/store.js'
import { capacityId, CAPACITY_SCHEMA, CAPACITY_VERSION, type CapacityRecord } from '../baseline/capacity.js'
import type { Scenario } from '../config/scenario.js'
import type { ExpandedProfile, FleetProgress } from '../model/index.js'
import { capacityPlan, type CapacityPlan } from '../gate/capacity/planning.js'
import { analyzeProfile, sustainedRps, type CapacityAnalysis } from '../gate/capacity/profile.js'
import { stepSlos } from '../gate/capacity/steps.js'
import type { GateOptions } from '../gate/options.js'
import type { Slo } from '../gate/slo.js'
import { StepStopRule, type StopDecision } from '../gate/stop-rule.js'
import { describeProfile } from '../plan/profiles.js'
import type { RunResult } from '../results/model.js'
import { ResultView } from '../results/query.js'
import type { RegionCapacity } from '../report/capacity.js'
import { errorMessage } from '../util/index.js'

export interface StressJobContext {
  repo: string
  commit: string
  ref: string
  scenario: Scenario
  /** SLOs the steps are judged by (configuration and inputs, already parsed). */
  slos: Slo[]
  store: BaselineStore | null
  /** Capacity planning: the throughput the system must serve, and its instance count today. */
  targetRps?: number | null
  instances?: number | null
  /** Capacity records shown in the history (default 20). */
  historyLimit?: number
  /** The gate's settings, for the soak comparison. */
  gate?: Partial<GateOptions>
  log: (message: string) => void
  now?: () => number
}

/** Runs the scenario once; `onProgress` gets the fleet's reports, aborting `signal` stops the run. */
export type StressRunOnce = (hooks: {
  onProgress: (p: FleetProgress) => void
  signal: AbortSignal
}) => Promise<RunResult>

export interface StressJobResult {
  outcome: 'PASS' | 'ERROR'
  /** Problems (ERROR) or remarks. */
  reasons: string[]
  run: RunResult | null
  view: ResultView | null
  profile: ExpandedProfile
  analysis: CapacityAnalysis | null
  plan: CapacityPlan | null
  /** The stopping rule's decision, when it ended the run. */
  stop: StopDecision | null
  record: CapacityRecord | null
  history: CapacityRecord[]
  /** The same analysis on each region's tasks alone; empty for a run in one region. */
  regions: RegionCapacity[]
}

/**
 * The profile analysed on each region's tasks alone, when the run spans several regions. SLOs on
 * the request rate are left out: a region carries only its share of the load.
 */
export function regionCapacities(
  run: RunResult,
  profile: ExpandedProfile,
  slos: readonly Slo[],
  gate: Partial<GateOptions> = {}
): RegionCapacity[] {
  const regions = [...new Set(run.tasks.map(t => t.task.region))].sort()
  if (regions.length < 2) return []
  const latencyAndErrors = slos.filter(s => s.metric !== 'http_reqs')
  return regions.map(region => {
    const tasks = run.tasks.filter(t => t.task.region === region)
    const view = new ResultView(tasks)
    const all = view.stats({ window: 'all' })
    const a = analyzeProfile(view, profile, latencyAndErrors, gate)
    const reached = a.steps.filter(s => s.reached).map(s => s.rps)
    return {
      region,
      tasks: tasks.length,
      requests: all.requests,
      errorRate: all.errorRate,
      capacityRps: finiteOrNull(sustainedRps(a)),
      peakRps: reached.length ? Math.max(...reached) : 0,
      breaksAt: a.kind === 'stress' && a.breaksAt ? { label: a.breaksAt.label, vus: a.breaksAt.vus } : null
    }
  })
}

/** Why a run cannot be analysed as a whole: failed or missing tasks, or an interruption not ours. */
function runTrouble(run: RunResult, stoppedByRule: boolean): string[] {
  const out: string[] = []
  for (const m of run.run.missingTasks) out.push(`task ${m.region}/${m.taskIndex} missing: ${m.reason}`)
  for (const t of run.tasks) {
    if (t.task.status === 'ok' || (t.task.status === 'aborted' && stoppedByRule)) continue
    out.push(
      `task ${t.task.region}/${t.task.taskIndex} ${t.task.status}${t.task.message ? `: ${t.task.message}` : ''}`
    )
  }
  if (run.run.facts.aborted === true && !stoppedByRule) out.push('the run was interrupted')
  return out
}

const finiteOrNull = (v: number | null | undefined): number | null =>
  v === null || v === undefined || !Number.isFinite(v) ? null : v

/** The capacity record of an analysed run. */
export function capacityRecordOf(
  ctx: Pick<StressJobContext, 'repo' | 'commit' | 'ref' | 'scenario'>,
  run: RunResult,
  analysis: CapacityAnalysis,
  stopped: boolean,
  createdMs: number
): CapacityRecord {
  const a = analysis
  const steps = a.steps.map(s => ({
    label: s.label,
    vus: s.vus,
    rps: s.reached ? s.rps : 0,
    p95Ms: s.reached ? finiteOrNull(s.p95Ms) : null,
    errorRate: s.reached ? s.errorRate : 0,
    held: s.reached ? s.held : null
  }))
  const peak = a.steps.filter(s => s.reached).map(s => s.rps)
  return {
    schema: CAPACITY_SCHEMA,
    version: CAPACITY_VERSION,
    id: capacityId(createdMs, run.run.runId),
    repo: ctx.repo,
    scenario: ctx.scenario.name,
    fingerprint: ctx.scenario.fingerprint,
    profile: ctx.scenario.profile?.name ?? a.kind,
    commit: ctx.commit,
    ref: ctx.ref,
    createdMs: Math.round(createdMs),
    runId: run.run.runId,
    capacityRps: finiteOrNull(sustainedRps(a)),
    peakRps: peak.length ? Math.max(...peak) : null,
    breakingVus: a.kind === 'stress' ? (a.breakingPoint?.vus ?? null) : null,
    breaksAtVus: a.kind === 'stress' ? (a.breaksAt?.vus ?? null) : null,
    breaksAtRps: a.kind === 'stress' ? finiteOrNull(a.breaksAt?.rps) : null,
    kneeVus: a.kind === 'stress' ? (a.knee?.step.vus ?? null) : null,
    kneeRps: a.kind === 'stress' ? finiteOrNull(a.knee?.step.rps) : null,
    recoveryS: a.kind === 'spike' ? a.recoveryS : null,
    degraded: a.kind === 'soak' ? a.degraded : null,
    stoppedEarly: stopped,
    sentence: a.sentence,
    steps
  }
}

/** The rule that ends a stepped stress profile after the first step that breaks an SLO, if any. */
function stopRuleFor(profile: ExpandedProfile, slos: readonly Slo[], log: (m: string) => void) {
  const judged = stepSlos(slos)
  const rule =
    profile.stopOnBreak && profile.steps.length > 1 ? new StepStopRule(profile.steps, judged) : null
  if (profile.stopOnBreak && rule && !rule.active)
    log(
      judged.length
        ? 'none of the SLOs can be judged while the run goes on (only latency, error rate and request rate of the whole run can); the profile runs to its end'
        : 'no SLOs: the steps are measured, not judged, and the profile runs to its end'
    )
  return rule
}

/** Runs the scenario once, fed to the stop rule; `stop` is its decision when it ended the run. */
async function runWatched(
  runOnce: StressRunOnce,
  rule: StepStopRule | null,
  log: (m: string) => void
): Promise<{ run: RunResult; stop: StopDecision | null }> {
  const stopper = new AbortController()
  let stop: StopDecision | null = null
  const run = await runOnce({
    signal: stopper.signal,
    onProgress: p => {
      if (!rule?.active || stop) return
      const d = rule.feed(p)
      if (d) {
        stop = d
        log(d.reason)
        stopper.abort(new Error('stress step broke an SLO'))
      }
    }
  })
  return { run, stop }
}

/** The capacity plan for the context's target throughput, when the run sustained any. */
function planFor(ctx: StressJobContext, analysis: CapacityAnalysis, reasons: string[]): CapacityPlan | null {
  const sustained = sustainedRps(analysis)
  const plan =
    ctx.targetRps && ctx.targetRps > 0 && sustained !== null && sustained > 0
      ? capacityPlan(sustained, ctx.targetRps, ctx.instances ?? null)
      : null
  if (ctx.targetRps && !plan)
    reasons.push('capacity planning skipped: the run sustained no measurable throughput')
  if (plan) ctx.log(plan.sentence)
  return plan
}

/**
 * Stores the capacity record and reads the history it joins. Returns the error when the record
 * could not be stored; a history that cannot be read is a remark added to `reasons`.
 */
async function keepCapacityRecord(
  ctx: StressJobContext & { store: BaselineStore },
  record: CapacityRecord,
  reasons: string[]
): Promise<{ history: CapacityRecord[]; error: string | null }> {
  try {
    await ctx.store.putCapacity(record)
    ctx.log(`stored capacity record ${record.id} in ${ctx.store.location}`)
  } catch (e) {
    return { history: [], error: `the capacity record could not be stored: ${errorMessage(e)}` }
  }
  try {
    const history = await ctx.store.listCapacity({
      repo: ctx.repo,
      scenario: ctx.scenario.name,
      fingerprint: ctx.scenario.fingerprint,
      limit: ctx.historyLimit ?? 20
    })
    if (!history.some(r => r.id === record.id)) history.push(record)
    return { history, error: null }
  } catch (e) {
    reasons.push(`the capacity history could not be read: ${errorMessage(e)}`)
    return { history: [record], error: null }
  }
}

/** Runs the stress job (see the module comment). */
export async function runStressJob(ctx: StressJobContext, runOnce: StressRunOnce): Promise<StressJobResult> {
  const profile = ctx.scenario.profile
  if (!profile) throw new Error(`scenario ${ctx.scenario.name} has no profile; a stress run needs one`)
  const now = ctx.now ?? Date.now
  ctx.log(describeProfile(profile))
  const rule = stopRuleFor(profile, ctx.slos, ctx.log)
  const { run, stop } = await runWatched(runOnce, rule, ctx.log)
  const stopped = stop !== null
  const reasons = runTrouble(run, stopped)
  const hasData = run.tasks.some(t => Object.keys(t.labels).length > 0)
  const base = { run, profile, stop, plan: null, record: null, history: [], regions: [] as RegionCapacity[] }
  if (!hasData)
    return {
      ...base,
      outcome: 'ERROR',
      reasons: [...reasons, 'the run recorded no requests'],
      view: null,
      analysis: null
    }
  const view = new ResultView(run.tasks)
  const analysis = analyzeProfile(view, profile, ctx.slos, ctx.gate)
  ctx.log(analysis.sentence)
  base.regions = regionCapacities(run, profile, ctx.slos, ctx.gate)
  if (!analysis.steps.some(s => s.reached && s.requests > 0))
    reasons.push(
      `no step of the profile could be measured: each hold needs at least one whole result interval (${view.intervalMs / 1000} s) with requests`
    )
  const plan = planFor(ctx, analysis, reasons)
  if (reasons.length) return { ...base, outcome: 'ERROR', reasons, view, analysis, plan }
  if (!ctx.store) return { ...base, outcome: 'PASS', reasons, view, analysis, plan }
  const record = capacityRecordOf(ctx, run, analysis, stopped, now())
  const kept = await keepCapacityRecord({ ...ctx, store: ctx.store }, record, reasons)
  if (kept.error) return { ...base, outcome: 'ERROR', reasons: [kept.error], view, analysis, plan, record }
  return { ...base, outcome: 'PASS', reasons, view, analysis, plan, record, history: kept.history }
}
