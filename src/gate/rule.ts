/**
 * The gate's decision rule for one metric: a one-sided Student-t prediction interval on ln(metric),
 * run in two stages, over a declared primary family of metrics (decision.ts decides on the family).
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
import { DEFAULT_GATE_OPTIONS, type GateOptions } from './options.js'
import { mean, median, sampleSd, tCdf, tQuantile } from './stats.js'
import { formatValue, num, pct as plainPct, signedPct as pct, stat, type MetricUnit } from './format.js'

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

/** One metric's evidence prepared for judging: the values used and what the judgement depends on. */
interface Evidence {
  obs: MetricObservation
  stage: 1 | 2
  /** Number of primary metrics M. */
  M: number
  unit: MetricUnit
  minAbs: number
  mdeK: number
  /** Number of baselines used (N) and of PR replicates used (k). */
  N: number
  k: number
  /** ln of the baselines used (after the floor). */
  yb: number[]
  /** Mean ln of the PR replicates used, and its exponential (their geometric mean). */
  yBar: number
  current: number
  /** The note on a stage-2 judgement with fewer replicates than asked for; empty otherwise. */
  stageNote: string
}

/** A judgement that has judged nothing yet: status `no-data`, no figures. */
function blankJudgement(
  obs: MetricObservation,
  stage: 1 | 2,
  why: string | null,
  mdeK: number,
  N: number,
  k: number
): MetricJudgement {
  return {
    name: obs.name,
    unit: obs.unit ?? '',
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
}

/** The relative worsening of the PR value against `ref`, and the absolute one in the metric's units. */
function worsening(e: Evidence, ref: number): { effect: number; absolute: number } {
  const dir = e.obs.higherIsWorse ? 1 : -1
  return {
    effect: e.obs.higherIsWorse ? e.current / ref - 1 : 1 - e.current / ref,
    absolute: dir * (e.current - ref)
  }
}

/**
 * Records the noise (N ≥ 2) and, on the statistical path (N ≥ minBaselines), the minimum detectable
 * effect. A provisional metric is judged by its fixed threshold, and with so few baselines the
 * figure would be mostly the t tail.
 */
function recordNoise(out: MetricJudgement, e: Evidence, options: GateOptions): void {
  if (e.N < 2) return
  const { N, M, mdeK } = e
  const s = sampleSd(e.yb)
  const sUsed = Math.max(s, options.minNoise)
  const df = N - 1
  const failT = options.calibration * tQuantile(1 - options.alpha / M, df)
  const x = (failT + tQuantile(options.power, df)) * sUsed * Math.sqrt(1 / mdeK + 1 / N)
  out.noise = s
  out.noiseUsed = sUsed
  if (N >= options.minBaselines) {
    const mde = e.obs.higherIsWorse ? Math.expm1(x) : -Math.expm1(-x)
    out.mde = Math.max(mde, options.minEffect)
    out.detectsTarget = out.mde <= options.mdeTarget
  }
}

/** The provisional path (1 ≤ N < minBaselines): the PR value against the baseline median. */
function judgeProvisional(out: MetricJudgement, e: Evidence, options: GateOptions): MetricJudgement {
  const { obs, unit, N, k, stage, stageNote } = e
  out.method = 'provisional'
  const ref = out.baselineMedian as number
  out.reference = ref
  const { effect, absolute } = worsening(e, ref)
  out.effect = effect
  out.deltaPct = 100 * (e.current / ref - 1)
  const limit = Math.max(options.provisionalThreshold, options.minEffect)
  // A relative tolerance keeps "exactly at the threshold" from failing on rounding.
  const tripped = effect > limit * (1 + 1e-9) && absolute >= e.minAbs
  const head =
    `${obs.name} ${formatValue(e.current, unit)} vs baseline median ${formatValue(ref, unit)} ` +
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

/** The statistical path (N ≥ minBaselines): the t statistic against the stage's bounds. */
function judgeByPrediction(out: MetricJudgement, e: Evidence, options: GateOptions): MetricJudgement {
  const { obs, unit, N, k, M, stage, stageNote } = e
  out.method = 'prediction-interval'
  const df = N - 1
  const sUsed = out.noiseUsed as number
  const se = sUsed * Math.sqrt(1 / k + 1 / N)
  const m = mean(e.yb)
  const d = (obs.higherIsWorse ? 1 : -1) * (e.yBar - m)
  const T = d / se
  const ref = Math.exp(m)
  const { effect, absolute } = worsening(e, ref)
  const passBelow = tQuantile(options.stage1PassQuantile, df)
  const failAbove = options.calibration * tQuantile(1 - options.alpha / M, df)
  out.reference = ref
  out.effect = effect
  const deltaPct = 100 * (e.current / ref - 1)
  out.deltaPct = deltaPct
  out.T = T
  out.df = df
  out.pValue = 1 - tCdf(T, df)
  out.passBelow = passBelow
  out.threshold = failAbove

  const big = effect >= options.minEffect && absolute >= e.minAbs
  const head = () =>
    `${obs.name} ${formatValue(e.current, unit)} vs baseline ${formatValue(ref, unit)} ` +
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
        : `${head()}: the change is below the ${formatValue(e.minAbs, unit)} minimum absolute effect`
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

/** Judges one metric at one stage. */
export function judgeMetric(
  obs: MetricObservation,
  ctx: JudgeContext = {},
  options: GateOptions = DEFAULT_GATE_OPTIONS
): MetricJudgement {
  const stage = ctx.stage ?? 1
  const mdeK = 1 + options.confirmReplicates
  const usable = (v: number) => Number.isFinite(v) && v >= 0
  const baseline = obs.baseline.filter(usable).slice(-options.maxBaselines)
  const values = (stage === 1 ? obs.values.slice(0, 1) : obs.values).filter(usable)
  const N = baseline.length
  const k = values.length
  const out = blankJudgement(obs, stage, advisoryReason(obs, options), mdeK, N, k)

  if (k === 0) {
    out.reason = obs.noDataReason ?? `${obs.name}: the PR run has no value for this metric`
    return out
  }
  const yBar = mean(values.map(v => logOf(v, obs.floor)))
  const current = Math.exp(yBar)
  out.current = current
  if (N === 0) {
    out.method = 'no-baseline'
    out.status = 'no-baseline'
    out.reason = `${obs.name}: no comparable baseline; ${formatValue(out.current, out.unit)} is not judged`
    return out
  }
  out.baselineMedian = median(baseline.map(v => Math.max(v, obs.floor ?? 0)))
  const e: Evidence = {
    obs,
    stage,
    M: Math.max(1, ctx.familySize ?? 1),
    unit: out.unit,
    minAbs: obs.minAbsoluteEffect ?? 0,
    mdeK,
    N,
    k,
    yb: baseline.map(v => logOf(v, obs.floor)),
    yBar,
    current,
    stageNote: k < mdeK && stage === 2 ? ` (only ${k} of ${mdeK} replicates)` : ''
  }
  recordNoise(out, e, options)
  return N < options.minBaselines ? judgeProvisional(out, e, options) : judgeByPrediction(out, e, options)
}
