/**
 * Loading steps for the scenario's settings other than its load shape: engine and script, target,
 * tasks and interval, requests and env, the script's hash and the thresholds. Each step merges a
 * flag over the file's field (flags win) and names the one the value came from in errors.
 */
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { basename, dirname, resolve } from 'node:path'
import { checkTargetAllowed } from './allow-list.js'
import { displayPath } from './config-file.js'
import { hostValue } from './schema.js'
import { ConfigError, DEFAULT_INTERVAL_MS, MAX_TASKS } from './scenario.js'
import type { ScenarioSource } from './scenario-source.js'
import {
  durationValue,
  engineValue,
  flagValue,
  intValue,
  nonEmptyString,
  parseRequestShorthand,
  parseThreshold,
  urlValue
} from './values.js'
import {
  BODY_BYTES_ENV,
  type EngineName,
  type ExpandedProfile,
  type HttpRequestSpec,
  type ThresholdSpec
} from '../model/index.js'
import { errorMessage } from '../util/index.js'

/** The engine implied by a script's extension. */
function engineForScript(script: string): EngineName | undefined {
  if (/\.(js|mjs|cjs|ts)$/i.test(script)) return 'k6'
  if (/\.py$/i.test(script)) return 'locust'
  if (/\.jmx$/i.test(script)) return 'jmeter'
  return undefined
}

/** The script's absolute path and where it was given. */
export interface ScriptSetting {
  script?: string
  /** The flag or field the script came from, for errors. */
  scriptFrom: string
}

/** The script (relative to the working directory for a flag, to the file for a field). */
export function resolveScript({ flags, base, cwd, configPath, at }: ScenarioSource): ScriptSetting {
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
  return { script, scriptFrom: scriptFlag !== undefined ? '--script' : at('script') }
}

/** The engine: given, else implied by the script's extension, else the built-in http engine. */
export function resolveEngine(
  { flags, base }: ScenarioSource,
  { script, scriptFrom }: ScriptSetting
): EngineName {
  if (flags.engine !== undefined) return flagValue('--engine', engineValue(flags.engine))
  if (base.engine !== undefined) return base.engine
  if (script === undefined) return 'http'
  const e = engineForScript(script)
  if (!e)
    throw new ConfigError(`${scriptFrom}: cannot tell the engine from "${basename(script)}"; give --engine`)
  return e
}

/** The target URL (required) and the allowed hosts, with the target checked against them. */
export function resolveTarget({ flags, base, file, configPath, at }: ScenarioSource): {
  target: string
  allowedHosts: string[]
} {
  const target = flags.target !== undefined ? flagValue('--target', urlValue(flags.target)) : base.target
  if (target === undefined)
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
  checkTargetAllowed(target, allowedHosts, targetFrom)
  return { target, allowedHosts }
}

/** The runner processes and the sampling interval (100 ms to 60 s). */
export function resolveRunSettings({ flags, base, at }: ScenarioSource): {
  tasks: number
  intervalMs: number
} {
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
  return { tasks, intervalMs }
}

/**
 * The http engine's requests and the scenario's env. A volume profile puts its body size into the
 * env for scripts, and pads the http engine's body-less POST, PUT and PATCH requests; `bodyBytesFrom`
 * names where an explicit `body-bytes` was given.
 */
export function resolveRequestsAndEnv(
  { flags, base }: ScenarioSource,
  engine: EngineName,
  profile: ExpandedProfile | undefined,
  bodyBytesFrom: string | undefined
): { requests: HttpRequestSpec[] | undefined; env: Record<string, string> } {
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
      if (padded.padded === 0 && bodyBytesFrom && profile.bodyBytes > 0)
        throw new ConfigError(
          `${bodyBytesFrom}: the http engine sends a body only with body-less POST, PUT or PATCH requests, and there is none (add one, e.g. 'POST /items')`
        )
      requests = padded.requests
    }
  }
  return { requests, env }
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

/**
 * Checks what the engine needs: the http engine takes requests and no script, the others a readable
 * script and no requests. Returns the requests (none for an empty list) and the script's sha256.
 */
export async function checkEngineInputs(
  { flags, cwd, configPath, at }: ScenarioSource,
  engine: EngineName,
  { script, scriptFrom }: ScriptSetting,
  requests: HttpRequestSpec[] | undefined,
  readScript: (path: string) => Promise<Buffer> = p => readFile(p)
): Promise<{ requests: HttpRequestSpec[] | undefined; scriptHash?: string }> {
  if (engine === 'http') {
    if (script !== undefined)
      throw new ConfigError(`${scriptFrom}: the http engine takes no script; use requests instead`)
    return { requests: requests && requests.length === 0 ? undefined : requests }
  }
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
  let content: Buffer
  try {
    content = await readScript(script)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new ConfigError(
      `${scriptFrom}: ${displayPath(script, cwd)}: ${code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? errorMessage(e)})`}`
    )
  }
  return { requests, scriptHash: createHash('sha256').update(content).digest('hex') }
}

/** The file's thresholds followed by the `--threshold` flags, without repeats. */
export function resolveThresholds({ flags, base }: ScenarioSource): ThresholdSpec[] {
  const fromFlags = (flags.thresholds ?? []).map(t => flagValue('--threshold', parseThreshold(t)))
  const out: ThresholdSpec[] = []
  for (const t of [...(base.thresholds ?? []), ...fromFlags])
    if (!out.some(x => x.metric === t.metric && x.expr === t.expr)) out.push(t)
  return out
}
