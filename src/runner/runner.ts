/**
 * The runner: one process runs one task and writes exactly one task result.
 *
 * `runTask` validates the spec, waits for the start barrier, runs the engine (a child process in
 * its own process group, or the in-process http engine), streams its samples through the engine's
 * parser into a bounded-memory TaskRecorder, and always writes a result to `spec.out`, also when
 * the engine is missing, crashes, produces nothing, hits the hard maximum or is aborted. Its
 * status says which:
 *
 * - ok: the engine ran to completion and produced samples;
 * - no-samples: it ran to completion but produced none (e.g. JMeter 2.13 exits 0 when the plan
 *   fails to load);
 * - engine-error: it could not start, crashed or exited with an unexpected code (exit code,
 *   message and the tail of its stderr/stdout are kept);
 * - timeout: the hard maximum stopped it (SIGTERM to its process group, SIGKILL after a grace);
 * - aborted: the runner was told to stop (SIGINT/SIGTERM) and stopped the engine the same way.
 */
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { getEngine } from '../engines/index.js'
import type { Engine, EngineRunContext } from '../engines/types.js'
import { defaultTaskMeta, type TaskMeta, type TaskResult } from '../results/model.js'
import { TaskRecorder } from '../results/recorder.js'
import { abortReason, type EngineOutcome, type RunEnv } from './engine-run.js'
import { runInProcessEngine } from './in-process-engine.js'
import { runProcessEngine } from './process-engine.js'
import { Progress, type ProgressLine } from './progress.js'
import { loadTaskSpec, parseTaskSpec, type TaskSpec, type TaskSpecInput } from './spec.js'
import { sleep as realSleep, errorMessage } from '../util/index.js'

export interface RunnerDeps {
  /** Wall clock, epoch ms. */
  now?: () => number
  /** Waits `ms` or until the signal aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>
  /** Environment for the engine (binary overrides, PATH); default process.env. */
  env?: NodeJS.ProcessEnv
  /** The engine to run instead of the registry's `getEngine(spec.engine)`. */
  engine?: Engine
  /** Aborting it stops the engine; the result then has status 'aborted'. */
  signal?: AbortSignal
  /** ms between SIGTERM and SIGKILL when stopping an engine. Default 3000. */
  killGraceMs?: number
  /** Bytes of stderr (and of stdout) kept for the result. Default 8192. */
  tailBytes?: number
  /** ms between progress lines. Default 1000. */
  progressEveryMs?: number
  /** Called when a process engine has started. */
  onEngineStart?: (info: { pid: number | undefined }) => void
  /** Called with every progress line (as written to `spec.progress`, which may be unset). */
  onProgress?: (line: ProgressLine) => void
}

/** How long a version probe may delay the start (without a barrier), and the result at the end. */
const VERSION_WAIT_BEFORE_MS = 15_000
const VERSION_WAIT_AFTER_MS = 5_000

/** `p`'s value, or `fallback` after `ms` (or on abort); the timer does not outlive the race. */
async function within<T>(p: Promise<T>, ms: number, fallback: T, signal?: AbortSignal): Promise<T> {
  const stop = new AbortController()
  const onAbort = () => stop.abort()
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    return await Promise.race([p, realSleep(ms, stop.signal).then(() => fallback)])
  } finally {
    stop.abort()
    signal?.removeEventListener('abort', onAbort)
  }
}

