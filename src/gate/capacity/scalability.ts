/**
 * Scalability analysis: throughput per VU at each level relative to the first level; efficiency
 * drops at the first level below 80% (`EFFICIENCY_DROP`).
 */
import type { StepResult } from './steps.js'
import { rps } from './wording.js'

/** Scalability: efficiency below this share of the first level's counts as a drop. */
export const EFFICIENCY_DROP = 0.8

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
