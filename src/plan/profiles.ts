/**
 * Test-type profiles expanded into load stages, with their constant-load steps and the window a gate
 * run treats as steady. Pure functions, no I/O; `config/profile.ts` describes the presets.
 */
import type { ExpandedProfile, ProfileName, ProfileStep, ProfileValue, Stage } from '../model/index.js'
import { DURATION_PARAM, PROFILE_PARAMS, ProfileParamError, type ProfileSpec } from '../config/profile.js'

function num(p: Record<string, ProfileValue>, key: string): number {
  return p[key] as number
}

/** Whole seconds, at least `min`. */
function whole(s: number, min = 1): number {
  return Math.max(min, Math.round(s))
}

/** The phases whose lengths add up to each preset's total. Inner ramps (step-ramp) scale along. */
const TOTAL_PHASES: Record<ProfileName, string[]> = {
  load: ['ramp-up', 'hold', 'ramp-down'],
  volume: ['ramp-up', 'hold', 'ramp-down'],
  soak: ['ramp-up', 'hold', 'ramp-down'],
  stress: ['step-duration'],
  scalability: ['level-duration'],
  spike: ['ramp-up', 'baseline', 'surge-ramp', 'surge', 'drop', 'recovery']
}

const INNER: Partial<Record<ProfileName, Record<string, string>>> = {
  stress: { 'step-ramp': 'step-duration' },
  scalability: { 'level-ramp': 'level-duration' }
}

/** Defaults overlaid with the given parameters, with `duration` spread over the phases not given. */
function resolveParams(spec: ProfileSpec): Record<string, ProfileValue> {
  const defs = PROFILE_PARAMS[spec.name]
  const out: Record<string, ProfileValue> = {}
  for (const [k, d] of Object.entries(defs)) out[k] = spec.params[k] ?? d.dflt
  const total = spec.params[DURATION_PARAM] as number | undefined
  if (total === undefined) return out

  const counts = (key: string): number => {
    if (spec.name === 'stress' && key === 'step-duration') return num(out, 'steps')
    if (spec.name === 'scalability' && key === 'level-duration') return (out.levels as number[]).length
    return 1
  }
  let fixed = 0
  let free = 0
  const given = (key: string) => spec.params[key] !== undefined || !defs[key].scales
  for (const key of TOTAL_PHASES[spec.name]) {
    if (given(key)) fixed += counts(key) * num(out, key)
    else free += counts(key) * num(out, key)
  }
  if (free <= 0)
    throw new ProfileParamError(
      DURATION_PARAM,
      `every phase of the ${spec.name} profile is set explicitly; drop duration or one of them`
    )
  const factor = (total - fixed) / free
  if (!(factor > 0))
    throw new ProfileParamError(
      DURATION_PARAM,
      `${total}s is not longer than the phases set explicitly (${fixed}s)`
    )
  for (const key of TOTAL_PHASES[spec.name]) if (!given(key)) out[key] = whole(num(out, key) * factor)
  for (const [inner, outer] of Object.entries(INNER[spec.name] ?? {}))
    if (spec.params[inner] === undefined && spec.params[outer] === undefined)
      out[inner] = whole(num(out, inner) * factor)
  out[DURATION_PARAM] = total
  return out
}

function atLeast(key: string, v: number, min: number, why = ''): void {
  if (!(v >= min))
    throw new ProfileParamError(key, `expected at least ${min}s${why ? ` (${why})` : ''}, got ${v}s`)
}

class StageBuilder {
  readonly stages: Stage[] = []
  readonly steps: ProfileStep[] = []
  t = 0

  move(durationS: number, target: number): void {
    if (durationS <= 0) return
    this.stages.push({ durationS, target })
    this.t += durationS
  }

  /** A ramp to `vus` then a hold, recorded as a step. */
  step(label: string, vus: number, rampS: number, holdS: number): void {
    const startS = this.t
    this.move(rampS, vus)
    const holdFromS = this.t
    this.move(holdS, vus)
    this.steps.push({ index: this.steps.length + 1, label, vus, startS, holdFromS, endS: this.t })
  }
}

