/**
 * The local fleet: every task is a runner process on this machine.
 *
 * Each task spec is written to a private temp directory and run as
 * `node <runnerEntry> <specPath>`. All tasks share one start barrier (`startAtMs`, a moment ~1.5 s
 * ahead) so their engines start together. While they run, the runners' progress files are tailed
 * once a second. Aborting forwards SIGINT to every runner (by PID) and still collects what they
 * wrote. No runner outlives `run`: whatever is still alive at the end is killed by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { readResultFile } from '../results/io.js'
import type { TaskResult } from '../results/model.js'
import type { TaskSpec } from '../runner/spec.js'
import type { Fleet, FleetHooks, FleetOutcome, FleetPlan, MissingTask } from './types.js'
import type { FleetProgress, LiveWindow, TaskProgress } from '../model/index.js'
import { sleep, errorMessage } from '../util/index.js'

/** A pause that never keeps the process alive by itself and ends early on `signal`. */
const idle = (ms: number, signal?: AbortSignal) => sleep(ms, signal, { unref: true })

/** Environment variable naming the runner entry script to spawn. */
export const RUNNER_ENV = 'PERF_GATE_RUNNER'

export interface LocalFleetOptions {
  /** The runner script; default `$PERF_GATE_RUNNER`, else the bundled `dist/runner/index.js`. */
  runnerEntry?: string
  /** The Node binary that runs the runner; default the current one. */
  nodePath?: string
  /** Parent of the run's temp directory; default the OS temp directory. */
  tempRoot?: string
  /** How far ahead of the spawn the common start lies, ms. Default 1500 (+250 per task above 4). */
  startDelayMs?: number
  /** After an abort: ms until SIGTERM follows SIGINT, and until SIGKILL follows SIGTERM. */
  stopGraceMs?: number
  /** Extra ms past the tasks' hard maximum before the fleet stops a runner itself. */
  overrunMs?: number
  /** Progress poll period, ms. Default 1000. */
  pollMs?: number
  /** Keep the temp directory (specs, task results, progress, runner logs) after the run. */
  keepWorkDir?: boolean
  /** Environment for the runners; default this process's. */
  env?: NodeJS.ProcessEnv
  /** Called with each runner's PID once it is spawned. */
  onSpawn?: (spec: TaskSpec, pid: number) => void
}

/**
 * The runner entry that ships next to the running bundle: from `dist/cli/index.js` (or
 * `dist/index.js` via `../runner`) it is `dist/runner/index.js`.
 */
export function bundledRunnerEntry(): string {
  const here = dirname(fileURLToPath(import.meta.url))
  const sibling = join(here, '..', 'runner', 'index.js')
  const nested = join(here, 'runner', 'index.js')
  return !existsSync(sibling) && existsSync(nested) ? nested : sibling
}

export function resolveRunnerEntry(opts: { runnerEntry?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const fromEnv = (opts.env ?? process.env)[RUNNER_ENV]?.trim()
  return resolve(opts.runnerEntry ?? (fromEnv || bundledRunnerEntry()))
}

export class FleetError extends Error {}

const TAIL_BYTES = 8192

class Tail {
  text = ''
  push(b: Buffer): void {
    this.text += b.toString('utf8')
    if (this.text.length > TAIL_BYTES) this.text = this.text.slice(-TAIL_BYTES)
  }
  lastLine(): string {
    const lines = this.text
      .split('\n')
      .map(l => l.trim())
      .filter(Boolean)
    return lines.length ? lines[lines.length - 1] : ''
  }
}

interface Running {
  spec: TaskSpec
  child: ChildProcess
  stderr: Tail
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: string }>
  done: boolean
  progressOffset: number
  progressRest: string
  last: TaskProgress | null
  /** Live windows read since the last progress report. */
  live: LiveWindow[]
}

/** Reads one progress line written by a runner; tolerant of naming variants. */
export function parseProgressLine(
  line: string,
  spec: Pick<TaskSpec, 'region' | 'taskIndex'>
): TaskProgress | null {
  let o: unknown
  try {
    o = JSON.parse(line)
  } catch {
    return null
  }
  if (typeof o !== 'object' || o === null) return null
  const r = o as Record<string, unknown>
  const num = (...keys: string[]): number | undefined => {
    for (const k of keys) if (typeof r[k] === 'number' && Number.isFinite(r[k])) return r[k] as number
    return undefined
  }
  const requests = num('requests', 'reqs')
  if (requests === undefined) return null
  let elapsedS = num('elapsedS', 'elapsed_s', 'elapsed')
  const elapsedMs = num('elapsedMs', 'elapsed_ms')
  if (elapsedS === undefined && elapsedMs !== undefined) elapsedS = elapsedMs / 1000
  const live = liveWindowOf(r.live, elapsedS ?? 0)
  return {
    region: spec.region,
    taskIndex: spec.taskIndex,
    elapsedS: elapsedS ?? 0,
    requests,
    failures: num('failures', 'errors', 'fails') ?? 0,
    rps: num('rps', 'rate') ?? 0,
    ...(live ? { live: [live] } : {})
  }
}

