/**
 * Test-type profiles as written: named presets (`PROFILE_NAMES`, in the model) and their validated
 * parameters. `plan/profiles.ts` expands them into load stages.
 *
 * A profile is written as a name (`profile: stress`) or a mapping with parameters
 * (`profile: { name: stress, multiplier: 3, steps: 6, step-duration: 20s }`). Every preset derives
 * its load from the scenario's `vus`, the expected load V, and has documented defaults:
 *
 * | preset        | shape                                                                  |
 * | ------------- | ---------------------------------------------------------------------- |
 * | `load`        | ramp-up → hold V → ramp-down                                           |
 * | `stress`      | `steps` levels evenly up to multiplier × V, each a short ramp and a hold |
 * | `spike`       | ramp-up → baseline V → sudden surge to multiplier × V → drop → recovery |
 * | `soak`        | ramp-up → long hold V → ramp-down                                      |
 * | `scalability` | levels at 25/50/75/100% of V (by default), each a ramp and a hold      |
 * | `volume`      | like load, with large request bodies (`body-bytes`)                    |
 *
 * `duration` sets the whole profile's length: the preset's phases that were not given explicitly
 * are scaled together (the "sudden" spike ramps excepted) so that the total matches. Durations are
 * rounded to whole seconds, because JMeter's thread groups take whole seconds.
 *
 * Besides the stages, an expansion names its constant-load phases (`steps`), which the capacity
 * analysis judges one by one, and the window a gate run would treat as steady.
 *
 * Problems are reported as a `ProfileParamError` naming the parameter (`multiplier`) and what is
 * wrong with it; the scenario loader prefixes the file and scenario, so the user reads
 * `perf-gate.yml: scenarios.x.profile.multiplier: expected a number > 1, got "lots"`.
 */
import { parseDuration } from './duration.js'
import { show } from './values.js'
import { PROFILE_NAMES, type ProfileName, type ProfileValue } from '../model/index.js'

/** A profile as written: its name and its parameters, validated but not yet expanded. */
export interface ProfileSpec {
  name: ProfileName
  params: Record<string, ProfileValue>
}

/** A bad profile name or parameter. `field` is the parameter (`''` for the profile itself). */
export class ProfileParamError extends Error {
  constructor(
    readonly field: string,
    readonly detail: string
  ) {
    super(field ? `${field}: ${detail}` : detail)
    this.name = 'ProfileParamError'
  }
}

type Kind = 'multiplier' | 'count' | 'duration' | 'ramp' | 'bool' | 'levels' | 'bytes'

interface ParamDef {
  kind: Kind
  /** Default value (seconds, count, …). */
  dflt: ProfileValue
  /** Scaled with the others when `duration` sets the total. */
  scales?: boolean
  /** What the parameter does, for help texts and errors. */
  doc: string
  min?: number
  max?: number
}

