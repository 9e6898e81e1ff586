import { buildFamily, errorRateFloor, extractRunMetrics, type RunMetrics } from '../../src/gate/metrics.js'
import { decideFinal, decideStage1 } from '../../src/gate/decision.js'
import { ResultView } from '../../src/results/query.js'
import { synthSamples, taskFromSamples } from '../helpers/synthetic.js'

const START = 1_800_000_000_000

/** One synthetic run (two load generators) of `samples` requests over 10 s. */
function run(
  seed: number,
  o: { samples?: number; medianUs?: number; failureRate?: number } = {}
): ResultView {
  const n = o.samples ?? 3000
  const common = {
    startMs: START,
    durationMs: 10_000,
    medianUs: o.medianUs ?? 20_000,
    sigma: 0.4,
    failureRate: o.failureRate ?? 0.01
  }
  return new ResultView([
    taskFromSamples(synthSamples({ seed, samples: n / 2, ...common }), { taskIndex: 0 }),
    taskFromSamples(synthSamples({ seed: seed + 100_000, samples: n / 2, ...common }), { taskIndex: 1 })
  ])
}

describe('run metrics from results', () => {
  it('takes the steady-window figures of the merged run', () => {
    const view = run(1)
    const m = extractRunMetrics(view)
    const s = view.stats({ window: 'steady' })
    expect(m).toMatchObject({
      requests: s.requests,
      failures: s.failures,
      errorRate: s.errorRate,
      rps: s.rps,
      p50Ms: s.p50Ms,
      p90Ms: s.p90Ms,
      p95Ms: s.p95Ms,
      p99Ms: s.p99Ms
    })
    expect(m.p99TailSamples).toBeCloseTo(s.requests * 0.01, 9)
    expect(Object.keys(m.labels)).toEqual(['GET /a', 'GET /b', 'POST /c'])
    const a = view.stats({ window: 'steady', label: 'GET /a' })
    expect(m.labels['GET /a']).toEqual({
      requests: a.requests,
      failures: a.failures,
      errorRate: a.errorRate,
      rps: a.rps,
      p95Ms: a.p95Ms,
      p99Ms: a.p99Ms
    })
    expect(JSON.parse(JSON.stringify(m))).toEqual(m)
    const all = extractRunMetrics(view, 'all')
    expect(all.requests).toBe(3000)
  })
})

describe('the family built from runs', () => {
  const fake = (requests: number, p95 = 100): RunMetrics => ({
    requests,
    failures: 0,
    durationS: 10,
    errorRate: 0,
    rps: requests / 10,
    p50Ms: 40,
    p90Ms: 90,
    p95Ms: p95,
    p99Ms: 200,
    p99TailSamples: requests * 0.01,
    labels: { login: { requests, failures: 0, errorRate: 0, rps: requests / 10, p95Ms: p95, p99Ms: 200 } }
  })

  it('has the primary four and advisory extras', () => {
    const fam = buildFamily([fake(20_000)], [fake(20_000), fake(20_000)])
    expect(fam.map(o => [o.name, !!o.advisory])).toEqual([
      ['p95', false],
      ['p99', false],
      ['error_rate', false],
      ['throughput', false],
      ['p50', true],
      ['p90', true],
      ['p95{name:login}', true],
      ['p99{name:login}', true],
      ['error_rate{name:login}', true]
    ])
    expect(fam.find(o => o.name === 'throughput')!.higherIsWorse).toBe(false)
    expect(fam.find(o => o.name === 'p99')!.tailSamples).toBe(200)
    expect(buildFamily([fake(20_000)], [], {}, { perLabel: false })).toHaveLength(6)
  })

  it('drops p99 from the gated family when the screening run has fewer than 10,000 requests', () => {
    const v = decideFinal(
      buildFamily(
        [fake(5000)],
        Array.from({ length: 12 }, () => fake(5000))
      )
    )
    expect(v.familySize).toBe(3)
    expect(v.metrics.find(m => m.name === 'p99')!.advisory).toBe(true)
    expect(decideFinal(buildFamily([fake(10_000)], [fake(10_000)])).familySize).toBe(4)
  })

  it('floors error rates at max(1e-4, half an error in a typical run)', () => {
    expect(errorRateFloor([1000, 2000, 3000])).toBeCloseTo(0.5 / 2000, 15)
    expect(errorRateFloor([1_000_000])).toBe(1e-4)
    expect(errorRateFloor([])).toBe(1e-4)
    const fam = buildFamily([fake(1000)], [fake(1000), fake(3000)])
    expect(fam.find(o => o.name === 'error_rate')).toMatchObject({
      floor: 0.5 / 1000,
      minAbsoluteEffect: 0.001
    })
  })

  it('requires a PR run', () => {
    expect(() => buildFamily([], [fake(10)])).toThrow('buildFamily: at least one PR run is needed')
  })
})

describe('from results to a verdict', () => {
  // 12 baseline runs and PR runs from independent seeds (2 generators each, 3000 requests).
  const baselines = Array.from({ length: 12 }, (_, i) => extractRunMetrics(run(1000 + i)))

  it('an unchanged service passes', () => {
    const pr = [extractRunMetrics(run(5000))]
    const family = buildFamily(pr, baselines)
    const s1 = decideStage1(family)
    if (s1.outcome === 'confirm') for (let i = 1; i <= 4; i++) pr.push(extractRunMetrics(run(5000 + i)))
    const v = decideFinal(buildFamily(pr, baselines))
    expect(v.outcome).toBe('PASS')
    expect(v.provisional).toBe(false)
    expect(v.familySize).toBe(3)
    const p95 = v.metrics.find(m => m.name === 'p95')!
    expect(p95.n).toBe(12)
    expect(p95.noise!).toBeGreaterThan(0)
    expect(p95.noise!).toBeLessThan(0.1)
  })

  it('a service 30% slower fails on p95 after confirmation', () => {
    const slow = (seed: number) => extractRunMetrics(run(seed, { medianUs: 26_000 }))
    const pr = [slow(7000)]
    const s1 = decideStage1(buildFamily(pr, baselines))
    expect(s1.outcome).toBe('confirm')
    expect(s1.metricsToConfirm).toContain('p95')
    for (let i = 1; i <= s1.replicates; i++) pr.push(slow(7000 + i))
    const v = decideFinal(buildFamily(pr, baselines))
    expect(v.outcome).toBe('FAIL')
    const p95 = v.metrics.find(m => m.name === 'p95')!
    expect(p95.status).toBe('fail')
    expect(p95.k).toBe(5)
    expect(p95.deltaPct!).toBeGreaterThan(20)
    expect(p95.deltaPct!).toBeLessThan(40)
  })
})
