/**
 * The Fargate fleet: every task is an ECS task in one of several regions, coordinated through the
 * run's S3 objects (src/runner/objects.ts).
 *
 * `run` uploads the script bundle and one envelope per task, launches the tasks region by region
 * in parallel (RunTask batches of 10, each task told its key through assign/), waits at the start
 * barrier until every task is ready, writes go.json with a common start a few seconds ahead,
 * keeps a heartbeat, prints a line per region at each poll, stops the fleet early when `abortOn`
 * trips or the signal aborts, collects every result in parallel, names the missing tasks with
 * the reason, and — whatever happened — stops every task it started.
 */
import { spawn } from 'node:child_process'
import { dirname, relative } from 'node:path'
import type { ECSClient, Task } from '@aws-sdk/client-ecs'
import type { RegionTarget } from './aws/discovery.js'
import { profileSeconds } from './plan.js'
import { describeTasks, launchBatch, RUN_TASK_BATCH, stopTasks } from './aws/ecs.js'
import { awsMessage, withRetry, type Sleep } from './aws/retry.js'
import { parseTaskResult } from '../results/io.js'
import type { TaskResult } from '../results/model.js'
import {
  REMOTE_ENV,
  RunObjects,
  ecsTaskId,
  keyOf,
  runKeys,
  runPrefix,
  taskKey,
  type PublishedProgress,
  type TaskEnvelope
} from '../runner/objects.js'
import type { TaskSpec } from '../runner/spec.js'
import type { Fleet, FleetHooks, FleetOutcome, FleetPlan, MissingTask } from './types.js'
import type { FleetProgress, TaskProgress } from '../model/index.js'
import { sleep } from '../util/index.js'

/** RunTask batches in flight per region. */
const LAUNCH_CONCURRENCY = 4

export interface FargateTiming {
  /** Between polls of the barrier and of the running fleet. */
  pollMs: number
  /** How long the barrier waits for every task to be ready. */
  readyTimeoutMs: number
  /** The common start lies this far after go.json is written. */
  startLeadMs: number
  heartbeatMs: number
  /** Between reads of the tasks' progress objects. */
  progressMs: number
  /** How long after the hard limit results are still waited for. */
  collectGraceMs: number
  /** How long tasks get to stop by themselves (and write their results) after an abort. */
  abortGraceMs: number
}

export const DEFAULT_FARGATE_TIMING: FargateTiming = {
  pollMs: 2000,
  readyTimeoutMs: 10 * 60_000,
  startLeadMs: 2000,
  heartbeatMs: 30_000,
  progressMs: 10_000,
  collectGraceMs: 90_000,
  abortGraceMs: 30_000
}

