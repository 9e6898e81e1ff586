/**
 * Profiles in perf-gate.yml and as flags: how they become the scenario's stages, how they merge
 * with vus/duration/ramp-up and custom stages, the volume bodies, the fingerprint, and errors that
 * name the file, scenario and parameter (or the flag).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConfigError, type LoadScenarioOptions } from '../../src/config/scenario.js'
import { loadScenario } from '../../src/plan/scenario.js'
import { planRun } from '../../src/fleet/plan.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'perf-gate-profile-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

const yml = (body: string) =>
  writeFileSync(join(dir, 'perf-gate.yml'), `scenarios:\n  x:\n    target: http://127.0.0.1:1\n${body}`)

const load = (opts: Omit<LoadScenarioOptions, 'cwd'> = {}) => loadScenario({ cwd: dir, ...opts })

async function configError(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError)
    expect((e as Error).message).not.toContain('\n')
    return (e as Error).message
  }
  throw new Error('expected a ConfigError')
}

describe('profile in perf-gate.yml', () => {
  it('a preset name builds the stages from vus; duration is the total', async () => {
    yml('    vus: 10\n    duration: 10m\n    profile: stress\n')
    const s = await load()
    expect(s.profile?.name).toBe('stress')
    expect(s.stages).toEqual(s.profile!.stages)
    expect(s.profile!.steps.map(st => st.vus)).toEqual([4, 8, 12, 16, 20])
    expect(s.durationS).toBe(600)
    expect(s.vus).toBe(10)
    // the plan splits every stage exactly and knows the profile's steady window
    const plan = planRun({ ...s, tasks: 2 })
    expect(plan.tasks.map(t => t.load.stages![1].target)).toEqual([2, 2])
    expect(plan.tasks[0].steady).toEqual(s.profile!.steady)
  })

  it('a mapping with parameters; ramp-up maps onto the preset', async () => {
    yml('    vus: 4\n    ramp-up: 5s\n    profile: { name: load, hold: 20s, ramp-down: 0 }\n')
    const s = await load()
    expect(s.stages).toEqual([
      { durationS: 5, target: 4 },
      { durationS: 20, target: 4 }
    ])
  })

  it('custom stages always override the preset, which still names the analysis', async () => {
    yml(
      '    profile: { name: stress, steps: 3 }\n    stages:\n      - { duration: 2s, target: 3 }\n      - { duration: 5s, target: 3 }\n'
    )
    const s = await load()
    expect(s.stages).toEqual([
      { durationS: 2, target: 3 },
      { durationS: 5, target: 3 }
    ])
    expect(s.profile).toMatchObject({ name: 'stress', custom: true, stopOnBreak: true })
    expect(s.profile!.steps).toHaveLength(1)
  })

  it('the fingerprint follows the profile and its parameters, and is unchanged without one', async () => {
    yml('    vus: 4\n    profile: { name: stress, steps: 4 }\n')
    const a = await load()
    yml('    vus: 4\n    profile: { name: stress, steps: 4, stop-on-break: false }\n')
    const b = await load()
    yml('    vus: 4\n    profile: { name: stress, steps: 4 }\n')
    expect((await load()).fingerprint).toBe(a.fingerprint)
    expect(b.fingerprint).not.toBe(a.fingerprint)
    yml('    vus: 4\n    duration: 30s\n')
    const plain = await load()
    const flags = await loadScenario({
      cwd: join(dir, 'none'),
      flags: { target: 'http://127.0.0.1:1', vus: '4', duration: '30s' }
    })
    expect(plain.fingerprint).toBe(flags.fingerprint)
  })

  it.each([
    [
      '    profile: { name: stress, multiplier: lots }\n',
      'perf-gate.yml: scenarios.x.profile.multiplier: expected a number > 1, got "lots"'
    ],
    [
      '    profile: { name: stress, steps: 0 }\n',
      'perf-gate.yml: scenarios.x.profile.steps: expected a whole number from 2 to 50, got 0'
    ],
    [
      '    profile: hammer\n',
      'perf-gate.yml: scenarios.x.profile: expected one of load, stress, spike, soak, scalability, volume, got "hammer"'
    ],
    [
      '    profile: { name: load, steps: 3 }\n',
      'perf-gate.yml: scenarios.x.profile.steps: unknown parameter of the load profile'
    ],
    ['    profile: { steps: 3 }\n', 'perf-gate.yml: scenarios.x.profile.name: is required'],
    [
      '    vus: 2\n    profile: { name: stress, steps: 8 }\n',
      'perf-gate.yml: scenarios.x.profile.steps: 8 steps up to 4 VUs (2 × 2) would repeat a level'
    ],
    [
      '    ramp-up: 5s\n    profile: stress\n',
      'perf-gate.yml: scenarios.x.ramp-up: the stress profile has no ramp-up (set step-ramp)'
    ],
    [
      '    duration: 1s\n    profile: { name: load, hold: 20s }\n',
      'perf-gate.yml: scenarios.x.duration: 1s is not longer than the phases set explicitly (20s)'
    ]
  ])('%s → one line naming the field', async (body, message) => {
    yml(body)
    expect(await configError(load())).toContain(message)
  })
})

describe('profile flags', () => {
  const target = { target: 'http://127.0.0.1:1' }

  it('--profile, --multiplier and --profile-param build the profile; --duration is its total', async () => {
    const s = await load({
      flags: {
        ...target,
        vus: '5',
        duration: '2m',
        profile: 'stress',
        multiplier: '3',
        profileParams: ['steps=3']
      }
    })
    expect(s.profile!.steps.map(st => st.vus)).toEqual([5, 10, 15])
    expect(s.durationS).toBe(120)
  })

  it('flags win over the file; --profile naming another preset drops the file parameters', async () => {
    yml('    vus: 10\n    profile: { name: stress, steps: 4, multiplier: 4 }\n')
    const same = await load({ flags: { profileParams: ['steps: 2'] } })
    expect(same.profile!.steps.map(st => st.vus)).toEqual([20, 40])
    const other = await load({ flags: { profile: 'scalability' } })
    expect(other.profile!.name).toBe('scalability')
    expect(other.profile!.steps.map(st => st.vus)).toEqual([3, 5, 8, 10])
    // a --vus flag replaces the file's stages, as without a profile
  })

  it('a profile from a flag replaces the file’s load shape: its duration and ramp-up do not apply', async () => {
    yml('    vus: 10\n    duration: 2m\n    ramp-up: 20s\n')
    const s = await load({ flags: { profile: 'stress' } })
    expect(s.profile!.totalS).toBe(300)
    const d = await load({ flags: { profile: 'load', duration: '1m', rampUp: '5s' } })
    expect(d.stages![0]).toEqual({ durationS: 5, target: 10 })
    expect(d.durationS).toBe(60)
    const def = await load({ defaultProfile: 'stress' })
    expect(def.profile!.name).toBe('stress')
    expect(def.durationS).toBe(300)
  })

  it('a default profile applies when none is named (stress mode)', async () => {
    const s = await load({ flags: { ...target, vus: '4', multiplier: '2' }, defaultProfile: 'stress' })
    expect(s.profile!.name).toBe('stress')
    const none = await load({ flags: { ...target, vus: '4' } })
    expect(none.profile).toBeUndefined()
    expect(none.stages).toBeUndefined()
  })

  it.each([
    [
      { profile: 'hammer' },
      '--profile: expected one of load, stress, spike, soak, scalability, volume, got "hammer"'
    ],
    [{ multiplier: '2' }, '--multiplier: needs a profile (give --profile, or profile: in perf-gate.yml)'],
    [
      { profile: 'load', multiplier: '2' },
      '--multiplier: the load profile takes no multiplier (stress and spike do)'
    ],
    [{ profile: 'stress', multiplier: 'lots' }, '--multiplier: expected a number > 1, got "lots"'],
    [
      { profile: 'stress', profileParams: ['steps'] },
      '--profile-param: expected key=value (e.g. steps=6), got "steps"'
    ],
    [
      { profile: 'stress', profileParams: ['steps=x'] },
      '--profile-param steps: expected a whole number from 2 to 50, got "x"'
    ],
    [
      { profile: 'stress', vus: '10', profileParams: ['step-duration=5s', 'step-ramp=5s'] },
      '--profile-param step-duration: expected at least 1s more than step-ramp (5s) so that each level is held, got 5s'
    ],
    [
      { profile: 'stress', vus: '1', profileParams: ['steps=5'] },
      '--profile-param steps: 5 steps up to 2 VUs (2 × 1) would repeat a level; use fewer steps or more vus'
    ],
    [{ profile: 'stress', rampUp: '3s' }, '--ramp-up: the stress profile has no ramp-up (set step-ramp)']
  ])('%j → %s', async (flags, message) => {
    expect(await configError(load({ flags: { ...target, ...flags } }))).toBe(message)
  })
})

describe('volume', () => {
  it('body-less POST/PUT/PATCH requests of the http engine get bodies; scripts get the size in the environment', async () => {
    yml(
      "    vus: 2\n    requests: ['GET /a', 'POST /items', { method: PUT, path: /keep, body: own }]\n    profile: { name: volume, body-bytes: 2KiB }\n"
    )
    const s = await load()
    expect(s.requests![0].body).toBeUndefined()
    expect(s.requests![1].body).toHaveLength(2048)
    expect(s.requests![1].headers).toEqual({ 'content-type': 'application/octet-stream' })
    expect(s.requests![2].body).toBe('own')
    expect(s.env.PERF_GATE_BODY_BYTES).toBe('2048')
  })

  it('an explicit body size with no request that can carry it is an error', async () => {
    yml("    requests: ['GET /a']\n    profile: { name: volume, body-bytes: 1000 }\n")
    expect(await configError(load())).toBe(
      "perf-gate.yml: scenarios.x.profile.body-bytes: the http engine sends a body only with body-less POST, PUT or PATCH requests, and there is none (add one, e.g. 'POST /items')"
    )
    // the default size is only used where it fits
    yml("    requests: ['GET /a']\n    profile: volume\n")
    expect((await load()).requests).toEqual([{ method: 'GET', path: '/a' }])
  })
})

it('the example workflows’ scenario file loads for the gate and, with the dispatch inputs, as a stress run', async () => {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
  const config = join(root, 'examples', 'workflows', 'perf-gate.yml')
  const gate = await loadScenario({ cwd: root, config })
  expect(gate.profile).toBeUndefined()
  expect(gate.rampUpS).toBe(20)
  const stress = await loadScenario({
    cwd: root,
    config,
    defaultProfile: 'stress',
    flags: { profile: 'stress', multiplier: '3', duration: '10m', profileParams: ['steps=6'] }
  })
  expect(stress.profile!.steps.map(s => s.vus)).toEqual([10, 20, 30, 40, 50, 60])
  expect(stress.durationS).toBe(600)
})