async function writeResult(file: string, result: TaskResult): Promise<void> {
  await mkdir(dirname(file), { recursive: true })
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`)
  await writeFile(tmp, JSON.stringify(result) + '\n')
  await rename(tmp, file)
}

async function waitUntil(
  atMs: number,
  now: () => number,
  sleep: NonNullable<RunnerDeps['sleep']>,
  signal: AbortSignal
) {
  for (;;) {
    const d = atMs - now()
    if (d <= 0 || signal.aborted) return
    await sleep(Math.min(d, 60_000), signal)
  }
}

/** The run environment of a task, before its engine starts; the outcome starts as engine-error. */
function taskRunEnv(spec: TaskSpec, deps: RunnerDeps): RunEnv {
  const now = deps.now ?? Date.now
  // With a progress file or listener, each progress line also carries the latencies since the previous one.
  const recorder = new TaskRecorder({
    intervalMs: spec.intervalMs,
    live: spec.progress !== undefined || deps.onProgress !== undefined
  })
  const outcome: EngineOutcome = {
    status: 'engine-error',
    exitCode: null,
    message: '',
    stderrTail: '',
    startedMs: null,
    endedMs: null
  }
  return {
    spec,
    recorder,
    now,
    env: deps.env ?? process.env,
    signal: deps.signal ?? new AbortController().signal,
    killGraceMs: deps.killGraceMs ?? 3000,
    tailBytes: deps.tailBytes ?? 8192,
    onEngineStart: deps.onEngineStart,
    outcome,
    progress: new Progress(spec.progress, spec, recorder, now, deps.progressEveryMs ?? 1000, deps.onProgress)
  }
}

/** The engine to run, or undefined with the outcome's message saying why there is none. */
function resolveEngine(spec: TaskSpec, deps: RunnerDeps, outcome: EngineOutcome): Engine | undefined {
  let engine: Engine | undefined
  try {
    engine = deps.engine ?? getEngine(spec.engine)
  } catch (e) {
    engine = undefined
    outcome.message = errorMessage(e)
  }
  if (!engine) outcome.message ||= `engine "${spec.engine}" is not available in this build of perf-gate`
  return engine
}

/**
 * Waits for the start. With a barrier, until its time: the version probe runs during the wait and
 * never delays the start. Without one, for the version probe first, so the probe (a JVM start for
 * JMeter) does not compete with the measured run; a slow probe is not waited for long.
 */
async function awaitStart(version: Promise<string>, r: RunEnv, sleep: NonNullable<RunnerDeps['sleep']>) {
  if (r.spec.startAtMs === null) await within(version, VERSION_WAIT_BEFORE_MS, '', r.signal)
  else await waitUntil(r.spec.startAtMs, r.now, sleep, r.signal)
}

/** Runs the engine in `workDir` with progress lines; an engine that refuses the task is an engine-error. */
async function runEngineIn(engine: Engine, workDir: string, r: RunEnv): Promise<void> {
  const { spec, outcome } = r
  const ctx: EngineRunContext = {
    ...(spec.script !== undefined ? { script: spec.script } : {}),
    ...(spec.requests !== undefined ? { requests: spec.requests } : {}),
    load: spec.load,
    workDir,
    tags: spec.tags,
    env: spec.env
  }
  r.progress.start(r.now())
  try {
    if (engine.kind === 'process') await runProcessEngine(engine, ctx, r)
    else await runInProcessEngine(engine, ctx, r)
  } catch (e) {
    // engine.command() refused the task (e.g. a missing script) or the runner failed.
    outcome.status = 'engine-error'
    const msg = errorMessage(e) ?? String(e)
    outcome.message = msg.toLowerCase().includes(engine.name) ? msg : `${engine.name}: ${msg}`
    outcome.endedMs ??= outcome.startedMs !== null ? r.now() : null
  }
}

/**
 * Finds the engine, waits for the start and runs it in a fresh work directory, filling in the
 * outcome whatever happens. Returns the engine version ('' when unknown).
 */
async function runEngineStage(r: RunEnv, deps: RunnerDeps): Promise<string> {
  const { outcome, signal } = r
  let engineVersion = ''
  let workDir: string | undefined
  try {
    const engine = resolveEngine(r.spec, deps, outcome)
    if (engine) {
      const version = (engine.kind === 'process' ? engine.version(r.env) : engine.version()).catch(() => '')
      await awaitStart(version, r, deps.sleep ?? realSleep)
      if (signal.aborted) {
        outcome.status = 'aborted'
        outcome.message = `aborted (${abortReason(signal)}) before ${engine.name} started`
      } else {
        workDir = await mkdtemp(join(tmpdir(), 'perf-gate-task-'))
        await runEngineIn(engine, workDir, r)
      }
      engineVersion = await within(version, VERSION_WAIT_AFTER_MS, '')
    }
  } catch (e) {
    outcome.status = 'engine-error'
    outcome.message = `runner failed: ${errorMessage(e) ?? String(e)}`
  } finally {
    await r.progress.stop(outcome.status)
    if (workDir) await rm(workDir, { recursive: true, force: true }).catch(() => undefined)
  }
  return engineVersion
}

/** The task meta of the result: the spec's facts and the outcome. */
function taskMeta(spec: TaskSpec, outcome: EngineOutcome, engineVersion: string): TaskMeta {
  const steady =
    spec.steady && outcome.startedMs !== null
      ? {
          startMs: outcome.startedMs + spec.steady.fromS * 1000,
          endMs: outcome.startedMs + spec.steady.toS * 1000
        }
      : null
  return defaultTaskMeta({
    runId: spec.runId,
    scenario: spec.scenario,
    fingerprint: spec.fingerprint,
    engine: spec.engine,
    engineVersion,
    backend: spec.backend,
    region: spec.region,
    taskIndex: spec.taskIndex,
    taskCount: spec.taskCount,
    share: spec.share,
    plannedStartMs: spec.startAtMs,
    startedMs: outcome.startedMs,
    endedMs: outcome.endedMs,
    steady,
    status: outcome.status,
    exitCode: outcome.exitCode,
    message: outcome.message || (outcome.status === 'engine-error' ? 'engine failed without a message' : ''),
    stderrTail: outcome.stderrTail
  })
}

/**
 * Runs one task and writes its result to `spec.out` (also returned). Throws only for an invalid
 * spec (TaskSpecError) or when the result cannot be written.
 */
export async function runTask(input: TaskSpecInput, deps: RunnerDeps = {}): Promise<TaskResult> {
  const spec = parseTaskSpec(input)
  const r = taskRunEnv(spec, deps)
  const engineVersion = await runEngineStage(r, deps)
  const result = r.recorder.finish(taskMeta(spec, r.outcome, engineVersion))
  await writeResult(spec.out, result)
  return result
}

export interface MainIo {
  log(line: string): void
  error(line: string): void
}

/**
 * The runner process: reads the spec, runs the task with SIGINT/SIGTERM stopping the engine, and
 * returns the exit code: 0 when the task result is ok, 1 otherwise, 2 for a bad spec.
 */
export async function runnerMain(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: MainIo = { log: l => console.log(l), error: l => console.error(l) }
): Promise<number> {
  let spec: TaskSpec
  try {
    spec = await loadTaskSpec(args, env)
  } catch (e) {
    io.error(`perf-gate runner: ${errorMessage(e)}`)
    return 2
  }
  const ac = new AbortController()
  const onSignal = (sig: NodeJS.Signals) => {
    if (!ac.signal.aborted) io.error(`perf-gate runner: ${sig} received; stopping the engine`)
    ac.abort(sig)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    const result = await runTask(spec, { signal: ac.signal, env })
    const t = result.task
    let requests = 0
    for (const s of Object.values(result.labels)) for (const n of s.requests) requests += n
    io.log(
      `perf-gate runner: task ${t.region}/${t.taskIndex} ${t.status}, ${requests} requests` +
        (t.message ? ` (${t.message})` : '') +
        ` -> ${spec.out}`
    )
    return t.status === 'ok' ? 0 : 1
  } catch (e) {
    io.error(`perf-gate runner: ${errorMessage(e)}`)
    return 1
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
