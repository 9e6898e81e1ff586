/**
 * The runner inside a Fargate task. The action starts the task with its S3 coordinates in the
 * environment (REMOTE_ENV); the task then:
 *
 * 1. reads its envelope (`tasks/<key>.json`) and unpacks the run's script bundle, if any;
 * 2. writes `ready/<key>.json` and waits for `go.json`, which names the common start time;
 * 3. runs the task like a local runner, publishing its latest progress line every few seconds;
 * 4. stops itself when `abort.json` appears, when the action's heartbeat is older than
 *    HEARTBEAT_STALE_MS (the action is gone), when go never comes, or on SIGTERM/SIGINT (StopTask);
 * 5. always writes `results/<key>.json`, with whatever it recorded.
 */
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve, sep } from 'node:path'
import { S3Client } from '@aws-sdk/client-s3'
import type { TaskResult } from '../results/model.js'
import {
  ProgressPublication,
  REMOTE_ENV,
  RunObjects,
  ecsTaskId,
  runKeys,
  type TaskEnvelope
} from './objects.js'
import { runTask, type RunnerDeps } from './runner.js'
import { parseTaskSpec, type TaskSpec } from './spec.js'
import { timingOverrides } from '../util/timing.js'
import { sleep, errorMessage } from '../util/index.js'
import { withHttpLimits } from '../util/aws-http.js'

export const HEARTBEAT_STALE_MS = 120_000

/** Environment variable with RemoteTiming overrides as JSON, e.g. {"progressMs": 1000}. */
export const REMOTE_TIMING_ENV = 'PERF_GATE_REMOTE_TIMING'

export interface RemoteTiming {
  /** How often go.json is polled while waiting. */
  pollMs: number
  /** How long a ready task waits for go.json before it gives up. */
  goTimeoutMs: number
  /** How often the heartbeat and abort.json are checked during the run. */
  watchMs: number
  /** How often the latest progress line is published. */
  progressMs: number
  heartbeatStaleMs: number
}

export const DEFAULT_TIMING: RemoteTiming = {
  pollMs: 500,
  goTimeoutMs: 15 * 60_000,
  watchMs: 5000,
  progressMs: 5000,
  heartbeatStaleMs: HEARTBEAT_STALE_MS
}

export interface RemoteDeps {
  objects: RunObjects
  prefix: string
  /** The task key, or how to learn it: the ECS task id whose assign/ object names it. */
  key: string | { ecsTaskId: string }
  env: NodeJS.ProcessEnv
  signal: AbortSignal
  timing?: Partial<RemoteTiming>
  now?: () => number
  log?: (line: string) => void
  /** Runs the task (default: runTask). */
  run?: (spec: unknown, deps: RunnerDeps) => Promise<TaskResult>
}

/** Retries a small S3 call a few times (the SDK retries too; this covers longer 503 bursts). */
async function retrying<T>(fn: () => Promise<T>, signal: AbortSignal, attempts = 8): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn()
    } catch (e) {
      if (i + 1 >= attempts) throw e
      await sleep(Math.min(8000, 250 * 2 ** i) * (0.5 + Math.random() / 2), signal)
    }
  }
}

