/**
 * Soak analysis: p95 of the first and the last steady window, each cut into five parts; the last
 * window's parts are judged against the first window's with the gate's rule (a one-sided Student-t
 * prediction interval on ln p95, `judgeMetric`, stage 2, α = 0.01, minimum effect 3%); a
 * least-squares slope of ln p95 over the hold flags slow degradation when it is significant
 * (one-sided p < 0.01) and adds up to the minimum effect over the hold.
 */
import { resolveGateOptions, type GateOptions } from '../options.js'
import { judgeMetric, type MetricJudgement } from '../rule.js'
import type { Slo } from '../slo.js'
import { tCdf } from '../stats.js'
import type { ExpandedProfile } from '../../model/index.js'
import type { ResultView } from '../../results/query.js'
import type { Window } from '../../results/window.js'
import { measureSteps, profileStartMs, type StepResult } from './steps.js'
import { ms } from './wording.js'

/** Soak: parts each compared window is cut into. */
export const SOAK_PARTS = 5

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

/** The gate's options for a soak comparison: every part of a window counts as one run. */
function soakOptions(options: Partial<GateOptions>): GateOptions {
  return resolveGateOptions({
    ...options,
    minBaselines: 2,
    maxBaselines: 1000,
    confirmReplicates: SOAK_PARTS - 1
  })
}

/** The first and last window of the hold, their parts' p95 and the judgement of last against first. */
interface WindowComparison {
  firstWindow: Window
  lastWindow: Window
  firstP95s: number[]
  lastP95s: number[]
  judgement: MetricJudgement | null
}

/** Compares the last `w` ms of the hold with its first `w` ms, part by part. */
function compareWindows(view: ResultView, hold: Window, w: number, o: GateOptions): WindowComparison {
  const firstWindow = { startMs: hold.startMs, endMs: hold.startMs + w }
  const lastWindow = { startMs: hold.endMs - w, endMs: hold.endMs }
  const firstP95s = p95s(view, parts(view, firstWindow, SOAK_PARTS))
  const lastP95s = p95s(view, parts(view, lastWindow, SOAK_PARTS))
  const judgement =
    firstP95s.length >= 2 && lastP95s.length >= 1
      ? judgeMetric(
          { name: 'p95', values: lastP95s, baseline: firstP95s, higherIsWorse: true, unit: 'ms' },
          { stage: 2, familySize: 1 },
          o
        )
      : null
  return { firstWindow, lastWindow, firstP95s, lastP95s, judgement }
}

/** The trend of p95 over the hold, fitted on parts as long as a fifth of the `w` ms window. */
function holdTrend(view: ResultView, hold: Window, w: number, o: GateOptions): SoakTrend | null {
  const iv = view.intervalMs
  const len = hold.endMs - hold.startMs
  const seg = Math.max(iv, Math.round(w / SOAK_PARTS / iv) * iv)
  const segs = parts(view, hold, Math.max(1, Math.round(len / seg)))
  const xs: number[] = []
  const ys: number[] = []
  for (const s of segs) {
    const v = view.stats({ window: s }).p95Ms
    if (!(Number.isFinite(v) && v > 0)) continue
    xs.push((s.startMs + s.endMs) / 2 / 3_600_000)
    ys.push(v)
  }
  const fit = logSlope(xs, ys)
  if (!fit) return null
  const hours = len / 3_600_000
  const overHold = Math.expm1(fit.slope * hours)
  return {
    points: xs.length,
    perHour: Math.expm1(fit.slope),
    overHold,
    pValue: fit.pValue,
    flagged: fit.pValue < o.alpha && overHold >= o.minEffect
  }
}

/** The soak's sentence: the verdict on the last window, its change and the trend. */
function soakSentence(judgement: MetricJudgement | null, trend: SoakTrend | null): string {
  const pctText = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`
  if (!judgement) return 'the hold was too short to compare its first and last windows'
  const verdict =
    judgement.status === 'fail'
      ? 'p95 degraded'
      : judgement.status === 'inconclusive'
        ? 'p95 may have degraded (inconclusive)'
        : 'p95 held steady'
  return (
    `${verdict}: last window ${ms(judgement.current ?? Number.NaN)} vs first ${ms(judgement.reference ?? Number.NaN)}` +
    ` (${pctText((judgement.deltaPct ?? 0) / 100)})` +
    (trend
      ? `; trend ${pctText(trend.perHour)} per hour${trend.flagged ? ', a significant slow degradation' : ''}`
      : '')
  )
}

/** First-vs-last window and trend of a soak run (see the module comment). */
export function analyzeSoak(
  view: ResultView,
  profile: Pick<ExpandedProfile, 'steps' | 'windowS'>,
  slos: readonly Slo[],
  options: Partial<GateOptions> = {},
  startMs = profileStartMs(view)
): SoakAnalysis {
  const o = soakOptions(options)
  const steps = measureSteps(view, profile.steps, slos, startMs)
  const hold = steps[0]
  const iv = view.intervalMs
  // The compared windows: `windowS` in whole intervals, and both must fit in the hold.
  const w = Math.max(iv, Math.round(((profile.windowS ?? 0) * 1000) / iv) * iv)
  const window = hold.window
  const fits = window !== null && w * 2 <= window.endMs - window.startMs
  const compared = fits ? compareWindows(view, window, w, o) : null
  const trend = fits ? holdTrend(view, window, w, o) : null
  const judgement = compared?.judgement ?? null
  return {
    kind: 'soak',
    steps,
    hold,
    firstWindow: compared?.firstWindow ?? null,
    lastWindow: compared?.lastWindow ?? null,
    firstP95s: compared?.firstP95s ?? [],
    lastP95s: compared?.lastP95s ?? [],
    judgement,
    trend,
    degraded: judgement?.status === 'fail' || trend?.flagged === true,
    sentence: soakSentence(judgement, trend)
  }
}
