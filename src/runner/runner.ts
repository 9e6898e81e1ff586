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
import { spawn, type ChildProcess } from 'node:child_process'
import { appendFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import type { Readable } from 'node:stream'
import { getEngine } from '../engines/index.js'
import type {
  Engine,
  EngineRunContext,
  InProcessEngine,
  ProcessEngine,
  StreamParser
} from '../engines/types.js'
import type { SampleSink } from '../model/index.js'
import { defaultTaskMeta, type TaskResult, type TaskStatus } from '../results/model.js'
import { TaskRecorder, type LiveWindow } from '../results/recorder.js'
import { engineEnvironment } from './engine-env.js'
import { followFile, type FileFollower } from './follow.js'
import { openSamplePipe } from './sample-pipe.js'
import { taskSpecSchema, type TaskSpec } from './spec.js'
import type { z } from 'zod'
import { fieldPath, sleep as realSleep, errorMessage } from '../util/index.js'

export type TaskSpecInput = z.input<typeof taskSpecSchema>

/** Environment variable holding the task spec (JSON) when no spec file is given. */
export const TASK_SPEC_ENV = 'PERF_GATE_TASK_SPEC'

export class TaskSpecError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'TaskSpecError'
  }
}

/** Validates a task spec; the error names the first bad field. */
export function parseTaskSpec(input: unknown, source = 'task spec'): TaskSpec {
  const r = taskSpecSchema.safeParse(input)
  if (r.success) return r.data
  const issue = r.error.issues[0]
  const field = fieldPath(issue?.path ?? [])
  throw new TaskSpecError(
    field
      ? `${source}: field '${field}': ${issue?.message ?? 'invalid'}`
      : `${source}: ${issue?.message ?? 'invalid'}`
  )
}

/** Keeps the last `limit` bytes of a stream. */
export class TailBuffer {
  private chunks: Buffer[] = []
  private size = 0

  constructor(readonly limit = 8192) {}

  push(chunk: Buffer | string): void {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    if (b.length >= this.limit) {
      this.chunks = [Buffer.from(b.subarray(b.length - this.limit))]
      this.size = this.limit
      return
    }
    this.chunks.push(b)
    this.size += b.length
    while (this.chunks.length > 1 && this.size - this.chunks[0].length >= this.limit)
      this.size -= this.chunks.shift()!.length
  }

  toString(): string {
    let buf = Buffer.concat(this.chunks)
    if (buf.length > this.limit) buf = buf.subarray(buf.length - this.limit)
    // Skip UTF-8 continuation bytes at a cut.
    let i = 0
    while (i < buf.length && i < 4 && (buf[i] & 0xc0) === 0x80) i++
    return buf.subarray(i).toString('utf8')
  }
}

function lastLine(text: string): string {
  const lines = text.split('\n').map(l => l.trim())
  for (let i = lines.length - 1; i >= 0; i--) if (lines[i]) return lines[i].slice(0, 300)
  return ''
}

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

