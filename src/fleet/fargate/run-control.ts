/**
 * How a Fargate run is stopped early. Two ways in: the job is cancelled (`hooks.signal`: the job
 * has seconds left, so the watch gives up at once) or an orderly stop is requested (`hooks.stop`,
 * or the run's own abort: too few tasks ready, an abort-on SLO). Either way abort.json tells every
 * task to stop, once, and waits on the clock end early.
 */
import type { FleetHooks } from '../types.js'
import { putDoc, type PhaseContext } from './context.js'

/** The message of a stop signal's reason. */
function reasonText(r: unknown): string {
  return r instanceof Error ? r.message : typeof r === 'string' ? r : 'stopped early'
}

export class RunControl {
  /** Why the run is stopping; null while it is not. */
  reason: string | null = null
  /** When the stop was decided (the clock's time); null while it is not stopping. */
  abortedAt: number | null = null
  private wake: () => void = () => undefined
  private readonly cancelled = new Promise<void>(r => (this.wake = r))
  private readonly onCancel = () => {
    void this.abort('the job was cancelled')
    this.wake()
  }
  private readonly onStop = () => void this.abort(reasonText(this.hooks.stop?.reason))

  constructor(
    private readonly ctx: PhaseContext,
    private readonly hooks: Pick<FleetHooks, 'signal' | 'stop'>
  ) {
    if (hooks.signal?.aborted) this.onCancel()
    else hooks.signal?.addEventListener('abort', this.onCancel, { once: true })
    if (hooks.stop?.aborted) this.onStop()
    else hooks.stop?.addEventListener('abort', this.onStop, { once: true })
  }

  /** The job's cancellation signal, if any. */
  get signal(): AbortSignal | undefined {
    return this.hooks.signal
  }

  /** Whether the job was cancelled (not merely asked to stop early). */
  get jobCancelled(): boolean {
    return this.hooks.signal?.aborted === true
  }

  /** Stops the run: the first reason wins, is noticed, and goes to abort.json for the tasks. */
  async abort(reason: string): Promise<void> {
    if (this.reason) return
    this.reason = reason
    this.abortedAt = this.ctx.clock.now()
    this.ctx.notice(`stopping the fleet: ${reason}`)
    await putDoc(this.ctx, this.ctx.keys.abort, { reason, atMs: this.ctx.clock.now() }).catch(() => undefined)
  }

  /** Waits `ms` on the clock, or less if the job is cancelled meanwhile. */
  pause(ms: number): Promise<void> {
    return Promise.race([this.ctx.clock.sleep(ms), this.cancelled])
  }

  /** Stops listening to the hooks' signals. */
  dispose(): void {
    this.hooks.signal?.removeEventListener('abort', this.onCancel)
    this.hooks.stop?.removeEventListener('abort', this.onStop)
  }
}
