/**
 * The load a scenario runs, from the load it asks for: the file's stages (custom stages, which keep a
 * profile's analysis), a profile expanded into stages, or the simple shape of VUs, hold and ramp-up.
 * A profile's problems become ConfigErrors naming the flag or field the bad value came from.
 */
import { customStagesProfile, expandProfile } from './profiles.js'
import { ConfigError } from '../config/scenario.js'
import type { LoadRequest, LoadShape, MergedProfile } from '../config/load-request.js'
import { parseProfileParam, ProfileParamError } from '../config/profile.js'
import type { ScenarioSource } from '../config/scenario-source.js'
import type { ExpandedProfile, ProfileValue, Stage } from '../model/index.js'

/**
 * The load shape of a scenario. With a profile, records in `req.profile.where` where the profile's
 * duration and ramp-up came from, so that later limit errors name them.
 */
export function planLoadShape(src: ScenarioSource, req: LoadRequest): LoadShape {
  const { base } = src
  if (req.useStages) return customStagesShape(src, req.stages!, req.profile)
  if (req.profile) return profileShape(src, req, req.profile)
  return {
    vus: req.vusFlag ?? base.vus ?? 1,
    durationS: req.durationFlag ?? base.duration ?? 30,
    rampUpS: req.rampFlag ?? base['ramp-up'] ?? 0
  }
}

/** The file's stages as given; they override a preset's shape, which still names the analysis. */
function customStagesShape(
  { base, at }: ScenarioSource,
  stages: Stage[],
  profile: MergedProfile | null
): LoadShape {
  const peak = Math.max(...stages.map(s => s.target))
  if (peak < 1) throw new ConfigError(`${at('stages')}: at least one stage needs a target of 1 or more`)
  const vus = base.vus ?? peak
  return {
    vus,
    durationS: stages.reduce((a, s) => a + s.durationS, 0),
    rampUpS: 0,
    stages,
    ...(profile ? { profile: customStagesProfile(profile.spec, vus, stages) } : {})
  }
}

/** The stages of the scenario's profile for its expected load (`vus`, default 1). */
function profileShape(src: ScenarioSource, req: LoadRequest, merged: MergedProfile): LoadShape {
  const vus = req.vusFlag ?? src.base.vus ?? 1
  const params = profileParams(src, req, merged)
  let profile: ExpandedProfile
  try {
    profile = expandProfile({ name: merged.spec.name, params }, vus)
  } catch (e) {
    if (!(e instanceof ProfileParamError)) throw e
    throw new ConfigError(`${paramSource(src, req, merged, e.field)}: ${e.detail}`)
  }
  return { vus, durationS: profile.totalS, rampUpS: 0, stages: profile.stages, profile }
}

/**
 * The profile's parameters with the scenario's duration as the profile's total and its ramp-up as
 * the preset's ramp-up. The file's values count only for a profile of the file: a profile from a
 * flag (or the default) replaces the file's load shape, as a --vus flag replaces its stages.
 */
function profileParams(
  { flags, base, at }: ScenarioSource,
  req: LoadRequest,
  { spec, where }: MergedProfile
): Record<string, ProfileValue> {
  const params: Record<string, ProfileValue> = { ...spec.params }
  const fromFile = base.profile !== undefined && flags.profile === undefined
  const totalFrom = req.durationFlag !== undefined ? '--duration' : at('duration')
  const total = req.durationFlag ?? (fromFile ? base.duration : undefined)
  if (total !== undefined && !where.has('duration')) {
    params.duration = total
    where.set('duration', totalFrom)
  }
  const ramp = req.rampFlag ?? (fromFile ? base['ramp-up'] : undefined)
  if (ramp !== undefined && !where.has('ramp-up')) {
    const from = req.rampFlag !== undefined ? '--ramp-up' : at('ramp-up')
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
  return params
}

/** The flag or field a profile parameter (or the expected load, `vus`) came from. */
function paramSource(
  { configPath, base, at }: ScenarioSource,
  req: LoadRequest,
  { where }: MergedProfile,
  field: string
): string {
  if (field === 'vus') return req.vusFlag !== undefined ? '--vus' : at('vus')
  return (
    where.get(field) ??
    (configPath && base.profile ? `${at('profile')}.${field}` : `--profile-param ${field}`)
  )
}
