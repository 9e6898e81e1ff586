/**
 * Scenario configuration: the optional `perf-gate.yml` merged with command-line flags (flags win),
 * validated once into a typed `Scenario`.
 *
 * Every problem is reported as a `ConfigError` whose message is one line naming the file and field
 * (`perf-gate.yml: scenarios.checkout.vus: expected a positive integer, got "ten"`) or the flag
 * (`--vus: expected a positive integer, got "ten"`).
 *
 * The target host must be a loopback address or listed in `allowed-hosts`; nothing else is ever
 * accepted as a target.
 */
import { GateLabelsError, parseGateLabels, type GateLabels } from './gate-labels.js'
import { parseDuration } from './duration.js'
import { durationProblem, loadProblem, MAX_VUS } from './limits.js'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { isIPv4 } from 'node:net'
import { basename, dirname, resolve } from 'node:path'
import { parseDocument } from 'yaml'
import { z } from 'zod'
import {
  ENGINE_NAMES,
  type EngineName,
  type HttpRequestSpec,
  type Stage,
  BODY_BYTES_ENV,
  type ThresholdSpec
} from '../model/index.js'
import { customStagesProfile, expandProfile, type ExpandedProfile } from '../plan/profiles.js'
import {
  parseProfileName,
  parseProfileParam,
  parseProfileSpec,
  ProfileParamError,
  splitParamAssignment,
  type ProfileSpec,
  type ProfileValue
} from './profile.js'
import { errorMessage } from '../util/index.js'

/** A user-facing configuration error; its message is one complete line. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

/** Default config file names looked up in the working directory. */
export const DEFAULT_CONFIG_FILES = ['perf-gate.yml', 'perf-gate.yaml']
export const DEFAULT_INTERVAL_MS = 1000
/** The most runner processes one scenario may ask for. */
export const MAX_TASKS = 256

/** A scenario after validation and merging; every path is absolute and every duration in seconds. */
export interface Scenario {
  name: string
  engine: EngineName
  /** Absolute path of the engine script (k6, Locust, JMeter). */
  script?: string
  /** sha256 of the script's content. */
  scriptHash?: string
  /** Base URL of the system under test (normalised, allow-listed). */
  target: string
  /** Requests of the built-in http engine. */
  requests?: HttpRequestSpec[]
  vus: number
  durationS: number
  rampUpS: number
  stages?: Stage[]
  /** Runner processes (local backend). */
  tasks: number
  intervalMs: number
  thresholds: ThresholdSpec[]
  env: Record<string, string>
  allowedHosts: string[]
  /** The config file the scenario came from, or null when it came from flags only. */
  configFile: string | null
  /** sha256 of the canonical scenario (see `scenarioFingerprint`). */
  fingerprint: string
  /** The test-type profile the stages came from (or that custom stages override), when one is set. */
  profile?: ExpandedProfile
  /**
   * k6 with no load given (no vus, duration, ramp-up, stages or profile): the script's own load
   * options run as written; vus/durationS are placeholders until `resolveK6Load` reads the script.
   */
  scriptLoad?: boolean
  /** The file's `gate-labels`: labels whose p95 and error rate are gated; absent when not set. */
  gateLabels?: GateLabels
}

/** Scenario settings given as command-line flags (raw strings, validated here). */
export interface ScenarioFlags {
  engine?: string
  script?: string
  target?: string
  vus?: string
  duration?: string
  rampUp?: string
  tasks?: string
  interval?: string
  /** `--request 'GET /path'`, repeatable. */
  requests?: string[]
  /** `--threshold 'p(95)<500'`, repeatable; added to the scenario's thresholds. */
  thresholds?: string[]
  /** `--allow-host name`, repeatable; added to the file's allowed-hosts. */
  allowHosts?: string[]
  /** `--profile NAME`: a test-type preset (src/plan/profiles.ts). */
  profile?: string
  /** `--profile-param key=value`, repeatable. */
  profileParams?: string[]
  /** `--multiplier N`: the stress or spike profile's multiplier. */
  multiplier?: string
}

// ---------------------------------------------------------------------------------------------
// Value parsers shared by the YAML schema and the flags. Each returns the value or an error text.

type Parsed<T> = { ok: true; value: T } | { ok: false; error: string }
const ok = <T>(value: T): Parsed<T> => ({ ok: true, value })
const fail = <T>(error: string): Parsed<T> => ({ ok: false, error })

/** A short, one-line rendering of a user value for error messages. */
export function show(v: unknown): string {
  if (v === undefined) return 'nothing'
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a mapping'
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v)
  return s.length > 60 ? s.slice(0, 57) + '...' : s
}

