/**
 * Test-type profiles: every preset's stages and steps from the expected load, the defaults, the
 * `duration` total, custom stages, and errors that name the parameter.
 */
import {
  customStagesProfile,
  describeProfile,
  expandProfile,
  stepsFromStages
} from '../../src/plan/profiles.js'
import {
  parseProfileParam,
  parseProfileSpec,
  ProfileParamError,
  splitParamAssignment
} from '../../src/config/profile.js'
import { PROFILE_NAMES, type ExpandedProfile, type ProfileName, type Stage } from '../../src/model/index.js'

const expand = (raw: unknown, vus: number) => expandProfile(parseProfileSpec(raw), vus)
const total = (p: ExpandedProfile) => p.stages.reduce((a, s) => a + s.durationS, 0)

/** The level at second t of stages that move linearly from the previous target. */
function levelAt(stages: Stage[], t: number): number {
  let from = 0
  let start = 0
  for (const s of stages) {
    if (t <= start + s.durationS) return from + ((s.target - from) * (t - start)) / s.durationS
    from = s.target
    start += s.durationS
  }
  return from
}

describe('presets with their defaults', () => {
  it('load: ramp-up 30s, hold 4m, ramp-down 30s; the hold is the steady window', () => {
    const p = expand('load', 20)
    expect(p.stages).toEqual([
      { durationS: 30, target: 20 },
      { durationS: 240, target: 20 },
      { durationS: 30, target: 0 }
    ])
    expect(p.steps).toEqual([{ index: 1, label: 'hold', vus: 20, startS: 0, holdFromS: 30, endS: 270 }])
    expect(p.steady).toEqual({ fromS: 30, toS: 270 })
    expect(p.totalS).toBe(300)
    expect(p.stopOnBreak).toBe(false)
  })

  it('stress: 5 steps evenly up to 2× the expected load, each a 10s ramp and a 50s hold', () => {
    const p = expand('stress', 10)
    expect(p.steps.map(s => s.vus)).toEqual([4, 8, 12, 16, 20])
    expect(p.stages).toHaveLength(10)
    p.steps.forEach((s, i) => {
      expect(s).toMatchObject({
        index: i + 1,
        label: `step ${i + 1}`,
        startS: i * 60,
        holdFromS: i * 60 + 10
      })
      expect(s.endS).toBe((i + 1) * 60)
      // held at the level during the whole hold
      expect(levelAt(p.stages, s.holdFromS + 1)).toBe(s.vus)
      expect(levelAt(p.stages, s.endS - 0.01)).toBeCloseTo(s.vus, 5)
    })
    expect(p.totalS).toBe(300)
    expect(p.stopOnBreak).toBe(true)
    // the step closest to the expected load is the steady window
    expect(p.steady).toEqual({ fromS: 70, toS: 120 })
  })

  it('spike: baseline, a 2s surge to 5×, a 2s drop and a recovery window', () => {
    const p = expand('spike', 4)
    expect(p.stages).toEqual([
      { durationS: 10, target: 4 },
      { durationS: 60, target: 4 },
      { durationS: 2, target: 20 },
      { durationS: 30, target: 20 },
      { durationS: 2, target: 4 },
      { durationS: 120, target: 4 }
    ])
    expect(p.steps.map(s => [s.label, s.vus, s.holdFromS, s.endS])).toEqual([
      ['baseline', 4, 10, 70],
      ['surge', 20, 72, 102],
      ['recovery', 4, 104, 224]
    ])
    expect(p.surgeEndS).toBe(104)
    expect(p.steady).toEqual({ fromS: 10, toS: 70 })
  })

  it('soak: an hour hold, compared in windows of a sixth of it', () => {
    const p = expand('soak', 8)
    expect(p.stages.map(s => s.durationS)).toEqual([60, 3600, 60])
    expect(p.windowS).toBe(600)
    expect(p.params.window).toBe(600)
  })

  it('scalability: levels at 25, 50, 75 and 100% of the expected load', () => {
    const p = expand('scalability', 40)
    expect(p.steps.map(s => [s.label, s.vus])).toEqual([
      ['25%', 10],
      ['50%', 20],
      ['75%', 30],
      ['100%', 40]
    ])
    expect(p.steady).toEqual({ fromS: 190, toS: 240 })
  })

  it('volume: the load shape with a 64 KiB body size', () => {
    const p = expand('volume', 5)
    expect(p.bodyBytes).toBe(65_536)
    expect(p.steps).toHaveLength(1)
    expect(describeProfile(p)).toMatch(/65536-byte request bodies/)
  })

  it.each(PROFILE_NAMES)(
    '%s: stages are valid for every engine (positive durations, whole targets)',
    name => {
      const p = expand(name, 12)
      for (const s of p.stages) {
        expect(s.durationS).toBeGreaterThan(0)
        expect(Number.isInteger(s.target)).toBe(true)
        expect(s.target).toBeGreaterThanOrEqual(0)
      }
      expect(total(p)).toBe(p.totalS)
      // every step is held at its level
      for (const st of p.steps) expect(levelAt(p.stages, (st.holdFromS + st.endS) / 2)).toBe(st.vus)
    }
  )
})

