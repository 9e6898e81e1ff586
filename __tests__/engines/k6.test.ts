import fc from 'fast-check'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { k6Args, k6Engine, k6SampleChannel } from '../../src/engines/k6.js'
import {
  createCsvParser,
  createK6JsonParser,
  k6FailureKind,
  k6ThresholdsFromSummary,
  parseK6CsvTime,
  parseRfc3339Ms
} from '../../src/engines/k6-output.js'
import type { EngineRunContext, StreamParser } from '../../src/engines/types.js'
import { defaultTaskMeta } from '../../src/results/model.js'
import type { Sample, SampleSink, ThresholdSpec } from '../../src/model/index.js'
import { ResultView } from '../../src/results/query.js'
import { TaskRecorder } from '../../src/results/recorder.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const fixtures = resolve(root, 'fixtures', 'k6', 'v0.48.0-default')
const ndjson = readFileSync(join(fixtures, 'results.json'))
const csv = readFileSync(join(fixtures, 'results.csv'))
const summary = JSON.parse(readFileSync(join(fixtures, 'summary-export.json'), 'utf8'))

interface Collected {
  samples: Sample[]
  checks: [string, boolean][]
  users: [number, number][]
  thresholds: ThresholdSpec[]
}

function collector(): { sink: SampleSink; got: Collected } {
  const got: Collected = { samples: [], checks: [], users: [], thresholds: [] }
  const sink: SampleSink = {
    sample: s => got.samples.push(s),
    check: (n, p) => got.checks.push([n, p]),
    activeUsers: (t, n) => got.users.push([t, n]),
    threshold: t => got.thresholds.push(t)
  }
  return { sink, got }
}

function feed(parser: StreamParser, chunks: (Buffer | string)[]): void {
  for (const c of chunks) parser.push(c)
  parser.end()
}

/** The raw points of the fixture, read independently of the adapter. */
interface RawPoint {
  metric: string
  time: string
  value: number
  tags: Record<string, string>
}
const rawLines = ndjson
  .toString('utf8')
  .split('\n')
  .filter(l => l.trim())
  .map(l => JSON.parse(l))
const rawPoints: RawPoint[] = rawLines
  .filter(o => o.type === 'Point')
  .map(o => ({ metric: o.metric, time: o.data.time, value: o.data.value, tags: o.data.tags }))
const durations = rawPoints.filter(p => p.metric === 'http_req_duration')

function ctx(
  load: Partial<EngineRunContext['load']>,
  extra: Partial<EngineRunContext> = {}
): EngineRunContext {
  return {
    script: '/scripts/test.js',
    load: { vus: 4, durationS: 30, rampUpS: 0, targetUrl: 'http://127.0.0.1:1', ...load },
    workDir: '/tmp/none',
    tags: {},
    env: {},
    ...extra
  }
}

const PREFIX = [
  'run',
  '--address',
  '',
  '--no-color',
  '--quiet',
  '--out',
  'json=/dev/fd/3',
  '--summary-export',
  '/tmp/none/k6-summary.json'
]

