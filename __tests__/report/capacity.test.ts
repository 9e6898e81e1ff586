/**
 * The capacity report: the sentence, the planning line, the step table, the kind's findings,
 * Mermaid charts against load and over time, and the history, from a real analysis of a synthetic
 * stress run.
 */
import { capacityPlan } from '../../src/gate/capacity/planning.js'
import type { CapacityAnalysis } from '../../src/gate/capacity/profile.js'
import { analyzeSpike } from '../../src/gate/capacity/spike.js'
import { measureSteps } from '../../src/gate/capacity/steps.js'
import { analyzeStress } from '../../src/gate/capacity/stress.js'
import { parseSlos } from '../../src/gate/slo.js'
import { describeProfile, expandProfile } from '../../src/plan/profiles.js'
import { parseProfileSpec } from '../../src/config/profile.js'
import { renderCapacityMarkdown, type CapacityReportInput } from '../../src/report/capacity.js'
import { defaultTaskMeta } from '../../src/results/model.js'
import { ResultView } from '../../src/results/query.js'
import { TaskRecorder } from '../../src/results/recorder.js'
import { capacityRecord } from '../helpers/capacity-record.js'

const T0 = 1_800_000_000_000
const profile = expandProfile(
  parseProfileSpec({ name: 'stress', steps: 4, 'step-duration': 6, 'step-ramp': 1 }),
  4
)

/** A server that serves 4 requests at once, 50 ms each; the run stopped during step 4. */
function view(): ResultView {
  const rec = new TaskRecorder()
  for (let t = 0; t < 19; t++) {
    const step = profile.steps.find(s => t >= s.startS && t < s.endS)!
    const vus = step.vus
    const n = Math.min(vus, 4) * 20
    for (let i = 0; i < n; i++)
      rec.sample({
        label: 'GET /fast',
        endMs: T0 + t * 1000 + (i * 1000) / n,
        latencyUs: 50_000 * Math.max(1, vus / 4)
      })
    rec.activeUsers(T0 + t * 1000 + 500, vus)
  }
  return new ResultView([
    rec.finish(defaultTaskMeta({ engine: 'http', startedMs: T0, endedMs: T0 + 19_000 }))
  ])
}

function input(analysis: CapacityAnalysis, o: Partial<CapacityReportInput> = {}): CapacityReportInput {
  const v = view()
  return {
    scenario: 'checkout',
    outcome: 'PASS',
    reasons: [],
    profile: { name: 'stress', description: describeProfile(profile), params: profile.params },
    analysis,
    plan: capacityPlan(80, 100, 2),
    stopped: 'step 3 (6 VUs) broke "p(95)<65" (p(95) = 100 ms); stopping the run at the end of that step',
    slos: ['p(95)<65'],
    series: v.series({ window: 'all' }).map(p => ({ ...p })),
    history: [
      capacityRecord('old', T0 - 86_400_000, { capacityRps: 75 }),
      capacityRecord('new', T0, { commit: 'abcdef1234' })
    ],
    facts: {
      engine: 'http',
      backend: 'local',
      tasks: 1,
      durationS: 19,
      commit: 'abcdef1234',
      runUrl: 'https://github.com/o/r/actions/runs/1',
      artifactName: 'perf-gate-report-checkout'
    },
    ...o
  }
}

const slos = parseSlos(['p(95)<65'])
const stress = analyzeStress(measureSteps(view(), profile.steps, slos), slos, 4)

it('leads with the capacity sentence, the planning line and the early stop', () => {
  const md = renderCapacityMarkdown(input(stress))
  const lines = md.split('\n')
  expect(lines[0]).toBe('### 📈 perf-gate capacity · checkout (stress)')
  expect(md).toContain(
    '**Sustains 80 req/s at p95 &lt; 65 ms (4 VUs, 1× the expected load); breaks at 80 req/s (6 VUs)'
  )
  expect(md).toContain("**Planning:** Needs 1.3× today's capacity to reach the target of 100 req/s")
  expect(md).toContain('> ⏹️ **Stopped early:** step 3 (6 VUs) broke')
})

it('tabulates every step, marks the broken and the unreached ones, and lists the findings', () => {
  const md = renderCapacityMarkdown(input(stress))
  const rows = md.split('\n').filter(l => l.startsWith('| step'))
  expect(rows).toHaveLength(4)
  expect(rows[1]).toMatch(/^\| step 2 \| 4 \| 4 \| 80\.0 req\/s \| 50\.\d ms \| .* \| 0% \| ✅ held \|$/)
  expect(rows[2]).toMatch(/\| ❌ broke \|$/)
  expect(rows[3]).toMatch(/^\| step 4 \| 8 \| — \| — \| — \| — \| — \| — \| not reached \|$/)
  expect(md).toContain('- **Breaking point:** step 2 (4 VUs, 80.0 req/s, p95 50')
  expect(md).toContain('- **Knee:** step 2 (4 VUs')
  expect(md).toContain('- **Error onset:** none')
  expect(md).toContain('**SLOs judged per step:** `p(95)<65`')
})

