/**
 * The stress stopping rule on progress reports built from real recorder windows: it judges a step
 * only when every task is past its end, from the windows that lie within its hold, and decides to
 * stop at the first step that breaks a judgeable SLO.
 */
import { parseProgressLine } from '../../src/fleet/local-progress.js'
import type { FleetProgress, LiveWindow, TaskProgress } from '../../src/model/index.js'
import { parseSlos } from '../../src/gate/slo.js'
import { liveJudgeable, StepStopRule } from '../../src/gate/stop-rule.js'
import { expandProfile } from '../../src/plan/profiles.js'
import { parseProfileSpec } from '../../src/config/profile.js'
import { TaskRecorder } from '../../src/results/recorder.js'

const profile = expandProfile(
  parseProfileSpec({ name: 'stress', steps: 3, 'step-duration': 4, 'step-ramp': 1 }),
  3
)
// steps: 2 VUs hold 1–4 s, 4 VUs hold 5–8 s, 6 VUs hold 9–12 s

/** One task's progress lines, one per second: `latencyMs(t)` for `perSecond` requests. */
function windows(
  seconds: number,
  latencyMs: (t: number) => number,
  perSecond = 30,
  failEvery = 0
): LiveWindow[] {
  const rec = new TaskRecorder({ live: true })
  const out: LiveWindow[] = []
  let n = 0
  for (let t = 1; t <= seconds; t++) {
    for (let i = 0; i < perSecond; i++)
      rec.sample({
        label: 'x',
        endMs: t * 1000 + i,
        latencyUs: latencyMs(t) * 1000,
        ...(failEvery && ++n % failEvery === 0 ? { failure: 'http_5xx' as const } : {})
      })
    out.push({ elapsedS: t + 0.02, ...rec.takeLive()! })
  }
  return out
}

function report(
  tasks: { index: number; upTo: number; all: LiveWindow[] }[],
  sent: Map<number, number>
): FleetProgress {
  const ts: TaskProgress[] = tasks.map(t => {
    const from = sent.get(t.index) ?? 0
    const live = t.all.filter(w => w.elapsedS > from && w.elapsedS <= t.upTo + 0.5)
    sent.set(t.index, t.upTo + 0.5)
    return {
      region: 'local',
      taskIndex: t.index,
      elapsedS: t.upTo + 0.02,
      requests: 0,
      failures: 0,
      rps: 0,
      live
    }
  })
  return {
    elapsedS: 0,
    requests: 0,
    failures: 0,
    rps: 0,
    reporting: ts.length,
    finished: 0,
    total: ts.length,
    tasks: ts
  }
}

const saturating = (t: number) => (t <= 8 ? 50 : 100)

it('the recorder hands over what it recorded since the last window, and only with live: true', () => {
  const rec = new TaskRecorder({ live: true })
  for (let i = 0; i < 10; i++)
    rec.sample({
      label: 'a',
      endMs: 1000 + i,
      latencyUs: 2000,
      ...(i < 2 ? { failure: 'timeout' as const } : {})
    })
  const w = rec.takeLive()!
  expect(w).toMatchObject({ requests: 10, failures: 2, sumUs: 20_000 })
  expect(w.hist.length).toBeGreaterThan(0)
  expect(rec.takeLive()).toMatchObject({ requests: 0, failures: 0, sumUs: 0 })
  expect(new TaskRecorder().takeLive()).toBeNull()
})

it('progress lines carry the live window to the fleet', () => {
  const line = JSON.stringify({
    elapsedS: 3.01,
    requests: 90,
    failures: 0,
    rps: 30,
    live: { requests: 30, failures: 1, sumUs: 5, hist: 'AAA=' }
  })
  expect(parseProgressLine(line, { region: 'r', taskIndex: 2 })?.live).toEqual([
    { elapsedS: 3.01, requests: 30, failures: 1, sumUs: 5, hist: 'AAA=' }
  ])
  expect(
    parseProgressLine(JSON.stringify({ elapsedS: 1, requests: 1, live: { requests: 'x' } }), {
      region: 'r',
      taskIndex: 0
    })?.live
  ).toBeUndefined()
})

