/**
 * The engine adapter contract. An adapter knows one engine's command line and its sample format;
 * nothing outside `src/engines` knows which engine ran.
 */
import type { EngineName, HttpRequestSpec, SampleSink, TaskLoad } from '../model/index.js'

/** A streaming parser: feed it chunks in order, then call end(). */
export interface StreamParser {
  push(chunk: Buffer | string): void
  end(): void
  /** Lines or records that could not be used (malformed or foreign), for diagnostics. */
  readonly skipped: number
}

export interface EngineRunContext {
  /** Absolute path of the engine script (k6 .js, locustfile .py, JMeter .jmx); not used by http. */
  script?: string
  /** Requests for the built-in http engine. */
  requests?: HttpRequestSpec[]
  load: TaskLoad
  /** A private, writable directory for this task. */
  workDir: string
  /** Extra tags the engine should attach (k6 --tag). */
  tags: Record<string, string>
  /** Environment to pass through to the engine (user-provided variables). */
  env: Record<string, string>
}

export interface EngineCommand {
  command: string
  args: string[]
  env: Record<string, string>
  /**
   * Where the per-request samples arrive: the child's file descriptor 3 (a pipe the runner opens),
   * or a file the engine writes and the runner follows while it grows.
   */
  samples: { kind: 'fd3' } | { kind: 'file'; path: string }
  /**
   * Removes files the command wrote for this run outside the task's work directory (JMeter's
   * stepped plan, next to the script). Whoever runs the command calls it once the engine is done.
   */
  cleanup?: () => Promise<void>
}

/** An engine that runs as a child process. */
export interface ProcessEngine {
  readonly name: Exclude<EngineName, 'http'>
  readonly kind: 'process'
  /** Environment variable that overrides the binary, e.g. PERF_GATE_K6_BIN. */
  readonly binaryEnv: string
  readonly defaultBinary: string
  /** How to install the engine where perf-gate runs (named when the binary is missing). */
  readonly installHint?: string
  /** The binary to run, honouring the override variable. */
  binary(env?: NodeJS.ProcessEnv): string
  /** Engine version string, or '' when it cannot be told. */
  version(env?: NodeJS.ProcessEnv): Promise<string>
  /** Builds the command line; may write helper files into ctx.workDir. */
  command(ctx: EngineRunContext, env?: NodeJS.ProcessEnv): Promise<EngineCommand>
  /** A parser for this engine's sample stream (the same format `summarize` reads from files). */
  createParser(sink: SampleSink): StreamParser
  /** Whether an exit code means the engine ran to completion (k6: 99 = thresholds crossed). */
  completed(exitCode: number): boolean
  /**
   * A readable one-line message for a non-zero exit (a failure, or a completion such as k6's 99),
   * from the engine's stderr (`output`); undefined to use the last output line.
   */
  failureMessage?(exitCode: number | null, output: string, ctx: EngineRunContext): string | undefined
  /**
   * Reads facts the engine wrote to files in ctx.workDir once it exited (k6's summary export,
   * which lists thresholds on submetrics that its sample stream does not carry).
   */
  afterExit?(ctx: EngineRunContext, sink: SampleSink): Promise<void>
}

/** An engine that runs inside the runner process (the built-in http engine). */
export interface InProcessEngine {
  readonly name: 'http'
  readonly kind: 'in-process'
  version(): Promise<string>
  run(
    ctx: EngineRunContext,
    sink: SampleSink,
    signal: AbortSignal
  ): Promise<{ exitCode: number; message: string }>
}

export type Engine = ProcessEngine | InProcessEngine
