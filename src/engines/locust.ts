/**
 * The Locust adapter.
 *
 * Locust runs headless with the perf-gate hook (see `locust-hook.ts`) loaded as an extra
 * locustfile. The hook writes one JSON line per request and the active user count once per second
 * to the child's file descriptor 3; the parser here turns those lines (and the same format read from
 * a file, e.g. the fixture `requests.ndjson`) into samples. Locust's own CSV files are not used:
 * before 2.46.3 they lose the last seconds of a run.
 *
 * Command, without stages:
 *   locust -f <workDir>/perfgate_hook.py,<script> --headless -u <vus> -r <spawnRate> -t <ramp+hold>s
 *     -H <targetUrl> --only-summary --exit-code-on-error 0 -s <stop timeout>
 * With stages the hook's load shape drives the users and ends the test, so -u/-r/-t are left out
 * (Locust 2.12 refuses -t together with a shape) and the hook is listed last: Locust 2.12 only uses
 * a shape class from the last file given to -f, later versions the first one found; the hook also
 * installs its shape at `init`, so the configured stages win over a shape in the locustfile.
 *
 * Exit codes (with --exit-code-on-error 0): 0 = the test ran to its end (failed requests included);
 * 1 = Locust could not start (bad option, locustfile import error, no User class) or a listener set
 * `environment.process_exit_code = 1`; 2 = an unhandled exception in a greenlet or event listener;
 * other values = set by the locustfile; killed by a signal = no code. Only 0 counts as completed.
 */
