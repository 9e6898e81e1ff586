/**
 * The gate's decision rule: a one-sided Student-t prediction interval on ln(metric), run in two
 * stages, over a declared primary family of metrics.
 *
 * For one metric with N baseline values y₁…y_N = ln(baseline) (the newest `maxBaselines`) and k PR
 * replicates with mean ȳ of ln(value):
 *
 *   m = mean(y),  s = sd(y) (n − 1),  T = d / (s·√(1/k + 1/N)),  df = N − 1
 *
 * where d = ȳ − m when higher is worse (latency, error rate) and d = m − ȳ when lower is worse
 * (throughput), so a positive T always means "worse". The effect is the relative worsening: e^d − 1
 * when higher is worse (+10% = 10% higher), 1 − e^−d when lower is worse (10% = 10% lower).
 *
 * - Stage 1 (the screening run, k = 1): PASS if T < t(0.80, df) or the effect is below the minimum
 *   effect; otherwise the metric needs `confirmReplicates` more runs.
 * - Stage 2 (k = 1 + confirmReplicates): FAIL if T > c·t(1 − α/M, df) and the effect is at least the
 *   minimum effect; PASS if T < t(0.80, df) or the effect is below the minimum effect; otherwise
 *   INCONCLUSIVE. M is the number of primary metrics (Bonferroni), c the calibration factor.
 * - A metric that passed stage 1 stays passed: stage 2 judges only the metrics that tripped.
 * - With 1 ≤ N < minBaselines the metric is provisional: it fails when the PR value (geometric mean
 *   of the replicates) is worse than the baseline median by more than `provisionalThreshold`
 *   (stage 1 asks for confirmation first, exactly like the statistical path).
 * - With no baseline the metric passes with a note: a scenario's first runs cannot be compared, and
 *   absolute SLOs still apply.
 * - Error rates are floored before the logarithm (`floor` on the observation) and must also worsen
 *   by `minAbsoluteEffect` in absolute terms to fail, so a few stray errors on an error-free
 *   history do not fail a PR.
 * - Advisory metrics (per-label figures, other percentiles, a tail percentile whose tail holds fewer
 *   than `minTailSamples` samples) are judged the same way and reported, but never fail the gate,
 *   never ask for confirmation runs and do not count in M.
 *
 * Every judgement with N ≥ 2 carries the noise s; one judged by the statistical path (N ≥ minBaselines)
 * also carries the minimum detectable effect
 *   MDE = exp((c·t(1 − α/M, df) + t(power, df))·s·√(1/k_f + 1/N)) − 1,  k_f = 1 + confirmReplicates,
 * (never below the minimum effect, which smaller changes cannot cross) and whether the target
 * regression (10%) is detectable. A provisional judgement has no MDE: its fixed threshold is what
 * it can detect. An MDE above MDE_CAP is reported as a sentence, not a figure.
 *
 * Everything here is pure and deterministic.
 */
import { DEFAULT_GATE_OPTIONS, resolveGateOptions, type GateOptions } from './options.js'
import { mean, median, sampleSd, tCdf, tQuantile } from './stats.js'
import type { SloResult } from './slo.js'
import { formatValue, num, pct as plainPct, signedPct as pct, stat, type MetricUnit } from './format.js'
import type { RuleOutcome } from '../model/index.js'

/** One metric's evidence: the PR replicates and the comparable baseline history. */
export interface MetricObservation {
  /** e.g. `p95`, `p99`, `error_rate`, `throughput`, `p95{name:login}`. */
  name: string
  /** PR replicates in the order they ran; the first is the screening run. */
  values: number[]
  /** Baseline values of comparable runs, oldest → newest. */
  baseline: number[]
  /** True for latency and error rate, false for throughput. */
  higherIsWorse: boolean
  /** Samples beyond the percentile in the screening run (n·(1 − q)); a small tail makes it advisory. */
  tailSamples?: number
  /** Reported but never gating. */
  advisory?: boolean
  /** Why the metric is reported but never gating, when it is for a reason of its own (a small label). */
  advisoryWhy?: string
  /** The reason given when the PR run has no value for the metric (e.g. a gated label it did not record). */
  noDataReason?: string
  /** Values below this are raised to it before taking logs (error rates). */
  floor?: number
  /** The worsening must also reach this in the metric's own units to fail (error rates). */
  minAbsoluteEffect?: number
  unit?: MetricUnit
}