/** Every preset's parameters and their defaults. `duration` (the total) is accepted by all. */
export const PROFILE_PARAMS: Readonly<Record<ProfileName, Readonly<Record<string, ParamDef>>>> = {
  load: {
    'ramp-up': { kind: 'ramp', dflt: 30, scales: true, doc: 'ramp from 0 to the expected load' },
    hold: { kind: 'duration', dflt: 240, scales: true, doc: 'hold at the expected load' },
    'ramp-down': { kind: 'ramp', dflt: 30, scales: true, doc: 'ramp back to 0 (0 = none)' }
  },
  stress: {
    multiplier: { kind: 'multiplier', dflt: 2, doc: 'the last step runs multiplier × the expected load' },
    steps: { kind: 'count', dflt: 5, min: 2, max: 50, doc: 'number of load levels' },
    'step-duration': {
      kind: 'duration',
      dflt: 60,
      scales: true,
      doc: 'length of each step, its ramp included'
    },
    'step-ramp': { kind: 'ramp', dflt: 10, scales: true, doc: 'ramp from one level to the next' },
    'stop-on-break': { kind: 'bool', dflt: true, doc: 'end the run after the first step that breaks an SLO' }
  },
  spike: {
    multiplier: { kind: 'multiplier', dflt: 5, doc: 'the surge runs multiplier × the expected load' },
    'ramp-up': { kind: 'ramp', dflt: 10, scales: true, doc: 'ramp from 0 to the expected load' },
    baseline: { kind: 'duration', dflt: 60, scales: true, doc: 'hold at the expected load before the surge' },
    'surge-ramp': { kind: 'ramp', dflt: 2, doc: 'how fast the surge arrives' },
    surge: { kind: 'duration', dflt: 30, scales: true, doc: 'hold at the surge load' },
    drop: { kind: 'ramp', dflt: 2, doc: 'how fast the load falls back to the expected load' },
    recovery: { kind: 'duration', dflt: 120, scales: true, doc: 'hold at the expected load after the surge' }
  },
  soak: {
    'ramp-up': { kind: 'ramp', dflt: 60, scales: true, doc: 'ramp from 0 to the expected load' },
    hold: { kind: 'duration', dflt: 3600, scales: true, doc: 'the long hold' },
    'ramp-down': { kind: 'ramp', dflt: 60, scales: true, doc: 'ramp back to 0 (0 = none)' },
    window: {
      kind: 'duration',
      dflt: 0,
      doc: 'length of the first and last steady windows compared (default: a sixth of the hold)'
    }
  },
  scalability: {
    levels: { kind: 'levels', dflt: [25, 50, 75, 100], doc: 'load levels in percent of the expected load' },
    'level-duration': {
      kind: 'duration',
      dflt: 60,
      scales: true,
      doc: 'length of each level, its ramp included'
    },
    'level-ramp': { kind: 'ramp', dflt: 10, scales: true, doc: 'ramp from one level to the next' }
  },
  volume: {
    'ramp-up': { kind: 'ramp', dflt: 30, scales: true, doc: 'ramp from 0 to the expected load' },
    hold: { kind: 'duration', dflt: 240, scales: true, doc: 'hold at the expected load' },
    'ramp-down': { kind: 'ramp', dflt: 30, scales: true, doc: 'ramp back to 0 (0 = none)' },
    'body-bytes': {
      kind: 'bytes',
      dflt: 65_536,
      min: 0,
      max: 64 * 1024 * 1024,
      doc: 'request body size: the http engine sends it with body-less POST, PUT and PATCH requests; scripts read PERF_GATE_BODY_BYTES'
    }
  }
}

/** The total length parameter every preset accepts. */
export const DURATION_PARAM = 'duration'

// ---------------------------------------------------------------------------------------------
// Parsing values.

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v
  if (typeof v === 'string' && /^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*$/.test(v)) return Number(v)
  return Number.NaN
}

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1000,
  kb: 1000,
  kib: 1024,
  m: 1_000_000,
  mb: 1_000_000,
  mib: 1024 * 1024
}

/** Bytes of a size (`65536`, `64KiB`, `1MB`); null if not one. */
export function byteSize(v: unknown): number | null {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? v : null
  if (typeof v !== 'string') return null
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(v)
  if (!m) return null
  const unit = BYTE_UNITS[m[2].toLowerCase()]
  if (unit === undefined) return null
  const n = Number(m[1]) * unit
  return Number.isFinite(n) ? Math.round(n) : null
}

function parseLevels(v: unknown): number[] | null {
  const items =
    typeof v === 'string' ? v.split(/[\s,]+/).filter(Boolean) : Array.isArray(v) ? (v as unknown[]) : null
  if (!items || items.length === 0) return null
  const out: number[] = []
  for (const it of items) {
    const text = typeof it === 'string' ? it.trim().replace(/%$/, '') : it
    const n = toNumber(text)
    if (!Number.isFinite(n) || n <= 0 || n > 1000) return null
    out.push(n)
  }
  return out
}

