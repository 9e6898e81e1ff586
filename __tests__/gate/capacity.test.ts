/**
 * Capacity analysis on synthetic runs whose behaviour is known: a server with a fixed capacity
 * (throughput flattens, latency climbs), a spike after which the server stays slow for a known
 * time, a soak that does or does not degrade, and a scalability curve that stops scaling.
 */
import { capacityPlan } from '../../src/gate/capacity/planning.js'
import { analyzeProfile, sustainedRps } from '../../src/gate/capacity/profile.js'
import { analyzeScalability } from '../../src/gate/capacity/scalability.js'
import { analyzeSoak, logSlope } from '../../src/gate/capacity/soak.js'
import { analyzeSpike } from '../../src/gate/capacity/spike.js'
import { measureSteps, profileStartMs, stepWindow } from '../../src/gate/capacity/steps.js'
import { analyzeStress, findErrorOnset, type StressAnalysis } from '../../src/gate/capacity/stress.js'
import { parseSlos } from '../../src/gate/slo.js'
import type { ExpandedProfile, Stage } from '../../src/model/index.js'
import { expandProfile } from '../../src/plan/profiles.js'
import { parseProfileSpec } from '../../src/config/profile.js'
import { defaultTaskMeta } from '../../src/results/model.js'
import type { FailureKind } from '../../src/model/index.js'
import { ResultView } from '../../src/results/query.js'
import { TaskRecorder } from '../../src/results/recorder.js'
import { rng } from '../helpers/synthetic.js'

const T0 = 1_800_000_000_000

function levelAt(stages: Stage[], t: number): number {
  let from = 0
  let start = 0
  for (const s of stages) {
    if (t <= start + s.durationS) return from + ((s.target - from) * (t - start)) / s.durationS
    from = s.target
    start += s.durationS
  }
  return 0
}

interface Behaviour {
  rps: number
  latencyMs: number
  errorRate?: number
}

/**
 * A run of `profile`: every second, `model` gives throughput, latency and errors for the level the
 * profile holds then (and the second); latencies vary ±5% around it (seeded). One task, or `tasks`
 * tasks sharing the load.
 */
function synthRun(
  profile: ExpandedProfile,
  model: (vus: number, t: number) => Behaviour,
  opts: { tasks?: number; seed?: number; startLagS?: number } = {}
): ResultView {
  const tasks = opts.tasks ?? 1
  const r = rng(opts.seed ?? 1)
  const recs = Array.from({ length: tasks }, () => new TaskRecorder())
  const lag = (opts.startLagS ?? 0) * 1000
  for (let t = 0; t < Math.ceil(profile.totalS); t++) {
    const vus = Math.round(levelAt(profile.stages, t + 0.5))
    if (vus <= 0) continue
    const b = model(vus, t)
    const n = Math.round(b.rps)
    for (let i = 0; i < n; i++) {
      const rec = recs[i % tasks]
      const failure: FailureKind | undefined = r() < (b.errorRate ?? 0) ? 'http_5xx' : undefined
      rec.sample({
        label: i % 3 ? 'GET /a' : 'GET /b',
        endMs: T0 + lag + t * 1000 + ((i + 0.5) * 1000) / n,
        latencyUs: b.latencyMs * 1000 * (0.95 + 0.1 * r()),
        bytesIn: 500,
        bytesOut: 100,
        ...(failure ? { failure } : {})
      })
    }
    recs.forEach(rec => rec.activeUsers(T0 + lag + t * 1000 + 500, vus / tasks))
  }
  return new ResultView(
    recs.map((rec, i) =>
      rec.finish(
        defaultTaskMeta({
          engine: 'http',
          taskIndex: i,
          taskCount: tasks,
          startedMs: T0,
          endedMs: T0 + lag + profile.totalS * 1000
        })
      )
    )
  )
}

/** A server of fixed capacity: 4 requests at once, 50 ms each (80 req/s). */
const capacity4 = (vus: number): Behaviour => ({
  rps: Math.min(vus, 4) * 20,
  latencyMs: 50 * Math.max(1, vus / 4),
  errorRate: vus >= 8 ? 0.05 : 0
})

const stressProfile = expandProfile(
  parseProfileSpec({ name: 'stress', steps: 4, 'step-duration': 10, 'step-ramp': 2 }),
  4
)

