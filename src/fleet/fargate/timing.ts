/** The timing of a Fargate run's phases (overridable, e.g. through PERF_GATE_FARGATE_TIMING). */
export interface FargateTiming {
  /** Between polls of the barrier and of the running fleet. */
  pollMs: number
  /** How long the barrier waits for every task to be ready. */
  readyTimeoutMs: number
  /** The common start lies this far after go.json is written. */
  startLeadMs: number
  heartbeatMs: number
  /** Between reads of the tasks' progress objects. */
  progressMs: number
  /** How long after the hard limit results are still waited for. */
  collectGraceMs: number
  /** How long tasks get to stop by themselves (and write their results) after an abort. */
  abortGraceMs: number
  /** The first wait before RunTask is retried for capacity; doubles per attempt up to 20 times this. */
  launchRetryMs: number
}

export const DEFAULT_FARGATE_TIMING: FargateTiming = {
  pollMs: 2000,
  readyTimeoutMs: 10 * 60_000,
  startLeadMs: 2000,
  heartbeatMs: 30_000,
  progressMs: 10_000,
  collectGraceMs: 90_000,
  abortGraceMs: 30_000,
  launchRetryMs: 1000
}