describe('k6 command', () => {
  it('plain vus/duration', async () => {
    const c = await k6Engine.command(ctx({}), {})
    expect(c.command).toBe('k6')
    expect(c.args).toEqual([...PREFIX, '--vus', '4', '--duration', '30s', '/scripts/test.js'])
    expect(c.samples).toEqual({ kind: 'fd3' })
    expect(c.env.K6_NO_USAGE_REPORT).toBe('true')
  })

  it('ramp-up without stages becomes a ramp stage plus a hold stage', async () => {
    const c = await k6Engine.command(ctx({ vus: 10, rampUpS: 5, durationS: 20 }), {})
    expect(c.args).toEqual([...PREFIX, '--stage', '5s:10', '--stage', '20s:10', '/scripts/test.js'])
  })

  it('explicit stages override vus, duration and ramp-up', async () => {
    const stages = [
      { durationS: 10, target: 5 },
      { durationS: 1.5, target: 20 },
      { durationS: 30, target: 0 }
    ]
    const c = await k6Engine.command(ctx({ vus: 99, rampUpS: 7, durationS: 99, stages }), {})
    expect(c.args).toEqual([
      ...PREFIX,
      '--stage',
      '10s:5',
      '--stage',
      '1.5s:20',
      '--stage',
      '30s:0',
      '/scripts/test.js'
    ])
    expect(c.args).not.toContain('--vus')
  })

  it('execution segments and tags, user env passed through, binary override', async () => {
    const c = await k6Engine.command(
      ctx(
        { segment: { segment: '1/3:2/3', sequence: '0,1/3,2/3,1' } },
        {
          tags: { region: 'eu-west-1', perfgate_task: 'task-1' },
          env: { BASE_URL: 'http://127.0.0.1:9', K6_NO_USAGE_REPORT: 'false' }
        }
      ),
      { PERF_GATE_K6_BIN: '/opt/k6/k6' }
    )
    expect(c.command).toBe('/opt/k6/k6')
    expect(c.args).toEqual([
      ...PREFIX,
      '--vus',
      '4',
      '--duration',
      '30s',
      '--execution-segment',
      '1/3:2/3',
      '--execution-segment-sequence',
      '0,1/3,2/3,1',
      '--tag',
      'perfgate_task=task-1',
      '--tag',
      'region=eu-west-1',
      '/scripts/test.js'
    ])
    expect(c.env).toEqual({ BASE_URL: 'http://127.0.0.1:9', K6_NO_USAGE_REPORT: 'true' })
  })

  it("the script's own load: no load flags, only the execution segment", async () => {
    const c = await k6Engine.command(
      ctx({ scriptLoad: true, segment: { segment: '0:1/2', sequence: '0,1/2,1' } }),
      {}
    )
    expect(c.args).toEqual([
      ...PREFIX,
      '--execution-segment',
      '0:1/2',
      '--execution-segment-sequence',
      '0,1/2,1',
      '/scripts/test.js'
    ])
  })

  it('on Windows the samples go to a followed file in the task directory', () => {
    const c = ctx({}, { workDir: '/tmp/task' })
    const channel = k6SampleChannel(c, 'win32')
    expect(channel).toEqual({
      out: join('/tmp/task', 'k6-samples.json'),
      samples: { kind: 'file', path: join('/tmp/task', 'k6-samples.json') }
    })
    expect(k6Args(c, 'win32')).toContain(`json=${channel.out}`)
    expect(k6SampleChannel(c, 'linux')).toEqual({ out: '/dev/fd/3', samples: { kind: 'fd3' } })
  })

  it('a missing script is a clear error', async () => {
    await expect(k6Engine.command(ctx({}, { script: undefined }), {})).rejects.toThrow(/k6: field "script"/)
  })

  it('exit codes 0 and 99 are completions, others are not', () => {
    expect(k6Engine.completed(0)).toBe(true)
    expect(k6Engine.completed(99)).toBe(true)
    for (const code of [1, 97, 98, 100, 104, 105, 107, 108, 255]) expect(k6Engine.completed(code)).toBe(false)
  })
})

describe('k6 version', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'perf-gate-k6-'))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('parses `k6 version` output from the overriding binary', async () => {
    const bin = join(dir, 'k6')
    writeFileSync(bin, '#!/bin/sh\n[ "$1" = version ] && echo "k6 v0.48.0 (go1.19.8, linux/amd64)"\n')
    chmodSync(bin, 0o755)
    expect(k6Engine.binary({ PERF_GATE_K6_BIN: bin })).toBe(bin)
    await expect(k6Engine.version({ PERF_GATE_K6_BIN: bin })).resolves.toBe('0.48.0')
  })

  it('returns empty when k6 is missing', async () => {
    await expect(k6Engine.version({ PERF_GATE_K6_BIN: join(dir, 'nope') })).resolves.toBe('')
  })
})