export { parseDuration }

function durationValue(v: unknown, opts: { positive: boolean }): Parsed<number> {
  const d = parseDuration(v)
  if (d === null) return fail(`expected a duration like 500ms, 30s, 2m or 1h30m, got ${show(v)}`)
  if (opts.positive && d <= 0) return fail(`expected a duration greater than zero, got ${show(v)}`)
  const limit = durationProblem(d)
  if (limit) return fail(`${show(v)} ${limit}`)
  return ok(d)
}

function intValue(v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): Parsed<number> {
  const what = min > 0 ? 'a positive integer' : 'a non-negative integer'
  const n =
    typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : Number.NaN
  if (!Number.isInteger(n) || n < min) return fail(`expected ${what}, got ${show(v)}`)
  if (n > max)
    return fail(
      `expected at most ${max}${max === MAX_VUS ? " (perf-gate's limit on virtual users)" : ''}, got ${show(v)}`
    )
  return ok(n)
}

function engineValue(v: unknown): Parsed<EngineName> {
  if (typeof v === 'string' && (ENGINE_NAMES as readonly string[]).includes(v)) return ok(v as EngineName)
  return fail(`expected one of ${ENGINE_NAMES.join(', ')}, got ${show(v)}`)
}

function nonEmptyString(v: unknown, what = 'a non-empty string'): Parsed<string> {
  if (typeof v === 'string' && v.trim() !== '') return ok(v)
  return fail(`expected ${what}, got ${show(v)}`)
}

