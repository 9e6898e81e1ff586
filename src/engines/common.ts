/**
 * Small helpers shared by the process engine adapters (k6, Locust, JMeter).
 *
 * - `LineSplitter`: turns a byte/text stream into complete lines.
 * - `failureFromStatus`: maps an HTTP status code to a failure kind.
 * - `resolveBinary`: the engine binary, honouring an override variable.
 * - `runForOutput` / `probeVersion`: run a short command (such as `<binary> --version`) with a
 *   timeout and extract a version string from its output.
 */
import { spawn } from 'node:child_process'
import { StringDecoder } from 'node:string_decoder'
import type { FailureKind } from '../model/index.js'

/**
 * Splits a stream of chunks into lines. Chunks may end anywhere, also inside a multi-byte UTF-8
 * character. Lines end at `\n`; a `\r` before it is dropped. `end()` emits a final line that has
 * no line break (if it is not empty). Lines are emitted without their terminator.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8')
  private pending: string[] = []
  private ended = false

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer | string): void {
    if (this.ended) throw new Error('LineSplitter: push() after end()')
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk)
    if (text.length) this.feed(text)
  }

  end(): void {
    if (this.ended) return
    const tail = this.decoder.end()
    if (tail.length) this.feed(tail)
    this.ended = true
    if (this.pending.length) {
      const last = this.pending.join('')
      this.pending = []
      const line = last.endsWith('\r') ? last.slice(0, -1) : last
      if (line.length) this.onLine(line)
    }
  }

  private feed(text: string): void {
    let from = 0
    let nl = text.indexOf('\n')
    while (nl !== -1) {
      let line = text.slice(from, nl)
      if (this.pending.length) {
        this.pending.push(line)
        line = this.pending.join('')
        this.pending = []
      }
      this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line)
      from = nl + 1
      nl = text.indexOf('\n', from)
    }
    if (from < text.length) this.pending.push(from === 0 ? text : text.slice(from))
  }
}

/**
 * The failure kind of an HTTP status: 2xx/3xx → undefined (success), 4xx → http_4xx,
 * 5xx → http_5xx, anything else (0, 1xx, ≥ 600, not a number) → http_other. Network errors
 * (no status) should be classified by the adapter before calling this.
 */
export function failureFromStatus(status: number): FailureKind | undefined {
  if (!Number.isFinite(status)) return 'http_other'
  if (status >= 200 && status < 400) return undefined
  if (status >= 400 && status < 500) return 'http_4xx'
  if (status >= 500 && status < 600) return 'http_5xx'
  return 'http_other'
}

/** The binary to run: the value of `envName` when set and not blank, else `defaultBinary`. */
export function resolveBinary(
  envName: string,
  defaultBinary: string,
  env: NodeJS.ProcessEnv = process.env
): string {
  const v = env[envName]?.trim()
  return v ? v : defaultBinary
}

export interface ProbeOptions {
  env?: NodeJS.ProcessEnv
  /** Working directory of the probe (some engines write a log file into it). */
  cwd?: string
  /** Give up (and kill the probe) after this many ms; JVM-based engines start slowly. Default 30 s. */
  timeoutMs?: number
}

/**
 * Runs `cmd args…` and resolves with its stdout and stderr interleaved (first 64 KiB), or null when
 * it cannot be started or does not finish within the timeout (it is then killed). Never rejects.
 */
export function runForOutput(cmd: string, args: string[], opts: ProbeOptions = {}): Promise<string | null> {
  const limit = 64 * 1024
  return new Promise<string | null>(resolve => {
    let out = ''
    let done = false
    const finish = (v: string | null) => {
      if (done) return
      done = true
      clearTimeout(timer)
      resolve(v)
    }
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    const timer = setTimeout(() => {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null)
        child.kill('SIGKILL')
      finish(null)
    }, opts.timeoutMs ?? 30_000)
    const collect = (b: Buffer) => {
      if (out.length < limit) out += b.toString('utf8', 0, Math.min(b.length, limit - out.length))
    }
    child.stdout.on('data', collect)
    child.stderr.on('data', collect)
    child.on('error', () => finish(null))
    child.on('close', () => finish(out))
  })
}

/**
 * Runs a version command and returns the first capture group of `regex` (or the whole match when
 * it has no group), trimmed. Returns '' when the command cannot be started, times out, or its
 * output does not match. Never rejects.
 */
export async function probeVersion(
  cmd: string,
  args: string[],
  regex: RegExp,
  opts: ProbeOptions = {}
): Promise<string> {
  const out = await runForOutput(cmd, args, opts)
  if (out === null) return ''
  const m = regex.exec(out)
  return m ? (m[1] ?? m[0]).trim() : ''
}
