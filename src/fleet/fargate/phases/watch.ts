/**
 * The watch: from the start until every started task has a result or has stopped, polls results/
 * and the tasks' states; every `progressMs` reads the live progress, prints a line per region and
 * judges abort-on. judgeWatch decides when to stop waiting (hard limit, grace after an abort); a
 * cancelled job stops watching at once.
 */
import type { FleetProgress } from '../../../model/index.js'
import type { TaskSpec } from '../../../runner/spec.js'
import { listKeys, type PhaseContext } from '../context.js'
import { judgeWatch, pollPauseMs, watchWindow } from '../policy.js'
import type { RunControl } from '../run-control.js'
import { describeSlots, type Slot } from '../slots.js'
import { readProgress, regionLines } from './progress.js'

export interface WatchOptions {
  /** The common start; null when no load was started (the run is stopping). */
  startAtMs: number | null
  /** Stops the fleet when it returns a reason (the abort-on SLOs). */
  abortOn?: (p: FleetProgress) => string | null
  onProgress?: (p: FleetProgress) => void
  /** The run's facts; an abort-on reason is recorded as `abortOn`. */
  facts: Record<string, string | number | boolean>
}

/** One poll: the keys of the results written so far, and the tasks' states refreshed. */
export async function observeRun(ctx: PhaseContext, watched: readonly Slot[]): Promise<Set<string>> {
  ctx.count('polls')
  const results = await listKeys(ctx, ctx.keys.resultsPrefix)
  await describeSlots(ctx, watched)
  return results
}

/** Reads and reports the live progress; stops the fleet when abort-on trips. */
async function reportProgress(
  ctx: PhaseContext,
  watched: readonly Slot[],
  results: ReadonlySet<string>,
  startAtMs: number,
  ctrl: RunControl,
  o: WatchOptions
): Promise<void> {
  const p = await readProgress(ctx, watched, startAtMs, results)
  o.onProgress?.(p)
  for (const line of regionLines(p, watched)) ctx.notice(line)
  const reason = o.abortOn?.(p)
  if (reason && !ctrl.reason) {
    o.facts.abortOn = reason
    await ctrl.abort(`abort-on: ${reason}`)
  }
}

/** Watches the started tasks until judgeWatch says to collect or to give up, or the job is cancelled. */
export async function watchRun(
  ctx: PhaseContext,
  slots: readonly Slot[],
  tasks: readonly TaskSpec[],
  ctrl: RunControl,
  o: WatchOptions
): Promise<void> {
  const { loadEndMs, deadlineMs } = watchWindow(tasks, o.startAtMs ?? ctx.clock.now(), ctx.timing)
  const watched = slots.filter(s => s.arn)
  let lastProgressMs = 0
  // A cancelled job has seconds left: its tasks are stopped at once (cleanup) instead of waited for.
  while (!ctrl.jobCancelled) {
    const results = await observeRun(ctx, watched)
    const nowMs = ctx.clock.now()
    const state = { nowMs, startAtMs: o.startAtMs, deadlineMs, abortedAtMs: ctrl.abortedAt, lastProgressMs }
    const d = judgeWatch(watched, results, state, ctx.timing)
    if (d.next === 'collect') return
    if (d.next === 'give-up') {
      ctx.notice(d.notice)
      return
    }
    if (d.progressDue && o.startAtMs !== null) {
      lastProgressMs = nowMs
      await reportProgress(ctx, watched, results, o.startAtMs, ctrl, o)
    }
    await ctrl.pause(pollPauseMs(loadEndMs, ctx.clock.now(), ctx.timing.pollMs))
  }
}
