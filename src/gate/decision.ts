/**
 * The gate's decision over a family of metrics (see rule.ts for how one metric is judged): stage 1
 * screens every metric on the first PR run and asks for confirmation runs when a primary metric
 * trips; the final verdict judges the metrics that tripped again on all replicates (a metric that
 * passed stage 1 stays passed), and SLO results that failed or could not be evaluated fail the gate
 * whatever the statistics say.
 */
import { DEFAULT_GATE_OPTIONS, resolveGateOptions, type GateOptions } from './options.js'
import { advisoryReason, judgeMetric, MDE_CAP, type MetricJudgement, type MetricObservation } from './rule.js'
import type { SloResult } from './slo.js'
import { pct as plainPct } from './format.js'
import type { RuleOutcome } from '../model/index.js'

/** The primary family size M: metrics that are not advisory. */
export function familySize(family: MetricObservation[], options: GateOptions = DEFAULT_GATE_OPTIONS): number {
  return family.filter(o => advisoryReason(o, options) === null).length
}

export interface Stage1Decision {
  /** `confirm`: run `confirmReplicates` more PR runs, then call decideFinal with all replicates. */
  outcome: 'pass' | 'confirm'
  /** Primary metrics that tripped the screening stage. */
  metricsToConfirm: string[]
  /** Replicates to add (options.confirmReplicates when confirming, else 0). */
  replicates: number
  metrics: MetricJudgement[]
}

/** Stage 1 on the screening run (the first of each observation's values). */
export function decideStage1(
  family: MetricObservation[],
  options: Partial<GateOptions> = {}
): Stage1Decision {
  const o = resolveGateOptions(options)
  const M = familySize(family, o)
  const metrics = family.map(obs => judgeMetric(obs, { stage: 1, familySize: M }, o))
  const metricsToConfirm = metrics.filter(j => !j.advisory && j.status === 'confirm').map(j => j.name)
  const confirm = metricsToConfirm.length > 0
  return {
    outcome: confirm ? 'confirm' : 'pass',
    metricsToConfirm,
    replicates: confirm ? o.confirmReplicates : 0,
    metrics
  }
}

export interface Verdict {
  outcome: RuleOutcome
  /** True when a primary metric was judged against fewer than minBaselines baselines. */
  provisional: boolean
  /** True when no primary metric had any comparable baseline (only SLOs were judged). */
  noBaseline: boolean
  /** Why the outcome is what it is, most important first. */
  reasons: string[]
  /** Noise, minimum detectable effect and advisory remarks. */
  notes: string[]
  metrics: MetricJudgement[]
  slo: SloResult[]
  /** M. */
  familySize: number
  alpha: number
  /** α/M, the per-metric false-alarm rate of the confirming stage. */
  perMetricAlpha: number
  /** Baselines needed for the statistical path; fewer make the verdict provisional. */
  minBaselines: number
  /** The fixed relative threshold of a provisional verdict. */
  provisionalThreshold: number
  /** The headline metric (p95 when present, else the first primary one): noise, N, k and MDE. */
  headline: {
    name: string
    noise: number | null
    n: number
    k: number
    mde: number | null
    detectsTarget: boolean | null
  } | null
}

/**
 * The final verdict. Each metric is screened on its first value; a metric that trips is judged
 * again on all its values (stage 2). Call it with only the screening run when stage 1 passed, and
 * with all replicates after confirmation runs. SLO results (see slo.ts) that failed or could not be
 * evaluated fail the gate whatever the statistics say.

/** Each metric screened on its first value, and judged again on all its values when it tripped. */
function judgeFamily(family: MetricObservation[], M: number, o: GateOptions): MetricJudgement[] {
  return family.map(obs => {
    const first = judgeMetric(obs, { stage: 1, familySize: M }, o)
    return first.status === 'confirm' ? judgeMetric(obs, { stage: 2, familySize: M }, o) : first
  })
}

/** The outcome and why, most important first: broken SLOs, failed metrics, unsure ones, a summary. */
function outcomeAndReasons(
  primary: MetricJudgement[],
  slo: SloResult[]
): Pick<Verdict, 'outcome' | 'reasons' | 'provisional' | 'noBaseline'> {
  const reasons: string[] = []
  const sloBad = slo.filter(r => r.status === 'fail' || r.status === 'invalid')
  for (const r of sloBad) reasons.push(r.reason)
  const failed = primary.filter(j => j.status === 'fail')
  const unsure = primary.filter(j => j.status === 'inconclusive' || j.status === 'no-data')
  for (const j of failed) reasons.push(j.reason)
  for (const j of unsure) reasons.push(j.reason)

  const withBaseline = primary.filter(j => j.method !== 'no-baseline' && j.method !== 'no-data')
  const noBaseline = primary.length > 0 && primary.every(j => j.method === 'no-baseline')
  const provisional = primary.some(j => j.method === 'provisional')

  let outcome: RuleOutcome
  if (sloBad.length || failed.length) outcome = 'FAIL'
  else if (unsure.length) outcome = 'INCONCLUSIVE'
  else outcome = 'PASS'

  if (noBaseline)
    reasons.push(
      'no comparable baseline: the statistical gate was not applied (absolute SLOs were still checked)'
    )
  else if (outcome === 'PASS' && primary.length)
    reasons.push(
      `no regression in the ${withBaseline.length} gated metric${withBaseline.length === 1 ? '' : 's'}${provisional ? ' (provisional)' : ''}` +
        (sloBad.length === 0 && slo.some(r => r.status === 'pass') ? ' and every SLO held' : '')
    )
  return { outcome, reasons, provisional, noBaseline }
}

