/**
 * The steps of a profile run: the profile's clock, each step's judged window and its figures.
 *
 * Time. The profile's clock starts at `profileStartMs`: the earliest task start, or the start of the
 * first interval that holds requests when that is later (a JVM or Python engine spends a few seconds
 * starting after the runner's start mark), so it is at most one interval early and, for an engine
 * whose first request comes late, a little late. A step is judged over the whole intervals of its
 * hold: with three or more the first is dropped (the move into the level settles), with four or
 * more the last one too (the clock's error). A step counts as reached when the run covered at least
 * half of its hold (and one whole interval); the window then ends with the run.
 *
 * `measureSteps` gives the requests, throughput, latency, errors, bytes and active users of each
 * step's hold, and whether every SLO held there (SLOs on checks are whole-run figures and are not
 * judged per step).
 */
import { evaluateSlos } from '../slo-evaluate.js'
import type { Slo, SloResult } from '../slo.js'
import type { ProfileStep } from '../../model/index.js'
import type { ResultView } from '../../results/query.js'
import type { Window } from '../../results/window.js'

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
