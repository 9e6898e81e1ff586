import fc from 'fast-check'
import { mergeTasks } from '../../src/results/merge.js'
import { ResultView } from '../../src/results/query.js'
import { parseTaskResult } from '../../src/results/io.js'
import { synthSamples, taskFromSamples } from '../helpers/synthetic.js'

const canon = (t: unknown) => JSON.stringify(t)

describe('exact merge', () => {
  it('merging two tasks equals recording the union of their samples', () => {
    const a = synthSamples({ seed: 1, samples: 3000 })
    const b = synthSamples({ seed: 2, samples: 2000, medianUs: 50_000 })
    const merged = mergeTasks([taskFromSamples(a, { taskIndex: 0 }), taskFromSamples(b, { taskIndex: 1 })])
    const union = taskFromSamples([...a, ...b].sort((x, y) => x.endMs - y.endMs))
    expect(canon(merged.labels)).toBe(canon(union.labels))
    const mv = new ResultView([merged]).stats({ window: 'all' })
    const uv = new ResultView([union]).stats({ window: 'all' })
    expect(mv.requests).toBe(5000)
    expect(mv.p99Ms).toBe(uv.p99Ms)
    expect(mv.failures).toBe(uv.failures)
  })

  it('is associative and commutative (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 1_000_000 }), { minLength: 3, maxLength: 3 }),
        fc.nat(5),
        (seeds, perm) => {
          const tasks = seeds.map((s, i) =>
            taskFromSamples(synthSamples({ seed: s, samples: 200 + (s % 300), failureRate: 0.1 }), {
              taskIndex: i,
              region: `r${i % 2}`
            })
          )
          const [x, y, z] = tasks
          const left = mergeTasks([mergeTasks([x, y]), z])
          const right = mergeTasks([x, mergeTasks([y, z])])
          const orders = [
            [x, y, z],
            [x, z, y],
            [y, x, z],
            [y, z, x],
            [z, x, y],
            [z, y, x]
          ]
          const flat = mergeTasks(orders[perm % 6])
          expect(canon(left)).toBe(canon(right))
          expect(canon(left)).toBe(canon(flat))
        }
      ),
      { numRuns: 25 }
    )
  })

  it('a merged result validates against the schema', () => {
    const m = mergeTasks([taskFromSamples(synthSamples({ seed: 3, samples: 500 }))])
    expect(() => parseTaskResult('merged.json', JSON.parse(JSON.stringify(m)))).not.toThrow()
  })

  it('answers per-region and per-task queries from the same data', () => {
    const t0 = taskFromSamples(synthSamples({ seed: 5, samples: 1000 }), {
      region: 'eu-west-1',
      taskIndex: 0
    })
    const t1 = taskFromSamples(synthSamples({ seed: 6, samples: 1500 }), {
      region: 'us-east-1',
      taskIndex: 1
    })
    const v = new ResultView([t0, t1])
    expect(v.stats({ window: 'all', region: 'eu-west-1' }).requests).toBe(1000)
    expect(v.stats({ window: 'all', taskIndex: 1 }).requests).toBe(1500)
    expect(v.stats({ window: 'all' }).requests).toBe(2500)
    const byLabel = v.statsByLabel({ window: 'all' })
    expect(Object.values(byLabel).reduce((a, s) => a + s.requests, 0)).toBe(2500)
  })
})
