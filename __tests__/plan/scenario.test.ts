/**
 * Loading a scenario whose load shape the plan layer derives from a profile: the limits checked on
 * the expanded shape name the setting that set it, and the steps report problems in their order
 * (the load shape before the run settings).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, type ScenarioFlags } from '../../src/config/scenario.js'
import { loadScenario } from '../../src/plan/scenario.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'perf-gate-plan-scenario-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

const target = 'http://127.0.0.1:1'

async function configError(flags: ScenarioFlags): Promise<string> {
  try {
    await loadScenario({ cwd: dir, flags: { target, ...flags } })
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError)
    return (e as Error).message
  }
  throw new Error('expected a ConfigError')
}

describe('loadScenario with a profile', () => {
  it('an expanded stress profile above the VU limit names --multiplier when it was given', async () => {
    expect(await configError({ profile: 'stress', vus: '200', multiplier: '1000' })).toBe(
      "--multiplier: asks for 200000 virtual users; perf-gate's limit is 100000"
    )
  })

  it('names --profile when the default multiplier takes the load above the limit', async () => {
    expect(await configError({ profile: 'stress', vus: '100000' })).toBe(
      "--profile: asks for 200000 virtual users; perf-gate's limit is 100000"
    )
  })

  it('a --duration that became the profile total is named in the expansion error', async () => {
    expect(await configError({ profile: 'load', duration: '168h', profileParams: ['hold=168h'] })).toBe(
      '--duration: 604800s is not longer than the phases set explicitly (604800s)'
    )
  })

  it('reports the profile problem before a bad --tasks', async () => {
    expect(await configError({ profile: 'stress', vus: '2', profileParams: ['steps=50'], tasks: '0' })).toBe(
      '--profile-param steps: 50 steps up to 4 VUs (2 × 2) would repeat a level; use fewer steps or more vus'
    )
    expect(await configError({ profile: 'stress', vus: '10', tasks: '0' })).toBe(
      '--tasks: expected a positive integer, got "0"'
    )
  })

  it('a profile within the limits sets the stages and the total duration', async () => {
    const s = await loadScenario({ cwd: dir, flags: { target, profile: 'load', vus: '3', duration: '168h' } })
    expect(s.durationS).toBe(604800)
    expect(s.stages).toEqual(s.profile!.stages)
    expect(s.stages!.reduce((a, st) => a + st.durationS, 0)).toBe(604800)
    expect(s.profile!.params.duration).toBe(604800)
  })
})