/** The `live` field of a progress line, when it is well-formed. */
function liveWindowOf(v: unknown, elapsedS: number): LiveWindow | null {
  if (typeof v !== 'object' || v === null) return null
  const o = v as Record<string, unknown>
  const n = (k: string) => (typeof o[k] === 'number' && Number.isFinite(o[k]) ? (o[k] as number) : null)
  const requests = n('requests')
  const failures = n('failures')
  const sumUs = n('sumUs')
  if (requests === null || failures === null || sumUs === null || typeof o.hist !== 'string') return null
  return { elapsedS, requests, failures, sumUs, hist: o.hist }
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null
}

/** Sends a signal to a runner by PID; when `group`, to its whole process group (its engine too). */
function signalChild(child: ChildProcess, sig: NodeJS.Signals, group = false): void {
  if (child.pid === undefined || !alive(child)) return
  try {
    process.kill(group ? -child.pid : child.pid, sig)
  } catch {
    if (group) {
      try {
        process.kill(child.pid, sig)
      } catch {
        // already gone
      }
    }
  }
}

function taskName(spec: Pick<TaskSpec, 'region' | 'taskIndex'>): string {
  return `task ${spec.region}/${spec.taskIndex}`
}

export class LocalFleet implements Fleet {
  readonly backend = 'local'
  readonly runnerEntry: string

  constructor(private readonly opts: LocalFleetOptions = {}) {
    this.runnerEntry = resolveRunnerEntry({ runnerEntry: opts.runnerEntry, env: opts.env })
  }

  async run(plan: FleetPlan, hooks: FleetHooks = {}): Promise<FleetOutcome> {
    if (!existsSync(this.runnerEntry))
      throw new FleetError(
        `runner not found at ${this.runnerEntry}; build it with "npm run package" or point ${RUNNER_ENV} at it`
      )
    if (plan.tasks.length === 0) throw new FleetError('the plan has no tasks')
    const workDir = await mkdtemp(join(this.opts.tempRoot ?? tmpdir(), 'perf-gate-run-'))
    const running: Running[] = []
    let aborted = false
    const notice = (m: string) => hooks.onNotice?.(m)
    const internal = new AbortController()
    const onAbort = () => internal.abort()
    hooks.signal?.addEventListener('abort', onAbort, { once: true })
    hooks.stop?.addEventListener('abort', onAbort, { once: true })
    if (hooks.signal?.aborted || hooks.stop?.aborted) internal.abort()
    try {
      const n = plan.tasks.length
      const delay = this.opts.startDelayMs ?? 1500 + 250 * Math.max(0, n - 4)
      const startAtMs = Date.now() + delay
      const specs = plan.tasks.map((t, i) => {
        const tag = `${t.region}-${t.taskIndex}`
        return {
          path: join(workDir, `spec-${tag}.json`),
          spec: {
            ...t,
            startAtMs,
            out: join(workDir, `result-${tag}.json`),
            progress: join(workDir, `progress-${tag}.ndjson`)
          } satisfies TaskSpec,
          i
        }
      })
      for (const s of specs) await writeFile(s.path, JSON.stringify(s.spec, null, 2) + '\n')

      const env = { ...(this.opts.env ?? process.env) }
      for (const s of specs) running.push(this.spawnRunner(s.spec, s.path, env))

      const hardMaxS = Math.max(...specs.map(s => s.spec.hardMaxS))
      const deadline = startAtMs + hardMaxS * 1000 + (this.opts.overrunMs ?? 30_000)
      const allDone = Promise.all(running.map(r => r.exit))
      let finished = false
      void allDone.then(() => {
        finished = true
      })
      const poll = this.opts.pollMs ?? 1000
      let stopping: Promise<void> | null = null
      while (!finished) {
        await Promise.race([allDone, idle(poll, stopping ? undefined : internal.signal)])
        await this.readProgress(running)
        if (!finished && hooks.onProgress) hooks.onProgress(progressOf(running, startAtMs))
        if (!stopping && internal.signal.aborted) {
          aborted = true
          notice(
            `stopping ${running.filter(r => !r.done).length} runner(s) (SIGINT); collecting what they wrote`
          )
          stopping = this.stopAll(running, allDone)
        } else if (!stopping && Date.now() > deadline) {
          notice(
            `runners still busy ${Math.round((Date.now() - startAtMs) / 1000)} s after the start; stopping them`
          )
          stopping = this.stopAll(running, allDone)
        }
      }
      if (stopping) await stopping
      await this.readProgress(running)
      if (hooks.onProgress) hooks.onProgress(progressOf(running, startAtMs))

      const tasks: TaskResult[] = []
      const missing: MissingTask[] = []
      for (const r of running) {
        const ex = await r.exit
        const why = ex.error
          ? `runner could not start: ${ex.error}`
          : ex.signal
            ? `runner was killed by ${ex.signal}`
            : `runner exited with code ${ex.code}`
        const detail = r.stderr.lastLine()
        if (!existsSync(r.spec.out)) {
          missing.push({
            region: r.spec.region,
            taskIndex: r.spec.taskIndex,
            reason: `${why} and wrote no result${detail ? `: ${detail}` : ''}`
          })
          continue
        }
        try {
          const results = await readResultFile(r.spec.out)
          tasks.push(...results)
          if (ex.code !== 0 && !ex.signal && !ex.error && results.every(t => t.task.status === 'ok'))
            notice(`${taskName(r.spec)}: ${why}${detail ? `: ${detail}` : ''}`)
        } catch (e) {
          missing.push({
            region: r.spec.region,
            taskIndex: r.spec.taskIndex,
            reason: `${why}; its result could not be read: ${errorMessage(e)}`
          })
        }
      }
      return { tasks, missing, aborted }
    } finally {
      hooks.signal?.removeEventListener('abort', onAbort)
      hooks.stop?.removeEventListener('abort', onAbort)
      for (const r of running) if (alive(r.child)) signalChild(r.child, 'SIGKILL', true)
      await Promise.all(running.map(r => r.exit))
      if (!this.opts.keepWorkDir && !process.env.PERF_GATE_KEEP_WORKDIR)
        await rm(workDir, { recursive: true, force: true }).catch(() => undefined)
    }
  }

