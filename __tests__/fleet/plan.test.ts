import { hardMaxSeconds, newRunId, planRun, profileSeconds, steadyOf } from '../../src/fleet/plan.js'
import type { Scenario } from '../../src/config/scenario.js'
import { taskSpecSchema } from '../../src/runner/spec.js'

function scenario(over: Partial<Scenario> = {}): Scenario {
  return {
    name: 'checkout',
    engine: 'http',
    target: 'http://127.0.0.1:8080',
    vus: 10,
    durationS: 30,
    rampUpS: 5,
    tasks: 3,
    intervalMs: 1000,
    thresholds: [],
    env: { A: '1' },
    allowedHosts: [],
    configFile: null,
    fingerprint: 'abc',
    ...over
  }
}

describe('planRun', () => {
  it('gives every task a valid spec and splits the VUs exactly', () => {
    const plan = planRun(scenario({ requests: [{ method: 'GET', path: '/fast' }] }), { runId: 'run-1' })
    expect(plan.runId).toBe('run-1')
    expect(plan.expectedTasks).toBe(3)
    for (const t of plan.tasks) expect(() => taskSpecSchema.parse(t)).not.toThrow()
    expect(plan.tasks.map(t => t.taskIndex)).toEqual([0, 1, 2])
    expect(plan.tasks.reduce((a, t) => a + t.load.vus, 0)).toBe(10)
    expect(plan.tasks.every(t => t.taskCount === 3 && t.fingerprint === 'abc' && t.env.A === '1')).toBe(true)
    expect(plan.tasks[0].env.PERF_GATE_TARGET).toBe('http://127.0.0.1:8080')
    expect(plan.tasks[0].steady).toEqual({ fromS: 5, toS: 35 })
    expect(plan.tasks[0].requests).toEqual([{ method: 'GET', path: '/fast' }])
    expect(plan.tasks[0].hardMaxS).toBeGreaterThan(35)
  })

  it('gives k6 tasks the whole load and an execution segment each', () => {
    const plan = planRun(scenario({ engine: 'k6', script: '/s/load.js', tasks: 2 }))
    expect(plan.tasks.map(t => t.load.segment?.segment)).toEqual(['0:1/2', '1/2:1'])
    expect(plan.tasks.every(t => t.script === '/s/load.js' && t.load.vus === 10)).toBe(true)
  })
})

describe('profile helpers', () => {
  const stages = [
    { durationS: 10, target: 5 },
    { durationS: 20, target: 5 },
    { durationS: 5, target: 8 },
    { durationS: 40, target: 8 },
    { durationS: 5, target: 0 }
  ]

  it('steady is the hold after the ramp, or the longest constant stage', () => {
    expect(steadyOf({ rampUpS: 5, durationS: 30 })).toEqual({ fromS: 5, toS: 35 })
    expect(steadyOf({ rampUpS: 0, durationS: 0, stages })).toEqual({ fromS: 35, toS: 75 })
    expect(steadyOf({ rampUpS: 0, durationS: 0, stages: [{ durationS: 10, target: 5 }] })).toBeNull()
    expect(profileSeconds({ rampUpS: 0, durationS: 0, stages })).toBe(80)
  })

  it('the hard maximum leaves room beyond the profile, more for JMeter', () => {
    const base = { rampUpS: 0, durationS: 60 }
    expect(hardMaxSeconds({ ...base, engine: 'http' })).toBeGreaterThan(60)
    expect(hardMaxSeconds({ ...base, engine: 'jmeter' })).toBeGreaterThan(
      hardMaxSeconds({ ...base, engine: 'http' })
    )
  })

  it('run ids are readable and unique', () => {
    const now = new Date(Date.UTC(2026, 0, 2, 3, 4, 5))
    const a = newRunId('check out!', now)
    expect(a).toMatch(/^check-out-20260102T030405Z-[0-9a-f]{6}$/)
    expect(newRunId('check out!', now)).not.toBe(a)
  })
})
