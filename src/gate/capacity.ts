/**
 * Capacity analysis on the per-interval results of a profile run. Pure functions: they take a
 * merged result view, the profile's steps (seconds from the start) and the SLOs, and return plain
 * data.
 *
 * Time. The profile's clock starts at `profileStartMs`: the earliest task start, or the start of the
 * first interval that holds requests when that is later (a JVM or Python engine spends a few seconds
 * starting after the runner's start mark), so it is at most one interval early and, for an engine
 * whose first request comes late, a little late. A step is judged over the whole intervals of its
 * hold: with three or more the first is dropped (the move into the level settles), with four or
 * more the last one too (the clock's error). A step counts as reached when the run covered at least
 * half of its hold (and one whole interval); the window then ends with the run.
 *
 * - **Steps** (`measureSteps`): requests, throughput, latency, errors, bytes and active users of each
 *   step's hold, and whether every SLO held there (SLOs on checks are whole-run figures and are not
 *   judged per step).
 * - **Stress** (`analyzeStress`): the breaking point is the highest step below the first step that
 *   broke an SLO, i.e. the last step of the unbroken run from the bottom; the knee is the last step
 *   before the first increment that raised throughput by less than half of the load increase
 *   (`KNEE_EFFICIENCY`) while p95 rose by 10% or more (`KNEE_LATENCY_RISE`); error onset is the first
 *   step whose error rate is at least 1% (`ERROR_ONSET_RATE`) and 1 point above the first step's.
 * - **Spike** (`analyzeSpike`): recovery time runs from the surge's end (the load is back at the
 *   expected level) to the start of the first window of `RECOVERY_WINDOW_INTERVALS` intervals in
 *   which every SLO holds; without SLOs, in which p95 is within 25% of the baseline's
 *   (`RECOVERY_TOLERANCE`) and the error rate at most 1 point above it.
 * - **Soak** (`analyzeSoak`): p95 of the first and the last steady window, each cut into five parts;
 *   the last window's parts are judged against the first window's with the gate's rule (a one-sided
 *   Student-t prediction interval on ln p95, `judgeMetric`, stage 2, α = 0.01, minimum effect 3%); a
 *   least-squares slope of ln p95 over the hold flags slow degradation when it is significant
 *   (one-sided p < 0.01) and adds up to the minimum effect over the hold.
 * - **Scalability** (`analyzeScalability`): throughput per VU at each level relative to the first
 *   level; efficiency drops at the first level below 80% (`EFFICIENCY_DROP`).
 * - **Load / volume** (`analyzeHold`): the hold's figures, bytes per second included.
 * - **Planning** (`capacityPlan`): the headroom of a capacity over a target rate.
 */
import { formatValue } from './format.js'
import { resolveGateOptions, type GateOptions } from './options.js'
import { judgeMetric, type MetricJudgement } from './rule.js'
import { aggregationText, evaluateSlos, type Slo, type SloResult } from './slo.js'
import { tCdf } from './stats.js'
import type { ExpandedProfile, ProfileName, ProfileStep } from '../model/index.js'
import type { ResultView } from '../results/query.js'
import type { Window } from '../results/window.js'

/** An increment scales when throughput grows by at least this share of the load's growth. */
export const KNEE_EFFICIENCY = 0.5
/** …and the knee also needs p95 to rise by at least this much. */
export const KNEE_LATENCY_RISE = 0.1
/** Error rate (0–1) that counts as the onset of errors. */
export const ERROR_ONSET_RATE = 0.01
/** Intervals in a row that must hold for a spike to count as recovered. */
export const RECOVERY_WINDOW_INTERVALS = 3
/** Without SLOs, recovered means p95 within this share of the baseline's p95. */
export const RECOVERY_TOLERANCE = 0.25
/** Scalability: efficiency below this share of the first level's counts as a drop. */
export const EFFICIENCY_DROP = 0.8
/** Soak: parts each compared window is cut into. */
export const SOAK_PARTS = 5

// ---------------------------------------------------------------------------------------------
// Time and steps.