describe('k6 timestamps and failure kinds', () => {
  it('parses RFC 3339 with nanoseconds and offsets, keeping sub-ms precision', () => {
    const base = Date.parse('2026-11-25T05:50:05.514Z')
    expect(parseRfc3339Ms('2026-11-25T05:50:05.514761328Z')).toBeCloseTo(base + 0.761328, 4)
    expect(parseRfc3339Ms('2026-11-25T06:50:05.514761328+01:00')).toBeCloseTo(base + 0.761328, 4)
    expect(parseRfc3339Ms('2026-11-25T05:50:05Z')).toBe(Date.parse('2026-11-25T05:50:05Z'))
    expect(parseRfc3339Ms('yesterday')).toBeNaN()
  })

  it('parses k6 CSV timestamps in every timeFormat', () => {
    const ms = Date.parse('2026-11-25T05:50:05.514Z')
    expect(parseK6CsvTime('1795585805')).toBe(1795585805000)
    expect(parseK6CsvTime(String(ms))).toBe(ms)
    expect(parseK6CsvTime(`${ms}761`)).toBeCloseTo(ms + 0.761, 6)
    expect(parseK6CsvTime(`${ms}761328`)).toBeCloseTo(ms + 0.761328, 4)
    expect(parseK6CsvTime('2026-11-25T05:50:05.514761328Z')).toBeCloseTo(ms + 0.761328, 4)
    expect(parseK6CsvTime('')).toBeNaN()
  })

  it.each([
    [
      { status: '0', error_code: '1212', error: 'dial: connection refused', expected_response: 'false' },
      'connection'
    ],
    [{ status: '0', error_code: '1050', error: 'request timeout', expected_response: 'false' }, 'timeout'],
    [{ status: '0', error_code: '1211', error: 'dial: i/o timeout' }, 'timeout'],
    [{ status: '0', error_code: '1101', error: 'lookup: no such host' }, 'connection'],
    [{ status: '0' }, 'connection'],
    [{ status: '503', error_code: '1503', expected_response: 'false' }, 'http_5xx'],
    [{ status: '404', error_code: '1404', expected_response: 'false' }, 'http_4xx'],
    [{ status: '404', error_code: '1404', expected_response: 'true' }, undefined],
    [{ status: '200', expected_response: 'false' }, 'http_other'],
    [{ status: '200', expected_response: 'true' }, undefined],
    [{ status: '500' }, 'http_5xx'],
    [{ status: '302' }, undefined]
  ])('%j → %s', (tags, kind) => {
    expect(k6FailureKind(tags as Record<string, string>)).toBe(kind)
  })
})