function urlValue(v: unknown): Parsed<string> {
  if (typeof v !== 'string' || v.trim() === '')
    return fail(`expected a URL like http://127.0.0.1:8080, got ${show(v)}`)
  let u: URL
  try {
    u = new URL(v.trim())
  } catch {
    return fail(`expected a URL like http://127.0.0.1:8080, got ${show(v)}`)
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    return fail(`expected an http:// or https:// URL, got ${show(v)}`)
  if (u.username || u.password) return fail('credentials in the URL are not supported; pass them through env')
  // A base URL without a trailing slash: engines append paths that start with '/'.
  return ok(u.origin + u.pathname.replace(/\/+$/, '') + u.search)
}

const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']

function pathValue(v: unknown): Parsed<string> {
  if (typeof v !== 'string' || !v.startsWith('/'))
    return fail(`expected a path starting with / (relative to the target), got ${show(v)}`)
  if (/\s/.test(v)) return fail(`expected a path without spaces, got ${show(v)}`)
  return ok(v)
}

/** Parses the `--request` shorthand `[METHOD] /path`. */
export function parseRequestShorthand(v: string): Parsed<HttpRequestSpec> {
  const parts = v.trim().split(/\s+/)
  if (parts.length === 1 && parts[0] !== '') {
    const p = pathValue(parts[0])
    return p.ok ? ok({ method: 'GET', path: p.value }) : fail(`expected 'METHOD /path', got ${show(v)}`)
  }
  if (parts.length !== 2 || !HTTP_METHODS.includes(parts[0].toUpperCase()))
    return fail(`expected 'METHOD /path' (METHOD one of ${HTTP_METHODS.join(', ')}), got ${show(v)}`)
  const p = pathValue(parts[1])
  if (!p.ok) return p
  return ok({ method: parts[0].toUpperCase(), path: p.value })
}

const THRESHOLD_EXPR =
  /^(avg|min|max|med|p\(\d+(?:\.\d+)?\)|rate|count|value)\s*(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)$/
const THRESHOLD_METRIC = /^([A-Za-z_][A-Za-z0-9_]*(?:\{[^{}]*\})?)\s*:\s*(.+)$/

/**
 * Parses a k6-syntax threshold: `p(95)<500`, `rate<0.01`, or with a metric,
 * `http_req_duration{name:slow}: p(90)<300`. Without a metric, rate expressions apply to
 * `http_req_failed`, count to `http_reqs`, the rest to `http_req_duration`.
 */
export function parseThreshold(v: unknown): Parsed<ThresholdSpec> {
  if (typeof v !== 'string') return fail(`expected a threshold like "p(95)<500", got ${show(v)}`)
  const s = v.trim()
  const m = THRESHOLD_METRIC.exec(s)
  const metric = m ? m[1] : undefined
  const expr = (m ? m[2] : s).replace(/\s+/g, '')
  const e = THRESHOLD_EXPR.exec(expr)
  if (!e) return fail(`expected a threshold like "p(95)<500" or "rate<0.01", got ${show(v)}`)
  const agg = e[1]
  const defaultMetric =
    agg === 'rate' ? 'http_req_failed' : agg === 'count' ? 'http_reqs' : 'http_req_duration'
  return ok({ metric: metric ?? defaultMetric, expr })
}

// ---------------------------------------------------------------------------------------------
// The YAML schema.

function field<T>(parse: (v: unknown) => Parsed<T>) {
  return z.unknown().transform((v, ctx): T => {
    const r = parse(v)
    if (r.ok) return r.value
    ctx.addIssue({ code: 'custom', message: r.error })
    return z.NEVER
  })
}

const stringMap = field<Record<string, string>>(v => {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    return fail(`expected a mapping of names to values, got ${show(v)}`)
  const out: Record<string, string> = {}
  for (const [k, x] of Object.entries(v)) {
    if (typeof x === 'string') out[k] = x
    else if (typeof x === 'number' || typeof x === 'boolean') out[k] = String(x)
    else return fail(`${k}: expected a string, number or boolean, got ${show(x)}`)
  }
  return ok(out)
})

const requestObject = z.strictObject({
  label: field(v => nonEmptyString(v)).optional(),
  method: field<string>(v =>
    typeof v === 'string' && HTTP_METHODS.includes(v.toUpperCase())
      ? ok(v.toUpperCase())
      : fail(`expected one of ${HTTP_METHODS.join(', ')}, got ${show(v)}`)
  ).optional(),
  path: field(pathValue),
  headers: stringMap.optional(),
  body: field<string>(v =>
    typeof v === 'string'
      ? ok(v)
      : typeof v === 'object' && v !== null
        ? ok(JSON.stringify(v))
        : fail(`expected a string or a mapping (sent as JSON), got ${show(v)}`)
  ).optional()
})

const requestItem = z.preprocess((v, ctx) => {
  if (typeof v !== 'string') return v
  const r = parseRequestShorthand(v)
  if (r.ok) return r.value
  ctx.addIssue({ code: 'custom', message: r.error })
  return z.NEVER
}, requestObject)

const stageSchema = z.strictObject({
  duration: field(v => durationValue(v, { positive: true })),
  target: field(v => intValue(v, 0, MAX_VUS))
})

/** `profile: NAME` or `profile: {name, ...parameters}`; errors name the parameter (`profile.steps`). */
const profileField = z.unknown().transform((v, ctx): ProfileSpec => {
  try {
    return parseProfileSpec(v)
  } catch (e) {
    if (!(e instanceof ProfileParamError)) throw e
    ctx.addIssue({ code: 'custom', message: e.detail, path: e.field ? [e.field] : [] })
    return z.NEVER
  }
})

const gateLabelsField = field<GateLabels>(v => {
  const entries = typeof v === 'string' ? [v] : Array.isArray(v) ? v : null
  if (!entries || entries.some(e => typeof e !== 'string'))
    return fail(`expected all, a share like 5%, or a list of label names, got ${show(v)}`)
  try {
    return ok(parseGateLabels(entries as string[]))
  } catch (e) {
    if (e instanceof GateLabelsError) return fail(e.message)
    throw e
  }
})

const listOf = <T extends z.ZodType>(item: T, what: string) =>
  z.array(item, { error: iss => `expected a list of ${what}, got ${show(iss.input)}` })

const scenarioSchema = z.strictObject({
  engine: field(engineValue).optional(),
  script: field(v => nonEmptyString(v, 'a file path')).optional(),
  target: field(urlValue).optional(),
  requests: listOf(requestItem, 'requests').optional(),
  vus: field(v => intValue(v, 1, MAX_VUS)).optional(),
  duration: field(v => durationValue(v, { positive: true })).optional(),
  'ramp-up': field(v => durationValue(v, { positive: false })).optional(),
  stages: listOf(stageSchema, 'stages ({duration, target})').optional(),
  tasks: field(v => intValue(v, 1, MAX_TASKS)).optional(),
  interval: field(v => durationValue(v, { positive: true })).optional(),
  thresholds: listOf(field(parseThreshold), 'threshold strings').optional(),
  env: stringMap.optional(),
  profile: profileField.optional(),
  'gate-labels': gateLabelsField.optional()
})
export type ScenarioConfig = z.infer<typeof scenarioSchema>

const hostValue = field<string>(v => {
  if (
    typeof v !== 'string' ||
    !/^(\[[0-9a-fA-F:.]+\]|[0-9a-fA-F:]*:[0-9a-fA-F:.]*|[A-Za-z0-9.-]+)$/.test(v.trim())
  )
    return fail(`expected a host name like api.staging.example.com (no scheme, port or path), got ${show(v)}`)
  return ok(normalHost(v.trim()))
})

const configSchema = z.strictObject({
  scenarios: z
    .record(z.string(), scenarioSchema, {
      error: iss => `expected a mapping of scenario names, got ${show(iss.input)}`
    })
    .optional(),
  'allowed-hosts': listOf(hostValue, 'host names').optional(),
  /** Reserved for the gate settings, validated by the gate command. */
  gate: z.unknown().optional()
})
export type ConfigFile = z.infer<typeof configSchema>

function lineCol(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset)
  const line = before.split('\n').length
  return { line, col: offset - before.lastIndexOf('\n') }
}

