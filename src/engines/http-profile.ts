/**
 * The load profile of the built-in http engine as a schedule of active connections: the piecewise
 * linear level (ramp 0 → vus over rampUpS then hold for durationS, or the stages, each a linear
 * move from the previous target to its own, starting from 0), and when ceil(level) changes.
 */
import type { Stage, TaskLoad } from '../model/index.js'

/** One change of the number of active connections, `atMs` after the start. */
export interface VuStep {
  atMs: number
  vus: number
}

/** The profile as linear segments from level `from` to `to` over `durationMs`. */
function profileSegments(load: TaskLoad): { from: number; to: number; durationMs: number }[] {
  if (load.stages?.length) {
    let level = 0
    return load.stages.map((s: Stage) => {
      const seg = { from: level, to: s.target, durationMs: s.durationS * 1000 }
      level = s.target
      return seg
    })
  }
  const segs: { from: number; to: number; durationMs: number }[] = []
  if (load.rampUpS > 0) segs.push({ from: 0, to: load.vus, durationMs: load.rampUpS * 1000 })
  segs.push({ from: load.vus, to: load.vus, durationMs: load.durationS * 1000 })
  return segs
}

/** Total run time of the profile, ms. */
export function profileDurationMs(load: TaskLoad): number {
  return profileSegments(load).reduce((a, s) => a + s.durationMs, 0)
}

/**
 * When the number of active connections changes: ceil of the linear profile, as a list of steps
 * in time order (the first at 0). Times are rounded to the millisecond.
 */
export function vuTimeline(load: TaskLoad): VuStep[] {
  const raw: VuStep[] = []
  let t0 = 0
  for (const { from, to, durationMs } of profileSegments(load)) {
    if (durationMs <= 0 || from === to) {
      raw.push({ atMs: t0, vus: Math.ceil(to) })
    } else if (to > from) {
      raw.push({ atMs: t0, vus: Math.ceil(from) })
      // ceil(level) becomes k just after level passes k − 1.
      for (let k = Math.floor(from) + 1; k <= Math.ceil(to); k++) {
        const at = t0 + (durationMs * (k - 1 - from)) / (to - from)
        raw.push({ atMs: Math.max(t0, at), vus: k })
      }
    } else {
      raw.push({ atMs: t0, vus: Math.ceil(from) })
      // ceil(level) becomes k when level reaches k.
      for (let k = Math.ceil(from) - 1; k >= Math.ceil(to); k--) {
        const at = t0 + (durationMs * (from - k)) / (from - to)
        raw.push({ atMs: at, vus: k })
      }
    }
    t0 += durationMs
  }
  const steps: VuStep[] = []
  for (const s of raw) {
    const step = { atMs: Math.round(s.atMs), vus: s.vus }
    const last = steps[steps.length - 1]
    if (last && last.atMs === step.atMs) last.vus = step.vus
    else if (!last || last.vus !== step.vus) steps.push(step)
  }
  // Merging same-time steps can leave neighbours with equal counts.
  return steps.filter((s, i) => i === 0 || s.vus !== steps[i - 1].vus)
}