/** One progress line: what the task has done so far. */
export interface ProgressLine {
  t: number
  taskIndex: number
  region: string
  elapsedS: number
  requests: number
  failures: number
  rps: number
  enginePid?: number
  status?: TaskStatus
  /** Requests and latency since the previous line (for live SLO checks). */
  live?: LiveWindow | null
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

interface Outcome {
  status: TaskStatus
  exitCode: number | null
  message: string
  stderrTail: string
  startedMs: number | null
  endedMs: number | null
}

interface RunEnv {
  spec: TaskSpec
  recorder: TaskRecorder
  now: () => number
  env: NodeJS.ProcessEnv
  signal: AbortSignal
  killGraceMs: number
  tailBytes: number
  onEngineStart?: (info: { pid: number | undefined }) => void
  outcome: Outcome
  progress: Progress
}

function abortReason(signal: AbortSignal): string {
  const r: unknown = signal.reason
  if (typeof r === 'string') return r
  if (r instanceof Error && r.name !== 'AbortError') return r.message
  return 'abort'
}

/** Sends a signal to a whole process group, falling back to the leader alone. */
function killGroup(pid: number | undefined, sig: NodeJS.Signals): void {
  if (pid === undefined) return
  try {
    process.kill(-pid, sig)
  } catch {
    try {
      process.kill(pid, sig)
    } catch {
      // already gone
    }
  }
}

function spawnErrorMessage(engine: ProcessEngine, command: string, err: NodeJS.ErrnoException): string {
  if (err.code === 'ENOENT')
    return `${command} not found (set ${engine.binaryEnv}${engine.installHint ? `, or ${engine.installHint}` : ''})`
  if (err.code === 'EACCES') return `${command} is not executable (set ${engine.binaryEnv})`
  return `could not start ${command}: ${err.message}`
}

function skippedNote(parser: StreamParser): string {
  return parser.skipped > 0 ? `; ${parser.skipped} unreadable sample record(s) skipped` : ''
}

async function runProcessEngine(engine: ProcessEngine, ctx: EngineRunContext, r: RunEnv): Promise<void> {
  const { spec, recorder, outcome } = r
  const cmd = await engine.command(ctx, r.env)
  const parser = engine.createParser(recorder)
  const stderr = new TailBuffer(r.tailBytes)
  const stdout = new TailBuffer(r.tailBytes)
  let timedOut = false
  let aborted = false
  let killed = false
  let exited = false
  let killTimer: NodeJS.Timeout | undefined

  // fd 3 is a FIFO when possible: engines open it by name (/dev/fd/3), which a socket pair refuses.
  const pipe = cmd.samples.kind === 'fd3' ? openSamplePipe(ctx.workDir) : null
  outcome.startedMs = r.now()
  let child: ChildProcess
  let spawnError: NodeJS.ErrnoException | undefined
  try {
    child = spawn(cmd.command, cmd.args, {
      env: { ...engineEnvironment(r.env), ...cmd.env },
      stdio: ['ignore', 'pipe', 'pipe', pipe ? pipe.writeFd : cmd.samples.kind === 'fd3' ? 'pipe' : 'ignore'],
      detached: true
    })
  } catch (e) {
    pipe?.closeWriteEnd()
    pipe?.stream.destroy()
    outcome.startedMs = null
    parser.end()
    outcome.status = 'engine-error'
    outcome.message = spawnErrorMessage(engine, cmd.command, e as NodeJS.ErrnoException)
    return
  }
  const pid = child.pid
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(resolve => {
    // A child that could not be started reports 'error' and has no pid; later errors (a failed
    // kill) change nothing.
    child.on('error', err => {
      if (child.pid === undefined && !spawnError) {
        spawnError = err
        resolve({ code: null, signal: null })
      }
    })
    child.once('exit', (code, signal) => {
      exited = true
      resolve({ code, signal })
    })
  })
  const closed = new Promise<void>(resolve => child.once('close', () => resolve()))
  child.stdout?.on('data', (b: Buffer) => stdout.push(b))
  child.stderr?.on('data', (b: Buffer) => stderr.push(b))
  pipe?.closeWriteEnd()
  const fd3 = pipe ? pipe.stream : cmd.samples.kind === 'fd3' ? (child.stdio[3] as Readable | null) : null
  let parseError: unknown
  const push = (c: Buffer) => {
    if (parseError !== undefined) return
    try {
      parser.push(c)
    } catch (e) {
      parseError = e
    }
  }
  fd3?.on('data', push)
  const follower: FileFollower | undefined =
    cmd.samples.kind === 'file' && pid !== undefined ? followFile(cmd.samples.path, push) : undefined
  if (pid !== undefined) {
    r.progress.enginePid = pid
    r.onEngineStart?.({ pid })
  }

  const stop = () => {
    if (killed || exited || pid === undefined) return
    killed = true
    killGroup(pid, 'SIGTERM')
    killTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), r.killGraceMs)
  }
  const hardMax = setTimeout(() => {
    timedOut = true
    stop()
  }, spec.hardMaxS * 1000)
  const onAbort = () => {
    aborted = true
    stop()
  }
  if (r.signal.aborted) onAbort()
  else r.signal.addEventListener('abort', onAbort, { once: true })

  const ex = await exit
  clearTimeout(hardMax)
  r.signal.removeEventListener('abort', onAbort)
  // Whatever the engine left behind in its group goes too; then its pipes close.
  if (pid !== undefined) killGroup(pid, 'SIGKILL')
  if (killTimer) clearTimeout(killTimer)
  if (pid !== undefined) {
    let closeTimer: NodeJS.Timeout | undefined
    await Promise.race([closed, new Promise<void>(resolve => (closeTimer = setTimeout(resolve, 2000)))])
    clearTimeout(closeTimer)
  }
  await pipe?.drained(2000)
  child.stdout?.destroy()
  child.stderr?.destroy()
  fd3?.destroy()
  let followError: unknown
  try {
    await follower?.stop()
  } catch (e) {
    followError = e
  }
  try {
    parser.end()
  } catch (e) {
    parseError ??= e
  }
  if (engine.afterExit) {
    try {
      await engine.afterExit(ctx, recorder)
    } catch {
      // Extra facts from files the engine left (e.g. k6's summary) are optional.
    }
  }
  outcome.endedMs = r.now()

  const err = stderr.toString()
  const out = stdout.toString()
  outcome.stderrTail = out.trim() && err.trim() ? `${err}\n--- stdout ---\n${out}` : err.trim() ? err : out
  outcome.exitCode = ex.code
  const tailHint = lastLine(err) || lastLine(out)
  const how = ex.code !== null ? `exited with code ${ex.code}` : `was killed by ${ex.signal ?? 'a signal'}`

  if (spawnError && !exited) {
    outcome.status = 'engine-error'
    outcome.message = spawnErrorMessage(engine, cmd.command, spawnError)
    outcome.startedMs = null
    outcome.endedMs = null
  } else if (aborted) {
    outcome.status = 'aborted'
    outcome.message = `aborted (${abortReason(r.signal)}); ${engine.name} stopped, ${recorder.samples} samples kept`
  } else if (timedOut) {
    outcome.status = 'timeout'
    outcome.message = `hard maximum of ${spec.hardMaxS} s reached; ${engine.name} stopped, ${recorder.samples} samples kept`
  } else if (parseError !== undefined || followError !== undefined) {
    const e = (parseError ?? followError) as Error
    outcome.status = 'engine-error'
    outcome.message = `reading ${engine.name} samples failed: ${e.message ?? String(e)}`
  } else if (ex.code !== null && engine.completed(ex.code)) {
    if (recorder.samples > 0) {
      outcome.status = 'ok'
      const said = ex.code !== 0 ? engine.failureMessage?.(ex.code, err || out, ctx) : undefined
      outcome.message = [
        ex.code !== 0 ? `${engine.name} ${how}${said ? `: ${said}` : ''}` : '',
        skippedNote(parser).slice(2)
      ]
        .filter(Boolean)
        .join('; ')
    } else {
      outcome.status = 'no-samples'
      const problem = (parser as StreamParser & { problem?: () => string | undefined }).problem?.()
      const where =
        cmd.samples.kind === 'file' && !follower?.found
          ? ` (${basename(cmd.samples.path)} was never written)`
          : ''
      outcome.message =
        `${engine.name} ${how} but produced no samples${where}` +
        (problem ? `: ${problem}` : '; check the script') +
        (tailHint ? ` (last output: ${tailHint})` : '') +
        skippedNote(parser)
    }
  } else {
    outcome.status = 'engine-error'
    const said = engine.failureMessage?.(ex.code, err || out, ctx)
    outcome.message =
      `${engine.name} ${how}` + (said || tailHint ? `: ${said || tailHint}` : '') + skippedNote(parser)
  }
}

