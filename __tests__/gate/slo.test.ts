import { parseSlo, parseSlos, parseThresholdSpec, SloParseError } from '../../src/gate/slo.js'
import { evaluateScriptThresholds, evaluateSlo, evaluateSlos } from '../../src/gate/slo-evaluate.js'
import type { MetricObservation } from '../../src/gate/rule.js'
import { decideFinal } from '../../src/gate/decision.js'
import { ResultView } from '../../src/results/query.js'
import { TaskRecorder } from '../../src/results/recorder.js'
import { defaultTaskMeta, type TaskResult } from '../../src/results/model.js'
import type { Sample, ThresholdSpec } from '../../src/model/index.js'
import { synthSamples, taskFromSamples } from '../helpers/synthetic.js'

describe('parsing k6 threshold syntax', () => {
  it.each([
    ['p(95)<500', 'http_req_duration', null, { kind: 'p', p: 95 }, '<', 500],
    ['http_req_failed: rate<0.01', 'http_req_failed', null, { kind: 'rate' }, '<', 0.01],
    [
      'http_req_duration{name:login}: p(99)<800',
      'http_req_duration',
      'login',
      { kind: 'p', p: 99 },
      '<',
      800
    ],
    ['avg<200', 'http_req_duration', null, { kind: 'avg' }, '<', 200],
    ['med<=120.5', 'http_req_duration', null, { kind: 'med' }, '<=', 120.5],
    ['min>0', 'http_req_duration', null, { kind: 'min' }, '>', 0],
    ['max < 2000', 'http_req_duration', null, { kind: 'max' }, '<', 2000],
    ['p(99.9)<900', 'http_req_duration', null, { kind: 'p', p: 99.9 }, '<', 900],
    ['count>=100', 'http_reqs', null, { kind: 'count' }, '>=', 100],
    ['rate<0.05', 'http_req_failed', null, { kind: 'rate' }, '<', 0.05],
    ['http_reqs: rate>100', 'http_reqs', null, { kind: 'rate' }, '>', 100],
    ['checks: rate>0.9', 'checks', null, { kind: 'rate' }, '>', 0.9],
    ['http_req_duration: count==3', 'http_req_duration', null, { kind: 'count' }, '==', 3],
    ['http_req_failed{name:GET /a}: rate!=1', 'http_req_failed', 'GET /a', { kind: 'rate' }, '!=', 1],
    [
      '  http_req_duration { name : "login" } :  p( 95 ) === 1e3 ',
      'http_req_duration',
      'login',
      { kind: 'p', p: 95 },
      '==',
      1000
    ],
    [
      'http_req_duration{name:http://127.0.0.1:18080/fast}: p(95)<1000',
      'http_req_duration',
      'http://127.0.0.1:18080/fast',
      { kind: 'p', p: 95 },
      '<',
      1000
    ]
  ])('%s', (text, metric, label, aggregation, op, value) => {
    const s = parseSlo(text, 'thresholds[0]')
    expect(s).toMatchObject({
      metric,
      label,
      aggregation,
      op,
      value,
      text,
      where: 'thresholds[0]',
      source: 'config'
    })
  })

  it('selects one check with checks{check:...}', () => {
    expect(parseSlo('checks{check:status is 200}: rate==1')).toMatchObject({
      metric: 'checks',
      check: 'status is 200',
      label: null
    })
  })

  it('parses {metric, expr} pairs as carried in task metadata', () => {
    expect(
      parseThresholdSpec({ metric: 'http_req_duration{name:slow}', expr: 'p(90)<300' }, 'k6 script', 'script')
    ).toMatchObject({
      metric: 'http_req_duration',
      label: 'slow',
      source: 'script',
      text: 'http_req_duration{name:slow}: p(90)<300'
    })
  })

  const bad: [string, string][] = [
    ['p(95)<<5', `expected an operator (<, <=, >, >=, ==, !=) after 'p(95)', got '<<'`],
    ['p(95)=>5', `expected an operator (<, <=, >, >=, ==, !=) after 'p(95)', got '=>'`],
    ['p(95)500', `expected an operator (<, <=, >, >=, ==, !=) after 'p(95)', got '500'`],
    ['p95<500', `unknown aggregation 'p95' (expected avg, min, max, med, p(N), count or rate)`],
    ['p(95)<', `expected a number after '<'`],
    ['p(95)<fast', `expected a number after '<', got 'fast'`],
    ['p(95)<500ms', `unexpected 'ms' after 500 (limits are plain numbers; latency is in milliseconds)`],
    ['p(101)<5', 'percentile must be between 0 and 100, got p(101)'],
    ['p(x)<5', `expected a number inside p(...), got 'p(x)'`],
    ['p(95<5', `missing ')' in the percentile p(95<5`],
    [
      'foo: rate<1',
      "unknown metric 'foo' (supported: http_req_duration, http_req_failed, http_reqs, checks)"
    ],
    ['http_req_failed: p(95)<1', `aggregation 'p(95)' does not apply to http_req_failed (use rate)`],
    [
      'http_req_duration: rate<1',
      `aggregation 'rate' does not apply to http_req_duration (use avg, min, max, med, p(N) or count)`
    ],
    ['checks: count>1', `aggregation 'count' does not apply to checks (use rate)`],
    [
      'http_req_duration{method:GET}: p(95)<1',
      `unsupported tag 'method' on http_req_duration (only {name:...} is supported)`
    ],
    ['http_req_duration{name}: p(95)<1', `tag filter 'name' must be key:value`],
    ['http_req_duration{name:x p(95)<5', `missing '}' after the tag filter of 'http_req_duration'`],
    ['http_req_duration{name:x} p(95)<5', `expected ':' after 'http_req_duration{name:x}'`],
    ['http_req_duration p(95)<5', `expected ':' after the metric 'http_req_duration'`],
    ['<500', `expected an aggregation (avg, min, max, med, p(N), count or rate) at '<500'`],
    ['   ', 'empty threshold; expected something like "p(95)<500"']
  ]
  it.each(bad)('rejects %j with a clear message', (text, detail) => {
    expect(() => parseSlo(text, 'thresholds[3]')).toThrow(new SloParseError('thresholds[3]', text, detail))
    try {
      parseSlo(text, 'thresholds[3]')
    } catch (e) {
      expect((e as Error).message).toBe(`thresholds[3] "${text}": ${detail}`)
    }
  })

  it('names the position of the offending threshold in a list', () => {
    expect(() => parseSlos(['p(95)<500', 'http_req_failed: rate<0.01', 'p(95)<<5'])).toThrow(
      `thresholds[2] "p(95)<<5": expected an operator (<, <=, >, >=, ==, !=) after 'p(95)', got '<<'`
    )
    expect(parseSlos(['p(95)<500', 'rate<0.01']).map(s => s.where)).toEqual([
      'thresholds[0]',
      'thresholds[1]'
    ])
  })
})

