/**
 * Runs an in-process engine (the built-in http engine): it gets an abort signal for the hard
 * maximum and the runner's own abort, and is given up on when it ignores that signal for longer
 * than the kill grace.
 */
import type { EngineRunContext, InProcessEngine } from '../engines/types.js'
import type { Sample, SampleSink, ThresholdSpec } from '../model/index.js'
import type { TaskRecorder } from '../results/recorder.js'
import { abortReason, setStoppedOutcome, type RunEnv } from './engine-run.js'

type EngineResult = { value: { exitCode: number; message: string } } | { error: Error } | { stuck: true }

/**
 * The engine's abort signal: it aborts on the hard maximum and when the runner is told to stop.
 * `givenUp` resolves a kill grace after that, for an engine that does not stop.
 */
class InProcessStop {
  timedOut = false
  aborted = false
  readonly givenUp: Promise<{ stuck: true }>
  private readonly ac = new AbortController()
  private readonly hardMax: NodeJS.Timeout
  private graceTimer: NodeJS.Timeout | undefined

  constructor(private readonly r: RunEnv) {
    this.hardMax = setTimeout(() => {
      this.timedOut = true
      this.ac.abort('hard maximum')
    }, r.spec.hardMaxS * 1000)
    if (r.signal.aborted) this.onAbort()
    else r.signal.addEventListener('abort', this.onAbort, { once: true })
    this.givenUp = new Promise<{ stuck: true }>(resolve => {
      const arm = () => (this.graceTimer = setTimeout(() => resolve({ stuck: true }), r.killGraceMs))
      if (this.ac.signal.aborted) arm()
      else this.ac.signal.addEventListener('abort', arm, { once: true })
    })
  }

  get signal(): AbortSignal {
    return this.ac.signal
  }

  private readonly onAbort = () => {
    this.aborted = true
    this.ac.abort(abortReason(this.r.signal))
  }

  dispose(): void {
    clearTimeout(this.hardMax)
    clearTimeout(this.graceTimer)
    this.r.signal.removeEventListener('abort', this.onAbort)
  }
}

/** Passes samples to the recorder until closed: a stuck engine must not write into a finished recorder. */
class ClosableSink implements SampleSink {
  private open = true

  constructor(private readonly recorder: TaskRecorder) {}

  close(): void {
    this.open = false
  }
  sample(s: Sample): void {
    if (this.open) this.recorder.sample(s)
  }
  check(name: string, passed: boolean): void {
    if (this.open) this.recorder.check(name, passed)
  }
  activeUsers(t: number, n: number): void {
    if (this.open) this.recorder.activeUsers(t, n)
  }
  threshold(t: ThresholdSpec): void {
    if (this.open) this.recorder.threshold(t)
  }
}

/** Sets the outcome from how the engine's run ended. */
function setInProcessOutcome(
  engine: InProcessEngine,
  r: RunEnv,
  res: EngineResult,
  stop: InProcessStop
): void {
  const { outcome, recorder } = r
  const engineMsg = 'value' in res ? res.value.message : 'error' in res ? res.error.message : 'did not stop'
  outcome.exitCode = 'value' in res ? res.value.exitCode : null
  if (setStoppedOutcome(r, engine.name, stop)) return
  if ('error' in res) {
    outcome.status = 'engine-error'
    outcome.message = `${engine.name} failed: ${engineMsg}`
  } else if ('value' in res && res.value.exitCode === 0) {
    outcome.status = recorder.samples > 0 ? 'ok' : 'no-samples'
    outcome.message = recorder.samples > 0 ? engineMsg : `${engine.name} produced no samples (${engineMsg})`
  } else {
    outcome.status = 'engine-error'
    outcome.message = engineMsg || `${engine.name} exited with code ${outcome.exitCode}`
  }
}

export async function runInProcessEngine(
  engine: InProcessEngine,
  ctx: EngineRunContext,
  r: RunEnv
): Promise<void> {
  const stop = new InProcessStop(r)
  const sink = new ClosableSink(r.recorder)
  r.outcome.startedMs = r.now()
  const res: EngineResult = await Promise.race([
    engine.run(ctx, sink, stop.signal).then(
      v => ({ value: v }),
      (e: unknown) => ({ error: e instanceof Error ? e : new Error(String(e)) })
    ),
    stop.givenUp
  ])
  sink.close()
  r.outcome.endedMs = r.now()
  stop.dispose()
  setInProcessOutcome(engine, r, res, stop)
}
