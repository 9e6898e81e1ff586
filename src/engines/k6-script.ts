/**
 * What a k6 script says about itself, and k6's own error messages made readable.
 *
 * `k6 inspect --execution-requirements SCRIPT` prints the script's options after k6 consolidated
 * them (`vus`, `duration`, `iterations`, `stages`, `scenarios`, `thresholds`, …) plus `maxVUs` and
 * `totalDuration` (the longest the test can take, graceful stops included). perf-gate uses it to
 * run the script's own load when no load is given, to size the task's time limit, and to say what
 * a given load replaces.
 *
 * k6 logs errors as logfmt lines (`level=error msg="SyntaxError: …\n\tat <internal/…>"`); the
 * message is unquoted and made one line without k6-internal stack frames.
 */
import { spawn } from 'node:child_process'
import { errorMessage } from '../util/index.js'

/** The load options of a k6 script, as `k6 inspect` reports them. */
export interface K6ScriptLoad {
  vus: number | null
  duration: string | null
  iterations: number | null
  stages: { duration: string; target: number }[] | null
  /** Scenario name → executor. */
  scenarios: Record<string, string> | null
  /** The most VUs the test can use (k6's `maxVUs`). */
  maxVUs: number
  /** The longest the test can take, seconds (k6's `totalDuration`, graceful stops included). */
  totalDurationS: number
  /** Metric (or submetric) → threshold expressions, from the script's options. */
  thresholds: Record<string, string[]>
}

/** A k6 inspect that failed; the message is one readable paragraph. */
export class K6ScriptError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'K6ScriptError'
  }
}

const GO_UNIT_S: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, µs: 1e-6, ns: 1e-9 }

/** Seconds of a Go duration string (`50s`, `1m30s`, `1h0m0.5s`, `500ms`); NaN when malformed. */
export function goDurationSeconds(s: string): number {
  const text = s.trim()
  if (text === '0') return 0
  const re = /(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)/gy
  let total = 0
  let pos = 0
  let m: RegExpExecArray | null
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * GO_UNIT_S[m[2]]
    pos = re.lastIndex
  }
  return pos === text.length && pos > 0 ? total : Number.NaN
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** The load facts from `k6 inspect --execution-requirements` JSON. */
export function parseK6Inspect(doc: unknown): K6ScriptLoad {
  if (!isRecord(doc)) throw new K6ScriptError('k6 inspect printed no options')
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null)
  const str = (v: unknown) => (typeof v === 'string' && v ? v : null)
  const stages = Array.isArray(doc.stages)
    ? doc.stages
        .filter(isRecord)
        .map(s => ({ duration: String(s.duration ?? ''), target: Number(s.target ?? 0) }))
    : null
  let scenarios: Record<string, string> | null = null
  if (isRecord(doc.scenarios)) {
    scenarios = {}
    for (const [name, sc] of Object.entries(doc.scenarios))
      scenarios[name] = isRecord(sc) && typeof sc.executor === 'string' ? sc.executor : 'unknown'
  }
  const thresholds: Record<string, string[]> = {}
  if (isRecord(doc.thresholds))
    for (const [metric, list] of Object.entries(doc.thresholds)) {
      const exprs = (Array.isArray(list) ? list : [])
        .map(t =>
          typeof t === 'string' ? t : isRecord(t) && typeof t.threshold === 'string' ? t.threshold : ''
        )
        .filter(Boolean)
      if (exprs.length) thresholds[metric] = exprs
    }
  const total = typeof doc.totalDuration === 'string' ? goDurationSeconds(doc.totalDuration) : Number.NaN
  return {
    vus: num(doc.vus),
    duration: str(doc.duration),
    iterations: num(doc.iterations),
    stages: stages && stages.length ? stages : null,
    scenarios: scenarios && Object.keys(scenarios).length ? scenarios : null,
    maxVUs: num(doc.maxVUs) ?? 1,
    totalDurationS: Number.isFinite(total) ? total : 0,
    thresholds
  }
}