// ---------------------------------------------------------------------------------------------
// Evaluation on real results.

const START = 1_800_000_000_000

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]
}

function task(
  samples: Sample[],
  opts: { checks?: [string, boolean][]; thresholds?: ThresholdSpec[]; index?: number } = {}
): TaskResult {
  const rec = new TaskRecorder()
  for (const s of samples) rec.sample(s)
  for (const [name, ok] of opts.checks ?? []) rec.check(name, ok)
  return rec.finish(
    defaultTaskMeta({
      engine: 'k6',
      taskIndex: opts.index ?? 0,
      taskCount: 2,
      thresholds: opts.thresholds ?? []
    })
  )
}

describe('evaluating SLOs on a ResultView', () => {
  const samples = synthSamples({
    seed: 7,
    samples: 6000,
    startMs: START,
    durationMs: 20_000,
    failureRate: 0.03
  })
  const view = new ResultView([taskFromSamples(samples)])
  const latMs = samples.map(s => s.latencyUs / 1000).sort((a, b) => a - b)
  const failures = samples.filter(s => s.failure).length

  it('judges overall latency percentiles against the raw samples', () => {
    const p95 = quantile(latMs, 0.95)
    const held = evaluateSlo(view, parseSlo(`p(95)<${Math.ceil(p95 * 1.05)}`))
    expect(held.status).toBe('pass')
    expect(held.unit).toBe('ms')
    // HDR buckets with 3 significant digits: within 0.2% of the exact sample percentile.
    expect(Math.abs(held.observed! / p95 - 1)).toBeLessThan(0.002)
    const failed = evaluateSlo(view, parseSlo(`p(95)<${Math.floor(p95 * 0.95)}`))
    expect(failed.status).toBe('fail')
    expect(failed.reason).toMatch(/^SLO "p\(95\)<\d+" failed: p\(95\) = [\d.]+ ms, limit < \d+$/)

    const p999 = evaluateSlo(view, parseSlo('p(99.9)<1e9'))
    expect(Math.abs(p999.observed! / quantile(latMs, 0.999) - 1)).toBeLessThan(0.002)
    const med = evaluateSlo(view, parseSlo('med<1e9'))
    expect(Math.abs(med.observed! / quantile(latMs, 0.5) - 1)).toBeLessThan(0.002)
    const avg = evaluateSlo(view, parseSlo('avg<1e9'))
    expect(avg.observed!).toBeCloseTo(latMs.reduce((a, b) => a + b, 0) / latMs.length, 6)
    expect(evaluateSlo(view, parseSlo('max<1e9')).observed).toBeCloseTo(latMs[latMs.length - 1], 6)
    expect(evaluateSlo(view, parseSlo('min<1e9')).observed).toBeCloseTo(latMs[0], 6)
  })

  it('judges error rate, request count and rate exactly', () => {
    const rate = failures / samples.length
    expect(failures).toBeGreaterThan(100)
    const [err, errFail, count, rps] = evaluateSlos(
      view,
      parseSlos(['http_req_failed: rate<0.1', 'rate<0.01', 'count==6000', 'http_reqs: rate>100'])
    )
    expect(err.observed).toBe(rate)
    expect(err.status).toBe('pass')
    expect(errFail.status).toBe('fail')
    expect(errFail.reason).toContain(`rate = ${Number(rate.toPrecision(4))}`)
    expect(count).toMatchObject({ status: 'pass', observed: 6000 })
    const stats = view.stats({ window: 'all' })
    expect(rps.observed).toBeCloseTo(6000 / stats.durationS, 9)
    expect(stats.durationS).toBeGreaterThanOrEqual(20)
    expect(stats.durationS).toBeLessThanOrEqual(21)
    expect(rps.status).toBe('pass')
    expect(rps.unit).toBe('req/s')
  })

  it('judges one label', () => {
    const a = samples
      .filter(s => s.label === 'GET /a')
      .map(s => s.latencyUs / 1000)
      .sort((x, y) => x - y)
    const r = evaluateSlo(view, parseSlo('http_req_duration{name:GET /a}: p(99)<1e9'))
    expect(r.label).toBe('GET /a')
    expect(Math.abs(r.observed! / quantile(a, 0.99) - 1)).toBeLessThan(0.002)
    const count = evaluateSlo(view, parseSlo('http_reqs{name:GET /a}: count>0'))
    expect(count.observed).toBe(a.length)
  })

  it('a label that does not exist is an invalid SLO that fails the gate', () => {
    const r = evaluateSlo(view, parseSlo('http_req_duration{name:login}: p(99)<800'))
    expect(r.status).toBe('invalid')
    expect(r.observed).toBeNull()
    expect(r.reason).toBe(
      `SLO "http_req_duration{name:login}: p(99)<800" cannot be evaluated: label 'login' does not exist in the results ` +
        `(labels: 'GET /a', 'GET /b', 'POST /c')`
    )
    const family: MetricObservation[] = [{ name: 'p95', higherIsWorse: true, values: [100], baseline: [] }]
    const v = decideFinal(family, {}, [r])
    expect(v.outcome).toBe('FAIL')
    expect(v.reasons[0]).toBe(r.reason)
  })

  it('judges over a chosen window', () => {
    const win = { startMs: START, endMs: START + 10_000 }
    const r = evaluateSlo(view, parseSlo('count>0'), { window: win })
    const inside = samples.filter(s => s.endMs < START + 10_000).length
    expect(r.observed).toBe(inside)
  })

  it('judges checks, overall and one by one', () => {
    const t = task(synthSamples({ seed: 3, samples: 500, startMs: START }), {
      checks: [
        ...Array.from({ length: 9 }, (): [string, boolean] => ['status is 200', true]),
        ['status is 200', false],
        ['body ok', true],
        ['body ok', false]
      ]
    })
    const v = new ResultView([t])
    const [all, gt, ge, one, missing] = evaluateSlos(
      v,
      parseSlos([
        'checks: rate>0.8',
        'checks{check:status is 200}: rate>0.9',
        'checks{check:status is 200}: rate>=0.9',
        'checks{check:body ok}: rate==0.5',
        'checks{check:nope}: rate>0.1'
      ])
    )
    expect(all.observed).toBeCloseTo(10 / 12, 12)
    expect(all.status).toBe('pass')
    expect(gt.status).toBe('fail')
    expect(ge.status).toBe('pass')
    expect(one.status).toBe('pass')
    expect(missing.status).toBe('invalid')
    expect(missing.reason).toContain(
      "check 'nope' does not exist in the results (checks: 'body ok', 'status is 200')"
    )
    const none = evaluateSlo(view, parseSlo('checks: rate>0.9'))
    expect(none.status).toBe('invalid')
    expect(none.reason).toContain('the run recorded no checks')
  })
})

