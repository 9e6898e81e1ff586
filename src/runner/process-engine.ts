/**
 * Runs a process engine: a child process in its own process group whose samples arrive on fd 3 or
 * in a file the runner follows, streamed through the engine's parser into the recorder. The hard
 * maximum and an abort stop it (SIGTERM to its group, SIGKILL after a grace); the outcome then says
 * how it ended, with the tail of its stderr/stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { basename } from 'node:path'
import type { Readable } from 'node:stream'
import type { EngineCommand, EngineRunContext, ProcessEngine, StreamParser } from '../engines/types.js'
import { engineEnvironment } from './engine-env.js'
import { setStoppedOutcome, type RunEnv } from './engine-run.js'
import { followFile, type FileFollower } from './follow.js'
import { openSamplePipe, type SamplePipe } from './sample-pipe.js'
import { lastLine, TailBuffer } from './tail-buffer.js'

interface ProcessExit {
  code: number | null
  signal: NodeJS.Signals | null
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

/** A spawned engine: its exit, the tails of its output, and the error of a start that failed. */
class EngineProcess {
  readonly pid: number | undefined
  exited = false
  /** Set when the child could not be started (it then has no pid). */
  spawnError: NodeJS.ErrnoException | undefined
  readonly exit: Promise<ProcessExit>
  readonly stdout: TailBuffer
  readonly stderr: TailBuffer
  private readonly closed: Promise<void>

  constructor(
    readonly child: ChildProcess,
    tailBytes: number
  ) {
    this.pid = child.pid
    this.stdout = new TailBuffer(tailBytes)
    this.stderr = new TailBuffer(tailBytes)
    this.exit = new Promise<ProcessExit>(resolve => {
      // A child that could not be started reports 'error' and has no pid; later errors (a failed
      // kill) change nothing.
      child.on('error', err => {
        if (child.pid === undefined && !this.spawnError) {
          this.spawnError = err
          resolve({ code: null, signal: null })
        }
      })
      child.once('exit', (code, signal) => {
        this.exited = true
        resolve({ code, signal })
      })
    })
    this.closed = new Promise<void>(resolve => child.once('close', () => resolve()))
    child.stdout?.on('data', (b: Buffer) => this.stdout.push(b))
    child.stderr?.on('data', (b: Buffer) => this.stderr.push(b))
  }

  /** Waits until the child's pipes closed, at most `ms`. */
  async waitClosed(ms: number): Promise<void> {
    let closeTimer: NodeJS.Timeout | undefined
    await Promise.race([this.closed, new Promise<void>(resolve => (closeTimer = setTimeout(resolve, ms)))])
    clearTimeout(closeTimer)
  }
}

/** Starts the engine detached (its own process group); a start that throws returns the error. */
function spawnEngine(
  cmd: EngineCommand,
  pipe: SamplePipe | null,
  r: RunEnv
): EngineProcess | NodeJS.ErrnoException {
  try {
    const child = spawn(cmd.command, cmd.args, {
      env: { ...engineEnvironment(r.env), ...cmd.env },
      stdio: ['ignore', 'pipe', 'pipe', pipe ? pipe.writeFd : cmd.samples.kind === 'fd3' ? 'pipe' : 'ignore'],
      detached: true
    })
    return new EngineProcess(child, r.tailBytes)
  } catch (e) {
    return e as NodeJS.ErrnoException
  }
}

/**
 * Feeds the engine's sample channel (fd 3, or the file it writes) into its parser. The first parse
 * error stops the feeding and is kept, as is a failure to read the followed file.
 */
class SampleFeed {
  private parseError: unknown
  private followError: unknown
  private readonly fd3: Readable | null
  readonly follower: FileFollower | undefined

  constructor(
    private readonly parser: StreamParser,
    cmd: EngineCommand,
    proc: EngineProcess,
    pipe: SamplePipe | null
  ) {
    this.fd3 = pipe
      ? pipe.stream
      : cmd.samples.kind === 'fd3'
        ? (proc.child.stdio[3] as Readable | null)
        : null
    this.fd3?.on('data', this.push)
    this.follower =
      cmd.samples.kind === 'file' && proc.pid !== undefined
        ? followFile(cmd.samples.path, this.push)
        : undefined
  }

