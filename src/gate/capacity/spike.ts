/**
 * Spike analysis: recovery time runs from the surge's end (the load is back at the expected level)
 * to the start of the first window of `RECOVERY_WINDOW_INTERVALS` intervals in which every SLO
 * holds; without SLOs, in which p95 is within 25% of the baseline's (`RECOVERY_TOLERANCE`) and the
 * error rate at most 1 point above it.
 */
import { evaluateSlos } from '../slo-evaluate.js'
import type { Slo } from '../slo.js'
import type { ExpandedProfile } from '../../model/index.js'
import type { ResultView } from '../../results/query.js'
import type { Window } from '../../results/window.js'
import { measureSteps, profileStartMs, stepSlos, type StepResult } from './steps.js'
import { ERROR_ONSET_RATE } from './stress.js'
import { ms } from './wording.js'

/** Intervals in a row that must hold for a spike to count as recovered. */
export const RECOVERY_WINDOW_INTERVALS = 3
/** Without SLOs, recovered means p95 within this share of the baseline's p95. */
export const RECOVERY_TOLERANCE = 0.25

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
