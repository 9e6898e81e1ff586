import fc from 'fast-check'
import { describe, expect, it } from '@jest/globals'
import {
  FleetSizeError,
  checkTaskSize,
  estimateCost,
  parseRegions,
  sizeFleet,
  FARGATE_PRICES,
  SPOT_PRICE_FACTOR
} from '../../src/plan/fleet.js'
import { planRun } from '../../src/fleet/plan.js'
import { taskShares } from '../../src/plan/shares.js'
import { fleetFingerprint, abortOnRule, startedByFor } from '../../src/jobs/fargate.js'
import type { Scenario } from '../../src/config/scenario.js'
import { TaskRecorder } from '../../src/results/recorder.js'

describe('parseRegions', () => {
  it('reads a YAML list, a comma list, and a map of weights or task counts', () => {
    expect(parseRegions('[us-east-1, eu-west-1]')).toEqual([{ region: 'us-east-1' }, { region: 'eu-west-1' }])
    expect(parseRegions('us-east-1, ap-south-1')).toEqual([{ region: 'us-east-1' }, { region: 'ap-south-1' }])
    expect(parseRegions('- us-west-2\n- eu-central-1\n')).toEqual([
      { region: 'us-west-2' },
      { region: 'eu-central-1' }
    ])
    expect(parseRegions('us-east-1: 3\neu-west-1: {weight: 1}\nap-northeast-1: {tasks: 2}')).toEqual([
      { region: 'us-east-1', weight: 3 },
      { region: 'eu-west-1', weight: 1 },
      { region: 'ap-northeast-1', tasks: 2 }
    ])
  })

  it('names the bad field', () => {
    expect(() => parseRegions('')).toThrow('regions: list at least one AWS region')
    expect(() => parseRegions('[us-east-1, mars-north-9x]')).toThrow(
      'regions[1]: "mars-north-9x" is not an AWS region name'
    )
    expect(() => parseRegions('us-east-1: {tasks: 1.5}')).toThrow(
      'regions.us-east-1.tasks: expected a whole number above 0'
    )
    expect(() => parseRegions('us-east-1: {weight: 1, tasks: 2}')).toThrow('give either weight or tasks')
    expect(() => parseRegions('us-east-1: {size: 2}')).toThrow('regions.us-east-1.size: unknown field')
    expect(() => parseRegions('[us-east-1, us-east-1]')).toThrow('listed twice')
    expect(() => parseRegions('us-east-1: [')).toThrow('regions: invalid YAML')
  })
})

describe('checkTaskSize', () => {
  it('accepts Fargate pairs and rejects others with the allowed range', () => {
    expect(() => checkTaskSize(256, 512)).not.toThrow()
    expect(() => checkTaskSize(1024, 8192)).not.toThrow()
    expect(() => checkTaskSize(16384, 122880)).not.toThrow()
    expect(() => checkTaskSize(256, 1536)).toThrow(
      'task-memory: 1536 MiB does not go with task-cpu 256 (allowed: 512, 1024 or 2048 MiB)'
    )
    expect(() => checkTaskSize(1024, 1024)).toThrow('allowed: 2048–8192 MiB in steps of 1024')
    expect(() => checkTaskSize(300, 1024)).toThrow('task-cpu: 300 is not a Fargate size')
  })
})

