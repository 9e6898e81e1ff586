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
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { readResultFile } from '../results/io.js'
import type { TaskResult } from '../results/model.js'
import type { TaskSpec } from '../runner/spec.js'
import type { Fleet, FleetHooks, FleetOutcome, FleetPlan, MissingTask } from './types.js'
import { localProgressOf, ProgressTail } from './local-progress.js'
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

/** How a runner process ended: its exit code or signal, or why it could not be spawned. */
interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
  error?: string
}

interface Running {
  spec: TaskSpec
  child: ChildProcess
  stderr: Tail
  exit: Promise<Exit>
  done: boolean
  progress: ProgressTail
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
    const stop = stopOnHooks(hooks)
    try {
      const { startAtMs, specs } = await this.writeSpecs(plan, workDir)
      const env = { ...(this.opts.env ?? process.env) }
      for (const s of specs) running.push(this.spawnRunner(s.spec, s.path, env))
      const aborted = await this.supervise(running, startAtMs, stop.signal, hooks)
      const { tasks, missing } = await collectResults(running, m => hooks.onNotice?.(m))
      return { tasks, missing, aborted }
    } finally {
      stop.dispose()
      for (const r of running) if (alive(r.child)) signalChild(r.child, 'SIGKILL', true)
      await Promise.all(running.map(r => r.exit))
      if (!this.opts.keepWorkDir && !process.env.PERF_GATE_KEEP_WORKDIR)
        await rm(workDir, { recursive: true, force: true }).catch(() => undefined)
    }
  }

  /**
   * Writes every task's spec into the work directory, with its result and progress files there and
   * one common start a little ahead (1.5 s, plus 250 ms per task above 4, unless set).
   */
  private async writeSpecs(
    plan: FleetPlan,
    workDir: string
  ): Promise<{ startAtMs: number; specs: { path: string; spec: TaskSpec }[] }> {
    const n = plan.tasks.length
    const delay = this.opts.startDelayMs ?? 1500 + 250 * Math.max(0, n - 4)
    const startAtMs = Date.now() + delay
    const specs = plan.tasks.map(t => {
      const tag = `${t.region}-${t.taskIndex}`
      return {
        path: join(workDir, `spec-${tag}.json`),
        spec: {
          ...t,
          startAtMs,
          out: join(workDir, `result-${tag}.json`),
          progress: join(workDir, `progress-${tag}.ndjson`)
        } satisfies TaskSpec
      }
    })
    for (const s of specs) await writeFile(s.path, JSON.stringify(s.spec, null, 2) + '\n')
    return { startAtMs, specs }
  }

  /**
   * Watches the runners until all have exited: reports progress every poll, and stops them all
   * (SIGINT, then harder) when the run is stopped or they run past the hard maximum plus the
   * overrun. Returns whether the run was stopped.
   */
  private async supervise(
    running: Running[],
    startAtMs: number,
    stopSignal: AbortSignal,
    hooks: FleetHooks
  ): Promise<boolean> {
    const notice = (m: string) => hooks.onNotice?.(m)
    const hardMaxS = Math.max(...running.map(r => r.spec.hardMaxS))
    const deadline = startAtMs + hardMaxS * 1000 + (this.opts.overrunMs ?? 30_000)
    const allDone = Promise.all(running.map(r => r.exit))
    let finished = false
    void allDone.then(() => {
      finished = true
    })
    const poll = this.opts.pollMs ?? 1000
    let stopping: Promise<void> | null = null
    let aborted = false
    while (!finished) {
      await Promise.race([allDone, idle(poll, stopping ? undefined : stopSignal)])
      await readProgress(running)
      if (!finished && hooks.onProgress) hooks.onProgress(localProgressOf(running, startAtMs))
      if (!stopping && stopSignal.aborted) {
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
    await readProgress(running)
    if (hooks.onProgress) hooks.onProgress(localProgressOf(running, startAtMs))
    return aborted
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
      progress: new ProgressTail(spec),
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
}

/** One signal that aborts when either of the hooks' signals does (cancel or stop); dispose unhooks it. */
function stopOnHooks(hooks: FleetHooks): { signal: AbortSignal; dispose: () => void } {
  const internal = new AbortController()
  const onAbort = () => internal.abort()
  hooks.signal?.addEventListener('abort', onAbort, { once: true })
  hooks.stop?.addEventListener('abort', onAbort, { once: true })
  if (hooks.signal?.aborted || hooks.stop?.aborted) internal.abort()
  return {
    signal: internal.signal,
    dispose: () => {
      hooks.signal?.removeEventListener('abort', onAbort)
      hooks.stop?.removeEventListener('abort', onAbort)
    }
  }
}

/** Reads whatever the runners appended to their progress files since the last call. */
async function readProgress(running: readonly Running[]): Promise<void> {
  for (const r of running) await r.progress.read()
}

/** Why a runner ended, from its exit. */
function exitReason(ex: Exit): string {
  if (ex.error) return `runner could not start: ${ex.error}`
  if (ex.signal) return `runner was killed by ${ex.signal}`
  return `runner exited with code ${ex.code}`
}

/**
 * Every runner's result file, read in task order; a runner without a readable one is missing,
 * and a runner that failed while its tasks say ok is noticed.
 */
async function collectResults(
  running: readonly Running[],
  notice: (m: string) => void
): Promise<{ tasks: TaskResult[]; missing: MissingTask[] }> {
  const tasks: TaskResult[] = []
  const missing: MissingTask[] = []
  for (const r of running) {
    const ex = await r.exit
    const why = exitReason(ex)
    const detail = r.stderr.lastLine()
    const where = { region: r.spec.region, taskIndex: r.spec.taskIndex }
    if (!existsSync(r.spec.out)) {
      missing.push({ ...where, reason: `${why} and wrote no result${detail ? `: ${detail}` : ''}` })
      continue
    }
    try {
      const results = await readResultFile(r.spec.out)
      tasks.push(...results)
      if (ex.code !== 0 && !ex.signal && !ex.error && results.every(t => t.task.status === 'ok'))
        notice(`${taskName(r.spec)}: ${why}${detail ? `: ${detail}` : ''}`)
    } catch (e) {
      missing.push({ ...where, reason: `${why}; its result could not be read: ${errorMessage(e)}` })
    }
  }
  return { tasks, missing }
}
