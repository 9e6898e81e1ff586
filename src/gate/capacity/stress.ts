/**
 * Stress analysis of a stepped run. The breaking point is the highest step below the first step
 * that broke an SLO, i.e. the last step of the unbroken run from the bottom; the knee is the last
 * step before the first increment that raised throughput by less than half of the load increase
 * (`KNEE_EFFICIENCY`) while p95 rose by 10% or more (`KNEE_LATENCY_RISE`); error onset is the first
 * step whose error rate is at least 1% (`ERROR_ONSET_RATE`) and 1 point above the first step's.
 */
import type { Slo } from '../slo.js'
import { stepSlos, type StepResult } from './steps.js'
import { failedText, rps, sloPhrase } from './wording.js'

/** An increment scales when throughput grows by at least this share of the load's growth. */
export const KNEE_EFFICIENCY = 0.5
/** …and the knee also needs p95 to rise by at least this much. */
export const KNEE_LATENCY_RISE = 0.1
/** Error rate (0–1) that counts as the onset of errors. */
export const ERROR_ONSET_RATE = 0.01

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

/** What the capacity sentence of a stress run is made from. */
interface StressFindings {
  reached: StepResult[]
  judged: boolean
  firstBroken: StepResult | null
  breakingPoint: StepResult | null
  knee: Knee | null
  peakRps: number
}

/**
 * The capacity a stress run showed and the sentence that says so: the breaking point's throughput
 * when SLOs judged the steps, the knee's without them.
 */
function stressCapacity(
  f: StressFindings,
  slos: readonly Slo[],
  expectedVus: number | undefined
): { capacityRps: number | null; sentence: string } {
  const { reached, judged, firstBroken, breakingPoint, knee, peakRps } = f
  const phrase = sloPhrase(stepSlos(slos))
  const at = phrase ? ` at ${phrase}` : ''
  const times = (s: StepResult) =>
    expectedVus ? `, ${Number((s.vus / expectedVus).toPrecision(3))}× the expected load` : ''
  if (!reached.length)
    return { capacityRps: null, sentence: 'no step was completed, so nothing can be said about capacity' }
  if (!judged) {
    const k = knee?.step ?? null
    return {
      capacityRps: k ? k.rps : null,
      sentence: k
        ? `no SLOs to judge the steps by; throughput stops scaling after ${rps(k.rps)} (${k.vus} VUs), peak ${rps(peakRps)}`
        : `no SLOs to judge the steps by; throughput kept scaling up to ${rps(peakRps)} (${reached[reached.length - 1].vus} VUs)`
    }
  }
  if (firstBroken && !breakingPoint)
    return {
      capacityRps: null,
      sentence:
        `breaks already at the first step: ${rps(firstBroken.rps)} (${firstBroken.vus} VUs)` +
        (failedText(firstBroken) ? `; ${failedText(firstBroken)}` : '')
    }
  if (firstBroken && breakingPoint)
    return {
      capacityRps: breakingPoint.rps,
      sentence:
        `sustains ${rps(breakingPoint.rps)}${at} (${breakingPoint.vus} VUs${times(breakingPoint)}); ` +
        `breaks at ${rps(firstBroken.rps)} (${firstBroken.vus} VUs)` +
        (failedText(firstBroken) ? `: ${failedText(firstBroken)}` : '')
    }
  const top = breakingPoint!
  return {
    capacityRps: top.rps,
    sentence:
      `sustains ${rps(top.rps)}${at} up to the last step (${top.vus} VUs${times(top)}); ` +
      'no step broke the SLOs, so the breaking point lies beyond this run'
  }
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
  const { capacityRps, sentence } = stressCapacity(
    { reached, judged, firstBroken, breakingPoint, knee, peakRps },
    slos,
    expectedVus
  )
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