async function runInProcessEngine(engine: InProcessEngine, ctx: EngineRunContext, r: RunEnv): Promise<void> {
  const { spec, recorder, outcome } = r
  const ac = new AbortController()
  let timedOut = false
  let aborted = false
  const hardMax = setTimeout(() => {
    timedOut = true
    ac.abort('hard maximum')
  }, spec.hardMaxS * 1000)
  const onAbort = () => {
    aborted = true
    ac.abort(abortReason(r.signal))
  }
  if (r.signal.aborted) onAbort()
  else r.signal.addEventListener('abort', onAbort, { once: true })

  // An engine that ignores the abort is given up on after the grace period.
  let graceTimer: NodeJS.Timeout | undefined
  const givenUp = new Promise<{ stuck: true }>(resolve => {
    const arm = () => (graceTimer = setTimeout(() => resolve({ stuck: true }), r.killGraceMs))
    if (ac.signal.aborted) arm()
    else ac.signal.addEventListener('abort', arm, { once: true })
  })
  // The recorder is finished after this returns; a stuck engine must not write into it any more.
  let open = true
  const sink: SampleSink = {
    sample(s) {
      if (open) recorder.sample(s)
    },
    check(name, passed) {
      if (open) recorder.check(name, passed)
    },
    activeUsers(t, n) {
      if (open) recorder.activeUsers(t, n)
    },
    threshold(t) {
      if (open) recorder.threshold(t)
    }
  }
  outcome.startedMs = r.now()
  const res = await Promise.race([
    engine.run(ctx, sink, ac.signal).then(
      v => ({ value: v }),
      (e: unknown) => ({ error: e instanceof Error ? e : new Error(String(e)) })
    ),
    givenUp
  ])
  open = false
  outcome.endedMs = r.now()
  clearTimeout(hardMax)
  clearTimeout(graceTimer)
  r.signal.removeEventListener('abort', onAbort)

  const engineMsg = 'value' in res ? res.value.message : 'error' in res ? res.error.message : 'did not stop'
  outcome.exitCode = 'value' in res ? res.value.exitCode : null
  if (aborted) {
    outcome.status = 'aborted'
    outcome.message = `aborted (${abortReason(r.signal)}); ${engine.name} stopped, ${recorder.samples} samples kept`
  } else if (timedOut) {
    outcome.status = 'timeout'
    outcome.message = `hard maximum of ${spec.hardMaxS} s reached; ${engine.name} stopped, ${recorder.samples} samples kept`
  } else if ('error' in res) {
    outcome.status = 'engine-error'
    outcome.message = `${engine.name} failed: ${engineMsg}`
  } else if ('value' in res && res.value.exitCode === 0) {
    outcome.status = recorder.samples > 0 ? 'ok' : 'no-samples'
    outcome.message = recorder.samples > 0 ? engineMsg : `${engine.name} produced no samples (${engineMsg})`
  } else {
    outcome.status = 'engine-error'
    outcome.message = engineMsg || `${engine.name} exited with code ${outcome.exitCode}`
  }
}