/** What load a script declares, in words (`options.scenarios (browse: ramping-arrival-rate)`); '' when none. */
export function describeScriptLoad(load: K6ScriptLoad): string {
  const parts: string[] = []
  if (load.scenarios)
    parts.push(
      `options.scenarios (${Object.entries(load.scenarios)
        .map(([n, e]) => `${n}: ${e}`)
        .join(', ')})`
    )
  if (load.stages)
    parts.push(`options.stages (${load.stages.length} stage${load.stages.length === 1 ? '' : 's'})`)
  const simple = [
    load.vus !== null ? `vus ${load.vus}` : '',
    load.duration ? `duration ${load.duration}` : '',
    load.iterations !== null ? `iterations ${load.iterations}` : ''
  ].filter(Boolean)
  if (simple.length) parts.push(`options ${simple.join(', ')}`)
  return parts.join(' and ')
}

/** Go's quoted-string escapes (`\n`, `\t`, `\"`, `\\`, `\uXXXX`) undone. */
function unquoteGo(s: string): string {
  return s.replace(/\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)/g, (_, e: string) => {
    if (e[0] === 'u' && e.length === 5) return String.fromCharCode(parseInt(e.slice(1), 16))
    if (e[0] === 'x' && e.length === 3) return String.fromCharCode(parseInt(e.slice(1), 16))
    return e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '' : e
  })
}

/** The `msg` values of k6's `level=error` logfmt lines, unquoted. */
function errorMessages(output: string): string[] {
  const out: string[] = []
  for (const line of output.split('\n')) {
    if (!/\blevel=(error|fatal)\b/.test(line)) continue
    const m = /\bmsg="((?:[^"\\]|\\.)*)"/.exec(line) ?? /\bmsg=(\S+)/.exec(line)
    if (m) out.push(unquoteGo(m[1]))
  }
  return out
}

/**
 * One line from a k6 error message: stack frames (`at …`), source context lines (`  1 | …`) and
 * the caret line dropped, the failing source line (`> 2 | …`) kept; cut at a word boundary only
 * beyond `max` characters.
 */
function oneLine(msg: string, max = 600): string {
  const kept = msg
    .split('\n')
    .map(l => l.trim())
    .filter(l => l !== '' && !/^at\s/.test(l) && !/^\d+\s*\|/.test(l) && !/^\|\s*\^/.test(l))
  let text = kept.join(' ').replace(/\s+/g, ' ')
  if (text.length > max) {
    const cut = text.lastIndexOf(' ', max)
    text = text.slice(0, cut > max / 2 ? cut : max) + ' …'
  }
  return text
}

/**
 * k6's own error for a failed run or inspect, readable: the message of its first error line as
 * one line without stack frames or escapes (the failing source line `> 2 | …` is kept), or the
 * last non-empty output line when k6 logged no error line. '' when the output holds nothing.
 */
export function k6ErrorText(output: string): string {
  const errors = errorMessages(output)
  // Iteration errors (source=stacktrace) repeat once per iteration; one is enough.
  const first = errors[0]
  if (first !== undefined) return oneLine(first)
  const lines = output.split('\n').map(l => l.trim())
  for (let i = lines.length - 1; i >= 0; i--) if (lines[i]) return lines[i]
  return ''
}

/** Runs `k6 inspect --execution-requirements` on a script; rejects with a K6ScriptError. */
export function inspectK6Script(
  bin: string,
  script: string,
  env: NodeJS.ProcessEnv,
  timeoutMs = 60_000
): Promise<K6ScriptLoad> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['inspect', '--execution-requirements', script], {
      env,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.stderr.on('data', (b: Buffer) => err.push(b))
    child.once('error', e => {
      clearTimeout(timer)
      reject(e)
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      const stdout = Buffer.concat(out).toString('utf8')
      const stderr = Buffer.concat(err).toString('utf8')
      if (code !== 0) {
        const why = k6ErrorText(stderr) || k6ErrorText(stdout) || `k6 inspect exited with ${code ?? signal}`
        reject(new K6ScriptError(why))
        return
      }
      try {
        resolve(parseK6Inspect(JSON.parse(stdout)))
      } catch (e) {
        reject(new K6ScriptError(`k6 inspect printed no readable options (${errorMessage(e)})`))
      }
    })
  })
}
