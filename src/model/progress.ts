/** A run's live progress: what each task reports while its engine runs, and the fleet's total. */

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