function untar(archive: string, dir: string): Promise<void> {
  return new Promise((ok, fail) => {
    const p = spawn('tar', ['-xzf', archive, '-C', dir], { stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    p.stderr.on('data', (d: Buffer) => (err += d.toString()))
    p.on('error', fail)
    p.on('exit', code => (code === 0 ? ok() : fail(new Error(`tar exited ${code}: ${err.trim()}`))))
  })
}

/** One remote task's run: its settings, its S3 objects, its scratch directory and its stop signal. */
interface RemoteRun {
  deps: RemoteDeps
  t: RemoteTiming
  now: () => number
  log: (line: string) => void
  keys: ReturnType<typeof runKeys>
  objects: RunObjects
  /** Aborting it stops the wait for the start, or the engine. */
  stop: AbortController
  work: string
}

/** The task key the action assigned to ECS task `id` (polled until the go timeout). */
async function assignedKey(run: RemoteRun, id: string): Promise<string> {
  const { objects, keys, t, now, stop } = run
  const until = now() + t.goTimeoutMs
  while (!stop.signal.aborted && now() < until) {
    const a = await objects.getJson<{ key?: string }>(keys.assign(id)).catch(() => null)
    if (a && typeof a.key === 'string') return a.key
    await sleep(t.pollMs, stop.signal)
  }
  throw new Error(`no task key assigned to ECS task ${id}`)
}

/** Unpacks the run's script bundle into the work directory and points the spec's script into it. */
async function unpackBundle(run: RemoteRun, spec: Record<string, unknown>): Promise<void> {
  const { objects, keys, work } = run
  const bytes = await retrying(async () => {
    const b = await objects.getBytes(keys.bundle)
    if (!b) throw new Error(`no script bundle at ${keys.bundle}`)
    return b
  }, run.stop.signal)
  const archive = join(work, 'bundle.tgz')
  const dir = join(work, 'bundle')
  await writeFile(archive, bytes)
  await mkdir(dir)
  await untar(archive, dir)
  if (typeof spec.script === 'string') {
    const script = resolve(dir, spec.script)
    if (!script.startsWith(dir + sep)) throw new Error(`script ${spec.script} lies outside its bundle`)
    spec.script = script
  }
}

/** The task's spec from its envelope, with its bundle unpacked and its result going to the work directory. */
async function fetchSpec(run: RemoteRun, key: string): Promise<TaskSpec> {
  const { objects, keys } = run
  const envelope = await retrying(async () => {
    const doc = await objects.getJson<TaskEnvelope>(keys.task(key))
    if (!doc) throw new Error(`no task envelope at ${keys.task(key)}`)
    return doc
  }, run.stop.signal)
  const spec = { ...envelope.spec } as Record<string, unknown>
  if (envelope.bundle) await unpackBundle(run, spec)
  spec.out = join(run.work, 'result.json')
  delete spec.progress
  return parseTaskSpec(spec, keys.task(key))
}

/**
 * Writes ready/<key>.json and waits for go.json; returns its start time. When abort.json appears,
 * the action is gone or go never comes, stops the run (the engine then never starts) and returns null.
 */
async function awaitGo(run: RemoteRun, key: string): Promise<number | null> {
  const { objects, keys, t, now, stop } = run
  await retrying(() => objects.putJson(keys.ready(key), { atMs: now(), key }), stop.signal)
  run.log(`perf-gate runner: ${key} ready; waiting for the start signal`)
  const waitUntil = now() + t.goTimeoutMs
  let reason = ''
  while (!stop.signal.aborted) {
    const go = await objects.getJson<{ startAtMs?: number }>(keys.go).catch(() => null)
    if (go && typeof go.startAtMs === 'number') return go.startAtMs
    if (await objects.getJson(keys.abort).catch(() => null)) {
      reason = 'the run was aborted before it started'
      break
    }
    if (now() > waitUntil) {
      reason = `no start signal within ${Math.round(t.goTimeoutMs / 1000)} s`
      break
    }
    await sleep(t.pollMs, stop.signal)
  }
  stop.abort(reason || 'stopped before the start')
  return null
}

/**
 * During the run: stops it when abort.json appears or the action's heartbeat goes stale (checked
 * every watchMs), and publishes the latest progress line every progressMs.
 */
class RunWatch {
  readonly publication = new ProgressPublication()
  private readonly timers: NodeJS.Timeout[] = []

  constructor(
    private readonly run: RemoteRun,
    private readonly key: string
  ) {}

  start(): void {
    this.timers.push(setInterval(() => void this.check(), this.run.t.watchMs))
    this.timers.push(setInterval(() => void this.publish(), this.run.t.progressMs))
  }

  stop(): void {
    for (const tm of this.timers) clearInterval(tm)
  }

  /** Publishes the progress lines gathered since the last publication, if any. */
  async publish(): Promise<void> {
    const doc = this.publication.take()
    if (doc) await this.run.objects.putJson(this.run.keys.progress(this.key), doc).catch(() => undefined)
  }

  private async check(): Promise<void> {
    const { objects, keys, now, t, stop } = this.run
    const abort = await objects.getJson<{ reason?: string }>(keys.abort).catch(() => null)
    if (abort) return stop.abort(`aborted by the action: ${abort.reason ?? 'no reason given'}`)
    const hb = await objects.getJson<{ atMs?: number }>(keys.heartbeat).catch(() => undefined)
    if (hb === undefined) return
    const at = hb?.atMs ?? 0
    if (now() - at > t.heartbeatStaleMs)
      stop.abort(`the action's heartbeat is ${Math.round((now() - at) / 1000)} s old`)
  }
}

/** Runs the task under watch and writes results/<key>.json; returns the exit code. */
async function runAndReport(
  run: RemoteRun,
  key: string,
  spec: TaskSpec,
  startAtMs: number | null
): Promise<number> {
  const { deps, objects, keys, now } = run
  const watch = new RunWatch(run, key)
  watch.start()
  try {
    const result = await (deps.run ?? runTask)(
      { ...spec, startAtMs: startAtMs ?? now() },
      { env: deps.env, signal: run.stop.signal, onProgress: line => watch.publication.add(line) }
    )
    watch.stop()
    await watch.publish()
    await retrying(() => objects.putJson(keys.result(key), result), new AbortController().signal, 10)
    const status = result.task.status
    run.log(`perf-gate runner: ${key} ${status}${result.task.message ? ` (${result.task.message})` : ''}`)
    return status === 'ok' ? 0 : 1
  } finally {
    watch.stop()
  }
}

/** Runs one remote task; returns the process exit code (0 when the task result is ok). */
export async function runRemoteTask(deps: RemoteDeps): Promise<number> {
  const stop = new AbortController()
  const onOuter = () => stop.abort(deps.signal.reason ?? 'SIGTERM')
  deps.signal.addEventListener('abort', onOuter, { once: true })
  const run: RemoteRun = {
    deps,
    t: { ...DEFAULT_TIMING, ...deps.timing },
    now: deps.now ?? Date.now,
    log: deps.log ?? (() => undefined),
    keys: runKeys(deps.prefix),
    objects: deps.objects,
    stop,
    work: await mkdtemp(join(tmpdir(), 'perf-gate-remote-'))
  }
  try {
    const key = typeof deps.key === 'string' ? deps.key : await assignedKey(run, deps.key.ecsTaskId)
    const spec = await fetchSpec(run, key)
    const startAtMs = await awaitGo(run, key)
    return await runAndReport(run, key, spec, startAtMs)
  } finally {
    deps.signal.removeEventListener('abort', onOuter)
    await rm(run.work, { recursive: true, force: true }).catch(() => undefined)
  }
}

/** Whether the environment describes a remote (Fargate) task. */
export function isRemoteTask(env: NodeJS.ProcessEnv): boolean {
  return !!env[REMOTE_ENV.Bucket] && !!env[REMOTE_ENV.RunPrefix]
}

/** This task's ARN, from the ECS task metadata endpoint (v4). */
export async function ownTaskArn(env: NodeJS.ProcessEnv): Promise<string> {
  const base = env.ECS_CONTAINER_METADATA_URI_V4
  if (!base) throw new Error(`neither ${REMOTE_ENV.TaskKey} nor ECS_CONTAINER_METADATA_URI_V4 is set`)
  for (let i = 0; ; i++) {
    try {
      const res = await fetch(`${base}/task`, { signal: AbortSignal.timeout(5000) })
      if (!res.ok) throw new Error(`HTTP ${res.status}`)
      const doc = (await res.json()) as { TaskARN?: string }
      if (!doc.TaskARN) throw new Error('no TaskARN in the task metadata')
      return doc.TaskARN
    } catch (e) {
      if (i >= 4) throw new Error(`cannot read the ECS task metadata: ${errorMessage(e)}`)
      await new Promise(r => setTimeout(r, 500 * 2 ** i))
    }
  }
}

/** The entry of a remote task: builds the S3 client from the environment and runs the task. */
export async function remoteMain(
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
  log: (l: string) => void
): Promise<number> {
  const prefix = env[REMOTE_ENV.RunPrefix]
  if (!prefix) {
    log(`perf-gate runner: ${REMOTE_ENV.RunPrefix} is not set`)
    return 2
  }
  const client = new S3Client(
    withHttpLimits({
      region: env[REMOTE_ENV.BucketRegion] || env.AWS_REGION || 'us-east-1',
      forcePathStyle: env[REMOTE_ENV.PathStyle] === '1'
    })
  )
  const objects = new RunObjects(client, env[REMOTE_ENV.Bucket]!)
  let key: RemoteDeps['key']
  try {
    key = env[REMOTE_ENV.TaskKey] || { ecsTaskId: ecsTaskId(await ownTaskArn(env)) }
  } catch (e) {
    log(`perf-gate runner: ${errorMessage(e)}`)
    return 1
  }
  try {
    const timing = timingOverrides(env, REMOTE_TIMING_ENV, DEFAULT_TIMING)
    return await runRemoteTask({ objects, prefix, key, env, signal, log, timing })
  } catch (e) {
    const message = errorMessage(e)
    log(`perf-gate runner: ${message}`)
    const name = typeof key === 'string' ? key : key.ecsTaskId
    await objects.putJson(runKeys(prefix).failure(name), { key: name, message }).catch(() => undefined)
    return 1
  } finally {
    client.destroy()
  }
}