it('draws latency and throughput against load and over time, and the history', () => {
  const md = renderCapacityMarkdown(input(stress))
  const charts = md.split('```mermaid').slice(1)
  const titles = charts.map(c => /title "([^"]+)"/.exec(c)?.[1])
  expect(titles).toEqual([
    'p95 latency against load (line: p95 of each step)',
    'Throughput against load (bar: req/s of each step)',
    'p95 latency over time (line: this run, per interval)',
    'Throughput over time (line: this run, per interval)',
    'Active users over time (line: this run, per interval)',
    'Sustained throughput per run (line: each stored run)'
  ])
  expect(charts[0]).toContain('x-axis ["2 VUs", "4 VUs", "6 VUs"]')
  expect(charts[1]).toContain('bar [40, 80, 80]')
  expect(md).toContain('**Capacity history** (2 runs of this scenario)')
  expect(md).toMatch(
    /\| 2027-01-1\d \d\d:\d\d \| `abcdef1` \| stress \| 80\.0 req\/s \| 81\.0 req\/s \| — \|/
  )
  expect(md).toContain(
    '**Run:** http on `local` · 1 task · 19s · commit `abcdef1` · [workflow run](https://github.com/o/r/actions/runs/1)'
  )
  expect(md).toContain('**Profile:** stress profile, expected load 4 VUs: 4 steps up to 8 VUs')
  expect(md).toContain('step-duration 6s')
})

it('an ERROR report says why, and a spike report shows the recovery', () => {
  const err = renderCapacityMarkdown(
    input(stress, { outcome: 'ERROR', reasons: ['task local/0 timeout'], plan: null, stopped: null })
  )
  expect(err.split('\n')[0]).toBe('### ⛔ perf-gate capacity ERROR · checkout (stress)')
  expect(err).toContain('- task local/0 timeout')
  const spikeProfile = expandProfile(
    parseProfileSpec({
      name: 'spike',
      'ramp-up': 1,
      baseline: 4,
      'surge-ramp': 1,
      surge: 4,
      drop: 1,
      recovery: 8
    }),
    4
  )
  const rec = new TaskRecorder()
  for (let t = 0; t < 19; t++)
    for (let i = 0; i < 20; i++)
      rec.sample({ label: 'a', endMs: T0 + t * 1000 + i * 50, latencyUs: t >= 6 && t < 13 ? 90_000 : 20_000 })
  const v = new ResultView([
    rec.finish(defaultTaskMeta({ engine: 'http', startedMs: T0, endedMs: T0 + 19_000 }))
  ])
  const spike = analyzeSpike(v, spikeProfile, parseSlos(['p(95)<50']))
  const series = v.series({ window: 'all' }).map(p => ({ ...p }))
  const md = renderCapacityMarkdown(
    input(spike, {
      series,
      plan: null,
      stopped: null,
      history: [],
      profile: { name: 'spike', description: describeProfile(spikeProfile), params: spikeProfile.params }
    })
  )
  expect(spike.recoveryS).toBe(2)
  expect(md).toContain(`**Recovers ${spike.recoveryS} s after the surge to 20 VUs (every SLO holds).**`)
  expect(md).toContain('- **Recovery:** 2 s after the surge ended (resolution 1 s)')
  expect(md).toContain('x-axis ["baseline (4)", "surge (20)", "recovery (4)"]')
})

it('states the estimated cost and the time to the first request', () => {
  const base = input(stress)
  const md = renderCapacityMarkdown({
    ...base,
    facts: {
      ...base.facts,
      costUsd: 0.0123,
      costDetail:
        '4 Fargate tasks of 1 vCPU / 2 GB on Spot, 1 run of about 3 min billed (2 min start-up included)',
      firstRequest: { fromS: 41.2, toS: 42.2 }
    }
  })
  expect(md).toContain(
    'est. cost $0.01 (4 Fargate tasks of 1 vCPU / 2 GB on Spot, 1 run of about 3 min billed (2 min start-up included))'
  )
  expect(md).toContain('first request 41.2–42.2 s after the step started')
  expect(renderCapacityMarkdown(base)).not.toContain('est. cost')
})