import { accessSync, closeSync, constants, openSync, readSync, statSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { delimiter, join } from 'node:path'
import { FAILURE_KINDS, type FailureKind, type SampleSink } from '../model/index.js'
import { LineSplitter, failureFromStatus, probeVersion, resolveBinary } from './common.js'
import { HOOK_ENV, LOCUST_HOOK_FILE, LOCUST_HOOK_SOURCE } from './locust-hook.js'
import type { EngineCommand, EngineRunContext, ProcessEngine, StreamParser } from './types.js'
import type { Stage, TaskLoad } from '../model/index.js'

/** Seconds Locust lets running users finish their current task at the end (`-s`). */
export const LOCUST_STOP_TIMEOUT_S = 10
/** Lowest spawn rate passed to Locust, users per second. */
export const MIN_SPAWN_RATE = 0.01

const BINARY_ENV = 'PERF_GATE_LOCUST_BIN'
const DEFAULT_BINARY = 'locust'
const PROBE_TIMEOUT_MS = 20_000

// ---------------------------------------------------------------------------------------------
// Load → command line

/** Users per second while ramping up: `spawnRate`, else vus / rampUpS, else all at once. */
export function locustSpawnRate(load: TaskLoad): number {
  const users = locustUsers(load)
  let rate: number
  if (load.spawnRate !== undefined && Number.isFinite(load.spawnRate) && load.spawnRate > 0)
    rate = load.spawnRate
  else if (load.rampUpS > 0) rate = users / load.rampUpS
  else rate = users
  return Math.max(MIN_SPAWN_RATE, Math.round(rate * 1e4) / 1e4)
}

function locustUsers(load: TaskLoad): number {
  return Math.max(1, Math.round(load.vus))
}

/** Run time in whole seconds (Locust 2.12 accepts integers only; 0 would mean "forever"). */
export function locustRunTimeS(load: TaskLoad): number {
  return Math.max(1, Math.ceil(Math.max(0, load.rampUpS) + Math.max(0, load.durationS)))
}

function checkStages(stages: Stage[]): Stage[] {
  stages.forEach((s, i) => {
    if (!Number.isFinite(s.durationS) || s.durationS < 0)
      throw new Error(`locust engine: load.stages[${i}].durationS must be a number >= 0, got ${s.durationS}`)
    if (!Number.isFinite(s.target) || s.target < 0)
      throw new Error(`locust engine: load.stages[${i}].target must be a number >= 0, got ${s.target}`)
  })
  if (stages.reduce((a, s) => a + s.durationS, 0) <= 0)
    throw new Error('locust engine: load.stages must last longer than 0 s in total')
  return stages
}

// ---------------------------------------------------------------------------------------------
// Finding the Python that runs a locust binary (for the version)

function isExecutableFile(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false
    accessSync(p, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** Absolute path of `bin` (looked up in PATH when it has no slash), or undefined. */
export function whichBinary(bin: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (bin.includes('/')) return isExecutableFile(bin) ? bin : undefined
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue
    const p = join(dir, bin)
    if (isExecutableFile(p)) return p
  }
  return undefined
}

/**
 * The interpreter command of a locust launcher script, from its `#!` line (also pip's
 * `#!/bin/sh` + `'''exec' "<python>" "$0" "$@"` form for long paths). Falls back to `python3`.
 */
export function locustPython(bin: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const path = whichBinary(bin, env)
  if (path) {
    let head = ''
    try {
      const fd = openSync(path, 'r')
      try {
        const buf = Buffer.alloc(1024)
        head = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('utf8')
      } finally {
        closeSync(fd)
      }
    } catch {
      head = ''
    }
    const lines = head.split('\n')
    if (lines[0].startsWith('#!')) {
      const parts = lines[0].slice(2).trim().split(/\s+/).filter(Boolean)
      if (parts.some(p => /python/i.test(p))) return parts
      const exec = /exec'\s+"([^"]*python[^"]*)"/.exec(lines[1] ?? '')
      if (exec) return [exec[1]]
    }
  }
  return ['python3']
}

const PY_VERSION_SNIPPET = [
  'import json',
  'r = {}',
  'try:',
  '    import locust',
  '    r["version"] = str(getattr(locust, "__version__", "") or "")',
  '    r["file"] = str(getattr(locust, "__file__", "") or "")',
  'except Exception as e:',
  '    r["error"] = repr(e)',
  'try:',
  '    import importlib.metadata as md',
  '    r["metadata"] = md.version("locust")',
  'except Exception:',
  '    pass',
  'print("perf-gate-locust-version: " + json.dumps(r))'
].join('\n')

/** A version string worth reporting (Debian's package reports '' and its metadata '0.0.0'). */
function usableVersion(v: unknown): v is string {
  return typeof v === 'string' && /^\d+(\.\d+)+/.test(v.trim()) && !/^0+(\.0+)*$/.test(v.trim())
}

/** `2.12.1-1` → `2.12.1`, `1:2.0+dfsg-3` → `2.0` (epoch, Debian revision and repack suffix removed). */
export function upstreamFromDebian(v: string): string {
  return v
    .trim()
    .replace(/^\d+:/, '')
    .replace(/-[^-]*$/, '')
    .replace(/\+(dfsg|ds)\d*$/, '')
}

async function probeLocustVersion(bin: string, env: NodeJS.ProcessEnv): Promise<string> {
  const opts = { env, timeoutMs: PROBE_TIMEOUT_MS }
  const direct = await probeVersion(bin, ['--version'], /locust\s+v?(\d+(?:\.\d+)+[\w.+-]*)/i, opts)
  if (usableVersion(direct)) return direct
  const py = locustPython(bin, env)
  const json = await probeVersion(
    py[0],
    [...py.slice(1), '-c', PY_VERSION_SNIPPET],
    /perf-gate-locust-version: (\{.*\})/,
    opts
  )
  let info: { version?: unknown; metadata?: unknown; file?: unknown } = {}
  try {
    if (json) info = JSON.parse(json) as typeof info
  } catch {
    info = {}
  }
  if (usableVersion(info.version)) return info.version.trim()
  if (usableVersion(info.metadata)) return info.metadata.trim()
  // A distribution package (Debian's python3-locust): ask dpkg which package owns the module.
  const owned = typeof info.file === 'string' && info.file ? info.file : whichBinary(bin, env)
  if (!owned) return ''
  const pkg = await probeVersion('dpkg-query', ['-S', owned], /^(\S+): \//m, opts)
  if (!pkg) return ''
  const deb = await probeVersion(
    'dpkg-query',
    ['-W', '-f', '${Version}\\n', pkg.replace(/:.*$/, '')],
    /^(\S+)$/m,
    opts
  )
  const v = deb ? upstreamFromDebian(deb) : ''
  return usableVersion(v) ? v : ''
}

const versionCache = new Map<string, Promise<string>>()

function locustBinary(env: NodeJS.ProcessEnv = process.env): string {
  return resolveBinary(BINARY_ENV, DEFAULT_BINARY, env)
}

// ---------------------------------------------------------------------------------------------
// Parsing the hook output

const KINDS = new Set<string>(FAILURE_KINDS)

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined
}

/**
 * The failure kind of a request from Locust's exception repr and status code (for lines without
 * `error_kind`, such as those recorded by other hooks): null → success.
 */
export function failureFromLocustException(exception: unknown, statusCode: unknown): FailureKind | undefined {
  if (exception === null || exception === undefined || exception === '') return undefined
  const text = String(exception)
  const cls = /^\s*([A-Za-z_][\w.]*)\s*\(/.exec(text)?.[1].split('.').pop() ?? ''
  const status = num(statusCode)
  if (cls === 'CatchResponseError') return 'assertion'
  if (/timeout/i.test(cls)) return 'timeout'
  if (
    /^(ConnectionError|ConnectionRefusedError|ConnectionResetError|ConnectionAbortedError|BrokenPipeError|NewConnectionError|RemoteDisconnected|ProtocolError|gaierror)$/.test(
      cls
    )
  )
    return 'connection'
  if (cls === 'HTTPError') {
    if (status !== undefined && status >= 400) return failureFromStatus(status) ?? 'http_other'
    const code = /^\s*HTTPError\(\s*['"]([1-9])\d\d\b/.exec(text)?.[1]
    if (code === '4') return 'http_4xx'
    if (code === '5') return 'http_5xx'
    return 'http_other'
  }
  if (status !== undefined && status >= 400) return failureFromStatus(status) ?? 'http_other'
  return 'other'
}

function handleLine(line: string, sink: SampleSink): boolean {
  const text = line.trim()
  if (!text) return true
  let o: unknown
  try {
    o = JSON.parse(text)
  } catch {
    return false
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return false
  const r = o as Record<string, unknown>
  if (r.type === 'users') {
    const t = num(r.t)
    const n = num(r.n)
    if (t === undefined || n === undefined || n < 0) return false
    sink.activeUsers(t * 1000, n)
    return true
  }
  if (r.type !== undefined && r.type !== 'request') return false
  if (typeof r.name !== 'string') return false
  // Locust counts a request logged without a response time (num_none_requests); it keeps 0 here.
  const rt = r.response_time === null ? 0 : num(r.response_time)
  if (rt === undefined || rt < 0) return false
  const end = num(r.end_time)
  const start = num(r.start_time)
  let endMs: number
  if (end !== undefined) endMs = end * 1000
  else if (start !== undefined) endMs = start * 1000 + rt
  else return false
  const kind =
    typeof r.error_kind === 'string' && KINDS.has(r.error_kind) ? (r.error_kind as FailureKind) : undefined
  const failure = kind ?? failureFromLocustException(r.exception, r.status_code)
  const bytesIn = num(r.response_length)
  sink.sample({
    label: r.name,
    endMs,
    latencyUs: rt * 1000,
    ...(failure ? { failure } : {}),
    ...(bytesIn !== undefined && bytesIn >= 0 ? { bytesIn } : {})
  })
  return true
}

/** A streaming parser for the hook's NDJSON (request lines and `users` lines). */
export function createLocustParser(sink: SampleSink): StreamParser {
  let skipped = 0
  const splitter = new LineSplitter(line => {
    if (!handleLine(line, sink)) skipped++
  })
  return {
    push: chunk => splitter.push(chunk),
    end: () => splitter.end(),
    get skipped() {
      return skipped
    }
  }
}

// ---------------------------------------------------------------------------------------------

export const locustEngine: ProcessEngine = {
  name: 'locust',
  kind: 'process',
  binaryEnv: BINARY_ENV,
  installHint:
    'install Locust: in a GitHub workflow add the steps `uses: actions/setup-python@v5` and `run: pip install locust` before perf-gate',
  defaultBinary: DEFAULT_BINARY,

  binary: locustBinary,

  version(env: NodeJS.ProcessEnv = process.env): Promise<string> {
    const bin = locustBinary(env)
    let v = versionCache.get(bin)
    if (!v) {
      v = probeLocustVersion(bin, env)
      versionCache.set(bin, v)
    }
    return v
  },

  async command(ctx: EngineRunContext, env: NodeJS.ProcessEnv = process.env): Promise<EngineCommand> {
    const script = ctx.script
    if (!script) throw new Error("locust engine: 'script' is required (the locustfile, a .py file)")
    try {
      if (!statSync(script).isFile()) throw new Error('not a file')
    } catch {
      throw new Error(`locust engine: locustfile not found: ${script}`)
    }
    const hook = join(ctx.workDir, LOCUST_HOOK_FILE)
    for (const [what, p] of [
      ['script', script],
      ['workDir', ctx.workDir]
    ])
      if (p.includes(','))
        throw new Error(
          `locust engine: the ${what} path must not contain a comma (Locust splits -f at commas): ${p}`
        )
    await writeFile(hook, LOCUST_HOOK_SOURCE)

    const load = ctx.load
    const tail = [
      ...(load.targetUrl ? ['-H', load.targetUrl] : []),
      '--only-summary',
      '--exit-code-on-error',
      '0',
      '-s',
      String(LOCUST_STOP_TIMEOUT_S)
    ]
    const cmdEnv: Record<string, string> = { ...ctx.env, [HOOK_ENV.samplesFd]: '3', [HOOK_ENV.stages]: '' }
    let args: string[]
    if (load.stages && load.stages.length > 0) {
      const stages = checkStages(load.stages)
      cmdEnv[HOOK_ENV.stages] = JSON.stringify(
        stages.map(s => ({ durationS: s.durationS, target: s.target }))
      )
      args = ['-f', `${script},${hook}`, '--headless', ...tail]
    } else {
      args = [
        '-f',
        `${hook},${script}`,
        '--headless',
        '-u',
        String(locustUsers(load)),
        '-r',
        String(locustSpawnRate(load)),
        '-t',
        `${locustRunTimeS(load)}s`,
        ...tail
      ]
    }
    return { command: locustBinary(env), args, env: cmdEnv, samples: { kind: 'fd3' } }
  },

  createParser(sink: SampleSink): StreamParser {
    return createLocustParser(sink)
  },

  completed(exitCode: number): boolean {
    return exitCode === 0
  }
}