describe('sizeFleet', () => {
  const base = { engine: 'k6' as const, cpu: 1024, memoryMiB: 2048, maxTasks: 100 }

  it('sizes from the capacity table, one task per region at least, weights by largest remainder', () => {
    const s = sizeFleet({
      ...base,
      peakVus: 2000,
      regions: [{ region: 'us-east-1', weight: 2 }, { region: 'eu-west-1' }]
    })
    expect(s.capacityPerTask).toBe(250)
    expect(s.totalTasks).toBe(8)
    expect(s.regions).toEqual([
      { region: 'us-east-1', tasks: 5, firstTask: 0 },
      { region: 'eu-west-1', tasks: 3, firstTask: 5 }
    ])
    const small = sizeFleet({
      ...base,
      peakVus: 10,
      regions: [{ region: 'us-east-1' }, { region: 'eu-west-1' }, { region: 'ap-south-1' }]
    })
    expect(small.regions.map(r => r.tasks)).toEqual([1, 1, 1])
  })

  it('sizes for the throughput to offer when it needs more tasks than the VUs do (stress with target-rps)', () => {
    const regions = [{ region: 'us-east-1' }, { region: 'eu-west-1' }]
    // 400 VUs fit in 2 tasks of 250; 9,000 req/s at 2,000 per 1-vCPU k6 task need 5.
    const byRps = sizeFleet({ ...base, peakVus: 400, peakRps: 9000, regions })
    expect(byRps).toMatchObject({ totalTasks: 5, rpsPerTask: 2000, sizedBy: 'rps' })
    expect(byRps.regions.map(r => r.tasks)).toEqual([3, 2])
    // A throughput the VU count already covers changes nothing.
    expect(sizeFleet({ ...base, peakVus: 400, peakRps: 1000, regions })).toMatchObject({
      totalTasks: 2,
      sizedBy: 'vus'
    })
    // Bigger tasks offer more: 2 vCPUs, 4,000 req/s each.
    expect(
      sizeFleet({ ...base, cpu: 2048, memoryMiB: 4096, peakVus: 400, peakRps: 9000, regions }).totalTasks
    ).toBe(3)
    // Every task needs a VU: the throughput never asks for more tasks than VUs.
    expect(sizeFleet({ ...base, peakVus: 3, peakRps: 1e6, regions }).totalTasks).toBe(3)
    expect(() => sizeFleet({ ...base, maxTasks: 4, peakVus: 400, peakRps: 9000, regions })).toThrow(
      /^max-tasks: offering 9000 req\/s needs 5 tasks \(2000 req\/s per task of 1 vCPU\)/
    )
  })

  it('keeps fixed task counts and refuses what does not fit, naming the input', () => {
    const s = sizeFleet({
      ...base,
      peakVus: 300,
      regions: [{ region: 'us-east-1', tasks: 2 }, { region: 'eu-west-1' }]
    })
    expect(s.regions.map(r => r.tasks)).toEqual([2, 1])
    expect(() => sizeFleet({ ...base, peakVus: 30_000, regions: [{ region: 'us-east-1' }] })).toThrow(
      /^max-tasks: the load needs 120 tasks/
    )
    expect(() => sizeFleet({ ...base, peakVus: 2, regions: [{ region: 'us-east-1', tasks: 3 }] })).toThrow(
      /^regions: 3 tasks cannot share 2 VUs/
    )
    expect(() => sizeFleet({ ...base, peakVus: 1000, regions: [{ region: 'us-east-1', tasks: 2 }] })).toThrow(
      /500 VUs each, above the 250/
    )
    expect(() =>
      sizeFleet({ ...base, cpu: 512, memoryMiB: 512, peakVus: 10, regions: [{ region: 'us-east-1' }] })
    ).toThrow(FleetSizeError)
  })

  it('gives every task load and the shares add up exactly (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }),
        fc.constantFrom('http' as const, 'locust' as const, 'jmeter' as const),
        (vus, weights, engine) => {
          const regions = weights.map((weight, i) => ({ region: `us-east-${i + 1}`, weight }))
          let s
          try {
            s = sizeFleet({ ...base, engine, peakVus: vus, regions, maxTasks: 10_000 })
          } catch (e) {
            // Only legitimate refusal: more regions than VUs.
            expect((e as Error).message).toMatch(/cannot share/)
            expect(regions.length).toBeGreaterThan(vus)
            return
          }
          expect(s.regions.reduce((a, r) => a + r.tasks, 0)).toBe(s.totalTasks)
          expect(s.regions.every(r => r.tasks >= 1)).toBe(true)
          const shares = taskShares(
            engine,
            { vus, durationS: 10, rampUpS: 0, targetUrl: 'http://127.0.0.1' },
            s.totalTasks
          )
          expect(shares.reduce((a, x) => a + x.load.vus, 0)).toBe(vus)
          expect(shares.every(x => x.load.vus >= 1 && x.load.vus <= s.capacityPerTask)).toBe(true)
        }
      ),
      { numRuns: 300 }
    )
  })
})

describe('estimateCost', () => {
  it('bills vCPU, memory and an IPv4 address per second with a one-minute minimum, Spot discounted', () => {
    const p = FARGATE_PRICES['us-east-1']
    const c = estimateCost({
      regions: [{ region: 'us-east-1', tasks: 10 }],
      cpu: 1024,
      memoryMiB: 2048,
      loadSeconds: 300,
      spot: false
    })
    const hourly = p.vcpuHour + 2 * p.gbHour + 0.005
    expect(c.billedS).toBe(420)
    expect(c.maxUsd).toBeCloseTo((hourly * 420 * 10) / 3600, 10)
    const spot = estimateCost({
      regions: [{ region: 'us-east-1', tasks: 10 }],
      cpu: 1024,
      memoryMiB: 2048,
      loadSeconds: 300,
      spot: true,
      runs: 5
    })
    expect(spot.maxUsd).toBeCloseTo(
      (((p.vcpuHour + 2 * p.gbHour) * SPOT_PRICE_FACTOR + 0.005) * 420 * 10 * 5) / 3600,
      10
    )
    const unknown = estimateCost({
      regions: [{ region: 'xx-test-1', tasks: 1 }],
      cpu: 1024,
      memoryMiB: 2048,
      loadSeconds: 0,
      spot: false
    })
    expect(unknown.perRegion[0].priceKnown).toBe(false)
    expect(unknown.maxUsd).toBeGreaterThan(0)
  })
})