function rampHoldDown(
  p: Record<string, ProfileValue>,
  vus: number
): Pick<ExpandedProfile, 'stages' | 'steps' | 'steady'> {
  atLeast('ramp-up', num(p, 'ramp-up'), 1, 'a ramp needs time; use 1s for a near-instant start')
  atLeast('hold', num(p, 'hold'), 1)
  const down = num(p, 'ramp-down')
  if (down !== 0) atLeast('ramp-down', down, 1, 'or 0 for none')
  const b = new StageBuilder()
  b.step('hold', vus, num(p, 'ramp-up'), num(p, 'hold'))
  b.move(down, 0)
  const hold = b.steps[0]
  return { stages: b.stages, steps: b.steps, steady: { fromS: hold.holdFromS, toS: hold.endS } }
}

/** Levels evenly spaced up to `top`, rounded to whole VUs; refuses repeated levels. */
function evenLevels(top: number, steps: number, vus: number, multiplier: number): number[] {
  const levels = Array.from({ length: steps }, (_, i) => Math.max(1, Math.round((top * (i + 1)) / steps)))
  for (let i = 1; i < levels.length; i++)
    if (levels[i] <= levels[i - 1])
      throw new ProfileParamError(
        'steps',
        `${steps} steps up to ${top} VUs (${multiplier} × ${vus}) would repeat a level; use fewer steps or more vus`
      )
  return levels
}

/** Steps ramp, hold, ramp, hold, …: `levels` in VUs. */
function stepped(
  p: Record<string, ProfileValue>,
  levels: number[],
  labels: string[],
  durKey: string,
  rampKey: string
): Pick<ExpandedProfile, 'stages' | 'steps'> {
  const dur = num(p, durKey)
  const ramp = num(p, rampKey)
  atLeast(rampKey, ramp, 1)
  if (!(dur - ramp >= 1))
    throw new ProfileParamError(
      durKey,
      `expected at least 1s more than ${rampKey} (${ramp}s) so that each level is held, got ${dur}s`
    )
  const b = new StageBuilder()
  levels.forEach((v, i) => b.step(labels[i], v, ramp, dur - ramp))
  return { stages: b.stages, steps: b.steps }
}

/** The step whose level is closest to the expected load (the first of equals), as a steady window. */
function steadyNear(steps: ProfileStep[], vus: number): { fromS: number; toS: number } | null {
  let best: ProfileStep | null = null
  for (const s of steps) if (!best || Math.abs(s.vus - vus) < Math.abs(best.vus - vus)) best = s
  return best ? { fromS: best.holdFromS, toS: best.endS } : null
}

/** A preset's stages, steps and steady window, with the facts only some presets have. */
type Shape = Pick<ExpandedProfile, 'stages' | 'steps' | 'steady'> & {
  extra?: Pick<ExpandedProfile, 'bodyBytes' | 'windowS' | 'surgeEndS'>
}

/** Ramp up, hold, ramp down: the load and volume presets (volume with its body size). */
function loadShape(name: 'load' | 'volume') {
  return (p: Record<string, ProfileValue>, vus: number): Shape => ({
    ...rampHoldDown(p, vus),
    ...(name === 'volume' ? { extra: { bodyBytes: num(p, 'body-bytes') } } : {})
  })
}

/** Soak: a long hold whose first and last windows (a sixth of the hold by default) are compared. */
function soakShape(p: Record<string, ProfileValue>, vus: number): Shape {
  const built = rampHoldDown(p, vus)
  const hold = num(p, 'hold')
  const w = num(p, 'window') || whole(hold / 6)
  if (w * 2 > hold)
    throw new ProfileParamError('window', `expected at most half of the hold (${hold}s), got ${w}s`)
  p.window = w
  return { ...built, extra: { windowS: w } }
}

