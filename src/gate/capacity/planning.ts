/** Capacity planning: the headroom of a measured capacity over a target rate. */
import { rps } from './wording.js'

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
