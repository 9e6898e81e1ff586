/**
 * Capacity analysis of a profile run. Pure functions: they take a merged result view, the
 * profile's steps (seconds from the start) and the SLOs, and return plain data.
 *
 * The profile's kind picks the analysis: stress (breaking point, knee, error onset; stress.ts),
 * spike (recovery time; spike.ts), soak (first-vs-last window and trend; soak.ts), scalability
 * (efficiency per level; scalability.ts), load and volume (the hold's figures; hold.ts). Each is
 * built on the steps' figures (steps.ts).
 */
import type { GateOptions } from '../options.js'
import type { Slo } from '../slo.js'
import type { ProfileName } from '../../model/index.js'
import type { ExpandedProfile } from '../../model/index.js'
import type { ResultView } from '../../results/query.js'
import { analyzeHold, type HoldAnalysis } from './hold.js'
import { analyzeScalability, type ScalabilityAnalysis } from './scalability.js'
import { analyzeSoak, type SoakAnalysis } from './soak.js'
import { analyzeSpike, type SpikeAnalysis } from './spike.js'
import { measureSteps, profileStartMs } from './steps.js'
import { analyzeStress, type StressAnalysis } from './stress.js'

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