function parseValue(key: string, def: ParamDef, v: unknown): ProfileValue {
  switch (def.kind) {
    case 'multiplier': {
      const n = toNumber(v)
      if (!Number.isFinite(n) || n <= 1 || n > 1000)
        throw new ProfileParamError(key, `expected a number > 1, got ${show(v)}`)
      return n
    }
    case 'count': {
      const n = toNumber(v)
      const min = def.min ?? 1
      const max = def.max ?? 1000
      if (!Number.isInteger(n) || n < min || n > max)
        throw new ProfileParamError(key, `expected a whole number from ${min} to ${max}, got ${show(v)}`)
      return n
    }
    case 'duration':
    case 'ramp': {
      const s = parseDuration(v)
      if (s === null)
        throw new ProfileParamError(key, `expected a duration like 10s, 2m or 1h, got ${show(v)}`)
      return s
    }
    case 'bool': {
      if (typeof v === 'boolean') return v
      const s = typeof v === 'string' ? v.trim().toLowerCase() : ''
      if (['true', 'yes', 'on', '1'].includes(s)) return true
      if (['false', 'no', 'off', '0'].includes(s)) return false
      throw new ProfileParamError(key, `expected true or false, got ${show(v)}`)
    }
    case 'levels': {
      const levels = parseLevels(v)
      if (!levels)
        throw new ProfileParamError(
          key,
          `expected percentages of the expected load like "25%, 50%, 100%" (each above 0 and at most 1000), got ${show(v)}`
        )
      for (let i = 1; i < levels.length; i++)
        if (levels[i] <= levels[i - 1])
          throw new ProfileParamError(key, `expected increasing levels, got ${levels.join(', ')}`)
      return levels
    }
    case 'bytes': {
      const n = byteSize(v)
      const max = def.max ?? Number.MAX_SAFE_INTEGER
      if (n === null || n < (def.min ?? 0) || n > max)
        throw new ProfileParamError(
          key,
          `expected a size in bytes like 65536, 64KiB or 1MB (at most ${max} bytes), got ${show(v)}`
        )
      return n
    }
  }
}

function paramList(name: ProfileName): string {
  return [...Object.keys(PROFILE_PARAMS[name]), DURATION_PARAM].join(', ')
}

/** Parses a profile name. */
export function parseProfileName(v: unknown): ProfileName {
  if (typeof v === 'string' && (PROFILE_NAMES as readonly string[]).includes(v.trim()))
    return v.trim() as ProfileName
  throw new ProfileParamError('', `expected one of ${PROFILE_NAMES.join(', ')}, got ${show(v)}`)
}

/** Validates one parameter of a preset; the key must be one the preset takes. */
export function parseProfileParam(name: ProfileName, key: string, v: unknown): ProfileValue {
  if (key === DURATION_PARAM) {
    const s = parseDuration(v)
    if (s === null || s <= 0)
      throw new ProfileParamError(key, `expected a duration greater than zero like 5m, got ${show(v)}`)
    return s
  }
  const def = PROFILE_PARAMS[name][key]
  if (!def)
    throw new ProfileParamError(key, `unknown parameter of the ${name} profile (it takes ${paramList(name)})`)
  return parseValue(key, def, v)
}

/**
 * Parses a profile as written in perf-gate.yml: a name, or a mapping with `name` and parameters.
 * Throws a ProfileParamError naming the first bad field.
 */
export function parseProfileSpec(raw: unknown): ProfileSpec {
  if (typeof raw === 'string') return { name: parseProfileName(raw), params: {} }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ProfileParamError(
      '',
      `expected a profile name (${PROFILE_NAMES.join(', ')}) or a mapping with name and parameters, got ${show(raw)}`
    )
  const o = raw as Record<string, unknown>
  if (!('name' in o)) throw new ProfileParamError('name', `is required (one of ${PROFILE_NAMES.join(', ')})`)
  let name: ProfileName
  try {
    name = parseProfileName(o.name)
  } catch (e) {
    throw new ProfileParamError('name', (e as ProfileParamError).detail)
  }
  const params: Record<string, ProfileValue> = {}
  for (const [key, v] of Object.entries(o)) {
    if (key === 'name') continue
    params[key] = parseProfileParam(name, key, v)
  }
  return { name, params }
}

/**
 * Parses `key=value` or `key: value` (the `--profile-param` flag and the `profile-params` input).
 * Returns the key and the raw value; the value is validated by `parseProfileParam`.
 */
export function splitParamAssignment(text: string): { key: string; value: string } | null {
  const m = /^\s*([A-Za-z][A-Za-z0-9-]*)\s*[=:]\s*(.*?)\s*$/.exec(text)
  return m && m[2] !== '' ? { key: m[1], value: m[2] } : null
}