it('stops at the end of the first step that breaks, not before', () => {
  const rule = new StepStopRule(profile.steps, parseSlos(['p(95)<65']))
  const all = windows(12, saturating)
  const sent = new Map<number, number>()
  const decisions = []
  for (let t = 1; t <= 12; t++) decisions.push(rule.feed(report([{ index: 0, upTo: t, all }], sent)))
  expect(decisions.slice(0, 11).every(d => d === null)).toBe(true)
  const d = decisions[11]!
  expect(d.verdict.step.vus).toBe(6)
  expect(d.verdict.p95Ms).toBeCloseTo(100, 0)
  expect(d.reason).toBe(
    'step 3 (6 VUs) broke "p(95)<65" (p(95) = 100 ms); stopping the run at the end of that step'
  )
  expect(rule.verdicts.map(v => [v.step.vus, v.failed.length])).toEqual([
    [2, 0],
    [4, 0],
    [6, 1]
  ])
  // only the hold's windows count: 3 windows of 30 requests per step
  expect(rule.verdicts[0].requests).toBe(90)
  expect(rule.verdicts[0].rps).toBeCloseTo(30, 0)
  // it decides once
  expect(rule.feed(report([{ index: 0, upTo: 12, all }], sent))).toBeNull()
})

it('waits for every task to pass the step’s end, and merges their windows', () => {
  const rule = new StepStopRule(profile.steps, parseSlos(['p(95)<65']))
  const a = windows(12, saturating)
  const b = windows(12, saturating)
  const sent = new Map<number, number>()
  expect(
    rule.feed(
      report(
        [
          { index: 0, upTo: 12, all: a },
          { index: 1, upTo: 11, all: b }
        ],
        sent
      )
    )
  ).toBeNull()
  expect(rule.verdicts.map(v => v.requests)).toEqual([180, 180])
  const d = rule.feed(
    report(
      [
        { index: 0, upTo: 12, all: a },
        { index: 1, upTo: 12, all: b }
      ],
      sent
    )
  )
  expect(d?.verdict.requests).toBe(180)
  expect(d?.verdict.rps).toBeCloseTo(60, 0)
})

it('judges error rates and request rates; too few requests are not judged', () => {
  const errs = new StepStopRule(profile.steps, parseSlos(['http_req_failed: rate<0.05']))
  const sent = new Map<number, number>()
  const d = errs.feed(report([{ index: 0, upTo: 12, all: windows(12, () => 10, 30, 10) }], sent))
  expect(d?.verdict.step.index).toBe(1)
  expect(d?.reason).toMatch(/broke "http_req_failed: rate<0.05" \(rate = 10%\)/)

  const rate = new StepStopRule(profile.steps, parseSlos(['http_reqs: rate>40']))
  expect(rate.feed(report([{ index: 0, upTo: 12, all: windows(12, () => 10) }], new Map()))?.reason).toMatch(
    /broke "http_reqs: rate>40" \(rate = 30(\.\d+)? req\/s\)/
  )

  const few = new StepStopRule(profile.steps, parseSlos(['p(95)<1']))
  expect(few.feed(report([{ index: 0, upTo: 12, all: windows(12, () => 10, 5) }], new Map()))).toBeNull()
  expect(few.verdicts).toEqual([])
})

it('judges only SLOs on the whole run that a live window can answer', () => {
  const slos = parseSlos([
    'p(99)<5',
    'avg<5',
    'rate<0.1',
    'http_reqs: rate>1',
    'http_req_duration{name:x}: p(95)<5',
    'checks: rate>0.9',
    'count>10'
  ])
  expect(slos.map(liveJudgeable)).toEqual([true, true, true, true, false, false, false])
  expect(new StepStopRule(profile.steps, parseSlos(['checks: rate>0.9'])).active).toBe(false)
})
