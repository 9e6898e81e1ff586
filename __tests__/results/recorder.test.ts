import { TaskRecorder } from '../../src/results/recorder.js'
import { defaultTaskMeta } from '../../src/results/model.js'
import { ResultView } from '../../src/results/query.js'
import { steadyWindow } from '../../src/results/window.js'

const meta = defaultTaskMeta({ engine: 'http' })

describe('TaskRecorder', () => {
  it('keeps per-interval counts, failures by kind and bytes', () => {
    const r = new TaskRecorder()
    const t0 = 1_800_000_000_000
    for (let i = 0; i < 10; i++) {
      r.sample({ label: 'a', endMs: t0 + i * 100, latencyUs: 1000 + i, bytesIn: 10, bytesOut: 2 })
    }
    r.sample({ label: 'a', endMs: t0 + 1500, latencyUs: 5000, failure: 'http_5xx', bytesIn: 3 })
    r.sample({ label: 'b', endMs: t0 + 1600, latencyUs: 7000, failure: 'connection' })
    const res = r.finish(meta)
    expect(res.labels.a.idx).toEqual([0, 1])
    expect(res.labels.a.requests).toEqual([10, 1])
    expect(res.labels.a.failures.http_5xx).toEqual([0, 1])
    expect(res.labels.a.bytesIn).toEqual([100, 3])
    expect(res.labels.a.minUs[0]).toBe(1000)
    expect(res.labels.a.maxUs[0]).toBe(1009)
    const s = new ResultView([res]).stats({ window: 'all' })
    expect(s.failuresByKind.connection).toBe(1)
    expect(s.failures).toBe(2)
    expect(s.bytesOut).toBe(20)
  })

  it('accepts samples out of order within the grace period and counts later ones as late', () => {
    const r = new TaskRecorder({ graceMs: 2000 })
    const t0 = 1_800_000_000_000
    r.sample({ label: 'a', endMs: t0 + 3500, latencyUs: 10 })
    r.sample({ label: 'a', endMs: t0 + 2500, latencyUs: 10 }) // within grace
    for (let i = 4; i < 20; i++) r.sample({ label: 'a', endMs: t0 + i * 1000, latencyUs: 10 })
    r.sample({ label: 'a', endMs: t0 + 1000, latencyUs: 10 }) // long sealed
    const res = r.finish(meta)
    expect(res.lateSamples).toBe(1)
    expect(res.labels.a.requests.reduce((x, y) => x + y, 0)).toBe(19)
  })

  it('records active users per interval (maximum) and checks', () => {
    const r = new TaskRecorder()
    const t0 = 1_800_000_000_000
    r.activeUsers(t0, 3)
    r.activeUsers(t0 + 500, 5)
    r.activeUsers(t0 + 1000, 4)
    r.check('status is 200', true)
    r.check('status is 200', false)
    r.threshold({ metric: 'http_req_duration', expr: 'p(95)<500' })
    r.threshold({ metric: 'http_req_duration', expr: 'p(95)<500' })
    const res = r.finish(meta)
    expect(res.users?.values).toEqual([5, 4])
    expect(res.checks['status is 200']).toEqual({ passes: 1, fails: 1 })
    expect(res.task.thresholds).toHaveLength(1)
  })
})

describe('steady-state window', () => {
  const all = { startMs: 0, endMs: 20_000 }
  it('trims ramp-up and ramp-down detected from throughput', () => {
    const counts = [5, 20, 50, 90, 100, 101, 99, 100, 102, 98, 100, 60, 10]
    const w = steadyWindow({ first: 0, counts }, 1000, null, all)
    expect(w).toEqual({ startMs: 3000, endMs: 11_000 })
  })
  it('uses the profile window when known, snapped to whole intervals', () => {
    const w = steadyWindow({ first: 0, counts: [1, 1, 1] }, 1000, { startMs: 2500, endMs: 9800 }, all)
    expect(w).toEqual({ startMs: 3000, endMs: 9000 })
  })
  it('falls back to the whole run when it is too short', () => {
    expect(steadyWindow({ first: 0, counts: [1, 2, 3] }, 1000, null, all)).toEqual(all)
  })
})

describe('ResultView steady window', () => {
  it('cuts the profile window at the time the tasks actually ended', () => {
    const r = new TaskRecorder()
    const t0 = 1_800_000_000_000
    for (let i = 0; i < 100; i++) r.sample({ label: 'a', endMs: t0 + i * 100, latencyUs: 1000 })
    const res = r.finish(
      defaultTaskMeta({
        engine: 'http',
        startedMs: t0,
        endedMs: t0 + 10_000,
        steady: { startMs: t0 + 2000, endMs: t0 + 60_000 }
      })
    )
    const w = new ResultView([res]).steadyWindow()
    expect(w).toEqual({ startMs: t0 + 2000, endMs: t0 + 10_000 })
  })
})
