/**
 * The plan of a Fargate run before any AWS call: the fleet's size for the scenario's peak and the
 * price of every run on it, logged, and checked against the cost cap.
 */
import type { Scenario } from '../config/scenario.js'
import { InputError, type FargateInputs } from '../config/inputs.js'
import { Inputs } from '../constants.js'
import {
  FleetSizeError,
  estimateCost,
  formatUsd,
  parseRegions,
  sizeFleet,
  type CostEstimate,
  type FleetSize
} from '../plan/fleet.js'

/** A sizing error as the input error it is (`<input>: <message>`). */
function inputError(e: unknown): never {
  if (e instanceof FleetSizeError) {
    const m = /^([a-z-]+): (.*)$/s.exec(e.message)
    if (m) throw new InputError(m[1], m[2])
  }
  throw e
}

/** The fleet's size for the scenario's peak (VUs, or a stress run's target rate at that peak). */
export function sizeFor(
  scenario: Scenario,
  inputs: FargateInputs,
  targetRps: number | null | undefined
): { size: FleetSize; peakRps: number | undefined } {
  try {
    const regions = parseRegions(inputs.regions, Inputs.Regions)
    const peakVus = scenario.stages?.length ? Math.max(...scenario.stages.map(s => s.target)) : scenario.vus
    const peakRps = targetRps ? (targetRps * peakVus) / Math.max(1, scenario.vus) : undefined
    const size = sizeFleet({
      peakRps,
      engine: scenario.engine,
      peakVus,
      regions,
      cpu: inputs.taskCpu,
      memoryMiB: inputs.taskMemory,
      maxTasks: inputs.maxTasks,
      vusPerVcpu: inputs.vusPerVcpu
    })
    return { size, peakRps }
  } catch (e) {
    inputError(e)
  }
}

/** Prices every run on the fleet, logs the plan, and refuses a run that may cost more than the cap. */
export function priceFor(
  size: FleetSize,
  peakRps: number | undefined,
  loadS: number,
  inputs: FargateInputs,
  opts: { runs: number; targetRps?: number | null },
  log: (message: string) => void
): CostEstimate {
  const cost = estimateCost({
    regions: size.regions,
    cpu: inputs.taskCpu,
    memoryMiB: inputs.taskMemory,
    loadSeconds: loadS,
    spot: inputs.spot,
    runs: opts.runs
  })
  const plan = size.regions.map(r => `${r.region} ${r.tasks}`).join(', ')
  log(
    `fargate plan: ${size.totalTasks} task(s) of ${inputs.taskCpu / 1024} vCPU / ${inputs.taskMemory} MiB (${plan}), ` +
      `≤${size.vusPerTask} VUs per task; up to ${opts.runs} run(s) of ≤${loadS} s cost at most ${formatUsd(cost.maxUsd)}` +
      `${inputs.spot ? ' (Spot)' : ''}`
  )
  if (size.sizedBy === 'rps')
    log(
      `fargate plan: sized by target-rps ${opts.targetRps} (up to ${Math.round(peakRps ?? 0)} req/s at the profile's peak, ` +
        `${size.rpsPerTask} req/s per task), not by VUs`
    )
  if (cost.perRegion.some(r => !r.priceKnown))
    log('fargate plan: some regions have no list price here; priced at the highest known one')
  if (cost.maxUsd > inputs.maxCostUsd)
    throw new InputError(
      Inputs.MaxCostUsd,
      `the run may cost up to ${formatUsd(cost.maxUsd)} (${size.totalTasks} tasks × ${opts.runs} run(s) × ${cost.billedS} s), above the cap of ${formatUsd(inputs.maxCostUsd)}; raise max-cost-usd or lower the load`
    )
  return cost
}
