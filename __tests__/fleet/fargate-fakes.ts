/**
 * In-memory stand-ins for a Fargate run: a fake clock whose sleep advances it, a bucket in memory,
 * and a simulated ECS whose tasks behave like runners on S3 (read assign/, write ready/, wait for
 * go.json, publish progress, write a result, stop on abort.json). The simulation advances whenever
 * the clock does, so a whole run takes no real time.
 */
import {
  DescribeTasksCommand,
  RunTaskCommand,
  StopTaskCommand,
  type ECSClient,
  type Task
} from '@aws-sdk/client-ecs'
import type { RegionTarget } from '../../src/fleet/aws/discovery.js'
import { defaultTaskMeta } from '../../src/results/model.js'
import { TaskRecorder } from '../../src/results/recorder.js'
import { ecsTaskId, runKeys, runPrefix } from '../../src/runner/objects.js'
import { TASK_SPEC_VERSION, type TaskSpec } from '../../src/runner/spec.js'
import { FargateFleet } from '../../src/fleet/fargate.js'
import { DEFAULT_FARGATE_TIMING, type FargateTiming } from '../../src/fleet/fargate/timing.js'
import type { PhaseContext } from '../../src/fleet/fargate/context.js'
import type { ObjectStore, TaskControl } from '../../src/fleet/fargate/ports.js'
import type { LaunchRequest, LaunchResult } from '../../src/fleet/aws/ecs.js'
import type { FleetOutcome } from '../../src/fleet/types.js'
import type { FleetProgress } from '../../src/model/index.js'

export const T0 = 1_800_000_000_000

/** A clock that only moves when something sleeps on it; `onSleep` runs after every move. */
export class FakeClock {
  ms = T0
  readonly sleeps: number[] = []
  onSleep: () => void | Promise<void> = () => undefined
  now = (): number => this.ms
  sleep = async (ms: number): Promise<void> => {
    this.sleeps.push(ms)
    this.ms += ms
    await this.onSleep()
  }
}

/** A bucket in memory with the calls RunObjects offers; `writes` records every key put, in order. */
export class MemoryStore implements ObjectStore {
  readonly objects = new Map<string, string | Uint8Array>()
  readonly writes: string[] = []
  /** Keys whose reads throw (an unreadable object). */
  readonly broken = new Set<string>()
  constructor(readonly bucket = 'fake-bucket') {}
  async put(key: string, body: Uint8Array | string): Promise<void> {
    this.writes.push(key)
    this.objects.set(key, body)
  }
  async putJson(key: string, doc: unknown): Promise<void> {
    await this.put(key, JSON.stringify(doc))
  }
  async getJson<T = unknown>(key: string): Promise<T | null> {
    if (this.broken.has(key)) throw new Error(`${key}: access denied`)
    const body = this.objects.get(key)
    if (body === undefined) return null
    return JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8')) as T
  }
  async list(prefix: string): Promise<string[]> {
    return [...this.objects.keys()].filter(k => k.startsWith(prefix)).sort()
  }
  /** The stored document at `key` (parsed JSON), or undefined. */
  doc<T = unknown>(key: string): T | undefined {
    const body = this.objects.get(key)
    return body === undefined || typeof body !== 'string' ? undefined : (JSON.parse(body) as T)
  }
}

/** How one simulated task behaves. */
export interface TaskScript {
  /** ms from RunTask to RUNNING (default 0); Infinity keeps it PROVISIONING. */
  startMs?: number
  /** Stops with exit code 1 instead of becoming ready. */
  crashBeforeReady?: boolean
  /** Writes failed/<key> with this message instead of becoming ready, then stops. */
  failToStart?: string
  /** Keeps running without a result until stopped. */
  hang?: boolean
  /** Requests and failures per second of load, published as progress. */
  rps?: number
  failuresPerS?: number
}

export interface FakeTask {
  arn: string
  region: string
  launchedMs: number
  script: TaskScript
  status: 'PROVISIONING' | 'RUNNING' | 'STOPPED'
  key?: string
  ready?: boolean
  exitCode?: number
  stoppedReason?: string
  /** Whether the fleet stopped it (StopTask). */
  stoppedByFleet?: boolean
}

