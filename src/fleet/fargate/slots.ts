/**
 * A slot is one task of the run as the fleet tracks it: its spec and key, the ECS task started for
 * it, whether it passed the barrier, its progress and result, or why it has none. Also the
 * slot-level ECS calls (describe, stop) the phases share.
 */
import type { Task } from '@aws-sdk/client-ecs'
import type { TaskProgress } from '../../model/index.js'
import type { TaskResult } from '../../results/model.js'
import { taskKey } from '../../runner/objects.js'
import type { TaskSpec } from '../../runner/spec.js'
import type { PhaseContext } from './context.js'

export interface Slot {
  key: string
  spec: TaskSpec
  region: string
  arn?: string
  task?: Task
  ready: boolean
  result?: TaskResult
  progress?: TaskProgress
  /** The task clock of the newest live window already handed on. */
  liveUpToS?: number
  /** Whether the progress published after the task's result has been read. */
  finalRead?: boolean
  missing?: string
}

/** One fresh slot per task spec, in plan order. */
export function slotsOf(tasks: readonly TaskSpec[]): Slot[] {
  return tasks.map(spec => ({
    key: taskKey(spec.region, spec.taskIndex),
    spec,
    region: spec.region,
    ready: false
  }))
}

/** Runs `fn` over `items`, at most `limit` at a time. */
export async function eachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>
): Promise<void> {
  const queue = [...items]
  await Promise.all(
    Array.from({ length: Math.min(limit, queue.length) }, async () => {
      for (let it = queue.shift(); it !== undefined; it = queue.shift()) await fn(it)
    })
  )
}

/** The slots grouped by region, in order of first appearance. */
function byRegion(slots: readonly Slot[]): Map<string, Slot[]> {
  const out = new Map<string, Slot[]>()
  for (const s of slots) (out.get(s.region) ?? out.set(s.region, []).get(s.region)!).push(s)
  return out
}

/** Refreshes `task` of every started slot that is not known to be stopped (all regions in parallel). */
export async function describeSlots(ctx: PhaseContext, slots: readonly Slot[]): Promise<void> {
  const live = slots.filter(s => s.arn && s.task?.lastStatus !== 'STOPPED')
  await Promise.all(
    [...byRegion(live)].map(async ([region, list]) => {
      const tasks = await ctx.ecs.describe(
        region,
        list.map(s => s.arn!)
      )
      const byArn = new Map(tasks.map(t => [t.taskArn, t]))
      for (const s of list) s.task = byArn.get(s.arn) ?? s.task
    })
  )
}

/** Stops the started slots' tasks (all regions in parallel); a task that cannot be stopped is named. */
export async function stopSlots(ctx: PhaseContext, slots: readonly Slot[], reason: string): Promise<void> {
  await Promise.all(
    [...byRegion(slots.filter(s => s.arn))].map(async ([region, list]) => {
      const r = await ctx.ecs.stop(
        region,
        list.map(s => s.arn!),
        reason
      )
      for (const e of r.errors) ctx.notice(`could not stop ${e}`)
    })
  )
}
