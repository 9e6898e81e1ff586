import { mean, median, sampleSd, tCdf, tQuantile } from '../../src/gate/stats.js'
import { DEFAULT_GATE_OPTIONS, GateOptionsError, resolveGateOptions } from '../../src/gate/options.js'

describe('Student-t quantiles (jStat) against printed table values', () => {
  // One-sided upper quantiles from a standard t table (3 decimals).
  const table: [number, number, number][] = [
    [0.99, 9, 2.821],
    [0.95, 29, 1.699],
    [0.8, 9, 0.883],
    [0.975, 10, 2.228],
    [0.95, 9, 1.833],
    [0.9975, 9, 3.69],
    [0.9975, 29, 3.038],
    [0.99, 19, 2.539],
    [0.8, 29, 0.854],
    [0.999, 2, 22.327]
  ]
  it.each(table)('t(%p, %p) = %p', (p, df, expected) => {
    expect(tQuantile(p, df)).toBeCloseTo(expected, 3)
  })

  it('the CDF inverts the quantile and is symmetric', () => {
    for (const [p, df] of [
      [0.8, 4],
      [0.99, 29],
      [0.0025, 12]
    ])
      expect(tCdf(tQuantile(p, df), df)).toBeCloseTo(p, 8)
    expect(tCdf(0, 7)).toBeCloseTo(0.5, 7)
    expect(tCdf(1.5, 7) + tCdf(-1.5, 7)).toBeCloseTo(1, 7)
    expect(tCdf(Number.POSITIVE_INFINITY, 3)).toBe(1)
  })

  it('approaches the normal quantile for many degrees of freedom', () => {
    expect(tQuantile(0.975, 1e6)).toBeCloseTo(1.95996, 4)
  })

  it('rejects probabilities outside (0, 1) and non-positive df', () => {
    expect(() => tQuantile(1, 5)).toThrow('p must be in (0, 1), got 1')
    expect(() => tQuantile(0.9, 0)).toThrow('degrees of freedom must be positive, got 0')
  })
})

describe('descriptive statistics', () => {
  it('mean, n−1 standard deviation and median of small series', () => {
    expect(mean([1, 2, 3, 4])).toBe(2.5)
    // deviations ±1.5, ±0.5 → sum of squares 5, /3
    expect(sampleSd([1, 2, 3, 4])).toBeCloseTo(Math.sqrt(5 / 3), 12)
    expect(sampleSd([7])).toBe(0)
    expect(median([5, 1, 3])).toBe(3)
    expect(median([4, 1, 3, 2])).toBe(2.5)
    expect(median([])).toBeNaN()
  })
})

describe('gate options', () => {
  it('has the documented defaults', () => {
    expect(DEFAULT_GATE_OPTIONS).toMatchObject({
      alpha: 0.01,
      minEffect: 0.03,
      maxBaselines: 30,
      minBaselines: 10,
      confirmReplicates: 4,
      provisionalThreshold: 0.1,
      stage1PassQuantile: 0.8,
      calibration: 1
    })
    expect(resolveGateOptions()).toEqual(DEFAULT_GATE_OPTIONS)
    expect(resolveGateOptions({ alpha: 0.05 }).alpha).toBe(0.05)
  })

  it('names the offending setting', () => {
    expect(() => resolveGateOptions({ alpha: 2 })).toThrow(
      "gate option 'alpha' must be a number in (0, 0.5), got 2"
    )
    expect(() => resolveGateOptions({ calibration: 0.5 })).toThrow(
      "gate option 'calibration' must be a number ≥ 1, got 0.5"
    )
    expect(() => resolveGateOptions({ confirmReplicates: 1.5 })).toThrow(GateOptionsError)
    expect(() => resolveGateOptions({ maxBaselines: 5 })).toThrow(
      "gate option 'maxBaselines' (5) must be at least 'minBaselines' (10)"
    )
  })
})
