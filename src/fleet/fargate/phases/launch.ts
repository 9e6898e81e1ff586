/**
 * Launch: every region at once, its tasks in RunTask batches of 10, a few batches in flight per
 * region. Each started task is told its key through assign/<ecs task id>.json; a task RunTask
 * would not start is missing with ECS's reason. No new batch starts once the run is stopping.
 */
import { ecsTaskId, REMOTE_ENV, runPrefix } from '../../../runner/objects.js'
import type { RegionTarget } from '../../aws/discovery.js'
import { RUN_TASK_BATCH, type LaunchRequest } from '../../aws/ecs.js'
import { putDoc, type PhaseContext } from '../context.js'
import type { RunControl } from '../run-control.js'
import { eachLimit, type Slot } from '../slots.js'

/** RunTask batches in flight per region. */
const LAUNCH_CONCURRENCY = 4

/** What every RunTask of the run carries. */
export interface LaunchConfig {
  runId: string
  /** The runner stack of a region (throws for a region without one). */
  target: (region: string) => RegionTarget
  bucketRegion: string
  spot: boolean
  startedBy: string
  tags?: Record<string, string>
  taskEnv?: Record<string, string>
  /** Called after every batch's tasks are named, with all ARNs started so far, per region. */
  onLaunched?: (launched: Record<string, string[]>) => void
}

/** The idempotency token of one batch: the run, the region and the batch number. */
export function clientTokenFor(runId: string, region: string, batch: number): string {
  return `${runId}-${region}-${batch}`.replace(/[^\w-]/g, '-').slice(-60)
}

/** The RunTask request of one batch of `count` tasks. */
function launchRequest(cfg: LaunchConfig, region: string, batch: number, count: number): LaunchRequest {
  const target = cfg.target(region)
  return {
    target,
    count,
    startedBy: cfg.startedBy,
    clientToken: clientTokenFor(cfg.runId, region, batch),
    env: {
      [REMOTE_ENV.Bucket]: target.bucket,
      [REMOTE_ENV.BucketRegion]: cfg.bucketRegion,
      [REMOTE_ENV.RunPrefix]: runPrefix(cfg.runId),
      [REMOTE_ENV.RunId]: cfg.runId,
      ...cfg.taskEnv
    },
    spot: cfg.spot,
    tags: { 'perf-gate:run': cfg.runId, ...cfg.tags }
  }
}

/** The run's launch state: its settings, and the ARNs started so far per region. */
interface Launch {
  ctx: PhaseContext
  cfg: LaunchConfig
  ctrl: RunControl
  launched: Record<string, string[]>
}

/** Starts one batch, names its tasks in order as RunTask reports them, and tells each its key. */
async function launchBatchOf(l: Launch, region: string, batch: Slot[], index: number): Promise<void> {
  if (l.ctrl.reason) return
  let next = 0
  const res = await l.ctx.ecs.launch(region, launchRequest(l.cfg, region, index, batch.length), {
    signal: l.ctrl.signal,
    onStarted: arns => {
      for (const arn of arns) {
        const slot = batch[next++]
        if (!slot) continue
        slot.arn = arn
        ;(l.launched[region] ??= []).push(arn)
      }
      l.cfg.onLaunched?.(l.launched)
    }
  })
  await eachLimit(
    batch.filter(s => s.arn),
    10,
    async s => putDoc(l.ctx, l.ctx.keys.assign(ecsTaskId(s.arn!)), { key: s.key })
  )
  for (const s of batch) if (!s.arn) s.missing = `not launched: ${res.failures.join('; ')}`
}

/** Launches one region's slots: batches of RUN_TASK_BATCH, LAUNCH_CONCURRENCY at a time. */
async function launchRegion(l: Launch, region: string, slots: readonly Slot[]): Promise<void> {
  // A region without a runner stack fails before any of its batches starts.
  l.cfg.target(region)
  const mine = slots.filter(s => s.region === region)
  const batches: Slot[][] = []
  for (let b = 0; b < mine.length; b += RUN_TASK_BATCH) batches.push(mine.slice(b, b + RUN_TASK_BATCH))
  // A few batches at a time per region: fast, and well inside RunTask's rate limit.
  await eachLimit(batches, LAUNCH_CONCURRENCY, batch =>
    launchBatchOf(l, region, batch, batches.indexOf(batch))
  )
}

/** Launches every slot's task, all regions in parallel, and notices how many started. */
export async function launchTasks(
  ctx: PhaseContext,
  slots: readonly Slot[],
  cfg: LaunchConfig,
  ctrl: RunControl
): Promise<void> {
  const l: Launch = { ctx, cfg, ctrl, launched: {} }
  const regions = [...new Set(slots.map(s => s.region))]
  await Promise.all(regions.map(region => launchRegion(l, region, slots)))
  const started = slots.filter(s => s.arn).length
  ctx.notice(`launched ${started} of ${slots.length} task(s) in ${regions.length} region(s)`)
}