function issuePath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p)
  return out
}

function issueMessage(iss: z.core.$ZodIssue): string {
  if (iss.code === 'unrecognized_keys') {
    const keys = iss.keys.map(k => JSON.stringify(k)).join(', ')
    return `unknown field${iss.keys.length > 1 ? 's' : ''} ${keys}`
  }
  if (iss.message.startsWith('expected ')) return iss.message
  if (iss.code === 'invalid_type') {
    const what =
      iss.expected === 'object' ? 'a mapping' : iss.expected === 'array' ? 'a list' : `a ${iss.expected}`
    return `expected ${what}, got ${show(iss.input)}`
  }
  return iss.message
}

/** Parses and validates the text of a config file; `file` names it in errors. */
export function parseConfigText(text: string, file: string): ConfigFile {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true })
  if (doc.errors.length) {
    const e = doc.errors[0]
    const pos = e.linePos?.[0] ?? (typeof e.pos?.[0] === 'number' ? lineCol(text, e.pos[0]) : undefined)
    const where = pos ? ` (line ${pos.line}, column ${pos.col})` : ''
    const msg = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')
    throw new ConfigError(`${file}: invalid YAML${where}: ${msg}`)
  }
  const raw: unknown = doc.toJS() ?? {}
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ConfigError(`${file}: expected a mapping with "scenarios" at the top level`)
  const r = configSchema.safeParse(raw, { reportInput: true })
  if (!r.success) {
    const iss = r.error.issues[0]
    const path = issuePath(iss.path)
    throw new ConfigError(`${file}: ${path ? path + ': ' : ''}${issueMessage(iss)}`)
  }
  return r.data
}

/** Reads and validates a config file; `label` names it in errors. */
export async function readConfigFile(path: string, label = path): Promise<ConfigFile> {
  return parseConfigText(await readConfigText(path, label, false), label)
}

// ---------------------------------------------------------------------------------------------
// The allow-list.

function normalHost(h: string): string {
  const s = h.toLowerCase()
  return s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s
}

/** Whether a host name is a loopback address: 127.0.0.0/8, localhost or ::1. */
export function isLoopbackHost(host: string): boolean {
  const h = normalHost(host)
  if (h === 'localhost' || h === '::1') return true
  return isIPv4(h) && h.startsWith('127.')
}

/**
 * Refuses a target whose host is neither loopback nor listed in `allowedHosts`. `where` names
 * the setting the target came from (a flag or a config field).
 */
export function checkTargetAllowed(target: string, allowedHosts: readonly string[], where: string): void {
  const host = normalHost(new URL(target).hostname)
  if (isLoopbackHost(host)) return
  if (allowedHosts.map(normalHost).includes(host)) return
  throw new ConfigError(
    `${where}: target host "${host}" is not allowed; perf-gate sends load only to loopback addresses ` +
      `(127.0.0.0/8, localhost, ::1) and to hosts listed under allowed-hosts in perf-gate.yml`
  )
}

// ---------------------------------------------------------------------------------------------
// The fingerprint.

/** JSON with object keys sorted at every level, so equal configs give equal text. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`
  }
  return JSON.stringify(v ?? null)
}

/**
 * sha256 of the canonical scenario: engine, script content hash, target, load shape (VUs,
 * duration, ramp-up, stages) and requests. Task count, interval, thresholds and env are left out:
 * they do not change the load the system under test sees.
 */