describe('planRun over regions', () => {
  it('assigns tasks to regions in order and splits k6 by execution segments fleet-wide', () => {
    const scenario = {
      name: 'api',
      engine: 'k6',
      script: '/w/load/script.js',
      target: 'http://127.0.0.1:8080',
      vus: 100,
      durationS: 30,
      rampUpS: 5,
      tasks: 5,
      intervalMs: 1000,
      thresholds: [],
      env: {},
      fingerprint: 'abc'
    } as unknown as Scenario
    const plan = planRun(scenario, {
      backend: 'fargate',
      regions: [
        { region: 'us-east-1', tasks: 3 },
        { region: 'eu-west-1', tasks: 2 }
      ]
    })
    expect(plan.tasks.map(t => t.region)).toEqual([
      'us-east-1',
      'us-east-1',
      'us-east-1',
      'eu-west-1',
      'eu-west-1'
    ])
    expect(plan.tasks.map(t => t.taskIndex)).toEqual([0, 1, 2, 3, 4])
    expect(plan.tasks[0].load.segment?.sequence).toBe('0,1/5,2/5,3/5,4/5,1')
    expect(plan.tasks.map(t => t.load.segment?.segment)).toEqual([
      '0:1/5',
      '1/5:2/5',
      '2/5:3/5',
      '3/5:4/5',
      '4/5:1'
    ])
  })
})

describe('fargate job helpers', () => {
  it('fingerprints the fleet: regions, task counts, size and Spot all count', () => {
    const f = { regions: [{ region: 'us-east-1', tasks: 2 }], cpu: 1024, memoryMiB: 2048, spot: false }
    const a = fleetFingerprint('s', f)
    expect(fleetFingerprint('s', f)).toBe(a)
    expect(fleetFingerprint('t', f)).not.toBe(a)
    expect(fleetFingerprint('s', { ...f, regions: [{ region: 'us-east-1', tasks: 3 }] })).not.toBe(a)
    expect(fleetFingerprint('s', { ...f, regions: [{ region: 'eu-west-1', tasks: 2 }] })).not.toBe(a)
    expect(fleetFingerprint('s', { ...f, cpu: 2048, memoryMiB: 4096 })).not.toBe(a)
    expect(fleetFingerprint('s', { ...f, spot: true })).not.toBe(a)
  })

  it('startedBy fits ECS (36 characters of [A-Za-z0-9_-])', () => {
    const s = startedByFor({ GITHUB_RUN_ID: '98765432101234', GITHUB_RUN_ATTEMPT: '3' }, 'x')
    expect(s).toBe('perf-gate-98765432101234-3')
    expect(startedByFor({}, 'a very/long run id with spaces and more and more')).toMatch(/^[\w-]{1,36}$/)
  })

  it('abort-on judges error rate and request count on live progress', () => {
    const rule = abortOnRule(['http_req_failed: rate<0.05'])!
    const p = (requests: number, failures: number) => ({
      elapsedS: 12,
      requests,
      failures,
      rps: 0,
      reporting: 1,
      finished: 0,
      total: 1,
      tasks: []
    })
    expect(rule(p(1000, 10))).toBeNull()
    expect(rule(p(50, 40))).toBeNull() // too few requests to judge
    expect(rule(p(1000, 80))).toMatch(
      /http_req_failed: rate<0.05 does not hold \(error rate 8.00% after 12 s\)/
    )
    expect(abortOnRule([])).toBeUndefined()
    expect(() => abortOnRule(['http_req_duration{name:login}: p(95)<500'])).toThrow(
      'input \'abort-on\': "http_req_duration{name:login}: p(95)<500": abort-on judges live fleet figures'
    )
  })

  it('abort-on judges latency on the live windows of every task, merged as they arrive', () => {
    // Two tasks' recorders: task 0 answers in 100 ms, task 1 in 900 ms; each window is fed once.
    const windows = (latencyMs: number, n: number) => {
      const r = new TaskRecorder({ live: true })
      for (let i = 0; i < n; i++) r.sample({ label: 'GET /', endMs: 1_000 + i, latencyUs: latencyMs * 1000 })
      return { ...r.takeLive()!, elapsedS: 1 }
    }
    const progress = (
      requests: number,
      live: [ReturnType<typeof windows>[], ReturnType<typeof windows>[]]
    ) => ({
      elapsedS: 5,
      requests,
      failures: 0,
      rps: 0,
      reporting: 2,
      finished: 0,
      total: 2,
      tasks: live.map((l, i) => ({
        region: 'us-east-1',
        taskIndex: i,
        elapsedS: 5,
        requests: 0,
        failures: 0,
        rps: 0,
        live: l
      }))
    })
    const rule = abortOnRule(['p(95)<500'])!
    // 95 fast and 4 slow requests: p95 is fast.
    expect(rule(progress(99, [[windows(100, 95)], [windows(900, 4)]]))).toBeNull()
    // 20 more slow requests (no new fast ones): the merged p95 is now slow.
    expect(rule(progress(119, [[], [windows(900, 20)]]))).toMatch(
      /^"p\(95\)<500" \(p\(95\) = 9\d\d(\.\d+)? ms\) does not hold on 119 requests after 5 s$/
    )
    // Fed the same way, p(95)<1000 holds.
    const lenient = abortOnRule(['p(95)<1000'])!
    expect(lenient(progress(99, [[windows(100, 95)], [windows(900, 4)]]))).toBeNull()
    expect(lenient(progress(119, [[], [windows(900, 20)]]))).toBeNull()
  })
})