/** Notes on the primary metrics: the provisional threshold, and each one's noise and MDE. */
function primaryNotes(
  primary: MetricJudgement[],
  provisional: boolean,
  noBaseline: boolean,
  o: GateOptions
): string[] {
  const notes: string[] = []
  if (provisional) {
    const n = Math.max(...primary.filter(j => j.method === 'provisional').map(j => j.n))
    notes.push(
      `provisional: ${n} of ${o.minBaselines} comparable baselines, so metrics were compared with the ` +
        `baseline median using a fixed ${plainPct(o.provisionalThreshold, 0)} threshold; no detectable-effect ` +
        `figure until there are ${o.minBaselines}`
    )
  }
  for (const j of primary) {
    if (j.method === 'no-baseline') {
      if (!noBaseline) notes.push(`${j.name}: no comparable baseline, not judged`)
      continue
    }
    if (j.noise === null || j.mde === null) continue
    notes.push(
      `${j.name}: noise s = ${plainPct(j.noise, 2)} over N = ${j.n} baselines; ` +
        (j.mde > MDE_CAP
          ? `regressions smaller than ${plainPct(MDE_CAP, 0)} cannot be told from this noise: needs more ` +
            'baselines or steadier runs'
          : `minimum detectable effect at k = ${j.mdeK}: ${plainPct(j.mde)} (a ${plainPct(o.mdeTarget, 0)} ` +
            `regression is ${j.detectsTarget ? 'detectable' : 'not reliably detectable'})`)
    )
  }
  return notes
}

/** Notes on advisory metrics (why they are advisory, and any that regressed) and unsupported SLOs. */
function advisoryNotes(metrics: MetricJudgement[], slo: SloResult[]): string[] {
  const notes: string[] = []
  // Metrics advisory for the same reason (a small label's p95 and error rate) share one note.
  const byReason = new Map<string, string[]>()
  for (const j of metrics) {
    if (!j.advisory || j.advisoryReason === null || j.advisoryReason === 'advisory metric') continue
    byReason.set(j.advisoryReason, [...(byReason.get(j.advisoryReason) ?? []), j.name])
  }
  for (const [why, names] of byReason)
    notes.push(`${names.join(' and ')} ${names.length === 1 ? 'is' : 'are'} advisory: ${why}`)
  for (const j of metrics)
    if (j.advisory && (j.status === 'fail' || j.status === 'inconclusive'))
      notes.push(`advisory (not gating): ${j.reason}`)
  for (const r of slo) if (r.status === 'unsupported') notes.push(r.reason)
  return notes
}

/** The headline metric: p95 when present, else the first primary one. */
function headlineOf(primary: MetricJudgement[]): Verdict['headline'] {
  const head = primary.find(j => j.name === 'p95') ?? primary[0]
  return head
    ? {
        name: head.name,
        noise: head.noise,
        n: head.n,
        k: head.k,
        mde: head.mde,
        detectsTarget: head.detectsTarget
      }
    : null
}

/**
 * The final verdict. Each metric is screened on its first value; a metric that trips is judged
 * again on all its values (stage 2). Call it with only the screening run when stage 1 passed, and
 * with all replicates after confirmation runs. SLO results (see slo-evaluate.ts) that failed or
 * could not be evaluated fail the gate whatever the statistics say.
 */
export function decideFinal(
  family: MetricObservation[],
  options: Partial<GateOptions> = {},
  slo: SloResult[] = []
): Verdict {
  const o = resolveGateOptions(options)
  const M = familySize(family, o)
  const metrics = judgeFamily(family, M, o)
  const primary = metrics.filter(j => !j.advisory)
  const { outcome, reasons, provisional, noBaseline } = outcomeAndReasons(primary, slo)
  return {
    outcome,
    provisional,
    noBaseline,
    reasons,
    notes: [...primaryNotes(primary, provisional, noBaseline, o), ...advisoryNotes(metrics, slo)],
    metrics,
    slo,
    familySize: M,
    alpha: o.alpha,
    perMetricAlpha: o.alpha / Math.max(1, M),
    minBaselines: o.minBaselines,
    provisionalThreshold: o.provisionalThreshold,
    headline: headlineOf(primary)
  }
}