export function scenarioFingerprint(
  s: Pick<
    Scenario,
    'engine' | 'scriptHash' | 'target' | 'vus' | 'durationS' | 'rampUpS' | 'stages' | 'requests'
  > & { profile?: Pick<ExpandedProfile, 'name' | 'params'>; scriptLoad?: boolean }
): string {
  const doc = {
    engine: s.engine,
    script: s.scriptHash ?? null,
    target: s.target,
    load: { vus: s.vus, durationS: s.durationS, rampUpS: s.rampUpS, stages: s.stages ?? null },
    requests:
      s.requests?.map(r => ({
        label: r.label ?? null,
        method: (r.method ?? 'GET').toUpperCase(),
        path: r.path,
        headers: r.headers ?? {},
        body: r.body ?? null
      })) ?? null,
    // Only present with a profile, so the fingerprints of runs without one do not change.
    profile: s.profile ? { name: s.profile.name, params: s.profile.params } : undefined,
    // Only present for a k6 script's own load (whose options the script hash covers).
    scriptLoad: s.scriptLoad ? true : undefined
  }
  return createHash('sha256').update(canonicalJson(doc)).digest('hex')
}

// ---------------------------------------------------------------------------------------------
// Loading: config file + flags → Scenario.

export interface LoadScenarioOptions {
  /** `--config`; when absent, perf-gate.yml / perf-gate.yaml in `cwd` is used if it exists. */
  config?: string
  /** `--scenario`. */
  scenario?: string
  flags?: ScenarioFlags
  cwd?: string
  /** Reads a script's content (for the fingerprint); defaults to the file system. */
  readScript?: (path: string) => Promise<Buffer>
  /** The profile used when neither the file nor the flags name one (stress mode: `stress`). */
  defaultProfile?: string
}

function flagValue<T>(flag: string, r: Parsed<T>): T {
  if (!r.ok) throw new ConfigError(`${flag}: ${r.error}`)
  return r.value
}

/** The engine implied by a script's extension. */
function engineForScript(script: string): EngineName | undefined {
  if (/\.(js|mjs|cjs|ts)$/i.test(script)) return 'k6'
  if (/\.py$/i.test(script)) return 'locust'
  if (/\.jmx$/i.test(script)) return 'jmeter'
  return undefined
}

/** Finds the config file to use, or null when there is none. */
export function findConfigFile(config: string | undefined, cwd: string): string | null {
  if (config !== undefined) return resolve(cwd, config)
  for (const name of DEFAULT_CONFIG_FILES) {
    const p = resolve(cwd, name)
    if (existsSync(p)) return p
  }
  return null
}

