/**
 * Two facts every report states about the fleet: what the run cost (estimated from the task size,
 * the task count, how long the runs lasted and Spot) and how long after the step started the first
 * request was answered.
 */
import { estimateCost, formatUsd, STARTUP_BILLED_S } from '../plan/fleet.js'
import type { RunResult } from '../results/model.js'
import { ResultView } from '../results/query.js'

/** The fleet a job ran on, for its cost. */
export type FleetCostSpec =
  | { kind: 'local' }
  | {
      kind: 'fargate'
      regions: readonly { region: string; tasks: number }[]
      cpu: number
      memoryMiB: number
      spot: boolean
    }

export interface RunCost {
  usd: number
  /** How the figure was made, in a few words. */
  detail: string
}

function seconds(s: number): string {
  return s >= 120 ? `${Math.round(s / 60)} min` : `${Math.round(s)} s`
}

/**
 * The estimated cost of `runs` on the fleet: Fargate list prices for each task's size, every task
 * billed for its start-up (STARTUP_BILLED_S) plus the run's actual length, once per run; nothing for
 * the local fleet, which runs on the machine the job already has.
 */
export function estimateRunCost(spec: FleetCostSpec, runs: readonly RunResult[]): RunCost {
  if (spec.kind === 'local')
    return { usd: 0, detail: 'local fleet: the load ran on this machine, no cloud tasks' }
  let usd = 0
  let billed = 0
  for (const run of runs) {
    const all = run.tasks.length ? new ResultView(run.tasks).allWindow() : null
    const loadS = all ? Math.max(0, (all.endMs - all.startMs) / 1000) : 0
    const c = estimateCost({
      regions: spec.regions,
      cpu: spec.cpu,
      memoryMiB: spec.memoryMiB,
      loadSeconds: loadS,
      spot: spec.spot
    })
    usd += c.maxUsd
    billed += c.billedS
  }
  const tasks = spec.regions.reduce((a, r) => a + r.tasks, 0)
  const n = runs.length
  const size = `${spec.cpu / 1024} vCPU / ${Number((spec.memoryMiB / 1024).toFixed(2))} GB`
  const each = n ? billed / n : 0
  return {
    usd,
    detail:
      `${tasks} Fargate ${tasks === 1 ? 'task' : 'tasks'} of ${size}` +
      `${spec.spot ? ' on Spot' : ''}, ${n} ${n === 1 ? 'run' : 'runs'} of about ${seconds(each)} billed ` +
      `(${seconds(STARTUP_BILLED_S)} start-up included)`
  }
}

/**
 * When the first request of `run` was answered, relative to `stepStartMs`: the bounds of the
 * result interval that holds it (results are kept per interval), in seconds; null without data.
 */
export function firstRequestAfter(
  stepStartMs: number,
  run: RunResult
): { fromS: number; toS: number } | null {
  if (!run.tasks.length) return null
  const view = new ResultView(run.tasks)
  const span = view.dataSpan()
  if (!span || !Number.isFinite(stepStartMs)) return null
  const from = span.first * view.intervalMs
  return {
    fromS: Math.max(0, (from - stepStartMs) / 1000),
    toS: Math.max(0, (from + view.intervalMs - stepStartMs) / 1000)
  }
}

export { formatUsd }
