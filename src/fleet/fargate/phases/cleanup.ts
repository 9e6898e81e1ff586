/** Cleanup: whatever happened, no task of the run stays running. */
import type { PhaseContext } from '../context.js'
import { describeSlots, stopSlots, type Slot } from '../slots.js'

/** Stops every started task ECS does not report stopped, giving `reason` (or that the run finished). */
export async function stopLeftovers(
  ctx: PhaseContext,
  slots: readonly Slot[],
  reason: string | null
): Promise<void> {
  await describeSlots(
    ctx,
    slots.filter(s => s.arn)
  ).catch(() => undefined)
  const left = slots.filter(s => s.arn && s.task?.lastStatus !== 'STOPPED')
  if (left.length) await stopSlots(ctx, left, reason ?? 'perf-gate run finished')
}