describe('k6 NDJSON parser on the v0.48.0 fixture', () => {
  const { sink, got } = collector()
  const parser = createK6JsonParser(sink)
  feed(parser, [ndjson])
  const recorder = new TaskRecorder()
  feed(createK6JsonParser(recorder), [ndjson])
  const task = recorder.finish(defaultTaskMeta({ engine: 'k6' }))
  const view = new ResultView([task])
  const all = view.stats({ window: 'all' })
  const m = summary.metrics

  it('reads every line of the fixture', () => {
    expect(parser.skipped).toBe(0)
    expect(parser.recognized).toBe(rawLines.length)
    expect(parser.problem()).toBeUndefined()
  })

  it('one sample per HTTP request; failures match http_req_failed', () => {
    expect(got.samples).toHaveLength(m.http_reqs.count)
    expect(parser.samples).toBe(m.http_reqs.count)
    expect(all.requests).toBe(m.http_reqs.count)
    expect(all.failures).toBe(m.http_req_failed.passes)
    expect(got.samples.every(s => s.bytesIn === undefined && s.bytesOut === undefined)).toBe(true)
  })

  it('classifies failures by kind as the raw points say', () => {
    const failed = durations.filter(p => p.tags.expected_response === 'false')
    const refused = failed.filter(p => p.tags.status === '0' && p.tags.error_code === '1212').length
    const fiveXX = failed.filter(p => p.tags.status.startsWith('5')).length
    expect(refused + fiveXX).toBe(failed.length)
    expect(refused).toBeGreaterThan(0)
    expect(all.failuresByKind.connection).toBe(refused)
    expect(all.failuresByKind.http_5xx).toBe(fiveXX)
    const expected404 = durations.filter(
      p => p.tags.status === '404' && p.tags.expected_response === 'true'
    ).length
    expect(expected404).toBeGreaterThan(0)
    expect(all.failuresByKind.http_4xx).toBe(0)
  })

  it('latency: p95 within HDR precision of the nearest-rank value; k6 p(95) between the order statistics', () => {
    const sorted = durations.map(p => p.value).sort((a, b) => a - b)
    const n = sorted.length
    const nearest = sorted[Math.max(1, Math.ceil(0.95 * n)) - 1]
    expect(Math.abs(all.p95Ms - nearest)).toBeLessThanOrEqual(nearest * 1e-3 + 0.001)
    const pos = 0.95 * (n - 1)
    const k6p95 = m.http_req_duration['p(95)']
    expect(k6p95).toBeGreaterThanOrEqual(sorted[Math.floor(pos)])
    expect(k6p95).toBeLessThanOrEqual(sorted[Math.ceil(pos)])
  })

  it('latency: avg, min and max match the k6 summary', () => {
    const d = m.http_req_duration
    expect(Math.abs(all.meanMs - d.avg)).toBeLessThan(0.001)
    expect(Math.abs(all.minMs - d.min)).toBeLessThanOrEqual(0.001)
    expect(Math.abs(all.maxMs - d.max)).toBeLessThanOrEqual(0.001)
    const exactSum = got.samples.reduce((a, s) => a + s.latencyUs, 0)
    expect(exactSum / 1000 / got.samples.length).toBeCloseTo(d.avg, 9)
  })

  it('per-label counts and the slow submetric', () => {
    const slow = durations.filter(p => p.tags.name === 'slow')
    const byName = new Map<string, number>()
    for (const p of durations) byName.set(p.tags.name, (byName.get(p.tags.name) ?? 0) + 1)
    expect(view.labels()).toEqual([...byName.keys()].sort())
    for (const [name, count] of byName)
      expect(view.stats({ window: 'all', label: name }).requests).toBe(count)
    const s = view.stats({ window: 'all', label: 'slow' })
    expect(s.requests).toBe(slow.length)
    expect(Math.abs(s.meanMs - m['http_req_duration{name:slow}'].avg)).toBeLessThan(0.001)
    expect(Math.abs(s.maxMs - m['http_req_duration{name:slow}'].max)).toBeLessThanOrEqual(0.001)
  })

  it('keeps the completion time with sub-ms precision', () => {
    const first = durations[0]
    expect(got.samples[0].endMs).toBeCloseTo(
      Date.parse(first.time.slice(0, 23) + 'Z') + Number(`0.${first.time.slice(23, -1)}`),
      4
    )
    expect(got.samples.some(s => s.endMs % 1 !== 0)).toBe(true)
  })

  it('carries the thresholds of the Metric lines; the summary adds the submetric one', () => {
    const exported: ThresholdSpec[] = k6ThresholdsFromSummary(summary)
    expect(exported).toHaveLength(5)
    expect(exported).toContainEqual({ metric: 'http_req_duration{name:slow}', expr: 'p(90)<300' })
    // The NDJSON stream has Metric lines for real metrics only; submetric thresholds never appear in it.
    const inStream = exported.filter(t => !t.metric.includes('{'))
    expect(ndjson.toString('utf8')).not.toContain('p(90)<300')
    expect(got.thresholds).toHaveLength(inStream.length)
    expect(got.thresholds).toEqual(expect.arrayContaining(inStream))
    expect(task.task.thresholds).toEqual(expect.arrayContaining(inStream))
    const r2 = new TaskRecorder()
    feed(createK6JsonParser(r2), [ndjson])
    for (const t of exported) r2.threshold(t)
    expect(r2.finish(defaultTaskMeta({ engine: 'k6' })).task.thresholds).toHaveLength(5)
  })

  it('handleSummary data gives the same thresholds as the summary export', () => {
    const hs = JSON.parse(
      readFileSync(resolve(fixtures, '..', 'v0.48.0-handlesummary', 'handle_summary_data.json'), 'utf8')
    )
    const a = k6ThresholdsFromSummary(hs).map(t => `${t.metric} ${t.expr}`)
    const b = k6ThresholdsFromSummary(summary).map(t => `${t.metric} ${t.expr}`)
    expect(a.sort()).toEqual(b.sort())
    expect(k6ThresholdsFromSummary({ nothing: 1 })).toEqual([])
  })

  it('checks match root_group in the summary export', () => {
    const expected: Record<string, { passes: number; fails: number }> = {}
    const walk = (g: {
      checks?: Record<string, { name: string; passes: number; fails: number }>
      groups?: object
    }) => {
      for (const c of Object.values(g.checks ?? {})) expected[c.name] = { passes: c.passes, fails: c.fails }
      for (const sub of Object.values(g.groups ?? {})) walk(sub)
    }
    walk(summary.root_group)
    expect(Object.keys(expected).length).toBeGreaterThan(0)
    expect(task.checks).toEqual(expected)
    expect(got.checks.length).toBe(m.checks.passes + m.checks.fails)
  })

  it('active users from vus points', () => {
    expect(got.users.length).toBe(rawPoints.filter(p => p.metric === 'vus').length)
    expect(Math.max(...got.users.map(u => u[1]))).toBe(m.vus.max)
    expect(task.users).not.toBeNull()
  })

  it('gives identical results for any chunking of the file (property)', () => {
    const whole = JSON.stringify(got)
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: ndjson.length }), { maxLength: 40 }), cuts => {
        const pts = [...new Set(cuts)].sort((a, b) => a - b)
        const chunks: Buffer[] = []
        let prev = 0
        for (const p of pts) {
          chunks.push(ndjson.subarray(prev, p))
          prev = p
        }
        chunks.push(ndjson.subarray(prev))
        const c = collector()
        const p = createK6JsonParser(c.sink)
        feed(p, chunks)
        expect(p.skipped).toBe(0)
        expect(JSON.stringify(c.got)).toBe(whole)
      }),
      { numRuns: 40 }
    )
  })
})

