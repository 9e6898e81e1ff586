/**
 * Go: the tasks that missed the barrier are stopped, and go.json names the ready tasks and their
 * common start, `startLeadMs` ahead so that every task sees it in time.
 */
import { putDoc, type PhaseContext } from '../context.js'
import { stopSlots, type Slot } from '../slots.js'

/** Stops the late tasks, writes go.json and returns the common start (epoch ms). */
export async function startLoad(
  ctx: PhaseContext,
  slots: readonly Slot[],
  ready: readonly Slot[]
): Promise<number> {
  const late = slots.filter(s => s.arn && !s.ready)
  if (late.length) await stopSlots(ctx, late, 'not ready at the start barrier')
  const startAtMs = ctx.clock.now() + ctx.timing.startLeadMs
  await putDoc(ctx, ctx.keys.go, { startAtMs, tasks: ready.map(s => s.key) })
  ctx.notice(`start barrier passed: ${ready.length} task(s) start at ${new Date(startAtMs).toISOString()}`)
  return startAtMs
}