/**
 * Appends one JSON line per interval with the running totals of the task, and in `live` the
 * requests, failures and latency histogram since the previous line (for stop rules).
 */
class Progress {
  enginePid: number | undefined
  private timer: NodeJS.Timeout | undefined
  private chain: Promise<void> = Promise.resolve()
  private lastT = 0
  private lastRequests = 0
  private startMs = 0
  private dirReady = false

  constructor(
    private readonly path: string | undefined,
    private readonly spec: TaskSpec,
    private readonly recorder: TaskRecorder,
    private readonly now: () => number,
    private readonly everyMs: number,
    private readonly onLine?: (line: ProgressLine) => void
  ) {}

  start(startMs: number): void {
    if (!this.path && !this.onLine) return
    this.startMs = startMs
    this.lastT = startMs
    this.write()
    this.timer = setInterval(() => this.write(), this.everyMs)
  }

  private write(extra: { status?: TaskStatus } = {}): void {
    const path = this.path
    if (!path && !this.onLine) return
    const t = this.now()
    const requests = this.recorder.samples
    const dt = (t - this.lastT) / 1000
    const line: ProgressLine = {
      t,
      taskIndex: this.spec.taskIndex,
      region: this.spec.region,
      elapsedS: Math.max(0, (t - this.startMs) / 1000),
      requests,
      failures: this.recorder.failures,
      rps: dt > 0 ? (requests - this.lastRequests) / dt : 0,
      ...(this.enginePid !== undefined ? { enginePid: this.enginePid } : {}),
      live: this.recorder.takeLive(),
      ...extra
    }
    this.lastT = t
    this.lastRequests = requests
    this.onLine?.(line)
    if (!path) return
    this.chain = this.chain.then(async () => {
      try {
        if (!this.dirReady) {
          await mkdir(dirname(path), { recursive: true })
          this.dirReady = true
        }
        await appendFile(path, JSON.stringify(line) + '\n')
      } catch {
        // Progress is advisory; the task result is what counts.
      }
    })
  }