describe('steps', () => {
  it('are measured over the whole intervals of their holds, the first and last dropped', () => {
    const view = synthRun(stressProfile, capacity4)
    expect(profileStartMs(view)).toBe(T0)
    // step 2 holds from 12 s to 20 s
    const w = stepWindow(view, stressProfile.steps[1], T0)
    expect(w).toEqual({ startMs: T0 + 13_000, endMs: T0 + 19_000 })
    const steps = measureSteps(view, stressProfile.steps, [])
    expect(steps.map(s => s.vus)).toEqual([2, 4, 6, 8])
    expect(steps.map(s => s.users)).toEqual([2, 4, 6, 8])
    expect(steps.map(s => Math.round(s.rps))).toEqual([40, 80, 80, 80])
    expect(steps.map(s => Math.round(s.p50Ms / 5) * 5)).toEqual([50, 50, 75, 100])
    expect(steps[0].bytesInPerS).toBeCloseTo(40 * 500, 0)
    expect(steps.every(s => s.held === null)).toBe(true)
  })

  it('start when the engine did, not when its runner did', () => {
    // The first request came 3 s after the runner's start mark: the clock starts within an interval of it.
    const view = synthRun(stressProfile, capacity4, { startLagS: 3 })
    expect(profileStartMs(view)).toBe(T0 + 3000)
    const steps = measureSteps(view, stressProfile.steps, [])
    // step 2 really holds from T0 + 15 s to T0 + 23 s; its window lies inside
    expect(steps[1].window).toEqual({ startMs: T0 + 16_000, endMs: T0 + 22_000 })
    expect(steps.map(s => s.users)).toEqual([2, 4, 6, 8])
    expect(steps.map(s => Math.round(s.rps))).toEqual([40, 80, 80, 80])
  })

  it('that the run did not reach (half of) are marked so; a step cut short at its end still counts', () => {
    // step 3 holds from 22 s to 30 s
    const steps = (totalS: number) =>
      measureSteps(synthRun({ ...stressProfile, totalS }, capacity4), stressProfile.steps, [])
    expect(steps(25).map(s => s.reached)).toEqual([true, true, false, false])
    const cut = steps(29)
    expect(cut.map(s => s.reached)).toEqual([true, true, true, false])
    expect(cut[2].window).toEqual({ startMs: T0 + 23_000, endMs: T0 + 28_000 })
  })
})