/** Builds the scenario from the config file (if any) and the flags, validating everything. */
export async function loadScenario(opts: LoadScenarioOptions = {}): Promise<Scenario> {
  const cwd = opts.cwd ?? process.cwd()
  const flags = opts.flags ?? {}
  const configPath = findConfigFile(opts.config, cwd)
  const fileLabel = configPath ? displayPath(configPath, cwd) : ''
  let file: ConfigFile = {}
  if (configPath)
    file = parseConfigText(await readConfigText(configPath, fileLabel, opts.config !== undefined), fileLabel)

  const scenarios = file.scenarios ?? {}
  const names = Object.keys(scenarios)
  let name: string
  let base: ScenarioConfig = {}
  if (opts.scenario !== undefined) {
    if (opts.scenario.trim() === '') throw new ConfigError('--scenario: expected a scenario name')
    name = opts.scenario
    if (configPath) {
      if (!(name in scenarios))
        throw new ConfigError(
          `--scenario: no scenario "${name}" in ${fileLabel}` +
            (names.length ? ` (it has: ${names.join(', ')})` : ' (it has none)')
        )
      base = scenarios[name]
    }
  } else if (names.length === 1) {
    name = names[0]
    base = scenarios[name]
  } else if (names.length > 1) {
    throw new ConfigError(
      `${fileLabel} has several scenarios (${names.join(', ')}); choose one with --scenario`
    )
  } else {
    name = 'default'
  }
  const at = (key: string) => (configPath ? `${fileLabel}: scenarios.${name}.${key}` : `--${key}`)

  // Flags win over the file.
  const scriptFlag =
    flags.script !== undefined
      ? flagValue('--script', nonEmptyString(flags.script, 'a file path'))
      : undefined
  const script =
    scriptFlag !== undefined
      ? resolve(cwd, scriptFlag)
      : base.script !== undefined
        ? resolve(dirname(configPath!), base.script)
        : undefined
  const scriptFrom = scriptFlag !== undefined ? '--script' : at('script')

  let engine: EngineName
  if (flags.engine !== undefined) engine = flagValue('--engine', engineValue(flags.engine))
  else if (base.engine !== undefined) engine = base.engine
  else if (script !== undefined) {
    const e = engineForScript(script)
    if (!e)
      throw new ConfigError(`${scriptFrom}: cannot tell the engine from "${basename(script)}"; give --engine`)
    engine = e
  } else engine = 'http'

  const targetRaw = flags.target !== undefined ? flagValue('--target', urlValue(flags.target)) : base.target
  if (targetRaw === undefined)
    throw new ConfigError(
      configPath
        ? `${at('target')}: is required (or give --target)`
        : '--target: is required (the base URL of the system under test)'
    )
  const targetFrom = flags.target !== undefined ? '--target' : at('target')
  const allowedHosts = [...(file['allowed-hosts'] ?? [])]
  for (const h of flags.allowHosts ?? []) {
    const r = hostValue.safeParse(h)
    if (!r.success) throw new ConfigError(`--allow-host: ${r.error.issues[0].message}`)
    if (!allowedHosts.includes(r.data)) allowedHosts.push(r.data)
  }
  checkTargetAllowed(targetRaw, allowedHosts, targetFrom)

  const stages: Stage[] | undefined = base.stages?.map(s => ({ durationS: s.duration, target: s.target }))
  const vusFlag = flags.vus !== undefined ? flagValue('--vus', intValue(flags.vus, 1, MAX_VUS)) : undefined
  const durationFlag =
    flags.duration !== undefined
      ? flagValue('--duration', durationValue(flags.duration, { positive: true }))
      : undefined
  const rampFlag =
    flags.rampUp !== undefined
      ? flagValue('--ramp-up', durationValue(flags.rampUp, { positive: false }))
      : undefined
  // A flag for the simple load shape (or a --profile flag) replaces the file's stages.
  const useStages =
    stages &&
    stages.length > 0 &&
    vusFlag === undefined &&
    durationFlag === undefined &&
    rampFlag === undefined &&
    flags.profile === undefined
  let vus: number
  let durationS: number
  let rampUpS: number
  let scenarioStages: Stage[] | undefined
  let profile: ExpandedProfile | undefined
  const profileSpec = mergeProfile(base, flags, at, opts.defaultProfile)
  if (useStages) {
    const peak = Math.max(...stages.map(s => s.target))
    if (peak < 1) throw new ConfigError(`${at('stages')}: at least one stage needs a target of 1 or more`)
    vus = base.vus ?? peak
    durationS = stages.reduce((a, s) => a + s.durationS, 0)
    rampUpS = 0
    scenarioStages = stages
    // Custom stages always override a preset's shape; the preset still names the analysis.
    if (profileSpec) profile = customStagesProfile(profileSpec.spec, vus, stages)
  } else if (profileSpec) {
    vus = vusFlag ?? base.vus ?? 1
    const { spec, where } = profileSpec
    const params: Record<string, ProfileValue> = { ...spec.params }
    // The scenario's duration is the profile's total; its ramp-up the preset's ramp-up. The file's
    // values count only for a profile of the file: a profile from a flag (or the default) replaces
    // the file's load shape, as a --vus flag replaces its stages.
    const fromFile = base.profile !== undefined && flags.profile === undefined
    const totalFrom = durationFlag !== undefined ? '--duration' : at('duration')
    const total = durationFlag ?? (fromFile ? base.duration : undefined)
    if (total !== undefined && !where.has('duration')) {
      params.duration = total
      where.set('duration', totalFrom)
    }
    const ramp = rampFlag ?? (fromFile ? base['ramp-up'] : undefined)
    if (ramp !== undefined && !where.has('ramp-up')) {
      const from = rampFlag !== undefined ? '--ramp-up' : at('ramp-up')
      try {
        params['ramp-up'] = parseProfileParam(spec.name, 'ramp-up', ramp)
      } catch {
        throw new ConfigError(
          `${from}: the ${spec.name} profile has no ramp-up` +
            (spec.name === 'stress'
              ? ' (set step-ramp)'
              : spec.name === 'scalability'
                ? ' (set level-ramp)'
                : '')
        )
      }
      where.set('ramp-up', from)
    }
    try {
      profile = expandProfile({ name: spec.name, params }, vus)
    } catch (e) {
      if (!(e instanceof ProfileParamError)) throw e
      const from =
        e.field === 'vus'
          ? vusFlag !== undefined
            ? '--vus'
            : at('vus')
          : (where.get(e.field) ??
            (configPath && base.profile ? `${at('profile')}.${e.field}` : `--profile-param ${e.field}`))
      throw new ConfigError(`${from}: ${e.detail}`)
    }
    durationS = profile.totalS
    rampUpS = 0
    scenarioStages = profile.stages
  } else {
    vus = vusFlag ?? base.vus ?? 1
    durationS = durationFlag ?? base.duration ?? 30
    rampUpS = rampFlag ?? base['ramp-up'] ?? 0
  }

  const tasks =
    flags.tasks !== undefined ? flagValue('--tasks', intValue(flags.tasks, 1, MAX_TASKS)) : (base.tasks ?? 1)
  const intervalS =
    flags.interval !== undefined
      ? flagValue('--interval', durationValue(flags.interval, { positive: true }))
      : (base.interval ?? DEFAULT_INTERVAL_MS / 1000)
  const intervalMs = Math.round(intervalS * 1000)
  if (intervalMs < 100 || intervalMs > 60_000)
    throw new ConfigError(
      `${flags.interval !== undefined ? '--interval' : at('interval')}: expected between 100ms and 60s`
    )

  let requests: HttpRequestSpec[] | undefined
  if (flags.requests !== undefined && flags.requests.length) {
    requests = flags.requests.map(r => flagValue('--request', parseRequestShorthand(r)))
  } else if (base.requests !== undefined) {
    requests = base.requests
  }
  const env = { ...(base.env ?? {}) }
  if (profile?.bodyBytes !== undefined && profile.name === 'volume') {
    // Scripts read the body size from the environment; the http engine gets padded bodies.
    env[BODY_BYTES_ENV] = String(profile.bodyBytes)
    if (engine === 'http') {
      const padded = volumeRequests(requests, profile.bodyBytes)
      const explicit = profileSpec?.where.get('body-bytes')
      if (padded.padded === 0 && explicit && profile.bodyBytes > 0)
        throw new ConfigError(
          `${explicit}: the http engine sends a body only with body-less POST, PUT or PATCH requests, and there is none (add one, e.g. 'POST /items')`
        )
      requests = padded.requests
    }
  }

  let scriptHash: string | undefined
  if (engine === 'http') {
    if (script !== undefined)
      throw new ConfigError(`${scriptFrom}: the http engine takes no script; use requests instead`)
    if (requests && requests.length === 0) requests = undefined
  } else {
    if (requests !== undefined)
      throw new ConfigError(
        `${flags.requests?.length ? '--request' : at('requests')}: requests are only for the http engine; the ${engine} script decides what to send`
      )
    if (script === undefined)
      throw new ConfigError(
        configPath
          ? `${at('script')}: is required for the ${engine} engine (or give --script)`
          : `--script: is required for the ${engine} engine`
      )
    const read = opts.readScript ?? ((p: string) => readFile(p))
    let content: Buffer
    try {
      content = await read(script)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      throw new ConfigError(
        `${scriptFrom}: ${displayPath(script, cwd)}: ${code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? errorMessage(e)})`}`
      )
    }
    scriptHash = createHash('sha256').update(content).digest('hex')
  }

  const limit = loadProblem({ vus, durationS, rampUpS, stages: scenarioStages })
  if (limit) {
    const from =
      profile && !useStages
        ? (profileSpec?.where.get(limit.part === 'duration' ? 'duration' : 'multiplier') ??
          (base.profile && flags.profile === undefined ? at('profile') : '--profile'))
        : limit.part === 'stages'
          ? at('stages')
          : limit.part === 'vus'
            ? vusFlag !== undefined
              ? '--vus'
              : at('vus')
            : durationFlag !== undefined
              ? '--duration'
              : rampFlag !== undefined
                ? '--ramp-up'
                : at('duration')
    throw new ConfigError(`${from}: ${limit.detail}`)
  }

  const loadGiven =
    vusFlag !== undefined ||
    durationFlag !== undefined ||
    rampFlag !== undefined ||
    base.vus !== undefined ||
    base.duration !== undefined ||
    base['ramp-up'] !== undefined ||
    !!stages?.length ||
    profileSpec !== null
  const scriptLoad = engine === 'k6' && !loadGiven
  const partial = {
    ...(scriptLoad ? { scriptLoad } : {}),
    engine,
    scriptHash,
    target: targetRaw,
    vus,
    durationS,
    rampUpS,
    stages: scenarioStages,
    requests,
    profile
  }
  return {
    name,
    engine,
    script,
    scriptHash,
    target: targetRaw,
    requests,
    vus,
    durationS,
    rampUpS,
    stages: partial.stages,
    tasks,
    intervalMs,
    thresholds: mergeThresholds(
      base.thresholds ?? [],
      (flags.thresholds ?? []).map(t => flagValue('--threshold', parseThreshold(t)))
    ),
    env,
    allowedHosts,
    configFile: configPath,
    fingerprint: scenarioFingerprint(partial),
    ...(profile ? { profile } : {}),
    ...(scriptLoad ? { scriptLoad } : {}),
    ...(base['gate-labels'] ? { gateLabels: base['gate-labels'] } : {})
  }
}

/**
 * The profile of a scenario: the file's `profile` (or the default), with `--profile`, `--multiplier`
 * and `--profile-param` applied (a `--profile` naming another preset drops the file's parameters).
 * `where` tells, for each parameter given, where it came from, so errors can name it.
 */
function mergeProfile(
  base: ScenarioConfig,
  flags: ScenarioFlags,
  at: (key: string) => string,
  defaultProfile?: string
): { spec: ProfileSpec; where: Map<string, string> } | null {
  const where = new Map<string, string>()
  let spec: ProfileSpec | null = base.profile
    ? { name: base.profile.name, params: { ...base.profile.params } }
    : defaultProfile !== undefined && flags.profile === undefined
      ? { name: parseProfileName(defaultProfile), params: {} }
      : null
  if (spec) for (const k of Object.keys(spec.params)) where.set(k, `${at('profile')}.${k}`)
  if (flags.profile !== undefined) {
    let name
    try {
      name = parseProfileName(flags.profile)
    } catch (e) {
      throw new ConfigError(`--profile: ${(e as ProfileParamError).detail}`)
    }
    if (!spec || spec.name !== name) {
      spec = { name, params: {} }
      where.clear()
    }
  }
  const assign = (key: string, value: unknown, from: string) => {
    if (!spec)
      throw new ConfigError(`${from}: needs a profile (give --profile, or profile: in perf-gate.yml)`)
    try {
      spec.params[key] = parseProfileParam(spec.name, key, value)
    } catch (e) {
      if (!(e instanceof ProfileParamError)) throw e
      throw new ConfigError(`${from}: ${e.detail}`)
    }
    where.set(key, from)
  }
  if (flags.multiplier !== undefined) {
    if (spec && !['stress', 'spike'].includes(spec.name))
      throw new ConfigError(
        `--multiplier: the ${spec.name} profile takes no multiplier (stress and spike do)`
      )
    assign('multiplier', flags.multiplier, '--multiplier')
  }
  for (const text of flags.profileParams ?? []) {
    const kv = splitParamAssignment(text)
    if (!kv) throw new ConfigError(`--profile-param: expected key=value (e.g. steps=6), got ${show(text)}`)
    assign(kv.key, kv.value, `--profile-param ${kv.key}`)
  }
  return spec ? { spec, where } : null
}

/** Methods the volume profile sends a body with. */
const BODY_METHODS = ['POST', 'PUT', 'PATCH']

/** The requests with a body of `bytes` bytes added to every body-less POST, PUT and PATCH. */
export function volumeRequests(
  requests: HttpRequestSpec[] | undefined,
  bytes: number
): { requests: HttpRequestSpec[] | undefined; padded: number } {
  if (!requests || bytes <= 0) return { requests, padded: 0 }
  let padded = 0
  const out = requests.map(r => {
    if (r.body !== undefined || !BODY_METHODS.includes((r.method ?? 'GET').toUpperCase())) return r
    padded++
    const headers = { ...(r.headers ?? {}) }
    if (!Object.keys(headers).some(h => h.toLowerCase() === 'content-type'))
      headers['content-type'] = 'application/octet-stream'
    return { ...r, headers, body: 'x'.repeat(bytes) }
  })
  return { requests: out, padded }
}

function mergeThresholds(a: ThresholdSpec[], b: ThresholdSpec[]): ThresholdSpec[] {
  const out: ThresholdSpec[] = []
  for (const t of [...a, ...b]) if (!out.some(x => x.metric === t.metric && x.expr === t.expr)) out.push(t)
  return out
}

async function readConfigText(path: string, label: string, fromFlag: boolean): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a directory'
          : `cannot be read (${code ?? errorMessage(e)})`
    throw new ConfigError(`${fromFlag ? '--config: ' : ''}${label}: ${why}`)
  }
}

/** A path as the user would write it: relative to `cwd` when inside it. */
export function displayPath(p: string, cwd: string): string {
  const abs = resolve(p)
  const base = resolve(cwd)
  return abs.startsWith(base + '/') ? abs.slice(base.length + 1) : abs
}