describe("re-judging a k6 script's thresholds on the merged fleet data", () => {
  const thresholds: ThresholdSpec[] = [
    { metric: 'http_req_failed', expr: 'rate<0.05' },
    { metric: 'http_req_duration', expr: 'p(95)<100000' },
    { metric: 'http_req_duration{name:GET /b}', expr: 'max<0.001' },
    { metric: 'iteration_duration', expr: 'p(95)<1000' },
    { metric: 'http_req_duration{expected_response:true}', expr: 'p(95)<1000' }
  ]
  const clean = synthSamples({ seed: 11, samples: 2000, startMs: START, failureRate: 0 })
  const flaky = synthSamples({ seed: 12, samples: 2000, startMs: START, failureRate: 0.12 })
  const a = task(clean, { thresholds, index: 0 })
  const b = task(flaky, { thresholds, index: 1 })

  it('a threshold each instance would pass on its own slice can fail on the merged data', () => {
    const alone = evaluateScriptThresholds(new ResultView([a]))
    expect(alone[0]).toMatchObject({ source: 'script', status: 'pass', observed: 0 })
    const merged = evaluateScriptThresholds(new ResultView([a, b]))
    // each distinct threshold once, although both tasks carry them
    expect(merged.map(r => r.text)).toEqual([
      'http_req_failed: rate<0.05',
      'http_req_duration: p(95)<100000',
      'http_req_duration{name:GET /b}: max<0.001',
      'iteration_duration: p(95)<1000',
      'http_req_duration{expected_response:true}: p(95)<1000'
    ])
    const failed = flaky.filter(s => s.failure).length
    expect(merged[0].observed).toBe(failed / 4000)
    expect(merged[0].observed!).toBeGreaterThan(0.05)
    expect(merged[0].status).toBe('fail')
    expect(merged[0].reason).toMatch(/^k6 threshold "http_req_failed: rate<0.05" failed: rate = /)
    expect(merged[1].status).toBe('pass')
    expect(merged[2].status).toBe('fail')
    expect(merged[2].label).toBe('GET /b')
  })

  it('thresholds on metrics perf-gate does not record are reported as unsupported and do not fail', () => {
    const results = evaluateScriptThresholds(new ResultView([a]))
    expect(results[3]).toMatchObject({ status: 'unsupported', metric: 'iteration_duration' })
    expect(results[3].reason).toBe(
      `k6 threshold "iteration_duration: p(95)<1000" is not re-judged on the merged data: unknown metric 'iteration_duration' ` +
        '(supported: http_req_duration, http_req_failed, http_reqs, checks)'
    )
    expect(results[4].status).toBe('unsupported')
    expect(results[4].reason).toContain("unsupported tag 'expected_response'")
    const onlySupportedPass = results.filter(r => r.status !== 'fail')
    const family: MetricObservation[] = [{ name: 'p95', higherIsWorse: true, values: [100], baseline: [] }]
    const v = decideFinal(family, {}, onlySupportedPass)
    expect(v.outcome).toBe('PASS')
    expect(v.notes).toContain(results[3].reason)
  })
})