/** Stress: `steps` levels evenly up to multiplier × V; the step nearest V is the steady window. */
function stressShape(p: Record<string, ProfileValue>, vus: number): Shape {
  const m = num(p, 'multiplier')
  const levels = evenLevels(Math.round(vus * m), num(p, 'steps'), vus, m)
  const s = stepped(
    p,
    levels,
    levels.map((_, i) => `step ${i + 1}`),
    'step-duration',
    'step-ramp'
  )
  return { ...s, steady: steadyNear(s.steps, vus) }
}

/** Scalability: levels in percent of V, each a distinct whole number of VUs. */
function scalabilityShape(p: Record<string, ProfileValue>, vus: number): Shape {
  const pct = p.levels as number[]
  const levels = pct.map(x => Math.max(1, Math.round((vus * x) / 100)))
  for (let i = 1; i < levels.length; i++)
    if (levels[i] <= levels[i - 1])
      throw new ProfileParamError(
        'levels',
        `${pct[i - 1]}% and ${pct[i]}% of ${vus} VUs are both ${levels[i]} VUs; use more vus or fewer levels`
      )
  const s = stepped(
    p,
    levels,
    pct.map(x => `${x}%`),
    'level-duration',
    'level-ramp'
  )
  return { ...s, steady: steadyNear(s.steps, vus) }
}

/** Spike: baseline at V, a surge to multiplier × V, recovery at V; the baseline is steady. */
function spikeShape(p: Record<string, ProfileValue>, vus: number): Shape {
  const surgeVus = Math.round(vus * num(p, 'multiplier'))
  if (surgeVus <= vus)
    throw new ProfileParamError('multiplier', `${num(p, 'multiplier')} × ${vus} VUs rounds to no surge`)
  for (const k of ['ramp-up', 'surge-ramp', 'drop']) atLeast(k, num(p, k), 1)
  for (const k of ['baseline', 'surge', 'recovery']) atLeast(k, num(p, k), 1)
  const b = new StageBuilder()
  b.step('baseline', vus, num(p, 'ramp-up'), num(p, 'baseline'))
  b.step('surge', surgeVus, num(p, 'surge-ramp'), num(p, 'surge'))
  b.step('recovery', vus, num(p, 'drop'), num(p, 'recovery'))
  return {
    stages: b.stages,
    steps: b.steps,
    steady: { fromS: b.steps[0].holdFromS, toS: b.steps[0].endS },
    extra: { surgeEndS: b.steps[2].holdFromS }
  }
}

/** Each preset's shape from its resolved parameters and the expected load. */
const SHAPES: Record<ProfileName, (p: Record<string, ProfileValue>, vus: number) => Shape> = {
  load: loadShape('load'),
  volume: loadShape('volume'),
  soak: soakShape,
  stress: stressShape,
  scalability: scalabilityShape,
  spike: spikeShape
}

/**
 * Expands a profile for an expected load of `vus` VUs into stages, steps and facts. Throws a
 * ProfileParamError naming the parameter when the combination cannot be built.
 */
export function expandProfile(spec: ProfileSpec, vus: number): ExpandedProfile {
  if (!Number.isInteger(vus) || vus < 1)
    throw new ProfileParamError('vus', `expected a positive integer, got ${vus}`)
  const p = resolveParams(spec)
  const { extra, ...built } = SHAPES[spec.name](p, vus)
  const totalS = built.stages.reduce((a, s) => a + s.durationS, 0)
  return {
    name: spec.name,
    params: p,
    vus,
    ...built,
    totalS,
    custom: false,
    stopOnBreak: spec.name === 'stress' ? (p['stop-on-break'] as boolean) : false,
    ...extra
  }
}

/**
 * The constant-load phases of arbitrary stages: every stage that keeps a non-zero level, together
 * with the move into it. Used when custom `stages` replace a preset's shape.
 */
