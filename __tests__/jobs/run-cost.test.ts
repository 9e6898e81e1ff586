/** The estimated cost of a run on its fleet, and the time from the step's start to the first request. */
import { estimateRunCost, firstRequestAfter } from '../../src/jobs/run-cost.js'
import {
  FARGATE_PRICES,
  PUBLIC_IPV4_HOUR,
  SPOT_PRICE_FACTOR,
  STARTUP_BILLED_S
} from '../../src/plan/fleet.js'
import { RESULT_VERSION, RUN_RESULT_SCHEMA, type RunResult } from '../../src/results/model.js'
import { synthSamples, taskFromSamples } from '../helpers/synthetic.js'

const START = 1_800_000_000_000

/** A run whose requests start `offsetMs` after START and last `durationMs`. */
function run(offsetMs: number, durationMs: number): RunResult {
  const task = taskFromSamples(synthSamples({ seed: 3, samples: 500, startMs: START + offsetMs, durationMs }))
  return {
    schema: RUN_RESULT_SCHEMA,
    version: RESULT_VERSION,
    run: {
      runId: 'r',
      scenario: 's',
      fingerprint: 'f',
      backend: 'fargate',
      createdMs: START,
      expectedTasks: 1,
      missingTasks: [],
      facts: {}
    },
    tasks: [task]
  }
}

describe('estimateRunCost', () => {
  it('prices every task for its start-up and each run’s actual length, with the Spot discount', () => {
    const p = FARGATE_PRICES['us-east-1']
    const spec = {
      kind: 'fargate' as const,
      regions: [{ region: 'us-east-1', tasks: 4 }],
      cpu: 1024,
      memoryMiB: 2048,
      spot: false
    }
    const runs = [run(0, 60_000), run(0, 60_000)]
    const c = estimateRunCost(spec, runs)
    const billed = STARTUP_BILLED_S + 60
    const hourly = p.vcpuHour + 2 * p.gbHour + PUBLIC_IPV4_HOUR
    expect(billed).toBeGreaterThan(60)
    expect(c.usd).toBeCloseTo((2 * 4 * hourly * billed) / 3600, 3)
    expect(c.detail).toBe(
      '4 Fargate tasks of 1 vCPU / 2 GB, 2 runs of about 3 min billed (2 min start-up included)'
    )
    const spot = estimateRunCost({ ...spec, spot: true }, runs)
    expect(spot.usd).toBeCloseTo(
      (2 * 4 * ((p.vcpuHour + 2 * p.gbHour) * SPOT_PRICE_FACTOR + PUBLIC_IPV4_HOUR) * billed) / 3600,
      3
    )
    expect(spot.detail).toContain('on Spot')
  })

  it('costs nothing on the local fleet and says why', () => {
    expect(estimateRunCost({ kind: 'local' }, [run(0, 1000)])).toEqual({
      usd: 0,
      detail: 'local fleet: the load ran on this machine, no cloud tasks'
    })
  })
})

describe('firstRequestAfter', () => {
  it('bounds the first answer by its result interval, counted from the step start', () => {
    const r = firstRequestAfter(START - 7_300, run(0, 5_000))!
    expect(r.fromS).toBeCloseTo(7.3, 6)
    expect(r.toS).toBeCloseTo(8.3, 6)
    expect(firstRequestAfter(START, { ...run(0, 1000), tasks: [] })).toBeNull()
  })
})