export type MetricMethod = 'prediction-interval' | 'provisional' | 'no-baseline' | 'no-data'
export type MetricStatus = 'pass' | 'confirm' | 'fail' | 'inconclusive' | 'no-baseline' | 'no-data'

export interface MetricJudgement {
  name: string
  unit: MetricUnit
  higherIsWorse: boolean
  advisory: boolean
  /** Why the metric is advisory, when it is. */
  advisoryReason: string | null
  method: MetricMethod
  /** The stage that produced this judgement. */
  stage: 1 | 2
  status: MetricStatus
  /** Median of the baselines used (after the floor). */
  baselineMedian: number | null
  /** What the change is measured against: the geometric mean of the baselines, or their median when provisional. */
  reference: number | null
  /** Geometric mean of the PR replicates used (the value itself when k = 1). */
  current: number | null
  /** Signed change of `current` versus `reference`, in percent. */
  deltaPct: number | null
  /** Relative worsening (positive = worse; see the module comment). */
  effect: number | null
  T: number | null
  df: number | null
  /** One-sided P(t ≥ T) under "no change". */
  pValue: number | null
  /** Stage-1/2 pass bound t(stage1PassQuantile, df). */
  passBelow: number | null
  /** Stage-2 failing bound c·t(1 − α/M, df). */
  threshold: number | null
  /** Minimum detectable effect at k_f = 1 + confirmReplicates (relative, like `effect`). */
  mde: number | null
  mdeK: number
  /** Whether a regression of `mdeTarget` (10%) is detectable at the current noise. */
  detectsTarget: boolean | null
  /** Run-to-run noise s: standard deviation of ln(baseline). */
  noise: number | null
  /** The noise actually used: max(s, minNoise). */
  noiseUsed: number | null
  /** Number of baselines used (N). */
  n: number
  /** Number of PR replicates used (k). */
  k: number
  reason: string
}

export interface JudgeContext {
  /** 1: screening (first replicate only); 2: confirmation (all replicates). */
  stage?: 1 | 2
  /** Number of primary metrics M (Bonferroni); defaults to 1. */
  familySize?: number
}

const TINY = 1e-12

/**
 * Largest minimum detectable effect worth stating as a figure (100%: a doubling). A larger one says
 * only that the history is too short or too noisy, and is reported as that sentence instead.
 */
export const MDE_CAP = 1

function probLabel(p: number): string {
  return Number(p.toPrecision(6)).toString()
}

/** Why a metric is advisory, or null when it belongs to the primary family. */
export function advisoryReason(
  obs: MetricObservation,
  options: GateOptions = DEFAULT_GATE_OPTIONS
): string | null {
  if (obs.advisoryWhy) return obs.advisoryWhy
  if (obs.advisory) return 'advisory metric'
  if (obs.tailSamples !== undefined && obs.tailSamples < options.minTailSamples)
    return `its tail holds ${num(obs.tailSamples)} samples, fewer than ${options.minTailSamples}`
  return null
}

function logOf(v: number, floor: number | undefined): number {
  return Math.log(Math.max(v, floor ?? TINY))
}

/**
 * The noise estimate of a baseline history on its own: N (after dropping unusable values and keeping
 * the newest `maxBaselines`), s = sd of ln(value) and the geometric mean. s is null below two values.
 */
export function baselineNoise(
  baseline: readonly number[],
  opts: { floor?: number } = {},
  options: GateOptions = DEFAULT_GATE_OPTIONS
): { n: number; noise: number | null; reference: number | null } {
  const used = baseline.filter(v => Number.isFinite(v) && v >= 0).slice(-options.maxBaselines)
  if (!used.length) return { n: 0, noise: null, reference: null }
  const y = used.map(v => logOf(v, opts.floor))
  return { n: used.length, noise: used.length >= 2 ? sampleSd(y) : null, reference: Math.exp(mean(y)) }
}

