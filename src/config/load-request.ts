/**
 * The load a scenario asks for, as given: the `--vus`, `--duration` and `--ramp-up` flags, the
 * file's stages and the profile merged from the file, the flags and the default. `plan/load-shape.ts`
 * turns it into the load that runs (a `LoadShape`); the checks here then hold that shape to
 * perf-gate's limits and name the setting that broke them.
 */
import { loadProblem, MAX_VUS } from './limits.js'
import {
  parseProfileName,
  parseProfileParam,
  ProfileParamError,
  splitParamAssignment,
  type ProfileSpec
} from './profile.js'
import type { ScenarioConfig } from './schema.js'
import { ConfigError, type ScenarioFlags } from './scenario.js'
import type { ScenarioSource } from './scenario-source.js'
import { durationValue, flagValue, intValue, show } from './values.js'
import type { EngineName, ExpandedProfile, Stage } from '../model/index.js'

/** A scenario's profile with, for each parameter given, where it came from (for errors). */
export interface MergedProfile {
  spec: ProfileSpec
  where: Map<string, string>
}

/** The load settings as given; the flags are undefined when not given. */
export interface LoadRequest {
  vusFlag?: number
  durationFlag?: number
  rampFlag?: number
  /** The file's stages. */
  stages?: Stage[]
  profile: MergedProfile | null
  /** Whether the file's stages run: no load flag (nor `--profile`) replaces them. */
  useStages: boolean
}

/** The load that runs: VUs, hold, ramp-up and stages, and the profile they came from. */
export interface LoadShape {
  vus: number
  durationS: number
  rampUpS: number
  stages?: Stage[]
  profile?: ExpandedProfile
}

/** Reads the load flags and the file's stages, and merges the profile. */
export function readLoadRequest(src: ScenarioSource, defaultProfile?: string): LoadRequest {
  const { flags, base, at } = src
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
    !!stages &&
    stages.length > 0 &&
    vusFlag === undefined &&
    durationFlag === undefined &&
    rampFlag === undefined &&
    flags.profile === undefined
  const profile = mergeProfile(base, flags, at, defaultProfile)
  return { vusFlag, durationFlag, rampFlag, stages, profile, useStages }
}

/**
 * The profile of a scenario: the file's `profile` (or the default), with `--profile`, `--multiplier`
 * and `--profile-param` applied (a `--profile` naming another preset drops the file's parameters).
 * `where` tells, for each parameter given, where it came from, so errors can name it.
 */
export function mergeProfile(
  base: ScenarioConfig,
  flags: ScenarioFlags,
  at: (key: string) => string,
  defaultProfile?: string
): MergedProfile | null {
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

/** Refuses a load shape beyond perf-gate's limits, naming the flag, field or profile parameter. */
export function checkLoadLimits(
  { flags, base, at }: ScenarioSource,
  req: LoadRequest,
  shape: LoadShape
): void {
  const limit = loadProblem(shape)
  if (!limit) return
  const from =
    shape.profile && !req.useStages
      ? (req.profile?.where.get(limit.part === 'duration' ? 'duration' : 'multiplier') ??
        (base.profile && flags.profile === undefined ? at('profile') : '--profile'))
      : limit.part === 'stages'
        ? at('stages')
        : limit.part === 'vus'
          ? req.vusFlag !== undefined
            ? '--vus'
            : at('vus')
          : req.durationFlag !== undefined
            ? '--duration'
            : req.rampFlag !== undefined
              ? '--ramp-up'
              : at('duration')
  throw new ConfigError(`${from}: ${limit.detail}`)
}

/**
 * Whether a k6 script's own load options run: the engine is k6 and no load was given (no vus,
 * duration, ramp-up, stages or profile).
 */
export function usesScriptLoad({ base }: ScenarioSource, req: LoadRequest, engine: EngineName): boolean {
  const loadGiven =
    req.vusFlag !== undefined ||
    req.durationFlag !== undefined ||
    req.rampFlag !== undefined ||
    base.vus !== undefined ||
    base.duration !== undefined ||
    base['ramp-up'] !== undefined ||
    !!req.stages?.length ||
    req.profile !== null
  return engine === 'k6' && !loadGiven
}
