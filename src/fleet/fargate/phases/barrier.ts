/**
 * The start barrier: polls ready/ and the tasks' states until every launched task is ready or
 * lost, or the barrier times out (judgeBarrier decides). Too few ready tasks stop the run; a run
 * that is stopping stops the tasks still starting up (ready ones stop on abort.json).
 */
import { listKeys, type PhaseContext } from '../context.js'
import { barrierVerdict, judgeBarrier } from '../policy.js'
import type { RunControl } from '../run-control.js'
import { describeSlots, stopSlots, type Slot } from '../slots.js'

export interface BarrierOutcome {
  /** The tasks that are ready to start the load. */
  ready: Slot[]
  /** How long the barrier took, in seconds (one decimal). */
  seconds: number
}

/** One poll: marks the slots whose ready/ object exists and refreshes the tasks' states. */
export async function observeBarrier(ctx: PhaseContext, slots: readonly Slot[]): Promise<void> {
  ctx.count('polls')
  const ready = await listKeys(ctx, ctx.keys.readyPrefix)
  for (const s of slots) if (ready.has(s.key)) s.ready = true
  await describeSlots(ctx, slots)
}

/** Waits at the barrier until the load can start, the barrier gives up or the run is stopping. */
async function pollBarrier(ctx: PhaseContext, slots: readonly Slot[], ctrl: RunControl, startMs: number) {
  while (!ctrl.reason) {
    await observeBarrier(ctx, slots)
    const d = judgeBarrier(slots, ctx.clock.now() - startMs, ctx.timing)
    for (const l of d.lost) l.slot.missing = l.reason
    if (d.next !== 'wait') return
    ctx.notice(d.notice)
    await ctrl.pause(d.pauseMs)
  }
}

/** The barrier phase: wait, judge the ready count, and stop what will not run. */
export async function awaitBarrier(
  ctx: PhaseContext,
  slots: readonly Slot[],
  ctrl: RunControl,
  minTaskSuccess: number | undefined
): Promise<BarrierOutcome> {
  const startMs = ctx.clock.now()
  await pollBarrier(ctx, slots, ctrl, startMs)
  const seconds = Math.round((ctx.clock.now() - startMs) / 100) / 10
  const verdict = barrierVerdict(slots, minTaskSuccess, ctrl.reason !== null)
  if (verdict.abortReason) await ctrl.abort(verdict.abortReason)
  if (ctrl.reason) {
    // No load will run: tasks still starting up are stopped now; ready ones stop on abort.json.
    const starting = slots.filter(s => s.arn && !s.ready)
    if (starting.length) await stopSlots(ctx, starting, ctrl.reason)
  }
  return { ready: verdict.ready, seconds }
}