/** Judges one metric at one stage. */
export function judgeMetric(
  obs: MetricObservation,
  ctx: JudgeContext = {},
  options: GateOptions = DEFAULT_GATE_OPTIONS
): MetricJudgement {
  const stage = ctx.stage ?? 1
  const M = Math.max(1, ctx.familySize ?? 1)
  const unit = obs.unit ?? ''
  const why = advisoryReason(obs, options)
  const floor = obs.floor
  const minAbs = obs.minAbsoluteEffect ?? 0
  const mdeK = 1 + options.confirmReplicates

  const usable = (v: number) => Number.isFinite(v) && v >= 0
  const baseline = obs.baseline.filter(usable).slice(-options.maxBaselines)
  const raw = stage === 1 ? obs.values.slice(0, 1) : obs.values
  const values = raw.filter(usable)
  const N = baseline.length
  const k = values.length

  const out: MetricJudgement = {
    name: obs.name,
    unit,
    higherIsWorse: obs.higherIsWorse,
    advisory: why !== null,
    advisoryReason: why,
    method: 'no-data',
    stage,
    status: 'no-data',
    baselineMedian: null,
    reference: null,
    current: null,
    deltaPct: null,
    effect: null,
    T: null,
    df: null,
    pValue: null,
    passBelow: null,
    threshold: null,
    mde: null,
    mdeK,
    detectsTarget: null,
    noise: null,
    noiseUsed: null,
    n: N,
    k,
    reason: ''
  }

  if (k === 0) {
    out.reason = obs.noDataReason ?? `${obs.name}: the PR run has no value for this metric`
    return out
  }
  const yv = values.map(v => logOf(v, floor))
  const yBar = mean(yv)
  const current = Math.exp(yBar)
  out.current = current
  if (N === 0) {
    out.method = 'no-baseline'
    out.status = 'no-baseline'
    out.reason = `${obs.name}: no comparable baseline; ${formatValue(out.current, unit)} is not judged`
    return out
  }

  const floored = baseline.map(v => Math.max(v, floor ?? 0))
  out.baselineMedian = median(floored)
  const yb = baseline.map(v => logOf(v, floor))
  const m = mean(yb)
  const dir = obs.higherIsWorse ? 1 : -1
  const worsening = (ref: number) => ({
    effect: obs.higherIsWorse ? current / ref - 1 : 1 - current / ref,
    absolute: dir * (current - ref)
  })
  const toEffect = (logWorse: number) => (obs.higherIsWorse ? Math.expm1(logWorse) : -Math.expm1(-logWorse))

  if (N >= 2) {
    // The detectable effect is computed for the statistical path only: a provisional metric is
    // judged by its fixed threshold, and with so few baselines the figure is mostly the t tail.
    const s = sampleSd(yb)
    const sUsed = Math.max(s, options.minNoise)
    const df = N - 1
    const failT = options.calibration * tQuantile(1 - options.alpha / M, df)
    const x = (failT + tQuantile(options.power, df)) * sUsed * Math.sqrt(1 / mdeK + 1 / N)
    out.noise = s
    out.noiseUsed = sUsed
    if (N >= options.minBaselines) {
      out.mde = Math.max(toEffect(x), options.minEffect)
      out.detectsTarget = out.mde <= options.mdeTarget
    }
  }

  const stageNote = k < mdeK && stage === 2 ? ` (only ${k} of ${mdeK} replicates)` : ''

  if (N < options.minBaselines) {
    out.method = 'provisional'
    const ref = out.baselineMedian
    out.reference = ref
    const { effect, absolute } = worsening(ref)
    out.effect = effect
    out.deltaPct = 100 * (out.current / ref - 1)
    const limit = Math.max(options.provisionalThreshold, options.minEffect)
    // A relative tolerance keeps "exactly at the threshold" from failing on rounding.
    const tripped = effect > limit * (1 + 1e-9) && absolute >= minAbs
    const head =
      `${obs.name} ${formatValue(out.current, unit)} vs baseline median ${formatValue(ref, unit)} ` +
      `(${pct(out.deltaPct / 100)}; provisional, ${N} of ${options.minBaselines} baselines)`
    if (!tripped) {
      out.status = 'pass'
      out.reason = `${head}: within the ${plainPct(limit, 0)} provisional threshold`
    } else if (stage === 1) {
      out.status = 'confirm'
      out.reason = `${head}: worse than the ${plainPct(limit, 0)} provisional threshold; confirm with more runs`
    } else {
      out.status = 'fail'
      out.reason = `${head}: worse than the ${plainPct(limit, 0)} provisional threshold over k = ${k} runs${stageNote}`
    }
    return out
  }

  out.method = 'prediction-interval'
  const df = N - 1
  const sUsed = out.noiseUsed as number
  const se = sUsed * Math.sqrt(1 / k + 1 / N)
  const d = dir * (yBar - m)
  const T = d / se
  const ref = Math.exp(m)
  const { effect, absolute } = worsening(ref)
  const passBelow = tQuantile(options.stage1PassQuantile, df)
  const failAbove = options.calibration * tQuantile(1 - options.alpha / M, df)
  out.reference = ref
  out.effect = effect
  const deltaPct = 100 * (out.current / ref - 1)
  out.deltaPct = deltaPct
  out.T = T
  out.df = df
  out.pValue = 1 - tCdf(T, df)
  out.passBelow = passBelow
  out.threshold = failAbove

  const big = effect >= options.minEffect && absolute >= minAbs
  const head = () =>
    `${obs.name} ${formatValue(current, unit)} vs baseline ${formatValue(ref, unit)} ` +
    `(${pct(deltaPct / 100)}, T = ${stat(T)}, N = ${N}, k = ${k}${stageNote})`
  const passT = () => `t(${probLabel(options.stage1PassQuantile)}, ${df}) = ${stat(passBelow)}`
  const failLabel = () =>
    `${options.calibration !== 1 ? `${stat(options.calibration)}·` : ''}` +
    `t(${probLabel(1 - options.alpha / M)}, ${df}) = ${stat(failAbove)}`

  if (T < passBelow) {
    out.status = 'pass'
    out.reason = `${head()}: T < ${passT()}`
  } else if (!big) {
    out.status = 'pass'
    out.reason =
      effect < options.minEffect
        ? `${head()}: the change is below the ${plainPct(options.minEffect, 0)} minimum effect`
        : `${head()}: the change is below the ${formatValue(minAbs, unit)} minimum absolute effect`
  } else if (stage === 1) {
    out.status = 'confirm'
    out.reason = `${head()}: T ≥ ${passT()}; confirm with ${options.confirmReplicates} more runs`
  } else if (T > failAbove) {
    out.status = 'fail'
    out.reason = `${head()}: regressed, T > ${failLabel()}`
  } else {
    out.status = 'inconclusive'
    out.reason = `${head()}: T between ${stat(passBelow)} and ${failLabel()}`
  }
  return out
}

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
 */
export function decideFinal(
  family: MetricObservation[],
  options: Partial<GateOptions> = {},
  slo: SloResult[] = []
): Verdict {
  const o = resolveGateOptions(options)
  const M = familySize(family, o)
  const metrics = family.map(obs => {
    const first = judgeMetric(obs, { stage: 1, familySize: M }, o)
    return first.status === 'confirm' ? judgeMetric(obs, { stage: 2, familySize: M }, o) : first
  })
  const primary = metrics.filter(j => !j.advisory)
  const reasons: string[] = []
  const notes: string[] = []

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

  const head = primary.find(j => j.name === 'p95') ?? primary[0]
  return {
    outcome,
    provisional,
    noBaseline,
    reasons,
    notes,
    metrics,
    slo,
    familySize: M,
    alpha: o.alpha,
    perMetricAlpha: o.alpha / Math.max(1, M),
    minBaselines: o.minBaselines,
    provisionalThreshold: o.provisionalThreshold,
    headline: head
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
}