/** A small, valid task result for `key`'s region and task index. */
export function resultDoc(region: string, taskIndex: number, startedMs: number, endedMs: number): unknown {
  const rec = new TaskRecorder({ intervalMs: 1000 })
  for (let i = 0; i < 20; i++)
    rec.sample({ label: 'GET /', endMs: startedMs + i * 50, latencyUs: 2000 + i * 100 })
  return rec.finish(
    defaultTaskMeta({
      engine: 'http',
      status: 'ok',
      backend: 'fargate',
      region,
      taskIndex,
      startedMs,
      endedMs
    })
  )
}

export function target(region: string): RegionTarget {
  return {
    region,
    cluster: `cluster-${region}`,
    taskDefinition: `arn:aws:ecs:${region}:1:task-definition/runner:1`,
    container: 'runner',
    subnets: ['subnet-1'],
    securityGroups: ['sg-1'],
    assignPublicIp: 'ENABLED',
    bucket: 'fake-bucket'
  }
}

export function specs(runId: string, regions: readonly string[], durationS = 10): TaskSpec[] {
  return regions.map((region, i) => ({
    version: TASK_SPEC_VERSION,
    runId,
    scenario: 'fake',
    fingerprint: 'f',
    backend: 'fargate',
    region,
    taskIndex: i,
    taskCount: regions.length,
    engine: 'http',
    requests: [{ path: '/' }],
    load: { vus: 1, durationS, rampUpS: 0, targetUrl: 'http://127.0.0.1:1' },
    share: { vus: 1 },
    startAtMs: null,
    hardMaxS: durationS + 15,
    intervalMs: 1000,
    steady: null,
    tags: {},
    env: {},
    out: 'unused'
  }))
}

/** ECS's view of a simulated task. */
export function ecsTask(t: FakeTask): Task {
  return {
    taskArn: t.arn,
    lastStatus: t.status,
    ...(t.stoppedReason ? { stoppedReason: t.stoppedReason } : {}),
    containers: t.exitCode !== undefined ? [{ exitCode: t.exitCode }] : []
  }
}

/**
 * Simulated tasks on a run's objects. `launch` starts tasks, `tick` moves each one along at the
 * clock's time, `stop` stops one; `scripts` decides how the n-th launched task behaves.
 */
export class FakeTasks {
  readonly tasks: FakeTask[] = []
  /** Per region: the reason RunTask gives for every task it does not start. */
  readonly refuse: Record<string, string> = {}
  private readonly keys
  constructor(
    readonly store: MemoryStore,
    readonly clock: FakeClock,
    runId: string,
    readonly scripts: (n: number) => TaskScript = () => ({})
  ) {
    this.keys = runKeys(runPrefix(runId))
    clock.onSleep = () => this.tick()
  }

  byArn(arn: string): FakeTask | undefined {
    return this.tasks.find(t => t.arn === arn)
  }

  launch(region: string, count: number): { arns: string[]; failures: string[] } {
    if (this.refuse[region]) return { arns: [], failures: [this.refuse[region]] }
    const arns: string[] = []
    for (let i = 0; i < count; i++) {
      const n = this.tasks.length
      const arn = `arn:aws:ecs:${region}:1:task/cluster-${region}/task${n}`
      this.tasks.push({
        arn,
        region,
        launchedMs: this.clock.now(),
        script: this.scripts(n),
        status: 'PROVISIONING'
      })
      arns.push(arn)
    }
    return { arns, failures: [] }
  }

  stop(arn: string, reason: string): void {
    const t = this.byArn(arn)
    if (!t || t.status === 'STOPPED') return
    t.status = 'STOPPED'
    t.stoppedByFleet = true
    t.stoppedReason = reason
    t.exitCode = 143
  }

  /** Moves every task along to the clock's time. */
  async tick(): Promise<void> {
    for (const t of this.tasks) if (t.status !== 'STOPPED') await this.step(t)
  }