describe('parameters', () => {
  it('a mapping overrides the defaults', () => {
    const p = expand(
      {
        name: 'stress',
        multiplier: 3,
        steps: 6,
        'step-duration': '20s',
        'step-ramp': '5s',
        'stop-on-break': 'no'
      },
      10
    )
    expect(p.steps.map(s => s.vus)).toEqual([5, 10, 15, 20, 25, 30])
    expect(p.steps[1]).toMatchObject({ startS: 20, holdFromS: 25, endS: 40 })
    expect(p.totalS).toBe(120)
    expect(p.stopOnBreak).toBe(false)
    expect(p.params).toMatchObject({ multiplier: 3, steps: 6, 'step-duration': 20, 'step-ramp': 5 })
  })

  it('duration sets the total: phases not given are scaled, explicit and sudden ones kept', () => {
    const load = expand({ name: 'load', duration: '10m' }, 5)
    expect(load.stages.map(s => s.durationS)).toEqual([60, 480, 60])
    const fixedRamp = expand({ name: 'load', duration: '10m', 'ramp-up': '10s' }, 5)
    expect(fixedRamp.stages[0].durationS).toBe(10)
    expect(fixedRamp.totalS).toBeGreaterThanOrEqual(599)
    expect(fixedRamp.totalS).toBeLessThanOrEqual(601)
    const stress = expand({ name: 'stress', duration: '10m' }, 10)
    expect(stress.params['step-duration']).toBe(120)
    expect(stress.params['step-ramp']).toBe(20)
    expect(stress.totalS).toBe(600)
    const spike = expand({ name: 'spike', duration: 100 }, 4)
    // the surge stays sudden
    expect(spike.params['surge-ramp']).toBe(2)
    expect(spike.params.drop).toBe(2)
    expect(Math.abs(spike.totalS - 100)).toBeLessThanOrEqual(3)
  })

  it('scalability levels take a list or a string, with or without %', () => {
    expect(expand({ name: 'scalability', levels: '10%, 50%, 100%' }, 20).steps.map(s => s.vus)).toEqual([
      2, 10, 20
    ])
    expect(expand({ name: 'scalability', levels: [50, '150%'] }, 20).steps.map(s => s.vus)).toEqual([10, 30])
  })

  it('volume body sizes take units', () => {
    expect(parseProfileParam('volume', 'body-bytes', '1MiB')).toBe(1024 * 1024)
    expect(parseProfileParam('volume', 'body-bytes', '64k')).toBe(64_000)
    expect(parseProfileParam('volume', 'body-bytes', 0)).toBe(0)
  })

  it('key=value and key: value assignments', () => {
    expect(splitParamAssignment('steps=6')).toEqual({ key: 'steps', value: '6' })
    expect(splitParamAssignment(' step-duration: 30s ')).toEqual({ key: 'step-duration', value: '30s' })
    expect(splitParamAssignment('steps')).toBeNull()
    expect(splitParamAssignment('steps=')).toBeNull()
  })
})

