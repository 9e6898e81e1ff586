/**
 * The fleet interface: something that runs a run's tasks somewhere and hands back their results.
 *
 * A backend receives the task specs of one run and does everything needed to get the results:
 * launching, watching (progress, heartbeats), collecting and cleaning up all happen inside `run`.
 * The local backend spawns runner processes on this machine; a cloud backend launches containers
 * and collects their result files from storage. Either way `run` resolves with every result it
 * could read and names every task it could not.
 */
import type { TaskResult } from '../results/model.js'
import type { TaskSpec } from '../runner/spec.js'
import type { FleetProgress } from '../model/index.js'

export interface FleetPlan {
  runId: string
  /** One spec per task; `out` and `progress` may be rewritten by the backend. */
  tasks: TaskSpec[]
  /** Tasks the run expects to report (normally `tasks.length`). */
  expectedTasks: number
}

export interface FleetHooks {
  /** Called about once a second while the run is under way. */
  onProgress?: (p: FleetProgress) => void
  /**
   * Cancellation: aborting stops every task. The local fleet still collects what they wrote; a
   * cloud fleet, whose job has only seconds left, stops its tasks without waiting for results.
   */
  signal?: AbortSignal
  /**
   * An early, orderly end (a stop rule): aborting tells every task to stop, waits for the results
   * they write, and collects them as usual.
   */
  stop?: AbortSignal
  /** One-line notices (a task failed, a task is being stopped). */
  onNotice?: (message: string) => void
}

export interface MissingTask {
  region: string
  taskIndex: number
  reason: string
}

export interface FleetOutcome {
  /** Every task result that could be read (including failed tasks that wrote one). */
  tasks: TaskResult[]
  /** Tasks without a usable result, with the reason. */
  missing: MissingTask[]
  /** Whether the run was stopped through the abort signal. */
  aborted: boolean
  /** Facts about the run a backend measured (start skew, regions, an abort-on reason). */
  facts?: Record<string, string | number | boolean>
}

export interface Fleet {
  /** The backend name recorded in results (`local`, `fargate`). */
  readonly backend: string
  run(plan: FleetPlan, hooks?: FleetHooks): Promise<FleetOutcome>
}