  private readonly push = (c: Buffer): void => {
    if (this.parseError !== undefined) return
    try {
      this.parser.push(c)
    } catch (e) {
      this.parseError = e
    }
  }

  /** Stops reading (the followed file to its end) and ends the parser. */
  async finish(): Promise<void> {
    this.fd3?.destroy()
    try {
      await this.follower?.stop()
    } catch (e) {
      this.followError = e
    }
    try {
      this.parser.end()
    } catch (e) {
      this.parseError ??= e
    }
  }

  /** The error that spoilt reading the samples, if any. */
  get error(): Error | undefined {
    if (this.parseError === undefined && this.followError === undefined) return undefined
    return (this.parseError ?? this.followError) as Error
  }
}

/** Stops the engine on the hard maximum or on abort: SIGTERM to its group, SIGKILL after the grace. */
class ProcessStop {
  timedOut = false
  aborted = false
  private killed = false
  private killTimer: NodeJS.Timeout | undefined
  private readonly hardMax: NodeJS.Timeout

  constructor(
    private readonly proc: EngineProcess,
    private readonly r: RunEnv
  ) {
    this.hardMax = setTimeout(() => {
      this.timedOut = true
      this.stop()
    }, r.spec.hardMaxS * 1000)
    if (r.signal.aborted) this.onAbort()
    else r.signal.addEventListener('abort', this.onAbort, { once: true })
  }

  private readonly onAbort = (): void => {
    this.aborted = true
    this.stop()
  }

  private stop(): void {
    const pid = this.proc.pid
    if (this.killed || this.proc.exited || pid === undefined) return
    this.killed = true
    killGroup(pid, 'SIGTERM')
    this.killTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), this.r.killGraceMs)
  }

  /** Called once the engine exited: whatever it left behind in its group goes too. */
  finish(): void {
    clearTimeout(this.hardMax)
    this.r.signal.removeEventListener('abort', this.onAbort)
    if (this.proc.pid !== undefined) killGroup(this.proc.pid, 'SIGKILL')
    if (this.killTimer) clearTimeout(this.killTimer)
  }
}

/** What the outcome of a process engine is told from. */
interface ProcessEnd {
  engine: ProcessEngine
  cmd: EngineCommand
  ctx: EngineRunContext
  parser: StreamParser
  proc: EngineProcess
  exit: ProcessExit
  feed: SampleFeed
  stop: ProcessStop
}

/** The engine's output for messages: stderr and stdout tails, their last line, and how it ended. */
interface EngineOutput {
  err: string
  out: string
  tailHint: string
  how: string
}

/** The outcome of an engine that ran to completion: ok with samples, else no-samples saying why. */
function setCompletedOutcome(end: ProcessEnd, r: RunEnv, o: EngineOutput): void {
  const { engine, cmd, ctx, parser, exit, feed } = end
  const { outcome } = r
  if (r.recorder.samples > 0) {
    outcome.status = 'ok'
    const said = exit.code !== 0 ? engine.failureMessage?.(exit.code, o.err || o.out, ctx) : undefined
    outcome.message = [
      exit.code !== 0 ? `${engine.name} ${o.how}${said ? `: ${said}` : ''}` : '',
      skippedNote(parser).slice(2)
    ]
      .filter(Boolean)
      .join('; ')
    return
  }
  outcome.status = 'no-samples'
  const problem = (parser as StreamParser & { problem?: () => string | undefined }).problem?.()
  const where =
    cmd.samples.kind === 'file' && !feed.follower?.found
      ? ` (${basename(cmd.samples.path)} was never written)`
      : ''
  outcome.message =
    `${engine.name} ${o.how} but produced no samples${where}` +
    (problem ? `: ${problem}` : '; check the script') +
    (o.tailHint ? ` (last output: ${o.tailHint})` : '') +
    skippedNote(parser)
}

