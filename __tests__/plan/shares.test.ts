import fc from 'fast-check'
import {
  ShareError,
  fraction,
  k6Segments,
  scaleStages,
  splitEvenly,
  splitInteger,
  taskShares
} from '../../src/plan/shares.js'
import type { TaskLoad } from '../../src/model/index.js'

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)

/** Exact rational value of a k6 fraction string ('0', '1', 'p/q') as [p, q]. */
function rational(s: string): [number, number] {
  if (s === '0') return [0, 1]
  if (s === '1') return [1, 1]
  const m = /^(\d+)\/(\d+)$/.exec(s)
  if (!m) throw new Error(`not a fraction: ${s}`)
  return [Number(m[1]), Number(m[2])]
}
const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a)

const load = (over: Partial<TaskLoad> = {}): TaskLoad => ({
  vus: 10,
  durationS: 60,
  rampUpS: 10,
  targetUrl: 'http://127.0.0.1:8080',
  ...over
})

describe('splitInteger / splitEvenly', () => {
  it('splits evenly with the remainder on the first tasks', () => {
    expect(splitEvenly(10, 3)).toEqual([4, 3, 3])
    expect(splitEvenly(3, 3)).toEqual([1, 1, 1])
    expect(splitEvenly(7, 1)).toEqual([7])
  })

  it('splits by weights with the largest remainder', () => {
    // quotas 5.0, 3.333, 1.667 → floors 5, 3, 1 → the one left goes to the largest remainder (0.667).
    expect(splitInteger(10, [3, 2, 1])).toEqual([5, 3, 2])
    // quotas 2.5, 2.5 → the tie goes to the first.
    expect(splitInteger(5, [1, 1])).toEqual([3, 2])
  })

  it('gives every task at least one unit even with a tiny weight', () => {
    expect(splitInteger(2, [100, 1])).toEqual([1, 1])
    expect(splitInteger(10, [1000, 1, 1])).toEqual([8, 1, 1])
  })

  it('refuses fewer units than tasks, with a clear message', () => {
    expect(() => splitEvenly(2, 3)).toThrow(ShareError)
    expect(() => splitEvenly(2, 3)).toThrow('3 tasks need at least 3 VUs (got 2)')
    expect(() => splitInteger(1, [1, 1])).toThrow('2 tasks need at least 2 VUs')
  })

  it('refuses bad inputs', () => {
    expect(() => splitInteger(5, [])).toThrow(/weights/)
    expect(() => splitInteger(5, [1, 0])).toThrow(/weights\[1\]/)
    expect(() => splitInteger(2.5, [1])).toThrow(/integer/)
    expect(() => splitEvenly(5, 0)).toThrow(/task count/)
  })

  it('totals match exactly, no part is zero, parts stay within one of their quota (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 0, max: 5000 }),
        (weights, extra) => {
          const total = weights.length + extra
          const parts = splitInteger(total, weights)
          expect(parts).toHaveLength(weights.length)
          expect(sum(parts)).toBe(total)
          for (const p of parts) {
            expect(Number.isInteger(p)).toBe(true)
            expect(p).toBeGreaterThanOrEqual(1)
          }
          const w = sum(weights)
          // When every quota is at least 1 the split is plain largest remainder: within one of the quota.
          if (weights.every(x => (total * x) / w >= 1))
            parts.forEach((p, i) => expect(Math.abs(p - (total * weights[i]) / w)).toBeLessThan(1))
        }
      ),
      { numRuns: 300 }
    )
  })

  it('an even split differs by at most one between tasks (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 0, max: 10_000 }), (n, extra) => {
        const parts = splitEvenly(n + extra, n)
        expect(sum(parts)).toBe(n + extra)
        expect(Math.max(...parts) - Math.min(...parts)).toBeLessThanOrEqual(1)
      }),
      { numRuns: 200 }
    )
  })
})

describe('k6Segments', () => {
  it('gives reduced fractions and the full sequence', () => {
    expect(k6Segments(1)).toEqual([{ segment: '0:1', sequence: '0,1' }])
    expect(k6Segments(4)).toEqual([
      { segment: '0:1/4', sequence: '0,1/4,1/2,3/4,1' },
      { segment: '1/4:1/2', sequence: '0,1/4,1/2,3/4,1' },
      { segment: '1/2:3/4', sequence: '0,1/4,1/2,3/4,1' },
      { segment: '3/4:1', sequence: '0,1/4,1/2,3/4,1' }
    ])
    expect(fraction(6, 9)).toBe('2/3')
  })

  it('segments tile [0,1] without gaps or overlaps (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 120 }), n => {
        const segs = k6Segments(n)
        expect(segs).toHaveLength(n)
        const points = segs[0].sequence.split(',')
        expect(points).toHaveLength(n + 1)
        expect(points[0]).toBe('0')
        expect(points[n]).toBe('1')
        segs.forEach((s, i) => {
          expect(s.sequence).toBe(segs[0].sequence)
          const [from, to] = s.segment.split(':')
          expect(from).toBe(points[i])
          expect(to).toBe(points[i + 1])
          const [p, q] = rational(to)
          // Reduced, and exactly (i+1)/n.
          expect(gcd(p, q)).toBe(1)
          expect(p * n).toBe((i + 1) * q)
        })
      }),
      { numRuns: 60 }
    )
  })
})