describe('k6 NDJSON parser robustness', () => {
  it('reads unused Points without parsing them, but never a truncated one', () => {
    const used = ['http_req_duration', 'checks', 'vus']
    const lines = ndjson.toString('utf8').split('\n').filter(Boolean)
    const unused = lines.filter(
      l => /^\{"metric":"[a-z_]+","type":"Point"/.test(l) && !used.some(m => l.startsWith(`{"metric":"${m}"`))
    )
    expect(unused.length).toBeGreaterThan(300)
    const p = createK6JsonParser(collector().sink)
    feed(p, [unused.join('\n')])
    expect(p.recognized).toBe(unused.length)
    expect(p.skipped).toBe(0)
    const truncated = createK6JsonParser(collector().sink)
    feed(truncated, ['{"metric":"http_reqs","type":"Point","data":{"time":"2026-11-25T05:50:05Z","val'])
    expect(truncated.skipped).toBe(1)
    expect(truncated.recognized).toBe(0)
  })

  it('counts malformed lines and goes on', () => {
    const lines = ndjson.toString('utf8').split('\n')
    const bad = [
      '{"metric":"http_req_duration","type":"Point"',
      'not json',
      '[1,2]',
      '{"type":"Other","data":{}}'
    ]
    const mixed = [...lines.slice(0, 100), ...bad, ...lines.slice(100)].join('\n')
    const c = collector()
    const p = createK6JsonParser(c.sink)
    feed(p, [mixed])
    expect(p.skipped).toBe(bad.length)
    expect(c.got.samples).toHaveLength(durations.length)
  })

  it('does not rely on key order', () => {
    const line = rawLines.find(o => o.metric === 'http_req_duration' && o.type === 'Point')
    const reversed = (o: Record<string, unknown>): Record<string, unknown> =>
      Object.fromEntries(
        Object.entries(o)
          .reverse()
          .map(([k, v]) => [
            k,
            v && typeof v === 'object' && !Array.isArray(v) ? reversed(v as Record<string, unknown>) : v
          ])
      )
    const a = collector()
    feed(createK6JsonParser(a.sink), [JSON.stringify(line)])
    const b = collector()
    const text = JSON.stringify(reversed(line))
    expect(text.startsWith('{"data"')).toBe(true)
    feed(createK6JsonParser(b.sink), [text])
    expect(b.got.samples).toHaveLength(1)
    expect(b.got.samples).toEqual(a.got.samples)
  })

  it('threshold objects with abortOnFail are carried', () => {
    const c = collector()
    const metric = {
      type: 'Metric',
      metric: 'http_req_duration',
      data: {
        name: 'http_req_duration',
        type: 'trend',
        contains: 'time',
        thresholds: [
          { threshold: 'p(99)<50', abortOnFail: true, delayAbortEval: '10s' },
          'avg<10',
          { nope: 1 }
        ],
        submetrics: null
      }
    }
    const p = createK6JsonParser(c.sink)
    feed(p, [JSON.stringify(metric) + '\n'])
    expect(c.got.thresholds).toEqual([
      { metric: 'http_req_duration', expr: 'p(99)<50', abortOnFail: true },
      { metric: 'http_req_duration', expr: 'avg<10' }
    ])
  })

  it('a file that is not k6 output is detectable', () => {
    const jtl = readFileSync(resolve(fixtures, '..', '..', 'jmeter', '2.13-full', 'results.jtl'))
    const c = collector()
    const p = createK6JsonParser(c.sink)
    feed(p, [jtl])
    expect(p.skipped).toBeGreaterThan(0)
    expect(p.recognized).toBe(0)
    expect(c.got.samples).toHaveLength(0)
    expect(p.problem()).toMatch(/no k6 --out json output found \(\d+ unreadable lines\)/)
    const empty = createK6JsonParser(collector().sink)
    empty.end()
    expect(empty.problem()).toMatch(/empty/)
  })
})

describe('k6 CSV parser', () => {
  it('gives the same requests, failures, labels and checks as the NDJSON', () => {
    const a = collector()
    feed(createK6JsonParser(a.sink), [ndjson])
    const b = collector()
    const p = createCsvParser(b.sink)
    feed(p, [csv])
    expect(p.skipped).toBe(0)
    expect(p.problem()).toBeUndefined()
    expect(b.got.samples).toHaveLength(summary.metrics.http_reqs.count)
    expect(b.got.samples.filter(s => s.failure).length).toBe(summary.metrics.http_req_failed.passes)
    // CSV times are whole seconds (timeFormat=unix): compare per (label, second, failure, latency).
    const key = (s: Sample) =>
      `${s.label}|${Math.floor(s.endMs / 1000)}|${s.failure ?? ''}|${Math.round(s.latencyUs * 1000)}`
    expect(b.got.samples.map(key).sort()).toEqual(a.got.samples.map(key).sort())
    expect(b.got.checks.slice().sort()).toEqual(a.got.checks.slice().sort())
    expect(b.got.thresholds).toEqual([])
  })

  it('identical results for any chunking (property)', () => {
    const whole = collector()
    feed(createCsvParser(whole.sink), [csv])
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: csv.length }), { maxLength: 30 }), cuts => {
        const pts = [...new Set(cuts)].sort((x, y) => x - y)
        const chunks: Buffer[] = []
        let prev = 0
        for (const q of pts) {
          chunks.push(csv.subarray(prev, q))
          prev = q
        }
        chunks.push(csv.subarray(prev))
        const c = collector()
        feed(createCsvParser(c.sink), chunks)
        expect(JSON.stringify(c.got)).toBe(JSON.stringify(whole.got))
      }),
      { numRuns: 25 }
    )
  })

  it('reads columns by name, extra_tags and millisecond timestamps', () => {
    const text = [
      'timestamp,metric_value,metric_name,status,name,expected_response,extra_tags',
      '1795585805514,12.5,http_req_duration,503,"a,b",false,region=eu&task=1',
      '1795585805600,1,checks,,,,check=ignored',
      'garbage'
    ].join('\n')
    const c = collector()
    const p = createCsvParser(c.sink)
    feed(p, [text])
    expect(c.got.samples).toEqual([
      { label: 'a,b', endMs: 1795585805514, latencyUs: 12500, failure: 'http_5xx' }
    ])
    expect(c.got.checks).toEqual([['ignored', true]])
    expect(p.skipped).toBe(1)
  })

  it('a file without the k6 header is detectable', () => {
    const c = collector()
    const p = createCsvParser(c.sink)
    feed(p, [ndjson])
    expect(p.recognized).toBe(0)
    expect(p.skipped).toBeGreaterThan(0)
    expect(c.got.samples).toHaveLength(0)
    expect(p.problem()).toMatch(/no k6 --out csv output found/)
  })
})