describe('stress', () => {
  const view = synthRun(stressProfile, capacity4)
  const analyse = (slo: string[]) => {
    const slos = parseSlos(slo)
    return analyzeStress(measureSteps(view, stressProfile.steps, slos), slos, 4)
  }

  it('finds the breaking point at the capacity, the knee and the error onset', () => {
    const a = analyse(['p(95)<65'])
    expect(a.breakingPoint?.vus).toBe(4)
    expect(a.breaksAt?.vus).toBe(6)
    expect(a.knee?.step.vus).toBe(4)
    expect(a.knee?.next.vus).toBe(6)
    expect(a.knee!.efficiency).toBeLessThan(0.1)
    expect(a.knee!.latencyRise).toBeGreaterThan(0.4)
    expect(a.errorOnset?.vus).toBe(8)
    expect(a.capacityRps).toBeCloseTo(80, 0)
    expect(a.sentence).toMatch(
      /^sustains 80 req\/s at p95 < 65 ms \(4 VUs, 1× the expected load\); breaks at 80 req\/s \(6 VUs\): "p\(95\)<65" failed: p\(95\) = 7\d\.\d+ ms/
    )
  })

  it('a broken error-rate SLO breaks at the error onset', () => {
    const a = analyse(['http_req_failed: rate<0.01'])
    expect(a.breaksAt?.vus).toBe(8)
    expect(a.breakingPoint?.vus).toBe(6)
    expect(a.sentence).toMatch(/^sustains 80 req\/s at error rate < 1% \(6 VUs, 1.5× the expected load\)/)
  })

  it('says when the first step already broke, or when no step did', () => {
    const first = analyse(['p(95)<10'])
    expect(first.breakingPoint).toBeNull()
    expect(first.capacityRps).toBeNull()
    expect(first.sentence).toMatch(/^breaks already at the first step: 40 req\/s \(2 VUs\)/)
    const none = analyse(['p(95)<1000'])
    expect(none.breaksAt).toBeNull()
    expect(none.breakingPoint?.vus).toBe(8)
    expect(none.sentence).toMatch(
      /up to the last step \(8 VUs, 2× the expected load\); no step broke the SLOs/
    )
  })

  it('without SLOs the knee gives the capacity', () => {
    const a = analyse([])
    expect(a.judged).toBe(false)
    expect(a.breakingPoint).toBeNull()
    expect(a.capacityRps).toBeCloseTo(80, 0)
    expect(a.sentence).toBe(
      'no SLOs to judge the steps by; throughput stops scaling after 80 req/s (4 VUs), peak 80 req/s'
    )
  })

  it('a server without limit has no knee', () => {
    const linear = synthRun(stressProfile, vus => ({ rps: vus * 20, latencyMs: 50 }))
    const a = analyzeStress(measureSteps(linear, stressProfile.steps, []), [], 4)
    expect(a.knee).toBeNull()
    expect(a.errorOnset).toBeNull()
    expect(a.sentence).toMatch(/kept scaling up to 160 req\/s \(8 VUs\)/)
  })

  it('errors present from the first step are the onset only when they are at least 1%', () => {
    const errs = (rates: number[]) =>
      findErrorOnset(
        rates.map((errorRate, i) => ({ ...measureSteps(view, stressProfile.steps, [])[i], errorRate }))
      )?.index ?? null
    expect(errs([0.004, 0.006, 0.02, 0.5])).toBe(3)
    expect(errs([0.3, 0.3, 0.31, 0.5])).toBe(1)
    expect(errs([0, 0, 0.009, 0])).toBeNull()
  })

  it('merges several tasks exactly: the same steps from two tasks', () => {
    const two = synthRun(stressProfile, capacity4, { tasks: 2 })
    const slos = parseSlos(['p(95)<65'])
    const a = analyzeStress(measureSteps(two, stressProfile.steps, slos), slos, 4)
    expect(a.breakingPoint?.vus).toBe(4)
    expect(a.steps.map(s => s.users)).toEqual([2, 4, 6, 8])
  })

  it('analyzeProfile picks the stress analysis, and sustainedRps reads it', () => {
    const a = analyzeProfile(view, stressProfile, parseSlos(['p(95)<65'])) as StressAnalysis
    expect(a.kind).toBe('stress')
    expect(sustainedRps(a)).toBeCloseTo(80, 0)
  })
})

