/**
 * Upper bounds on the load a scenario may ask for. They keep a typo (`vus: 1000000`, a stage
 * target of 1e12, `duration: 400d`) from exhausting the runner's memory or overflowing Node's
 * timers (which hold at most 2^31 - 1 ms, about 24.8 days); the messages name the limit.
 */
import type { Stage } from '../model/index.js'

/** The most virtual users (threads, Locust users) a scenario may run, over all its tasks. */
export const MAX_VUS = 100_000
/** The longest duration of any one field, and of a whole run: 7 days. */
export const MAX_DURATION_S = 7 * 24 * 3600
export const MAX_DURATION_TEXT = '7 days (168h)'

/** Why a duration in seconds is out of bounds, or null. Durations below 1 ms round to zero. */
export function durationProblem(seconds: number): string | null {
  if (seconds > 0 && Math.round(seconds * 1000) < 1) return 'is below 1ms and rounds to zero'
  if (!(seconds <= MAX_DURATION_S)) return `is longer than perf-gate's limit of ${MAX_DURATION_TEXT}`
  return null
}

/** Why a VU count is out of bounds, or null. */
export function vusProblem(vus: number): string | null {
  return vus > MAX_VUS ? `is above perf-gate's limit of ${MAX_VUS} virtual users` : null
}

/**
 * Checks a whole load shape (whatever produced it: fields, flags, a profile or an engine script's
 * own options). Returns the part that is out of bounds and why, or null.
 */
export function loadProblem(load: {
  vus: number
  durationS: number
  rampUpS: number
  stages?: Stage[]
}): { part: 'vus' | 'duration' | 'stages'; detail: string } | null {
  const stages = load.stages ?? []
  const peak = stages.length ? Math.max(load.vus, ...stages.map(s => s.target)) : load.vus
  if (peak > MAX_VUS)
    return {
      part: stages.length && peak !== load.vus ? 'stages' : 'vus',
      detail: `asks for ${peak} virtual users; perf-gate's limit is ${MAX_VUS}`
    }
  const total = stages.length ? stages.reduce((a, s) => a + s.durationS, 0) : load.rampUpS + load.durationS
  if (!(total <= MAX_DURATION_S))
    return {
      part: stages.length ? 'stages' : 'duration',
      detail: `the load runs ${Math.round(total)} s in all; perf-gate's limit is ${MAX_DURATION_TEXT}`
    }
  return null
}