export interface FargateFleetOptions {
  /** Where each region's tasks run (discovery), in the plan's region order. */
  targets: RegionTarget[]
  ecs: (region: string) => ECSClient
  objects: RunObjects
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

interface Slot {
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

/** Packs the script's folder (without .git and node_modules) into a gzipped tar. */
function tarFolder(dir: string): Promise<Buffer> {
  return new Promise((ok, fail) => {
    const p = spawn('tar', ['-czf', '-', '--exclude=.git', '--exclude=node_modules', '-C', dir, '.'], {
      stdio: ['ignore', 'pipe', 'pipe']
    })
    const out: Buffer[] = []
    let size = 0
    let err = ''
    p.stdout.on('data', (d: Buffer) => {
      size += d.length
      if (size > 100 * 1024 * 1024) p.kill('SIGKILL')
      else out.push(d)
    })
    p.stderr.on('data', (d: Buffer) => (err += d.toString()))
    p.on('error', fail)
    p.on('exit', code => {
      if (size > 100 * 1024 * 1024) fail(new Error(`the script folder ${dir} packs to more than 100 MB`))
      else if (code !== 0) fail(new Error(`tar of ${dir} failed: ${err.trim()}`))
      else ok(Buffer.concat(out))
    })
  })
}

async function eachLimit<T>(
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

function stoppedReason(t: Task | undefined): string {
  if (!t) return 'the task never started'
  const exit = t.containers?.[0]?.exitCode
  const why = [t.stoppedReason, t.stopCode, exit !== undefined ? `exit code ${exit}` : '']
    .filter(Boolean)
    .join(', ')
  return why || `task ${t.lastStatus?.toLowerCase() ?? 'unknown'}`
}

export class FargateFleet implements Fleet {
  readonly backend = 'fargate'
  private readonly t: FargateTiming
  private readonly sleep: Sleep
  private readonly now: () => number
  /** AWS API calls made, by operation, and `polls` (for the benchmark and the report). */
  readonly calls: Record<string, number> = {}

  constructor(private readonly o: FargateFleetOptions) {
    this.t = { ...DEFAULT_FARGATE_TIMING, ...o.timing }
    this.sleep = o.sleep ?? sleep
    this.now = o.now ?? Date.now
  }

  private count(op: string, n = 1) {
    this.calls[op] = (this.calls[op] ?? 0) + n
  }

  private target(region: string): RegionTarget {
    const t = this.o.targets.find(x => x.region === region)
    if (!t) throw new Error(`no runner stack found for region ${region}`)
    return t
  }

  async run(plan: FleetPlan, hooks: FleetHooks = {}): Promise<FleetOutcome> {
    const notice = hooks.onNotice ?? (() => undefined)
    const prefix = runPrefix(plan.runId)
    const keys = runKeys(prefix)
    const objects = this.o.objects
    const slots: Slot[] = plan.tasks.map(spec => ({
      key: taskKey(spec.region, spec.taskIndex),
      spec,
      region: spec.region,
      ready: false
    }))
    const byArn = new Map<string, Slot>()
    const launched: Record<string, string[]> = {}
    let heartbeat: NodeJS.Timeout | undefined
    let abortReason: string | null = null
    const facts: Record<string, string | number | boolean> = {}
    const put = async (key: string, doc: unknown) => {
      this.count('s3:PutObject')
      await withRetry(() => objects.putJson(key, doc), { sleep: this.sleep })
    }
    let abortedAt: number | null = null
    const signalAbort = async (reason: string) => {
      if (abortReason) return
      abortReason = reason
      abortedAt = this.now()
      notice(`stopping the fleet: ${reason}`)
      await put(keys.abort, { reason, atMs: this.now() }).catch(() => undefined)
    }
    let wake: () => void = () => undefined
    const cancelled = new Promise<void>(r => (wake = r))
    const onCancel = () => {
      void signalAbort('the job was cancelled')
      wake()
    }
    if (hooks.signal?.aborted) onCancel()
    else hooks.signal?.addEventListener('abort', onCancel, { once: true })
    // An orderly stop: abort.json tells every task to stop; the watch below waits for their results.
    const stopReason = () => {
      const r: unknown = hooks.stop?.reason
      return r instanceof Error ? r.message : typeof r === 'string' ? r : 'stopped early'
    }
    const onStop = () => void signalAbort(stopReason())
    if (hooks.stop?.aborted) onStop()
    else hooks.stop?.addEventListener('abort', onStop, { once: true })
    const pause = (ms: number) => Promise.race([this.sleep(ms), cancelled])

    try {
      // 1. The script bundle and one envelope per task.
      const script = plan.tasks[0]?.script
      let bundle = false
      if (script) {
        const tgz = await tarFolder(dirname(script))
        this.count('s3:PutObject')
        await withRetry(() => objects.put(keys.bundle, tgz, 'application/gzip'), { sleep: this.sleep })
        bundle = true
        notice(`script bundle: ${Math.round(tgz.length / 1024)} KiB`)
      }
      await eachLimit(slots, 32, async s => {
        const spec: Record<string, unknown> = { ...s.spec, startAtMs: null }
        if (s.spec.script) spec.script = relative(dirname(s.spec.script), s.spec.script)
        const env: TaskEnvelope = { schema: 'perf-gate/remote-task', version: 1, spec, bundle }
        await put(keys.task(s.key), env)
      })
      await put(keys.heartbeat, { atMs: this.now() })
      heartbeat = setInterval(() => {
        this.count('s3:PutObject')
        void objects.putJson(keys.heartbeat, { atMs: this.now() }).catch(() => undefined)
      }, this.t.heartbeatMs)

      // 2. Launch, all regions in parallel, batches of 10 per region.
      const regions = [...new Set(slots.map(s => s.region))]
      await Promise.all(
        regions.map(async region => {
          const target = this.target(region)
          const mine = slots.filter(s => s.region === region)
          const batches: Slot[][] = []
          for (let b = 0; b < mine.length; b += RUN_TASK_BATCH)
            batches.push(mine.slice(b, b + RUN_TASK_BATCH))
          // A few batches at a time per region: fast, and well inside RunTask's rate limit.
          await eachLimit(batches, LAUNCH_CONCURRENCY, async batch => {
            if (abortReason) return
            let next = 0
            const res = await launchBatch(
              this.o.ecs(region),
              {
                target,
                count: batch.length,
                startedBy: this.o.startedBy,
                clientToken: `${plan.runId}-${region}-${batches.indexOf(batch)}`
                  .replace(/[^\w-]/g, '-')
                  .slice(-60),
                env: {
                  [REMOTE_ENV.Bucket]: target.bucket,
                  [REMOTE_ENV.BucketRegion]: this.o.bucketRegion,
                  [REMOTE_ENV.RunPrefix]: prefix,
                  [REMOTE_ENV.RunId]: plan.runId,
                  ...this.o.taskEnv
                },
                spot: this.o.spot,
                tags: { 'perf-gate:run': plan.runId, ...this.o.tags }
              },
              {
                sleep: this.sleep,
                signal: hooks.signal,
                onCall: () => this.count('ecs:RunTask'),
                onStarted: arns => {
                  for (const arn of arns) {
                    const slot = batch[next++]
                    if (!slot) continue
                    slot.arn = arn
                    byArn.set(arn, slot)
                    ;(launched[region] ??= []).push(arn)
                  }
                  this.o.onLaunched?.(launched)
                }
              }
            )
            // Tell each started task its key.
            await eachLimit(
              batch.filter(s => s.arn),
              10,
              async s => put(keys.assign(ecsTaskId(s.arn!)), { key: s.key })
            )
            for (const s of batch) if (!s.arn) s.missing = `not launched: ${res.failures.join('; ')}`
          })
        })
      )
      const launchedCount = slots.filter(s => s.arn).length
      notice(`launched ${launchedCount} of ${slots.length} task(s) in ${regions.length} region(s)`)

      // 3. The start barrier.
      const barrierStart = this.now()
      const minReady = Math.ceil(slots.length * (this.o.minTaskSuccess ?? 1))
      for (;;) {
        if (abortReason) break
        this.count('polls')
        const ready = await this.listKeys(objects, keys.readyPrefix)
        for (const s of slots) if (ready.has(s.key)) s.ready = true
        await this.describe(slots)
        for (const s of slots)
          if (!s.ready && !s.missing && s.task?.lastStatus === 'STOPPED')
            s.missing = `stopped before it was ready: ${stoppedReason(s.task)}`
        const readyCount = slots.filter(s => s.ready).length
        const pending = slots.filter(s => !s.ready && !s.missing).length
        if (!pending) break
        if (this.now() - barrierStart > this.t.readyTimeoutMs) {
          for (const s of slots)
            if (!s.ready && !s.missing)
              s.missing = `not ready within ${Math.round(this.t.readyTimeoutMs / 1000)} s (${s.task?.lastStatus ?? 'never started'})`
          break
        }
        notice(
          `start barrier: ${readyCount}/${slots.length} ready after ${Math.round((this.now() - barrierStart) / 1000)} s`
        )
        await pause(Math.min(this.t.pollMs, 500))
      }
      const readySlots = slots.filter(s => s.ready && !s.missing)
      facts.barrierS = Math.round((this.now() - barrierStart) / 100) / 10
      if (!abortReason && readySlots.length < minReady)
        await signalAbort(
          `only ${readySlots.length} of ${slots.length} task(s) became ready (min-task-success needs ${minReady})`
        )
      if (abortReason) {
        // No load will run: tasks still starting up are stopped now; ready ones stop on abort.json.
        const starting = slots.filter(s => s.arn && !s.ready)
        if (starting.length) await this.stop(starting, abortReason, notice)
      }

      let startAtMs: number | null = null
      if (!abortReason) {
        // Tasks that missed the barrier are stopped; the rest start together.
        const late = slots.filter(s => s.arn && !s.ready)
        if (late.length) await this.stop(late, 'not ready at the start barrier', notice)
        startAtMs = this.now() + this.t.startLeadMs
        await put(keys.go, { startAtMs, tasks: readySlots.map(s => s.key) })
        notice(
          `start barrier passed: ${readySlots.length} task(s) start at ${new Date(startAtMs).toISOString()}`
        )
      }

      // 4. Watch until every started task has stopped or the hard limit (+ grace) has passed.
      const hardMaxMs = Math.max(...plan.tasks.map(t => t.hardMaxS)) * 1000
      const loadEndMs =
        (startAtMs ?? this.now()) + Math.max(...plan.tasks.map(t => profileSeconds(t.load))) * 1000
      const deadline = (startAtMs ?? this.now()) + hardMaxMs + this.t.collectGraceMs
      let lastProgress = 0
      const watched = slots.filter(s => s.arn)
      for (;;) {
        // A cancelled job has seconds left: stop the tasks now (finally) instead of waiting.
        if (hooks.signal?.aborted) break
        this.count('polls')
        const results = await this.listKeys(objects, keys.resultsPrefix)
        await this.describe(watched)
        const open = watched.filter(s => !results.has(s.key) && s.task?.lastStatus !== 'STOPPED')
        if (!open.length) break
        if (this.now() > deadline) {
          notice(`${open.length} task(s) still running past the hard limit; stopping them`)
          break
        }
        if (abortedAt !== null && this.now() - abortedAt > this.t.abortGraceMs) {
          notice(
            `${open.length} task(s) did not stop within ${Math.round(this.t.abortGraceMs / 1000)} s of the abort; stopping them`
          )
          break
        }
        if (startAtMs !== null && this.now() >= startAtMs && this.now() - lastProgress >= this.t.progressMs) {
          lastProgress = this.now()
          const p = await this.progress(watched, startAtMs, results)
          hooks.onProgress?.(p)
          for (const line of regionLines(p, watched)) notice(line)
          const reason = this.o.abortOn?.(p)
          if (reason && !abortReason) {
            facts.abortOn = reason
            await signalAbort(`abort-on: ${reason}`)
          }
        }
        // Slow polls while the load runs; quick ones once it should be over.
        const left = loadEndMs - this.now()
        await pause(left > 0 ? Math.min(this.t.pollMs, left + 250) : Math.min(this.t.pollMs, 500))
      }

      // 5. Collect every result in parallel.
      const results = await this.listKeys(objects, keys.resultsPrefix)
      await eachLimit(
        slots.filter(s => results.has(s.key)),
        16,
        async s => {
          try {
            this.count('s3:GetObject')
            const doc = await withRetry(() => objects.getJson(keys.result(s.key)), { sleep: this.sleep })
            s.result = parseTaskResult(`s3://${objects.bucket}/${keys.result(s.key)}`, doc)
          } catch (e) {
            s.missing = `unreadable result: ${awsMessage(e)}`
          }
        }
      )
      for (const s of slots) {
        if (s.result || s.missing) continue
        const failure = await objects.getJson<{ message?: string }>(keys.failure(s.key)).catch(() => null)
        s.missing = failure?.message
          ? `failed to start: ${failure.message}`
          : s.task?.lastStatus === 'STOPPED'
            ? `no result (${stoppedReason(s.task)})`
            : `no result (${s.task?.lastStatus?.toLowerCase() ?? 'never started'})`
      }
      const starts = slots
        .map(s => s.result?.task.startedMs)
        .filter((x): x is number => typeof x === 'number')
      if (starts.length > 1) {
        facts.startSkewMs = Math.max(...starts) - Math.min(...starts)
        notice(`start skew across ${starts.length} task(s): ${facts.startSkewMs} ms`)
      }
    } finally {
      hooks.signal?.removeEventListener('abort', onCancel)
      hooks.stop?.removeEventListener('abort', onStop)
      if (heartbeat) clearInterval(heartbeat)
      // 6. Nothing stays running.
      await this.describe(slots.filter(s => s.arn)).catch(() => undefined)
      const left = slots.filter(s => s.arn && s.task?.lastStatus !== 'STOPPED')
      if (left.length) await this.stop(left, abortReason ?? 'perf-gate run finished', notice)
    }
    facts.regions = [...new Set(slots.map(s => s.region))].join(',')
    const missing: MissingTask[] = slots
      .filter(s => !s.result)
      .map(s => ({ region: s.region, taskIndex: s.spec.taskIndex, reason: s.missing ?? 'no result' }))
    return {
      tasks: slots.filter(s => s.result).map(s => s.result!),
      missing,
      aborted: abortReason !== null,
      facts
    }
  }

  private async listKeys(objects: RunObjects, prefix: string): Promise<Set<string>> {
    this.count('s3:ListObjectsV2')
    const keys = await withRetry(() => objects.list(prefix), { sleep: this.sleep })
    return new Set(keys.map(keyOf))
  }

  private async describe(slots: Slot[]): Promise<void> {
    const byRegion = new Map<string, Slot[]>()
    for (const s of slots)
      if (s.arn && s.task?.lastStatus !== 'STOPPED')
        (byRegion.get(s.region) ?? byRegion.set(s.region, []).get(s.region)!).push(s)
    await Promise.all(
      [...byRegion].map(async ([region, list]) => {
        const target = this.target(region)
        this.count('ecs:DescribeTasks', Math.ceil(list.length / 100))
        const tasks = await describeTasks(
          this.o.ecs(region),
          target.cluster,
          list.map(s => s.arn!),
          this.sleep
        )
        const byArn = new Map(tasks.map(t => [t.taskArn, t]))
        for (const s of list) s.task = byArn.get(s.arn) ?? s.task
      })
    )
  }

  private async stop(slots: Slot[], reason: string, notice?: (m: string) => void): Promise<void> {
    const byRegion = new Map<string, Slot[]>()
    for (const s of slots)
      if (s.arn) (byRegion.get(s.region) ?? byRegion.set(s.region, []).get(s.region)!).push(s)
    await Promise.all(
      [...byRegion].map(async ([region, list]) => {
        this.count('ecs:StopTask', list.length)
        const r = await stopTasks(
          this.o.ecs(region),
          this.target(region).cluster,
          list.map(s => s.arn!),
          reason,
          this.sleep
        )
        for (const e of r.errors) notice?.(`could not stop ${e}`)
      })
    )
  }

  private async progress(slots: Slot[], startAtMs: number, results: Set<string>): Promise<FleetProgress> {
    const keys = runKeys(runPrefix(slots[0]?.spec.runId ?? ''))
    // Each live window is handed on once: a task whose document is not read again adds none.
    for (const s of slots) if (s.progress) s.progress = { ...s.progress, live: [] }
    await eachLimit(
      slots.filter(s => !results.has(s.key) || !s.finalRead),
      16,
      async s => {
        if (results.has(s.key)) s.finalRead = true
        this.count('s3:GetObject')
        const doc = await this.o.objects.getJson<PublishedProgress>(keys.progress(s.key)).catch(() => null)
        if (!doc || typeof doc.requests !== 'number') return
        const seen = s.liveUpToS ?? Number.NEGATIVE_INFINITY
        const fresh = (Array.isArray(doc.windows) ? doc.windows : []).filter(w => w.elapsedS > seen)
        if (fresh.length) s.liveUpToS = fresh[fresh.length - 1].elapsedS
        s.progress = {
          region: s.region,
          taskIndex: s.spec.taskIndex,
          elapsedS: doc.elapsedS,
          requests: doc.requests,
          failures: doc.failures,
          rps: doc.rps,
          live: fresh
        }
      }
    )
    const tasks = slots.map(s => s.progress).filter((p): p is TaskProgress => !!p)
    return {
      elapsedS: Math.max(0, (this.now() - startAtMs) / 1000),
      requests: tasks.reduce((a, p) => a + p.requests, 0),
      failures: tasks.reduce((a, p) => a + p.failures, 0),
      rps: tasks.reduce((a, p) => a + p.rps, 0),
      reporting: tasks.length,
      finished: slots.filter(s => results.has(s.key) || s.task?.lastStatus === 'STOPPED').length,
      total: slots.length,
      tasks
    }
  }
}

/** One line per region: task states, live requests per second and errors. */
export function regionLines(p: FleetProgress, slots: readonly { region: string; task?: Task }[]): string[] {
  const regions = [...new Set(slots.map(s => s.region))]
  return regions.map(region => {
    const states: Record<string, number> = {}
    for (const s of slots)
      if (s.region === region) {
        const st = (s.task?.lastStatus ?? 'PENDING').toLowerCase()
        states[st] = (states[st] ?? 0) + 1
      }
    const mine = p.tasks.filter(t => t.region === region)
    const rps = mine.reduce((a, t) => a + t.rps, 0)
    const req = mine.reduce((a, t) => a + t.requests, 0)
    const fail = mine.reduce((a, t) => a + t.failures, 0)
    const st = Object.entries(states)
      .map(([k, n]) => `${n} ${k}`)
      .join(', ')
    return `${region}: ${st}; ${Math.round(rps)} req/s, ${req} requests, ${fail} errors (${req ? ((100 * fail) / req).toFixed(2) : '0.00'}%) at ${Math.round(p.elapsedS)} s`
  })
}
