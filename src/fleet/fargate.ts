/**
 * The Fargate fleet: every task is an ECS task in one of several regions, coordinated through the
 * run's S3 objects (src/runner/objects.ts).
 *
 * `run` goes through the phases of ./fargate/phases in turn: publish the script bundle and one
 * envelope per task, start the heartbeat, launch the tasks region by region in parallel (RunTask
 * batches of 10, each task told its key through assign/), wait at the start barrier until every
 * task is ready, write go.json with a common start a few seconds ahead, watch the run (a line per
 * region at each progress read; the fleet stops early when `abortOn` trips or the signal aborts),
 * collect every result in parallel, naming the missing tasks with the reason, and — whatever
 * happened — stop every task it started. The decisions are pure functions (./fargate/policy.ts).
 */
import type { ECSClient } from '@aws-sdk/client-ecs'
import type { FleetProgress } from '../model/index.js'
import { runKeys, runPrefix } from '../runner/objects.js'
import { sleep, type Sleep } from '../util/index.js'
import type { RegionTarget } from './aws/discovery.js'
import type { PhaseContext } from './fargate/context.js'
import { EcsTaskControl, targetIn } from './fargate/ecs-tasks.js'
import { awaitBarrier } from './fargate/phases/barrier.js'
import { stopLeftovers } from './fargate/phases/cleanup.js'
import { collectResults } from './fargate/phases/collect.js'
import { startLoad } from './fargate/phases/go.js'
import { startHeartbeat } from './fargate/phases/heartbeat.js'
import { launchTasks, type LaunchConfig } from './fargate/phases/launch.js'
import { publishRun } from './fargate/phases/publish.js'
import { watchRun } from './fargate/phases/watch.js'
import { fleetOutcome } from './fargate/policy.js'
import type { ObjectStore, TaskControl } from './fargate/ports.js'
import { RunControl } from './fargate/run-control.js'
import { slotsOf } from './fargate/slots.js'
import { DEFAULT_FARGATE_TIMING, type FargateTiming } from './fargate/timing.js'
import type { Fleet, FleetHooks, FleetOutcome, FleetPlan } from './types.js'

export interface FargateFleetOptions {
  /** Where each region's tasks run (discovery), in the plan's region order. */
  targets: RegionTarget[]
  ecs: (region: string) => ECSClient
  /** The run's bucket (a RunObjects). */
  objects: ObjectStore
  bucketRegion: string
  spot: boolean
  /** ECS `startedBy` of every task (≤ 36 characters of [A-Za-z0-9_-]). */
  startedBy: string
  tags?: Record<string, string>
  /** Lowest share of tasks that must be ready to start the load (0–1, default 1). */
  minTaskSuccess?: number
  /** Stops the fleet early when it returns a reason (the `abort-on` SLOs on live progress). */
  abortOn?: (p: FleetProgress) => string | null
  /** Called after every RunTask batch with all ARNs started so far, per region (for saveState). */
  onLaunched?: (launched: Record<string, string[]>) => void
  timing?: Partial<FargateTiming>
  sleep?: Sleep
  now?: () => number
  /** Extra environment for every task (e.g. an S3 endpoint in tests). */
  taskEnv?: Record<string, string>
}

export class FargateFleet implements Fleet {
  readonly backend = 'fargate'
  private readonly timing: FargateTiming
  private readonly sleep: Sleep
  private readonly now: () => number
  private readonly ecs: TaskControl
  /** AWS API calls made, by operation, and `polls` (for the benchmark and the report). */
  readonly calls: Record<string, number> = {}

  constructor(private readonly o: FargateFleetOptions) {
    this.timing = { ...DEFAULT_FARGATE_TIMING, ...o.timing }
    this.sleep = o.sleep ?? sleep
    this.now = o.now ?? Date.now
    this.ecs = new EcsTaskControl({
      targets: o.targets,
      client: o.ecs,
      sleep: this.sleep,
      launchRetryMs: this.timing.launchRetryMs,
      count: (op, n) => this.count(op, n)
    })
  }

  private count(op: string, n = 1) {
    this.calls[op] = (this.calls[op] ?? 0) + n
  }

  /** What every phase of one run is handed. */
  private context(plan: FleetPlan, hooks: FleetHooks): PhaseContext {
    return {
      store: this.o.objects,
      ecs: this.ecs,
      clock: { now: this.now, sleep: this.sleep },
      keys: runKeys(runPrefix(plan.runId)),
      timing: this.timing,
      count: (op, n) => this.count(op, n),
      notice: hooks.onNotice ?? (() => undefined)
    }
  }

  private launchConfig(runId: string): LaunchConfig {
    return {
      runId,
      target: region => targetIn(this.o.targets, region),
      bucketRegion: this.o.bucketRegion,
      spot: this.o.spot,
      startedBy: this.o.startedBy,
      tags: this.o.tags,
      taskEnv: this.o.taskEnv,
      onLaunched: this.o.onLaunched
    }
  }

  async run(plan: FleetPlan, hooks: FleetHooks = {}): Promise<FleetOutcome> {
    const ctx = this.context(plan, hooks)
    const slots = slotsOf(plan.tasks)
    const ctrl = new RunControl(ctx, hooks)
    const facts: Record<string, string | number | boolean> = {}
    let stopHeartbeat: (() => void) | undefined
    try {
      await publishRun(ctx, slots)
      stopHeartbeat = await startHeartbeat(ctx)
      await launchTasks(ctx, slots, this.launchConfig(plan.runId), ctrl)
      const barrier = await awaitBarrier(ctx, slots, ctrl, this.o.minTaskSuccess)
      facts.barrierS = barrier.seconds
      const startAtMs = ctrl.reason ? null : await startLoad(ctx, slots, barrier.ready)
      await watchRun(ctx, slots, plan.tasks, ctrl, {
        startAtMs,
        abortOn: this.o.abortOn,
        onProgress: hooks.onProgress,
        facts
      })
      await collectResults(ctx, slots, facts)
    } finally {
      ctrl.dispose()
      stopHeartbeat?.()
      await stopLeftovers(ctx, slots, ctrl.reason)
    }
    facts.regions = [...new Set(slots.map(s => s.region))].join(',')
    return fleetOutcome(slots, ctrl.reason !== null, facts)
  }
}