  private spawnRunner(spec: TaskSpec, specPath: string, env: NodeJS.ProcessEnv): Running {
    const child = spawn(this.opts.nodePath ?? process.execPath, [this.runnerEntry, specPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
      // Its own process group: a terminal Ctrl-C reaches the runners only through the fleet, once.
      detached: true
    })
    if (child.pid !== undefined) this.opts.onSpawn?.(spec, child.pid)
    const stderr = new Tail()
    const stdout = new Tail()
    child.stderr?.on('data', (b: Buffer) => stderr.push(b))
    child.stdout?.on('data', (b: Buffer) => stdout.push(b))
    const r: Running = {
      spec,
      child,
      stderr,
      done: false,
      progressOffset: 0,
      progressRest: '',
      last: null,
      live: [],
      exit: new Promise(resolveExit => {
        let error: string | undefined
        child.on('error', e => {
          error = e.message
          if (child.pid === undefined) resolveExit({ code: null, signal: null, error })
        })
        child.on('close', (code, signal) => resolveExit({ code, signal, error }))
      })
    }
    void r.exit.then(() => {
      r.done = true
    })
    return r
  }

  /** SIGINT now; SIGTERM after the grace period; SIGKILL (whole group) after another. */
  private async stopAll(running: Running[], allDone: Promise<unknown>): Promise<void> {
    const grace = this.opts.stopGraceMs ?? 15_000
    for (const r of running) signalChild(r.child, 'SIGINT')
    const settled = await Promise.race([allDone.then(() => true), idle(grace).then(() => false)])
    if (settled) return
    for (const r of running) signalChild(r.child, 'SIGTERM')
    const settled2 = await Promise.race([
      allDone.then(() => true),
      idle(Math.min(grace, 5000)).then(() => false)
    ])
    if (settled2) return
    for (const r of running) signalChild(r.child, 'SIGKILL', true)
  }

  /** Reads whatever the runners appended to their progress files since the last call. */
  private async readProgress(running: Running[]): Promise<void> {
    for (const r of running) {
      const path = r.spec.progress
      if (!path || !existsSync(path)) continue
      let fh
      try {
        fh = await open(path, 'r')
        const { size } = await fh.stat()
        if (size <= r.progressOffset) continue
        const len = Math.min(size - r.progressOffset, 1 << 20)
        const buf = Buffer.alloc(len)
        const { bytesRead } = await fh.read(buf, 0, len, r.progressOffset)
        r.progressOffset += bytesRead
        const text = r.progressRest + buf.subarray(0, bytesRead).toString('utf8')
        const lines = text.split('\n')
        r.progressRest = lines.pop() ?? ''
        for (const line of lines) {
          const p = line.trim() ? parseProgressLine(line, r.spec) : null
          if (p) {
            r.last = p
            if (p.live) r.live.push(...p.live)
          }
        }
      } catch {
        // A progress file being rewritten or removed is not an error; the result file counts.
      } finally {
        await fh?.close()
      }
    }
  }
}

function progressOf(running: Running[], startAtMs: number): FleetProgress {
  // Each report hands on the live windows read since the previous one.
  const tasks = running
    .map((r): TaskProgress | null => (r.last ? { ...r.last, live: r.live.splice(0) } : null))
    .filter((p): p is TaskProgress => p !== null)
  return {
    elapsedS: Math.max(0, (Date.now() - startAtMs) / 1000),
    requests: tasks.reduce((a, p) => a + p.requests, 0),
    failures: tasks.reduce((a, p) => a + p.failures, 0),
    rps: tasks.reduce((a, p) => a + p.rps, 0),
    reporting: tasks.length,
    finished: running.filter(r => r.done).length,
    total: running.length,
    tasks
  }
}