  private async step(t: FakeTask): Promise<void> {
    const now = this.clock.now()
    const s = t.script
    if (t.status === 'PROVISIONING') {
      if (now - t.launchedMs < (s.startMs ?? 0)) return
      if (s.crashBeforeReady) {
        Object.assign(t, {
          status: 'STOPPED',
          exitCode: 1,
          stoppedReason: 'Essential container in task exited'
        })
        return
      }
      t.status = 'RUNNING'
    }
    if (!t.key) {
      t.key = (await this.store.getJson<{ key: string }>(this.keys.assign(ecsTaskId(t.arn))))?.key
      if (!t.key) return
      if (s.failToStart) {
        await this.store.putJson(this.keys.failure(t.key), { message: s.failToStart })
        Object.assign(t, { status: 'STOPPED', exitCode: 1 })
        return
      }
      await this.store.putJson(this.keys.ready(t.key), { atMs: now })
      t.ready = true
    }
    const go = this.store.doc<{ startAtMs: number; tasks: string[] }>(this.keys.go)
    const abort = this.store.doc(this.keys.abort)
    if (!go?.tasks.includes(t.key)) {
      if (abort !== undefined && !s.hang) Object.assign(t, { status: 'STOPPED', exitCode: 0 })
      return
    }
    if (now < go.startAtMs) return
    const elapsedS = (now - go.startAtMs) / 1000
    const rps = s.rps ?? 10
    await this.store.putJson(this.keys.progress(t.key), {
      elapsedS,
      requests: Math.round(rps * elapsedS),
      failures: Math.round((s.failuresPerS ?? 0) * elapsedS),
      rps,
      windows: [{ elapsedS, requests: rps, failures: 0, sumUs: 1000, hist: '' }]
    })
    const index = Number(t.key.split('-').pop())
    const durationMs = 10_000
    if (!s.hang && (abort !== undefined || now >= go.startAtMs + durationMs)) {
      await this.store.putJson(this.keys.result(t.key), resultDoc(t.region, index, go.startAtMs, now))
      Object.assign(t, { status: 'STOPPED', exitCode: 0 })
    }
  }
}

/**
 * An ECS client over FakeTasks for one region (RunTask, DescribeTasks, StopTask), recording every
 * command as `<Command> <region>`.
 */
export function fakeEcsClient(tasks: FakeTasks, region: string, log: string[]): ECSClient {
  const send = async (cmd: unknown): Promise<unknown> => {
    if (cmd instanceof RunTaskCommand) {
      log.push(`RunTask ${region} ${cmd.input.count}`)
      const r = tasks.launch(region, cmd.input.count ?? 1)
      return { tasks: r.arns.map(taskArn => ({ taskArn })), failures: r.failures.map(reason => ({ reason })) }
    }
    if (cmd instanceof DescribeTasksCommand) {
      log.push(`DescribeTasks ${region} ${cmd.input.tasks?.length}`)
      const found = (cmd.input.tasks ?? []).map(a => tasks.byArn(a)).filter((t): t is FakeTask => !!t)
      return { tasks: found.map(ecsTask) }
    }
    if (cmd instanceof StopTaskCommand) {
      log.push(`StopTask ${region} ${cmd.input.reason}`)
      tasks.stop(cmd.input.task ?? '', cmd.input.reason ?? '')
      return {}
    }
    throw new Error(`unexpected command ${String(cmd)}`)
  }
  return { send } as unknown as ECSClient
}

/** What a whole simulated run did, for assertions. */
export interface SimulatedRun {
  outcome: FleetOutcome
  notices: string[]
  progress: FleetProgress[]
  ecsLog: string[]
  calls: Record<string, number>
  tasks: FakeTask[]
  store: MemoryStore
  clock: FakeClock
  launched: Record<string, string[]>[]
}

export interface SimulationOptions {
  regions?: string[]
  scripts?: (n: number) => TaskScript
  minTaskSuccess?: number
  abortOn?: (p: FleetProgress) => string | null
  timing?: Partial<FargateTiming>
  /** Called at every clock move with the run so far; may abort the hooks' controllers. */
  onTick?: (at: { elapsedMs: number; tasks: FakeTasks }) => void
  stop?: AbortController
  signal?: AbortController
  refuse?: Record<string, string>
}