/** Epoch ms at which the profile started (see the module comment). */
export function profileStartMs(view: ResultView): number {
  const starts = view.tasks.map(t => t.task.startedMs).filter((x): x is number => x !== null)
  const span = view.dataSpan()
  const firstData = span ? span.first * view.intervalMs : null
  const started = starts.length ? Math.min(...starts) : (firstData ?? 0)
  if (firstData === null) return started
  return Math.max(started, firstData)
}

/** Figures of one constant-load step. */
export interface StepResult {
  index: number
  label: string
  /** VUs the profile held in this step. */
  vus: number
  /** The judged window, or null when the run did not get through (half of) the step's hold. */
  window: Window | null
  reached: boolean
  requests: number
  failures: number
  errorRate: number
  rps: number
  meanMs: number
  p50Ms: number
  p95Ms: number
  p99Ms: number
  bytesInPerS: number
  bytesOutPerS: number
  /** Median of the active users the engines reported per interval; null when they report none. */
  users: number | null
  /** The step-judgeable SLOs, evaluated on the step's window. */
  slo: SloResult[]
  /** Whether every one held; null without such SLOs or without requests. */
  held: boolean | null
}

/**
 * The whole intervals of a step's hold that the run covered (see the module comment), or null when
 * the run did not reach the step.
 */
export function stepWindow(view: ResultView, step: ProfileStep, startMs: number): Window | null {
  const iv = view.intervalMs
  const runEnd = view.allWindow().endMs
  const from = startMs + step.holdFromS * 1000
  const to = Math.min(startMs + step.endS * 1000, runEnd)
  if (to - from < Math.max(iv, ((step.endS - step.holdFromS) * 1000) / 2)) return null
  let lo = Math.ceil(from / iv)
  let hi = Math.floor(to / iv)
  if (hi - lo >= 3) lo++
  if (hi - lo >= 3) hi--
  if (hi <= lo) return null
  return { startMs: lo * iv, endMs: hi * iv }
}

/** SLOs that can be judged on a part of the run (checks are whole-run counts). */
export function stepSlos(slos: readonly Slo[]): Slo[] {
  return slos.filter(s => s.metric !== 'checks')
}