describe('errors name the parameter', () => {
  const bad = (raw: unknown, vus = 10) => {
    try {
      expandProfile(parseProfileSpec(raw), vus)
    } catch (e) {
      expect(e).toBeInstanceOf(ProfileParamError)
      return (e as ProfileParamError).message
    }
    throw new Error(`no error for ${JSON.stringify(raw)}`)
  }

  it.each<[unknown, string]>([
    [{ name: 'stress', multiplier: 'lots' }, 'multiplier: expected a number > 1, got "lots"'],
    [{ name: 'stress', multiplier: 1 }, 'multiplier: expected a number > 1, got 1'],
    [{ name: 'spike', multiplier: 0.5 }, 'multiplier: expected a number > 1, got 0.5'],
    [{ name: 'stress', steps: 1 }, 'steps: expected a whole number from 2 to 50, got 1'],
    [{ name: 'stress', steps: 2.5 }, 'steps: expected a whole number from 2 to 50, got 2.5'],
    [
      { name: 'stress', 'step-duration': 'soon' },
      'step-duration: expected a duration like 10s, 2m or 1h, got "soon"'
    ],
    [
      { name: 'stress', 'step-duration': '10s', 'step-ramp': '10s' },
      'step-duration: expected at least 1s more than step-ramp (10s)'
    ],
    [{ name: 'stress', 'stop-on-break': 'maybe' }, 'stop-on-break: expected true or false, got "maybe"'],
    [
      { name: 'stress', hold: '1m' },
      'hold: unknown parameter of the stress profile (it takes multiplier, steps'
    ],
    [{ name: 'stres' }, 'name: expected one of load, stress, spike, soak, scalability, volume, got "stres"'],
    [{ multiplier: 2 }, 'name: is required'],
    ['hammer', 'expected one of load, stress, spike, soak, scalability, volume, got "hammer"'],
    [[1, 2], 'expected a profile name'],
    [{ name: 'scalability', levels: '50%, 25%' }, 'levels: expected increasing levels, got 50, 25'],
    [{ name: 'scalability', levels: 'half' }, 'levels: expected percentages of the expected load'],
    [{ name: 'volume', 'body-bytes': 'huge' }, 'body-bytes: expected a size in bytes'],
    [{ name: 'load', duration: 0 }, 'duration: expected a duration greater than zero'],
    [
      { name: 'load', duration: '30s', 'ramp-up': '20s', hold: '20s', 'ramp-down': '5s' },
      'duration: every phase of the load profile is set explicitly'
    ],
    [
      { name: 'load', duration: '30s', hold: '1m' },
      'duration: 30s is not longer than the phases set explicitly (60s)'
    ],
    [{ name: 'load', 'ramp-up': 0 }, 'ramp-up: expected at least 1s'],
    [
      { name: 'soak', hold: '10m', window: '6m' },
      'window: expected at most half of the hold (600s), got 360s'
    ]
  ])('%j', (raw, message) => {
    expect(bad(raw)).toContain(message)
  })

  it('levels that round to the same VUs are refused', () => {
    expect(bad({ name: 'stress', steps: 6 }, 2)).toBe(
      'steps: 6 steps up to 4 VUs (2 × 2) would repeat a level; use fewer steps or more vus'
    )
    expect(bad({ name: 'scalability' }, 2)).toMatch(/^levels: 25% and 50% of 2 VUs are both 1 VUs/)
  })
})

describe('custom stages', () => {
  const stages: Stage[] = [
    { durationS: 5, target: 10 },
    { durationS: 20, target: 10 },
    { durationS: 2, target: 50 },
    { durationS: 10, target: 50 },
    { durationS: 2, target: 10 },
    { durationS: 30, target: 10 },
    { durationS: 5, target: 0 }
  ]

  it('steps are the stages that hold a level', () => {
    expect(stepsFromStages(stages)).toEqual([
      { index: 1, label: 'stage 1', vus: 10, startS: 0, holdFromS: 5, endS: 25 },
      { index: 2, label: 'stage 2', vus: 50, startS: 25, holdFromS: 27, endS: 37 },
      { index: 3, label: 'stage 3', vus: 10, startS: 37, holdFromS: 39, endS: 69 }
    ])
    // two consecutive holds at one level are one step
    expect(
      stepsFromStages([
        { durationS: 1, target: 3 },
        { durationS: 4, target: 3 },
        { durationS: 4, target: 3 }
      ])
    ).toEqual([{ index: 1, label: 'stage 1', vus: 3, startS: 0, holdFromS: 1, endS: 9 }])
  })

  it('override a preset: the stages run as given, the preset names the analysis', () => {
    const p = customStagesProfile(parseProfileSpec({ name: 'spike', multiplier: 9 }), 10, stages)
    expect(p.custom).toBe(true)
    expect(p.stages).toBe(stages)
    expect(p.name).toBe('spike')
    expect(p.surgeEndS).toBe(39)
    expect(p.steady).toEqual({ fromS: 39, toS: 69 })
    expect(describeProfile(p)).toMatch(/spike profile \(custom stages\)/)
  })
})

it('every preset name parses', () => {
  for (const name of PROFILE_NAMES)
    expect(parseProfileSpec(name)).toEqual({ name: name as ProfileName, params: {} })
})
