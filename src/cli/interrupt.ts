/**
 * SIGINT and SIGTERM for the commands that run load: the first signal aborts the run (the fleet
 * stops its runners and collects what they wrote), a later one is only acknowledged, since the
 * runners that do not stop are killed within the fleet's grace period anyway.
 */
export interface Interruptions {
  /** Aborted by the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal
  /** Removes the handlers (the default signal behaviour returns). */
  dispose(): void
}

export function onInterrupt(log: (message: string) => void, before?: () => void): Interruptions {
  const abort = new AbortController()
  const handler = (sig: NodeJS.Signals) => {
    before?.()
    if (!abort.signal.aborted) {
      log(`interrupted; stopping the tasks and collecting what they wrote (${sig})`)
      abort.abort(sig)
    } else {
      log(`still stopping (${sig}); runners that do not stop are killed within 20 s`)
    }
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
  return {
    signal: abort.signal,
    dispose() {
      process.off('SIGINT', handler)
      process.off('SIGTERM', handler)
    }
  }
}