function median(xs: number[]): number | null {
  if (!xs.length) return null
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

function emptyStep(step: ProfileStep): StepResult {
  return {
    index: step.index,
    label: step.label,
    vus: step.vus,
    window: null,
    reached: false,
    requests: 0,
    failures: 0,
    errorRate: 0,
    rps: 0,
    meanMs: Number.NaN,
    p50Ms: Number.NaN,
    p95Ms: Number.NaN,
    p99Ms: Number.NaN,
    bytesInPerS: 0,
    bytesOutPerS: 0,
    users: null,
    slo: [],
    held: null
  }
}

/** The figures of every step over its hold window. */
export function measureSteps(
  view: ResultView,
  steps: readonly ProfileStep[],
  slos: readonly Slo[],
  startMs = profileStartMs(view)
): StepResult[] {
  const judged = stepSlos(slos)
  return steps.map(step => {
    const window = stepWindow(view, step, startMs)
    if (!window) return emptyStep(step)
    const s = view.stats({ window })
    const users = view
      .series({ window }, Number.MAX_SAFE_INTEGER)
      .map(p => p.users)
      .filter((u): u is number => u !== null)
    const slo = s.requests > 0 ? evaluateSlos(view, judged, { window }) : []
    return {
      index: step.index,
      label: step.label,
      vus: step.vus,
      window,
      reached: true,
      requests: s.requests,
      failures: s.failures,
      errorRate: s.errorRate,
      rps: s.rps,
      meanMs: s.meanMs,
      p50Ms: s.p50Ms,
      p95Ms: s.p95Ms,
      p99Ms: s.p99Ms,
      bytesInPerS: s.durationS > 0 ? s.bytesIn / s.durationS : 0,
      bytesOutPerS: s.durationS > 0 ? s.bytesOut / s.durationS : 0,
      users: median(users),
      slo,
      held: slo.length ? slo.every(r => r.status === 'pass') : null
    }
  })
}

// ---------------------------------------------------------------------------------------------
// Wording.

function rps(v: number): string {
  if (!Number.isFinite(v)) return '—'
  const r = v >= 100 ? Math.round(v) : Number(v.toPrecision(3))
  return `${r.toLocaleString('en-US')} req/s`
}

function ms(v: number): string {
  return formatValue(v, 'ms')
}

const OP_TEXT: Record<string, string> = { '<': '<', '<=': '≤', '>': '>', '>=': '≥', '==': '=', '!=': '≠' }

/**
 * How an SLO reads in a sentence: `p95 < 300 ms`, `error rate < 1%`. The latency SLO on the whole
 * run comes first, then the error-rate one; null when there is neither.
 */
export function sloPhrase(slos: readonly Slo[]): string | null {
  const latency = slos.find(
    s => s.metric === 'http_req_duration' && s.label === null && s.aggregation.kind !== 'count'
  )
  if (latency) {
    const a = latency.aggregation
    const name =
      a.kind === 'p'
        ? `p${a.p}`
        : a.kind === 'med'
          ? 'p50'
          : a.kind === 'avg'
            ? 'mean latency'
            : aggregationText(a)
    return `${name} ${OP_TEXT[latency.op]} ${ms(latency.value)}`
  }
  const errors = slos.find(s => s.metric === 'http_req_failed' && s.label === null)
  if (errors) return `error rate ${OP_TEXT[errors.op]} ${Number((errors.value * 100).toPrecision(3))}%`
  return null
}

function failedText(step: StepResult): string {
  return step.slo
    .filter(r => r.status !== 'pass')
    .map(r => r.reason.replace(/^SLO /, ''))
    .join('; ')
}

// ---------------------------------------------------------------------------------------------
// Stress.

export interface Knee {
  /** The last step at which throughput still scaled with the load. */
  step: StepResult
  /** The step after it, where it did not. */
  next: StepResult
  /** Throughput growth over load growth from `step` to `next` (1 = linear). */
  efficiency: number
  /** p95 change from `step` to `next`, relative (0.5 = +50%). */
  latencyRise: number
}

export interface StressAnalysis {
  kind: 'stress'
  steps: StepResult[]
  /** Whether SLOs judged the steps. */
  judged: boolean
  /** The last step of the unbroken run from the bottom; null when the first step broke (or no SLOs). */
  breakingPoint: StepResult | null
  /** The first step that broke an SLO; null when none did. */
  breaksAt: StepResult | null
  knee: Knee | null
  errorOnset: StepResult | null
  /** Throughput the system sustains within its SLOs: the breaking point's (or the knee's without SLOs). */
  capacityRps: number | null
  /** Highest throughput of any step. */
  peakRps: number
  sentence: string
}

/** The knee of a series of steps (see the module comment); null when throughput kept scaling. */
export function findKnee(steps: readonly StepResult[]): Knee | null {
  const ok = steps.filter(s => s.reached && s.requests > 0)
  for (let i = 1; i < ok.length; i++) {
    const a = ok[i - 1]
    const b = ok[i]
    const loadGain = b.vus / a.vus - 1
    if (!(loadGain > 0) || !(a.rps > 0)) continue
    const efficiency = (b.rps / a.rps - 1) / loadGain
    const latencyRise = b.p95Ms / a.p95Ms - 1
    if (efficiency < KNEE_EFFICIENCY && latencyRise >= KNEE_LATENCY_RISE)
      return { step: a, next: b, efficiency, latencyRise }
  }
  return null
}

/** The first step where errors set in (see the module comment). */
export function findErrorOnset(steps: readonly StepResult[]): StepResult | null {
  const ok = steps.filter(s => s.reached && s.requests > 0)
  if (!ok.length) return null
  const base = ok[0].errorRate
  return (
    ok.find(
      (s, i) => s.errorRate >= ERROR_ONSET_RATE && (i === 0 || s.errorRate - base >= ERROR_ONSET_RATE)
    ) ?? null
  )
}

/** Breaking point, knee, error onset and the capacity sentence of a stress run's steps. */
export function analyzeStress(
  steps: StepResult[],
  slos: readonly Slo[],
  expectedVus?: number
): StressAnalysis {
  const reached = steps.filter(s => s.reached && s.requests > 0)
  const judged = reached.some(s => s.held !== null)
  const firstBroken = reached.find(s => s.held === false) ?? null
  const unbroken = firstBroken ? reached.filter(s => s.index < firstBroken.index) : reached
  const breakingPoint = judged && unbroken.length ? unbroken[unbroken.length - 1] : null
  const knee = findKnee(reached)
  const errorOnset = findErrorOnset(reached)
  const peakRps = Math.max(0, ...reached.map(s => s.rps))
  const phrase = sloPhrase(stepSlos(slos))
  const at = phrase ? ` at ${phrase}` : ''
  const times = (s: StepResult) =>
    expectedVus ? `, ${Number((s.vus / expectedVus).toPrecision(3))}× the expected load` : ''

  let capacityRps: number | null
  let sentence: string
  if (!reached.length) {
    capacityRps = null
    sentence = 'no step was completed, so nothing can be said about capacity'
  } else if (!judged) {
    const k = knee?.step ?? null
    capacityRps = k ? k.rps : null
    sentence = k
      ? `no SLOs to judge the steps by; throughput stops scaling after ${rps(k.rps)} (${k.vus} VUs), peak ${rps(peakRps)}`
      : `no SLOs to judge the steps by; throughput kept scaling up to ${rps(peakRps)} (${reached[reached.length - 1].vus} VUs)`
  } else if (firstBroken && !breakingPoint) {
    capacityRps = null
    sentence =
      `breaks already at the first step: ${rps(firstBroken.rps)} (${firstBroken.vus} VUs)` +
      (failedText(firstBroken) ? `; ${failedText(firstBroken)}` : '')
  } else if (firstBroken && breakingPoint) {
    capacityRps = breakingPoint.rps
    sentence =
      `sustains ${rps(breakingPoint.rps)}${at} (${breakingPoint.vus} VUs${times(breakingPoint)}); ` +
      `breaks at ${rps(firstBroken.rps)} (${firstBroken.vus} VUs)` +
      (failedText(firstBroken) ? `: ${failedText(firstBroken)}` : '')
  } else {
    const top = breakingPoint!
    capacityRps = top.rps
    sentence =
      `sustains ${rps(top.rps)}${at} up to the last step (${top.vus} VUs${times(top)}); ` +
      'no step broke the SLOs, so the breaking point lies beyond this run'
  }
  return {
    kind: 'stress',
    steps,
    judged,
    breakingPoint,
    breaksAt: firstBroken,
    knee,
    errorOnset,
    capacityRps,
    peakRps,
    sentence
  }
}

// ---------------------------------------------------------------------------------------------
// Spike.

export interface SpikeAnalysis {
  kind: 'spike'
  steps: StepResult[]
  baseline: StepResult
  surge: StepResult
  recovery: StepResult
  /** When the load was back at the expected level, epoch ms. */
  surgeEndMs: number
  /** What "holds again" meant. */
  criterion: string
  /** Start of the first window that held after the surge; null when none did. */
  recoveredAtMs: number | null
  /** Seconds from the surge's end until then; null when the SLOs did not hold again in the run. */
  recoveryS: number | null
  /** Time resolution of `recoveryS`, seconds (the result interval). */
  resolutionS: number
  sentence: string
}

/** Recovery time after a spike (see the module comment). */
export function analyzeSpike(
  view: ResultView,
  profile: Pick<ExpandedProfile, 'steps' | 'surgeEndS'>,
  slos: readonly Slo[],
  startMs = profileStartMs(view)
): SpikeAnalysis {
  const steps = measureSteps(view, profile.steps, slos, startMs)
  // The surge is the highest step; the baseline and the recovery are its neighbours.
  let peak = 1
  steps.forEach((s, i) => {
    if (i > 0 && i < steps.length - 1 && s.vus > steps[peak].vus) peak = i
  })
  const baseline = steps[peak - 1]
  const surge = steps[peak]
  const recovery = steps[peak + 1]
  const iv = view.intervalMs
  const surgeEndMs = startMs + (profile.surgeEndS ?? profile.steps[peak].endS) * 1000
  const recoveryEndMs = Math.min(
    startMs + profile.steps[profile.steps.length - 1].endS * 1000,
    view.allWindow().endMs
  )
  const judged = stepSlos(slos)
  const tolerance = baseline.reached ? baseline.p95Ms * (1 + RECOVERY_TOLERANCE) : Number.NaN
  const criterion = judged.length
    ? 'every SLO holds'
    : `p95 within ${RECOVERY_TOLERANCE * 100}% of the baseline's (≤ ${ms(tolerance)}) and the error rate at most ${ERROR_ONSET_RATE * 100} point above it`
  const holds = (window: Window): boolean => {
    if (judged.length) return evaluateSlos(view, judged, { window }).every(r => r.status === 'pass')
    const s = view.stats({ window })
    return s.requests > 0 && s.p95Ms <= tolerance && s.errorRate <= baseline.errorRate + ERROR_ONSET_RATE
  }
  let recoveredAtMs: number | null = null
  if (judged.length || baseline.reached) {
    const span = RECOVERY_WINDOW_INTERVALS * iv
    for (let t = Math.ceil(surgeEndMs / iv) * iv; t + span <= recoveryEndMs; t += iv) {
      if (holds({ startMs: t, endMs: t + span })) {
        recoveredAtMs = t
        break
      }
    }
  }
  const recoveryS = recoveredAtMs === null ? null : Math.max(0, (recoveredAtMs - surgeEndMs) / 1000)
  const seconds = (s: number) => `${Number(s.toFixed(1))} s`
  const sentence =
    recoveryS !== null
      ? `recovers ${seconds(recoveryS)} after the surge to ${surge.vus} VUs (${criterion})`
      : `does not recover within the ${seconds((recoveryEndMs - surgeEndMs) / 1000)} after the surge to ${surge.vus} VUs (${criterion})`
  return {
    kind: 'spike',
    steps,
    baseline,
    surge,
    recovery,
    surgeEndMs,
    criterion,
    recoveredAtMs,
    recoveryS,
    resolutionS: iv / 1000,
    sentence
  }
}

// ---------------------------------------------------------------------------------------------
// Soak.

export interface SoakTrend {
  /** Points the slope was fitted on (one per part of the hold). */
  points: number
  /** Change of p95 per hour, relative (0.05 = +5%/h). */
  perHour: number
  /** Change over the whole hold implied by the slope, relative. */
  overHold: number
  /** One-sided p-value of "p95 rises". */
  pValue: number
  /** Significant (p < α) and at least the minimum effect over the hold. */
  flagged: boolean
}

export interface SoakAnalysis {
  kind: 'soak'
  steps: StepResult[]
  hold: StepResult
  firstWindow: Window | null
  lastWindow: Window | null
  /** p95 of each part of the first and last window, ms. */
  firstP95s: number[]
  lastP95s: number[]
  /** The gate's judgement of the last window's p95 against the first's; null when too short. */
  judgement: MetricJudgement | null
  trend: SoakTrend | null
  /** The judgement failed or the trend is flagged. */
  degraded: boolean
  sentence: string
}

/** Splits a window into `n` parts of whole intervals (fewer when it is shorter). */
function parts(view: ResultView, w: Window, n: number): Window[] {
  const iv = view.intervalMs
  const count = Math.round((w.endMs - w.startMs) / iv)
  const k = Math.max(1, Math.min(n, count))
  const out: Window[] = []
  for (let i = 0; i < k; i++) {
    const a = w.startMs + Math.round((count * i) / k) * iv
    const b = w.startMs + Math.round((count * (i + 1)) / k) * iv
    if (b > a) out.push({ startMs: a, endMs: b })
  }
  return out
}

function p95s(view: ResultView, ws: Window[]): number[] {
  return ws.map(w => view.stats({ window: w }).p95Ms).filter(v => Number.isFinite(v) && v > 0)
}

/** Least-squares slope of ln(y) against x (hours), with its one-sided p-value. */
export function logSlope(
  xs: readonly number[],
  ys: readonly number[]
): { slope: number; pValue: number } | null {
  const n = xs.length
  if (n < 4) return null
  const ly = ys.map(Math.log)
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ly.reduce((a, b) => a + b, 0) / n
  let sxx = 0
  let sxy = 0
  for (let i = 0; i < n; i++) {
    sxx += (xs[i] - mx) ** 2
    sxy += (xs[i] - mx) * (ly[i] - my)
  }
  if (!(sxx > 0)) return null
  const slope = sxy / sxx
  let sse = 0
  for (let i = 0; i < n; i++) sse += (ly[i] - my - slope * (xs[i] - mx)) ** 2
  const se = Math.sqrt(sse / (n - 2) / sxx)
  const T =
    se > 0 ? slope / se : slope > 0 ? Number.POSITIVE_INFINITY : slope < 0 ? Number.NEGATIVE_INFINITY : 0
  return { slope, pValue: 1 - tCdf(T, n - 2) }
}

/** First-vs-last window and trend of a soak run (see the module comment). */
export function analyzeSoak(
  view: ResultView,
  profile: Pick<ExpandedProfile, 'steps' | 'windowS'>,
  slos: readonly Slo[],
  options: Partial<GateOptions> = {},
  startMs = profileStartMs(view)
): SoakAnalysis {
  const o = resolveGateOptions({
    ...options,
    minBaselines: 2,
    maxBaselines: 1000,
    confirmReplicates: SOAK_PARTS - 1
  })
  const steps = measureSteps(view, profile.steps, slos, startMs)
  const hold = steps[0]
  const iv = view.intervalMs
  let firstWindow: Window | null = null
  let lastWindow: Window | null = null
  let firstP95s: number[] = []
  let lastP95s: number[] = []
  let judgement: MetricJudgement | null = null
  let trend: SoakTrend | null = null
  if (hold.window) {
    const w = Math.max(iv, Math.round(((profile.windowS ?? 0) * 1000) / iv) * iv)
    const len = hold.window.endMs - hold.window.startMs
    if (w * 2 <= len) {
      firstWindow = { startMs: hold.window.startMs, endMs: hold.window.startMs + w }
      lastWindow = { startMs: hold.window.endMs - w, endMs: hold.window.endMs }
      firstP95s = p95s(view, parts(view, firstWindow, SOAK_PARTS))
      lastP95s = p95s(view, parts(view, lastWindow, SOAK_PARTS))
      if (firstP95s.length >= 2 && lastP95s.length >= 1)
        judgement = judgeMetric(
          { name: 'p95', values: lastP95s, baseline: firstP95s, higherIsWorse: true, unit: 'ms' },
          { stage: 2, familySize: 1 },
          o
        )
      // The trend: p95 of every part of the hold as long as a fifth of the window.
      const seg = Math.max(iv, Math.round(w / SOAK_PARTS / iv) * iv)
      const segs = parts(view, hold.window, Math.max(1, Math.round(len / seg)))
      const xs: number[] = []
      const ys: number[] = []
      for (const s of segs) {
        const v = view.stats({ window: s }).p95Ms
        if (!(Number.isFinite(v) && v > 0)) continue
        xs.push((s.startMs + s.endMs) / 2 / 3_600_000)
        ys.push(v)
      }
      const fit = logSlope(xs, ys)
      if (fit) {
        const hours = len / 3_600_000
        const overHold = Math.expm1(fit.slope * hours)
        trend = {
          points: xs.length,
          perHour: Math.expm1(fit.slope),
          overHold,
          pValue: fit.pValue,
          flagged: fit.pValue < o.alpha && overHold >= o.minEffect
        }
      }
    }
  }
  const degraded = judgement?.status === 'fail' || trend?.flagged === true
  const pctText = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`
  let sentence: string
  if (!judgement) sentence = 'the hold was too short to compare its first and last windows'
  else {
    const verdict =
      judgement.status === 'fail'
        ? 'p95 degraded'
        : judgement.status === 'inconclusive'
          ? 'p95 may have degraded (inconclusive)'
          : 'p95 held steady'
    sentence =
      `${verdict}: last window ${ms(judgement.current ?? Number.NaN)} vs first ${ms(judgement.reference ?? Number.NaN)}` +
      ` (${pctText((judgement.deltaPct ?? 0) / 100)})` +
      (trend
        ? `; trend ${pctText(trend.perHour)} per hour${trend.flagged ? ', a significant slow degradation' : ''}`
        : '')
  }
  return {
    kind: 'soak',
    steps,
    hold,
    firstWindow,
    lastWindow,
    firstP95s,
    lastP95s,
    judgement,
    trend,
    degraded,
    sentence
  }
}

// ---------------------------------------------------------------------------------------------
// Scalability.

export interface ScalabilityLevel extends StepResult {
  /** Throughput per VU relative to the first level's (1 = linear scaling). */
  efficiency: number | null
}

export interface ScalabilityAnalysis {
  kind: 'scalability'
  steps: ScalabilityLevel[]
  /** The first level whose efficiency is below EFFICIENCY_DROP; null when none. */
  efficiencyDropsAt: ScalabilityLevel | null
  sentence: string
}

/** The throughput-vs-load curve and where efficiency drops. */
export function analyzeScalability(steps: StepResult[]): ScalabilityAnalysis {
  const first = steps.find(s => s.reached && s.requests > 0)
  const perVu = first ? first.rps / first.vus : Number.NaN
  const levels: ScalabilityLevel[] = steps.map(s => ({
    ...s,
    efficiency: s.reached && s.requests > 0 && perVu > 0 ? s.rps / s.vus / perVu : null
  }))
  const drop = levels.find(l => l.efficiency !== null && l.efficiency < EFFICIENCY_DROP) ?? null
  const reached = levels.filter(l => l.efficiency !== null)
  const last = reached[reached.length - 1]
  let sentence: string
  if (!last) sentence = 'no level was completed'
  else if (!drop)
    sentence = `throughput scales with the load up to ${last.label} (${rps(last.rps)}, ${last.vus} VUs, efficiency ${Math.round(last.efficiency! * 100)}%)`
  else {
    const before = reached.filter(l => l.index < drop.index)
    const ok = before[before.length - 1]
    sentence =
      (ok ? `throughput scales up to ${ok.label} (${rps(ok.rps)}, ${ok.vus} VUs); ` : '') +
      `efficiency drops to ${Math.round(drop.efficiency! * 100)}% at ${drop.label} (${rps(drop.rps)}, ${drop.vus} VUs)`
  }
  return { kind: 'scalability', steps: levels, efficiencyDropsAt: drop, sentence }
}

// ---------------------------------------------------------------------------------------------
// Load and volume.

export interface HoldAnalysis {
  kind: 'load' | 'volume'
  steps: StepResult[]
  hold: StepResult
  /** Mean bytes per request sent / received. */
  requestBytes: number | null
  responseBytes: number | null
  sentence: string
}

function bytesRate(v: number): string {
  const units = ['B/s', 'KiB/s', 'MiB/s', 'GiB/s']
  let x = v
  let u = 0
  while (x >= 1024 && u < units.length - 1) {
    x /= 1024
    u++
  }
  return `${Number(x.toPrecision(3))} ${units[u]}`
}

/** The hold of a load or volume run, with its byte throughput. */
export function analyzeHold(kind: 'load' | 'volume', steps: StepResult[]): HoldAnalysis {
  const hold = steps[0]
  const perReq = (perS: number) => (hold.rps > 0 && perS > 0 ? perS / hold.rps : null)
  const requestBytes = perReq(hold.bytesOutPerS)
  const responseBytes = perReq(hold.bytesInPerS)
  const held = hold.held === null ? '' : hold.held ? '; every SLO held' : `; ${failedText(hold)}`
  const sentence = !hold.reached
    ? 'the hold was not completed'
    : `${rps(hold.rps)} at p95 ${ms(hold.p95Ms)} with ${hold.vus} VUs; ` +
      `${bytesRate(hold.bytesOutPerS)} sent, ${bytesRate(hold.bytesInPerS)} received${held}`
  return { kind, steps, hold, requestBytes, responseBytes, sentence }
}

export { bytesRate }

// ---------------------------------------------------------------------------------------------
// The profile's analysis, and planning.

export type CapacityAnalysis =
  StressAnalysis | SpikeAnalysis | SoakAnalysis | ScalabilityAnalysis | HoldAnalysis

/** The analysis that fits the profile's kind. */
export function analyzeProfile(
  view: ResultView,
  profile: ExpandedProfile,
  slos: readonly Slo[],
  options: Partial<GateOptions> = {}
): CapacityAnalysis {
  const startMs = profileStartMs(view)
  const kind: ProfileName = profile.name
  if (kind === 'spike' && profile.steps.length >= 3) return analyzeSpike(view, profile, slos, startMs)
  if (kind === 'soak' && profile.steps.length >= 1) return analyzeSoak(view, profile, slos, options, startMs)
  const steps = measureSteps(view, profile.steps, slos, startMs)
  if (kind === 'scalability') return analyzeScalability(steps)
  if ((kind === 'load' || kind === 'volume') && steps.length === 1) return analyzeHold(kind, steps)
  return analyzeStress(steps, slos, profile.vus)
}

/** The throughput a run showed it sustains: what capacity planning compares with. */
export function sustainedRps(a: CapacityAnalysis): number | null {
  switch (a.kind) {
    case 'stress':
      return a.capacityRps
    case 'spike':
      return a.baseline.reached ? a.baseline.rps : null
    case 'scalability': {
      const ok = a.steps.filter(s => s.reached && s.held !== false && s.requests > 0)
      return ok.length ? Math.max(...ok.map(s => s.rps)) : null
    }
    default:
      return a.hold.reached && a.hold.held !== false ? a.hold.rps : null
  }
}

export interface CapacityPlan {
  capacityRps: number
  targetRps: number
  /** capacity / target: ≥ 1 is headroom, < 1 a shortfall. */
  ratio: number
  instances: number | null
  /** Instances needed for the target, assuming throughput scales linearly with instances. */
  instancesNeeded: number | null
  sentence: string
}

/** The headroom of a measured capacity over a target rate (optionally per instance). */
export function capacityPlan(
  capacityRps: number,
  targetRps: number,
  instances?: number | null
): CapacityPlan {
  const ratio = capacityRps / targetRps
  const x = (v: number) => `${Number(v.toFixed(v >= 10 ? 0 : 1))}×`
  let sentence =
    ratio >= 1
      ? `has ${x(ratio)} headroom over the target of ${rps(targetRps)} (capacity ${rps(capacityRps)})`
      : `needs ${x(1 / ratio)} today's capacity to reach the target of ${rps(targetRps)} (capacity ${rps(capacityRps)})`
  let instancesNeeded: number | null = null
  if (instances && instances > 0) {
    const perInstance = capacityRps / instances
    instancesNeeded = Math.max(1, Math.ceil(targetRps / perInstance))
    sentence +=
      `; at ${rps(perInstance)} per instance that is ${instancesNeeded} instance${instancesNeeded === 1 ? '' : 's'} ` +
      `for the target (${instances} today), assuming throughput scales linearly with instances`
  }
  return { capacityRps, targetRps, ratio, instances: instances ?? null, instancesNeeded, sentence }
}
