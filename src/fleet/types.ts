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

export interface FleetPlan {
  runId: string
  /** One spec per task; `out` and `progress` may be rewritten by the backend. */
  tasks: TaskSpec[]
  /** Tasks the run expects to report (normally `tasks.length`). */
  expectedTasks: number
}

/** One progress line a runner writes while its engine runs (JSON, one per interval). */
export interface TaskProgress {
  region: string
  taskIndex: number
  /** Seconds since the task started. */
  elapsedS: number
  /** Requests completed so far. */
  requests: number
  /** Failed requests so far. */
  failures: number
  /** Requests per second over the last interval. */
  rps: number
  /**
   * What the task recorded between its progress lines since the previous report, oldest first,
   * when its runner writes it (the local fleet's runners do): for stop rules that judge the load
   * while it runs.
   */
  live?: LiveWindow[]
}

/** One progress line's window: what a task recorded since its previous line. */
export interface LiveWindow {
  /** Seconds since the task started, at the end of the window. */
  elapsedS: number
  requests: number
  failures: number
  /** Sum of the latencies, µs. */
  sumUs: number
  /** HdrHistogram V2 payload of the latencies (µs, all labels), base64. */
  hist: string
}

/** The whole fleet's progress at a moment. */
export interface FleetProgress {
  /** Seconds since the common start. */
  elapsedS: number
  requests: number
  failures: number
  rps: number
  /** Tasks that have reported at least once. */
  reporting: number
  /** Tasks whose process has ended. */
  finished: number
  total: number
  tasks: TaskProgress[]
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