/** Runs a FargateFleet on the fakes, start to finish. */
export async function simulateRun(o: SimulationOptions = {}): Promise<SimulatedRun> {
  const runId = 'sim-run'
  const regions = o.regions ?? ['us-east-1', 'us-east-1', 'eu-west-1']
  const clock = new FakeClock()
  const store = new MemoryStore()
  const tasks = new FakeTasks(store, clock, runId, o.scripts)
  Object.assign(tasks.refuse, o.refuse)
  const tick = clock.onSleep
  clock.onSleep = async () => {
    o.onTick?.({ elapsedMs: clock.ms - T0, tasks })
    await tick()
  }
  const ecsLog: string[] = []
  const launched: Record<string, string[]>[] = []
  const clients = new Map<string, ECSClient>()
  const fleet = new FargateFleet({
    targets: [...new Set(regions)].map(target),
    ecs: region =>
      clients.get(region) ?? clients.set(region, fakeEcsClient(tasks, region, ecsLog)).get(region)!,
    objects: store,
    bucketRegion: 'us-east-1',
    spot: false,
    startedBy: 'perf-gate-sim',
    minTaskSuccess: o.minTaskSuccess,
    abortOn: o.abortOn,
    onLaunched: l => launched.push(structuredClone(l)),
    timing: o.timing,
    sleep: clock.sleep,
    now: clock.now
  })
  const notices: string[] = []
  const progress: FleetProgress[] = []
  const plan = { runId, tasks: specs(runId, regions), expectedTasks: regions.length }
  const outcome = await fleet.run(plan, {
    onNotice: m => notices.push(m),
    onProgress: p => progress.push(p),
    stop: o.stop?.signal,
    signal: o.signal?.signal
  })
  return {
    outcome,
    notices,
    progress,
    ecsLog,
    calls: fleet.calls,
    tasks: tasks.tasks,
    store,
    clock,
    launched
  }
}

/** TaskControl over FakeTasks, recording every call as `<op> <region> <detail>`. */
export class RecordingTaskControl implements TaskControl {
  readonly calls: string[] = []
  readonly requests: LaunchRequest[] = []
  /** Errors StopTask reports, by ARN. */
  readonly stopErrors = new Map<string, string>()
  constructor(readonly tasks: FakeTasks) {}
  async launch(
    region: string,
    req: LaunchRequest,
    opts: { onStarted: (arns: string[]) => void }
  ): Promise<LaunchResult> {
    this.calls.push(`launch ${region} ${req.count}`)
    this.requests.push(req)
    const r = this.tasks.launch(region, req.count)
    if (r.arns.length) opts.onStarted(r.arns)
    return r
  }
  async describe(region: string, arns: readonly string[]): Promise<Task[]> {
    this.calls.push(`describe ${region} ${arns.length}`)
    return arns
      .map(a => this.tasks.byArn(a))
      .filter((t): t is FakeTask => !!t)
      .map(ecsTask)
  }
  async stop(region: string, arns: readonly string[], reason: string): Promise<{ errors: string[] }> {
    this.calls.push(`stop ${region} ${arns.length} ${reason}`)
    const errors: string[] = []
    for (const a of arns) {
      const e = this.stopErrors.get(a)
      if (e) errors.push(`${a}: ${e}`)
      else this.tasks.stop(a, reason)
    }
    return { errors }
  }
}

/** A phase context on the fakes; `notices` and `counts` record what the phases said and did. */
export function fakeContext(
  runId: string,
  scripts?: (n: number) => TaskScript,
  timing: Partial<FargateTiming> = {}
): {
  ctx: PhaseContext
  clock: FakeClock
  store: MemoryStore
  tasks: FakeTasks
  ecs: RecordingTaskControl
  notices: string[]
  counts: Record<string, number>
} {
  const clock = new FakeClock()
  const store = new MemoryStore()
  const tasks = new FakeTasks(store, clock, runId, scripts)
  const ecs = new RecordingTaskControl(tasks)
  const notices: string[] = []
  const counts: Record<string, number> = {}
  const ctx: PhaseContext = {
    store,
    ecs,
    clock,
    keys: runKeys(runPrefix(runId)),
    timing: { ...DEFAULT_FARGATE_TIMING, ...timing },
    count: (op, n = 1) => void (counts[op] = (counts[op] ?? 0) + n),
    notice: m => void notices.push(m)
  }
  return { ctx, clock, store, tasks, ecs, notices, counts }
}