export function stepsFromStages(stages: readonly Stage[]): ProfileStep[] {
  const steps: ProfileStep[] = []
  let t = 0
  let level = 0
  let moveStart = 0
  for (const st of stages) {
    if (st.target === level && level > 0) {
      const last = steps[steps.length - 1]
      if (last && last.endS === t && last.vus === level) last.endS = t + st.durationS
      else
        steps.push({
          index: steps.length + 1,
          label: `stage ${steps.length + 1}`,
          vus: level,
          startS: moveStart,
          holdFromS: t,
          endS: t + st.durationS
        })
    } else {
      moveStart = t
    }
    level = st.target
    t += st.durationS
  }
  return steps.map((s, i) => ({ ...s, index: i + 1, label: `stage ${i + 1}` }))
}

/**
 * The preset's facts over custom stages: the stages as given, their constant phases as steps. The
 * spike's surge end is the end of the highest step's hold, the soak window a sixth of the longest step.
 */
export function customStagesProfile(spec: ProfileSpec, vus: number, stages: Stage[]): ExpandedProfile {
  const steps = stepsFromStages(stages)
  const totalS = stages.reduce((a, s) => a + s.durationS, 0)
  const peak = steps.reduce<ProfileStep | null>((b, s) => (!b || s.vus > b.vus ? s : b), null)
  // The surge ends when the load is back down: where the step after the highest one is reached.
  const afterPeak = peak ? steps[steps.indexOf(peak) + 1] : undefined
  const longest = steps.reduce<ProfileStep | null>(
    (b, s) => (!b || s.endS - s.holdFromS > b.endS - b.holdFromS ? s : b),
    null
  )
  const params: Record<string, ProfileValue> = { ...spec.params }
  const stopOnBreak =
    spec.name === 'stress' ? ((spec.params['stop-on-break'] as boolean | undefined) ?? true) : false
  return {
    name: spec.name,
    params,
    vus,
    stages,
    steps,
    steady: longest ? { fromS: longest.holdFromS, toS: longest.endS } : null,
    totalS,
    custom: true,
    stopOnBreak,
    ...(spec.name === 'spike' && peak ? { surgeEndS: afterPeak?.holdFromS ?? peak.endS } : {}),
    ...(spec.name === 'soak' && longest
      ? { windowS: Math.max(1, Math.round((longest.endS - longest.holdFromS) / 6)) }
      : {}),
    ...(spec.name === 'volume'
      ? {
          bodyBytes:
            (spec.params['body-bytes'] as number | undefined) ?? PROFILE_PARAMS.volume['body-bytes'].dflt
        }
      : {})
  } as ExpandedProfile
}

/** `2m 30s`, `45s`, `1h 5m`. */
function human(s: number): string {
  if (s < 60) return `${Number(s.toFixed(1))}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? ` ${Math.round(s % 60)}s` : ''}`
  return `${Math.floor(s / 3600)}h${Math.round((s % 3600) / 60) ? ` ${Math.round((s % 3600) / 60)}m` : ''}`
}

/** A one-line description for logs and reports. */
export function describeProfile(p: ExpandedProfile): string {
  const peak = Math.max(0, ...p.stages.map(s => s.target))
  const base = `${p.name} profile${p.custom ? ' (custom stages)' : ''}, expected load ${p.vus} VUs`
  switch (p.name) {
    case 'stress':
      return `${base}: ${p.steps.length} steps up to ${peak} VUs, ${human(p.totalS)} in total`
    case 'scalability':
      return `${base}: levels ${p.steps.map(s => `${s.label} (${s.vus})`).join(', ')}, ${human(p.totalS)}`
    case 'spike':
      return `${base}: surge to ${peak} VUs, ${human(p.totalS)} in total`
    case 'volume':
      return `${base}: ${p.bodyBytes ?? 0}-byte request bodies, ${human(p.totalS)}`
    default:
      return `${base}, ${human(p.totalS)}`
  }
}