/** Sets the outcome of an engine process that has exited (or never started). */
function setProcessOutcome(end: ProcessEnd, r: RunEnv): void {
  const { engine, cmd, ctx, parser, proc, exit } = end
  const { outcome } = r
  const err = proc.stderr.toString()
  const out = proc.stdout.toString()
  outcome.stderrTail = out.trim() && err.trim() ? `${err}\n--- stdout ---\n${out}` : err.trim() ? err : out
  outcome.exitCode = exit.code
  const tailHint = lastLine(err) || lastLine(out)
  const how =
    exit.code !== null ? `exited with code ${exit.code}` : `was killed by ${exit.signal ?? 'a signal'}`

  if (proc.spawnError && !proc.exited) {
    outcome.status = 'engine-error'
    outcome.message = spawnErrorMessage(engine, cmd.command, proc.spawnError)
    outcome.startedMs = null
    outcome.endedMs = null
    return
  }
  if (setStoppedOutcome(r, engine.name, end.stop)) return
  const readError = end.feed.error
  if (readError !== undefined) {
    outcome.status = 'engine-error'
    outcome.message = `reading ${engine.name} samples failed: ${readError.message ?? String(readError)}`
  } else if (exit.code !== null && engine.completed(exit.code)) {
    setCompletedOutcome(end, r, { err, out, tailHint, how })
  } else {
    outcome.status = 'engine-error'
    const said = engine.failureMessage?.(exit.code, err || out, ctx)
    outcome.message =
      `${engine.name} ${how}` + (said || tailHint ? `: ${said || tailHint}` : '') + skippedNote(parser)
  }
}

/** Gives back what a start that threw had taken: the sample pipe, the parser, the command's files. */
async function abandonStart(
  engine: ProcessEngine,
  cmd: EngineCommand,
  parser: StreamParser,
  pipe: SamplePipe | null,
  error: NodeJS.ErrnoException,
  r: RunEnv
): Promise<void> {
  pipe?.closeWriteEnd()
  pipe?.stream.destroy()
  await releaseCommand(cmd)
  r.outcome.startedMs = null
  parser.end()
  r.outcome.status = 'engine-error'
  r.outcome.message = spawnErrorMessage(engine, cmd.command, error)
}

/** Removes what the command wrote for the run (`cleanup`); a failure there changes nothing. */
async function releaseCommand(cmd: EngineCommand): Promise<void> {
  try {
    await cmd.cleanup?.()
  } catch {
    // Leftover helper files do not change the task's result.
  }
}

/**
 * After the exit: waits (at most 2 s each) for the child's pipes to close and the sample pipe to
 * drain, ends the sample feed, lets the engine read the files it left and removes the command's own.
 */
async function collectAfterExit(end: ProcessEnd, pipe: SamplePipe | null, r: RunEnv): Promise<void> {
  const { engine, cmd, ctx, proc } = end
  if (proc.pid !== undefined) await proc.waitClosed(2000)
  await pipe?.drained(2000)
  proc.child.stdout?.destroy()
  proc.child.stderr?.destroy()
  await end.feed.finish()
  if (engine.afterExit) {
    try {
      await engine.afterExit(ctx, r.recorder)
    } catch {
      // Extra facts from files the engine left (e.g. k6's summary) are optional.
    }
  }
  await releaseCommand(cmd)
}

export async function runProcessEngine(
  engine: ProcessEngine,
  ctx: EngineRunContext,
  r: RunEnv
): Promise<void> {
  const cmd = await engine.command(ctx, r.env)
  const parser = engine.createParser(r.recorder)
  // fd 3 is a FIFO when possible: engines open it by name (/dev/fd/3), which a socket pair refuses.
  const pipe = cmd.samples.kind === 'fd3' ? openSamplePipe(ctx.workDir) : null
  r.outcome.startedMs = r.now()
  const proc = spawnEngine(cmd, pipe, r)
  if (!(proc instanceof EngineProcess)) return abandonStart(engine, cmd, parser, pipe, proc, r)
  pipe?.closeWriteEnd()
  const feed = new SampleFeed(parser, cmd, proc, pipe)
  if (proc.pid !== undefined) {
    r.progress.enginePid = proc.pid
    r.onEngineStart?.({ pid: proc.pid })
  }
  const stop = new ProcessStop(proc, r)
  const exit = await proc.exit
  stop.finish()
  const end: ProcessEnd = { engine, cmd, ctx, parser, proc, exit, feed, stop }
  await collectAfterExit(end, pipe, r)
  r.outcome.endedMs = r.now()
  setProcessOutcome(end, r)
}
