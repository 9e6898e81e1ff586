/**
 * What the two ways of running an engine (a child process, or in the runner process) share: the
 * task's run environment, the outcome they fill in, and the outcome of an engine the runner stopped.
 */
import type { TaskStatus } from '../results/model.js'
import type { TaskRecorder } from '../results/recorder.js'
import type { Progress } from './progress.js'
import type { TaskSpec } from './spec.js'

/** How the engine run ended, as recorded in the task result. */
export interface EngineOutcome {
  status: TaskStatus
  exitCode: number | null
  message: string
  stderrTail: string
  startedMs: number | null
  endedMs: number | null
}

/** Everything an engine run needs from the task; the run fills in `outcome`. */
export interface RunEnv {
  spec: TaskSpec
  recorder: TaskRecorder
  now: () => number
  env: NodeJS.ProcessEnv
  signal: AbortSignal
  killGraceMs: number
  tailBytes: number
  onEngineStart?: (info: { pid: number | undefined }) => void
  outcome: EngineOutcome
  progress: Progress
}

/** Why the runner was told to stop, for messages: the abort reason, else 'abort'. */
export function abortReason(signal: AbortSignal): string {
  const r: unknown = signal.reason
  if (typeof r === 'string') return r
  if (r instanceof Error && r.name !== 'AbortError') return r.message
  return 'abort'
}

/**
 * Sets the outcome of an engine the runner stopped: 'aborted' when it was told to stop, else
 * 'timeout' when the hard maximum stopped it. Returns false (and changes nothing) when neither.
 */
export function setStoppedOutcome(
  r: RunEnv,
  engineName: string,
  stopped: { aborted: boolean; timedOut: boolean }
): boolean {
  const { outcome, recorder } = r
  if (stopped.aborted) {
    outcome.status = 'aborted'
    outcome.message = `aborted (${abortReason(r.signal)}); ${engineName} stopped, ${recorder.samples} samples kept`
    return true
  }
  if (stopped.timedOut) {
    outcome.status = 'timeout'
    outcome.message = `hard maximum of ${r.spec.hardMaxS} s reached; ${engineName} stopped, ${recorder.samples} samples kept`
    return true
  }
  return false
}