describe('scaleStages', () => {
  it('splits every stage target exactly and keeps durations', () => {
    const stages = [
      { durationS: 30, target: 10 },
      { durationS: 60, target: 10 },
      { durationS: 30, target: 2 },
      { durationS: 10, target: 0 }
    ]
    expect(scaleStages(stages, 3)).toEqual([
      [
        { durationS: 30, target: 4 },
        { durationS: 60, target: 4 },
        { durationS: 30, target: 1 },
        { durationS: 10, target: 0 }
      ],
      [
        { durationS: 30, target: 3 },
        { durationS: 60, target: 3 },
        { durationS: 30, target: 1 },
        { durationS: 10, target: 0 }
      ],
      [
        { durationS: 30, target: 3 },
        { durationS: 60, target: 3 },
        // 2 over 3 tasks: this task sits this stage out.
        { durationS: 30, target: 0 },
        { durationS: 10, target: 0 }
      ]
    ])
  })

  it('per-stage totals match exactly (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            durationS: fc.integer({ min: 1, max: 600 }),
            target: fc.integer({ min: 0, max: 500 })
          }),
          {
            minLength: 1,
            maxLength: 8
          }
        ),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 10 }),
        (stages, weights) => {
          const per = scaleStages(stages, weights)
          expect(per).toHaveLength(weights.length)
          stages.forEach((st, s) => {
            expect(sum(per.map(t => t[s].target))).toBe(st.target)
            per.forEach(t => expect(t[s].durationS).toBe(st.durationS))
          })
        }
      ),
      { numRuns: 200 }
    )
  })
})

describe('taskShares', () => {
  it('k6: every task gets the full load and its own segment', () => {
    const shares = taskShares('k6', load({ vus: 9 }), 3)
    expect(shares.map(s => s.load.vus)).toEqual([9, 9, 9])
    expect(shares.map(s => s.load.segment?.segment)).toEqual(['0:1/3', '1/3:2/3', '2/3:1'])
    expect(shares[1].share).toEqual({ vus: 9, totalVus: 9, weight: 1 / 3, segment: '1/3:2/3' })
    expect(() => taskShares('k6', load({ vus: 2 }), 3)).toThrow('3 tasks need at least 3 VUs (got 2)')
  })

  it('locust: VUs and spawn rate are split, duration and ramp kept', () => {
    const shares = taskShares('locust', load({ vus: 10, spawnRate: 5 }), 4)
    expect(shares.map(s => s.load.vus)).toEqual([3, 3, 2, 2])
    expect(shares.map(s => s.load.spawnRate)).toEqual([1.25, 1.25, 1.25, 1.25])
    expect(shares.every(s => s.load.durationS === 60 && s.load.rampUpS === 10 && !s.load.segment)).toBe(true)
    expect(shares[2].share).toEqual({ vus: 2, totalVus: 10, weight: 0.25 })
  })

  it('jmeter/http with stages: stage targets split, vus = the task peak', () => {
    const shares = taskShares(
      'http',
      load({
        vus: 1,
        stages: [
          { durationS: 10, target: 5 },
          { durationS: 10, target: 1 }
        ]
      }),
      2
    )
    expect(shares.map(s => s.load.stages)).toEqual([
      [
        { durationS: 10, target: 3 },
        { durationS: 10, target: 1 }
      ],
      [
        { durationS: 10, target: 2 },
        { durationS: 10, target: 0 }
      ]
    ])
    expect(shares.map(s => s.load.vus)).toEqual([3, 2])
    expect(() => taskShares('jmeter', load({ stages: [{ durationS: 10, target: 1 }] }), 2)).toThrow(
      /2 tasks need at least 2 VUs at the largest stage/
    )
  })

  it('weights split the load unevenly', () => {
    const shares = taskShares('jmeter', load({ vus: 12 }), 2, [2, 1])
    expect(shares.map(s => s.load.vus)).toEqual([8, 4])
    expect(shares.map(s => s.share.weight)).toEqual([2 / 3, 1 / 3])
    expect(() => taskShares('jmeter', load(), 2, [1])).toThrow(/expected 2 weights/)
  })

  it('totals match and no task is empty, for every engine (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('k6' as const, 'locust' as const, 'jmeter' as const, 'http' as const),
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: 0, max: 300 }),
        fc.option(fc.double({ min: 0.1, max: 100, noNaN: true }), { nil: undefined }),
        (engine, n, extra, spawnRate) => {
          const l = load({ vus: n + extra, spawnRate })
          const shares = taskShares(engine, l, n)
          expect(shares).toHaveLength(n)
          if (engine === 'k6') {
            expect(shares.every(s => s.load.vus === l.vus)).toBe(true)
            expect(new Set(shares.map(s => s.load.segment?.segment)).size).toBe(n)
          } else {
            expect(sum(shares.map(s => s.load.vus))).toBe(l.vus)
            expect(shares.every(s => s.load.vus >= 1)).toBe(true)
            if (spawnRate !== undefined)
              expect(sum(shares.map(s => s.load.spawnRate!))).toBeCloseTo(spawnRate, 9)
          }
          expect(sum(shares.map(s => s.share.weight as number))).toBeCloseTo(1, 12)
        }
      ),
      { numRuns: 300 }
    )
  })
})