describe('spike', () => {
  const profile = expandProfile(
    parseProfileSpec({
      name: 'spike',
      multiplier: 4,
      'ramp-up': 1,
      baseline: 10,
      'surge-ramp': 1,
      surge: 10,
      drop: 1,
      recovery: 20
    }),
    2
  )
  const surgeEnd = profile.surgeEndS!
  /** Slow during the surge and for `slowS` seconds after it. */
  const server =
    (slowS: number) =>
    (vus: number, t: number): Behaviour =>
      vus > 2
        ? { rps: 80, latencyMs: 100 }
        : t >= surgeEnd && t < surgeEnd + slowS
          ? { rps: 40, latencyMs: 50 }
          : { rps: 100, latencyMs: 20 }

  it('recovery time runs from the surge’s end until the SLOs hold again', () => {
    const view = synthRun(profile, server(4))
    const a = analyzeSpike(view, profile, parseSlos(['p(95)<35']))
    expect(a.surgeEndMs).toBe(T0 + surgeEnd * 1000)
    expect(a.recoveryS).toBe(4)
    expect(a.baseline.held).toBe(true)
    expect(a.surge.held).toBe(false)
    expect(a.sentence).toBe('recovers 4 s after the surge to 8 VUs (every SLO holds)')
  })

  it('without SLOs, recovered means back near the baseline', () => {
    const a = analyzeSpike(synthRun(profile, server(7)), profile, [])
    expect(a.recoveryS).toBe(7)
    expect(a.criterion).toMatch(/^p95 within 25% of the baseline's/)
  })

  it('an immediate recovery is 0 s, and none within the run is null', () => {
    expect(analyzeSpike(synthRun(profile, server(0)), profile, parseSlos(['p(95)<35'])).recoveryS).toBe(0)
    const never = analyzeSpike(synthRun(profile, server(100)), profile, parseSlos(['p(95)<35']))
    expect(never.recoveryS).toBeNull()
    expect(never.sentence).toMatch(/^does not recover within the 20 s after the surge/)
    expect(sustainedRps(never)).toBeCloseTo(100, 0)
  })
})

describe('soak', () => {
  const profile = expandProfile(
    parseProfileSpec({ name: 'soak', 'ramp-up': 5, hold: 600, 'ramp-down': 5, window: 100 }),
    4
  )

  it('a steady run holds: the last window is judged like a PR against the first', () => {
    const r = rng(7)
    const view = synthRun(profile, () => ({ rps: 50, latencyMs: 40 * (0.97 + 0.06 * r()) }))
    const a = analyzeSoak(view, profile, [])
    expect(a.firstP95s).toHaveLength(5)
    expect(a.lastP95s).toHaveLength(5)
    expect(a.judgement?.status).toBe('pass')
    expect(a.trend?.flagged).toBe(false)
    expect(a.degraded).toBe(false)
    expect(a.sentence).toMatch(/^p95 held steady/)
  })

  it('slow degradation fails the comparison and flags the trend', () => {
    const view = synthRun(profile, (_v, t) => ({ rps: 50, latencyMs: 40 * (1 + (0.3 * t) / 600) }))
    const a = analyzeSoak(view, profile, [])
    expect(a.judgement?.status).toBe('fail')
    expect(a.judgement!.deltaPct!).toBeGreaterThan(20)
    expect(a.trend?.flagged).toBe(true)
    expect(a.trend!.perHour).toBeGreaterThan(1)
    expect(a.degraded).toBe(true)
    expect(a.sentence).toMatch(/^p95 degraded: last window .* a significant slow degradation$/)
  })

  it('logSlope recovers a known slope', () => {
    const xs = [0, 1, 2, 3, 4, 5]
    const fit = logSlope(
      xs,
      xs.map(x => 10 * Math.exp(0.1 * x) * (x % 2 ? 1.001 : 0.999))
    )!
    expect(fit.slope).toBeCloseTo(0.1, 2)
    expect(fit.pValue).toBeLessThan(0.001)
    expect(logSlope([0, 1, 2], [1, 2, 3])).toBeNull()
  })
})

describe('scalability', () => {
  it('efficiency drops where throughput stops following the load', () => {
    const profile = expandProfile(
      parseProfileSpec({ name: 'scalability', 'level-duration': 10, 'level-ramp': 2 }),
      8
    )
    const view = synthRun(profile, capacity4)
    const a = analyzeScalability(measureSteps(view, profile.steps, []))
    expect(a.steps.map(s => s.label)).toEqual(['25%', '50%', '75%', '100%'])
    expect(a.steps.map(s => Math.round((s.efficiency ?? 0) * 100))).toEqual([100, 100, 67, 50])
    expect(a.efficiencyDropsAt?.label).toBe('75%')
    expect(a.sentence).toBe(
      'throughput scales up to 50% (80 req/s, 4 VUs); efficiency drops to 67% at 75% (80 req/s, 6 VUs)'
    )
  })
})

describe('load and volume', () => {
  it('the hold with its bytes per second', () => {
    const profile = expandProfile(
      parseProfileSpec({ name: 'volume', 'ramp-up': 2, hold: 20, 'ramp-down': 0 }),
      3
    )
    const a = analyzeProfile(
      synthRun(profile, () => ({ rps: 30, latencyMs: 10 })),
      profile,
      []
    )
    expect(a.kind).toBe('volume')
    if (a.kind !== 'volume') return
    expect(a.requestBytes).toBeCloseTo(100, 5)
    expect(a.responseBytes).toBeCloseTo(500, 5)
    expect(a.sentence).toMatch(
      /^30 req\/s at p95 10\.\d+ ms with 3 VUs; 2.93 KiB\/s sent, 14.6 KiB\/s received$/
    )
  })
})

describe('capacity planning', () => {
  it('states headroom or the shortfall, and instances when known', () => {
    expect(capacityPlan(1850, 1400).sentence).toBe(
      'has 1.3× headroom over the target of 1,400 req/s (capacity 1,850 req/s)'
    )
    const short = capacityPlan(1850, 2600, 5)
    expect(short.ratio).toBeCloseTo(0.7115, 3)
    expect(short.instancesNeeded).toBe(8)
    expect(short.sentence).toBe(
      "needs 1.4× today's capacity to reach the target of 2,600 req/s (capacity 1,850 req/s); at 370 req/s per instance that is 8 instances for the target (5 today), assuming throughput scales linearly with instances"
    )
  })
})
