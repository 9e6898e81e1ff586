import { ACCURACY_TARGET, exactPercentile, fleet, fleetAccuracy } from '../../bench/p3-accuracy.js'

describe('P3 fleet accuracy (small size)', () => {
  it('nearest-rank percentile of 1..100 picks the ranked value', () => {
    const xs = Float64Array.from({ length: 100 }, (_, i) => i + 1)
    expect(exactPercentile(xs, 50)).toBe(50)
    expect(exactPercentile(xs, 99)).toBe(99)
    expect(exactPercentile(xs, 99.9)).toBe(100)
    expect(exactPercentile(xs, 0.1)).toBe(1)
  })

  it('the synthetic fleet is heterogeneous: 4 regions, 40 tasks, different request counts', () => {
    const tasks = fleet(0.05, 1)
    expect(tasks).toHaveLength(40)
    expect(new Set(tasks.map(t => t.region)).size).toBe(4)
    expect(new Set(tasks.map(t => t.requests)).size).toBeGreaterThan(30)
    expect(tasks.some(t => t.describe.startsWith('bimodal'))).toBe(true)
  })

  it('merged histograms are within 0.1 % of the exact percentiles and beat averaging per-task percentiles', () => {
    const res = fleetAccuracy(0.05)
    expect(res.tasks).toBe(40)
    expect(res.samples).toBeGreaterThan(50_000)
    expect(res.percentiles.map(p => p.p)).toEqual([50, 95, 99, 99.9])
    for (const p of res.percentiles) {
      expect(p.oursError).toBeLessThanOrEqual(ACCURACY_TARGET)
      expect(p.oursError).toBeLessThan(p.averagedError)
      // HDR reports the highest value of the bucket that holds the rank: never below the exact value.
      expect(p.oursMs).toBeGreaterThanOrEqual(p.exactMs)
    }
    const p99 = res.percentiles.find(p => p.p === 99)!
    expect(p99.averagedError).toBeGreaterThan(0.01)
  })
})