  async stop(status?: TaskStatus): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    if ((this.path || this.onLine) && this.startMs) this.write(status ? { status } : {})
    await this.chain
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

/**
 * Runs one task and writes its result to `spec.out` (also returned). Throws only for an invalid
 * spec (TaskSpecError) or when the result cannot be written.
 */
export async function runTask(input: TaskSpecInput, deps: RunnerDeps = {}): Promise<TaskResult> {
  const spec = parseTaskSpec(input)
  const now = deps.now ?? Date.now
  const sleep = deps.sleep ?? realSleep
  const env = deps.env ?? process.env
  const signal = deps.signal ?? new AbortController().signal
  // With a progress file or listener, each progress line also carries the latencies since the previous one.
  const recorder = new TaskRecorder({
    intervalMs: spec.intervalMs,
    live: spec.progress !== undefined || deps.onProgress !== undefined
  })
  const outcome: Outcome = {
    status: 'engine-error',
    exitCode: null,
    message: '',
    stderrTail: '',
    startedMs: null,
    endedMs: null
  }
  const progress = new Progress(
    spec.progress,
    spec,
    recorder,
    now,
    deps.progressEveryMs ?? 1000,
    deps.onProgress
  )
  let engineVersion = ''
  let workDir: string | undefined
  try {
    let engine: Engine | undefined
    try {
      engine = deps.engine ?? getEngine(spec.engine)
    } catch (e) {
      engine = undefined
      outcome.message = errorMessage(e)
    }
    if (!engine) {
      outcome.message ||= `engine "${spec.engine}" is not available in this build of perf-gate`
    } else {
      const eng = engine
      const versionP = (eng.kind === 'process' ? eng.version(env) : eng.version()).catch(() => '')
      if (spec.startAtMs === null) {
        // No barrier: probe the version first, so the probe (a JVM start for JMeter) does not
        // compete with the measured run; a slow probe is not waited for long.
        await within(versionP, VERSION_WAIT_BEFORE_MS, '', signal)
      } else {
        // The version probe runs during the wait; it never delays the start.
        await waitUntil(spec.startAtMs, now, sleep, signal)
      }
      if (signal.aborted) {
        outcome.status = 'aborted'
        outcome.message = `aborted (${abortReason(signal)}) before ${eng.name} started`
      } else {
        workDir = await mkdtemp(join(tmpdir(), 'perf-gate-task-'))
        const ctx: EngineRunContext = {
          ...(spec.script !== undefined ? { script: spec.script } : {}),
          ...(spec.requests !== undefined ? { requests: spec.requests } : {}),
          load: spec.load,
          workDir,
          tags: spec.tags,
          env: spec.env
        }
        const r: RunEnv = {
          spec,
          recorder,
          now,
          env,
          signal,
          killGraceMs: deps.killGraceMs ?? 3000,
          tailBytes: deps.tailBytes ?? 8192,
          onEngineStart: deps.onEngineStart,
          outcome,
          progress
        }
        progress.start(now())
        try {
          if (eng.kind === 'process') await runProcessEngine(eng, ctx, r)
          else await runInProcessEngine(eng, ctx, r)
        } catch (e) {
          // engine.command() refused the task (e.g. a missing script) or the runner failed.
          outcome.status = 'engine-error'
          const msg = errorMessage(e) ?? String(e)
          outcome.message = msg.toLowerCase().includes(eng.name) ? msg : `${eng.name}: ${msg}`
          outcome.endedMs ??= outcome.startedMs !== null ? now() : null
        }
      }
      engineVersion = await within(versionP, VERSION_WAIT_AFTER_MS, '')
    }
  } catch (e) {
    outcome.status = 'engine-error'
    outcome.message = `runner failed: ${errorMessage(e) ?? String(e)}`
  } finally {
    await progress.stop(outcome.status)
    if (workDir) await rm(workDir, { recursive: true, force: true }).catch(() => undefined)
  }

  const steady =
    spec.steady && outcome.startedMs !== null
      ? {
          startMs: outcome.startedMs + spec.steady.fromS * 1000,
          endMs: outcome.startedMs + spec.steady.toS * 1000
        }
      : null
  const meta = defaultTaskMeta({
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
  const result = recorder.finish(meta)
  await writeResult(spec.out, result)
  return result
}

/** Reads the spec from a file argument or PERF_GATE_TASK_SPEC; throws TaskSpecError with one line. */
export async function loadTaskSpec(args: string[], env: NodeJS.ProcessEnv): Promise<TaskSpec> {
  const file = args.find(a => !a.startsWith('-'))
  let text: string
  let source: string
  if (file) {
    source = file
    try {
      text = await readFile(file, 'utf8')
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      throw new TaskSpecError(
        `${file}: cannot read the task spec (${code === 'ENOENT' ? 'no such file' : code})`
      )
    }
  } else if (env[TASK_SPEC_ENV]?.trim()) {
    source = TASK_SPEC_ENV
    text = env[TASK_SPEC_ENV]!
  } else {
    throw new TaskSpecError(
      `no task spec: pass the path of a spec file or set ${TASK_SPEC_ENV} to the spec JSON`
    )
  }
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (e) {
    throw new TaskSpecError(`${source}: the task spec is not valid JSON (${errorMessage(e)})`)
  }
  return parseTaskSpec(doc, source)
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
