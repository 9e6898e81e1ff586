import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import {
  LOCUST_STOP_TIMEOUT_S,
  createLocustParser,
  failureFromLocustException,
  locustEngine,
  locustPython,
  upstreamFromDebian
} from '../../src/engines/locust.js'
import { LOCUST_HOOK_FILE, LOCUST_HOOK_SOURCE } from '../../src/engines/locust-hook.js'
import type { EngineRunContext } from '../../src/engines/types.js'
import type { TaskLoad } from '../../src/model/index.js'
import { mergeTasks } from '../../src/results/merge.js'
import { defaultTaskMeta, type TaskResult } from '../../src/results/model.js'
import type { Sample, SampleSink } from '../../src/model/index.js'
import { ResultView } from '../../src/results/query.js'
import { TaskRecorder } from '../../src/results/recorder.js'
import { startTarget, type TargetServer } from '../../src/target/server.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const fixtureDir = resolve(root, 'fixtures', 'locust', 'hooks')
const requestsFile = join(fixtureDir, 'requests.ndjson')
const statsFile = join(fixtureDir, 'stats_serialized.json')

/** Records everything a parser reports, and forwards it to an optional second sink. */
class CollectSink implements SampleSink {
  samples: Sample[] = []
  users: { tMs: number; n: number }[] = []
  constructor(private readonly next?: SampleSink) {}
  sample(s: Sample): void {
    this.samples.push(s)
    this.next?.sample(s)
  }
  check(name: string, passed: boolean): void {
    this.next?.check(name, passed)
  }
  activeUsers(tMs: number, n: number): void {
    this.users.push({ tMs, n })
    this.next?.activeUsers(tMs, n)
  }
  threshold(): void {}
}

function parseAll(text: string | Buffer): { sink: CollectSink; skipped: number } {
  const sink = new CollectSink()
  const p = createLocustParser(sink)
  p.push(text)
  p.end()
  return { sink, skipped: p.skipped }
}

function tmp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `perf-gate-locust-${prefix}-`))
}

// Python's round(x, ndigits) for ndigits <= 0: round half to even.
function pyRound(x: number, ndigits = 0): number {
  const p = 10 ** -ndigits
  const y = x / p
  let z = Math.round(y)
  if (Math.abs(y - Math.trunc(y)) === 0.5) z = 2 * Math.round(y / 2)
  return z * p
}

// Locust's response time bucket (StatsEntry._log_response_time).
function locustBucket(ms: number): number {
  if (ms < 100) return pyRound(ms)
  if (ms < 1000) return pyRound(ms, -1)
  if (ms < 10000) return pyRound(ms, -2)
  return pyRound(ms, -3)
}

// Locust's calculate_response_time_percentile, with its rank k as a parameter.
function locustPercentileAtRank(times: Map<number, number>, n: number, k: number): number {
  let processed = 0
  for (const t of [...times.keys()].sort((a, b) => b - a)) {
    processed += times.get(t)!
    if (n - processed <= k) return t
  }
  return 0
}

interface LocustEntry {
  name: string
  method: string
  num_requests: number
  num_failures: number
  total_content_length: number
  total_response_time: number
  min_response_time: number | null
  max_response_time: number
  response_times: Record<string, number>
}
interface LocustStatsFile {
  entries: LocustEntry[]
  total: LocustEntry
  errors: Record<string, { name: string; method: string; error: string; occurrences: number }>
}

function bucketsOf(times: Record<string, number>): Map<number, number> {
  const m = new Map<number, number>()
  for (const [k, v] of Object.entries(times)) m.set(Number(k), (m.get(Number(k)) ?? 0) + v)
  return m
}

function taskOf(samples: Sample[], taskIndex = 0): TaskResult {
  const rec = new TaskRecorder()
  for (const s of samples) rec.sample(s)
  return rec.finish(defaultTaskMeta({ engine: 'locust', taskIndex }))
}

describe('locust parser on the fixture requests.ndjson (Locust 2.12)', () => {
  const text = readFileSync(requestsFile, 'utf8')
  const rawLines = text.split('\n').filter(l => l.trim())
  const raw = rawLines.map(l => JSON.parse(l) as Record<string, unknown>)
  const stats = JSON.parse(readFileSync(statsFile, 'utf8')) as LocustStatsFile
  const { sink, skipped } = parseAll(text)

  it('reads every line as one sample, in order', () => {
    expect(skipped).toBe(0)
    expect(sink.samples).toHaveLength(raw.length)
    expect(sink.samples.length).toBe(stats.entries.reduce((a, e) => a + e.num_requests, 0))
    sink.samples.forEach((s, i) => {
      expect(s.label).toBe(raw[i].name)
      expect(s.endMs).toBeCloseTo((raw[i].start_time as number) * 1000 + (raw[i].response_time as number), 3)
    })
  })

  it('per (name, method): requests, failures, bytes and Locust response time buckets match Locust', () => {
    for (const e of stats.entries) {
      const idx = raw
        .map((r, i) => (r.name === e.name && r.request_type === e.method ? i : -1))
        .filter(i => i >= 0)
      const mine = idx.map(i => sink.samples[i])
      expect({ name: e.name, n: mine.length }).toEqual({ name: e.name, n: e.num_requests })
      expect(mine.filter(s => s.failure).length).toBe(e.num_failures)
      expect(mine.reduce((a, s) => a + (s.bytesIn ?? 0), 0)).toBe(e.total_content_length)
      const buckets = new Map<number, number>()
      for (const s of mine) {
        const b = locustBucket(s.latencyUs / 1000)
        buckets.set(b, (buckets.get(b) ?? 0) + 1)
      }
      expect([...buckets.entries()].sort((a, b) => a[0] - b[0])).toEqual(
        [...bucketsOf(e.response_times).entries()].sort((a, b) => a[0] - b[0])
      )
      const lat = mine.map(s => s.latencyUs / 1000)
      expect(Math.min(...lat)).toBeCloseTo(e.min_response_time!, 6)
      expect(Math.max(...lat)).toBeCloseTo(e.max_response_time, 6)
      expect(lat.reduce((a, b) => a + b, 0)).toBeCloseTo(e.total_response_time, 4)
    }
  })

  it('failure kinds follow the error texts of Locust’s error report', () => {
    const expectedKind = (error: string) =>
      /^HTTPError\('5\d\d /.test(error)
        ? 'http_5xx'
        : /^HTTPError\('4\d\d /.test(error)
          ? 'http_4xx'
          : /^CatchResponseError\(/.test(error)
            ? 'assertion'
            : 'unexpected'
    const expected = new Map<string, number>()
    for (const err of Object.values(stats.errors)) {
      const key = `${err.name}|${expectedKind(err.error)}`
      expected.set(key, (expected.get(key) ?? 0) + err.occurrences)
    }
    const got = new Map<string, number>()
    for (const s of sink.samples)
      if (s.failure) got.set(`${s.label}|${s.failure}`, (got.get(`${s.label}|${s.failure}`) ?? 0) + 1)
    expect([...got.entries()].sort()).toEqual([...expected.entries()].sort())
  })

  it('HDR percentiles of the (merged) task result agree with Locust’s bucketed percentiles', () => {
    const single = new ResultView([taskOf(sink.samples)])
    const merged = new ResultView([
      mergeTasks([
        taskOf(
          sink.samples.filter((_, i) => i % 2 === 0),
          0
        ),
        taskOf(
          sink.samples.filter((_, i) => i % 2 === 1),
          1
        )
      ])
    ])
    const check = (e: LocustEntry, label?: string) => {
      const q = { window: 'all' as const, ...(label ? { label } : {}) }
      const ours = merged.stats(q)
      const one = single.stats(q)
      expect(ours.requests).toBe(e.num_requests)
      expect(ours.failures).toBe(e.num_failures)
      const times = bucketsOf(e.response_times)
      for (const [key, p] of [
        ['p50Ms', 0.5],
        ['p90Ms', 0.9],
        ['p95Ms', 0.95],
        ['p99Ms', 0.99]
      ] as const) {
        expect(ours[key]).toBe(one[key])
        const v = ours[key]
        // Locust takes the sample at 0-based rank int(n*p); HDR the ceil(n*p)-th (1-based): the
        // same sample unless n*p is whole. Within Locust's bucket width plus HDR's 0.1 %.
        const ranks = new Set([
          Math.floor(e.num_requests * p),
          Math.max(0, Math.ceil(e.num_requests * p) - 1)
        ])
        const ok = [...ranks].some(k => {
          const l = locustPercentileAtRank(times, e.num_requests, k)
          const half = l < 100 ? 0.5 : l < 1000 ? 5 : l < 10000 ? 50 : 500
          return Math.abs(v - l) <= half + 0.001 * l + 1e-9
        })
        if (!ok)
          throw new Error(`${e.name} ${key}: ours ${v} ms vs Locust ${JSON.stringify(e.response_times)}`)
        expect(ok).toBe(true)
      }
    }
    for (const e of stats.entries) check(e, e.name)
    check(stats.total)
  })

  it('gives the same result however the stream is chunked (property)', () => {
    const extra =
      '{"type": "users", "t": 1795585749.5, "n": 7}\nnot json\n[1,2]\n{"name": "x", "response_time": -1, "start_time": 1}\n'
    const bytes = Buffer.from(text + extra, 'utf8')
    const whole = parseAll(bytes)
    expect(whole.skipped).toBe(3)
    expect(whole.sink.users).toEqual([{ tMs: 1795585749500, n: 7 }])
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 40 }), cuts => {
        const sink = new CollectSink()
        const p = createLocustParser(sink)
        let from = 0
        for (const c of [...cuts].sort((a, b) => a - b)) {
          p.push(bytes.subarray(from, c))
          from = c
        }
        p.push(bytes.subarray(from))
        p.end()
        expect(p.skipped).toBe(whole.skipped)
        expect(sink.samples).toEqual(whole.sink.samples)
        expect(sink.users).toEqual(whole.sink.users)
      }),
      { numRuns: 60 }
    )
  })
})

describe('locust parser details', () => {
  it('prefers end_time and error_kind, maps users lines and skips malformed lines', () => {
    const lines = [
      '{"start_time": 100.0, "request_type": "GET", "name": "/a?id=[id]", "response_time": 250.5, "response_length": 10, "status_code": 503, "exception": "HTTPError(\'503 Server Error\')", "end_time": 100.3, "error_kind": "http_5xx"}',
      '{"start_time": 100.0, "request_type": "GET", "name": "b", "response_time": 2, "response_length": 0, "status_code": 0, "exception": "ValueError(\'x\')", "end_time": 101, "error_kind": "timeout"}',
      '{"start_time": 100.0, "request_type": "GET", "name": "c", "response_time": 2, "response_length": 5, "status_code": 200, "exception": null, "end_time": 102, "error_kind": null}',
      '{"start_time": 100.0, "request_type": "GET", "name": "d", "response_time": null, "response_length": null, "status_code": null, "exception": null}',
      '{"type": "users", "t": 100.5, "n": 3}',
      '{"type": "users", "t": "x", "n": 3}',
      '{"type": "something-else"}',
      '{"start_time": 100.0, "response_time": 2}',
      '{"name": "e", "response_time": 2}',
      '{"name": "f", "start_time": 1, "response_time": "2"}',
      '',
      '42',
      '{broken'
    ]
    const { sink, skipped } = parseAll(lines.join('\r\n'))
    expect(skipped).toBe(7)
    expect(sink.samples).toEqual([
      { label: '/a?id=[id]', endMs: 100300, latencyUs: 250500, failure: 'http_5xx', bytesIn: 10 },
      { label: 'b', endMs: 101000, latencyUs: 2000, failure: 'timeout', bytesIn: 0 },
      { label: 'c', endMs: 102000, latencyUs: 2000, bytesIn: 5 },
      { label: 'd', endMs: 100000, latencyUs: 0 }
    ])
    expect(sink.users).toEqual([{ tMs: 100500, n: 3 }])
  })

  it.each([
    [null, 200, undefined],
    ["HTTPError('500 Server Error: Internal Server Error for url: http://x/flaky')", 500, 'http_5xx'],
    ["HTTPError('503 Server Error')", null, 'http_5xx'],
    ["HTTPError('404 Client Error: Not Found for url: http://x/nf')", 404, 'http_4xx'],
    ["HTTPError('404 Client Error')", undefined, 'http_4xx'],
    ["HTTPError('weird')", 0, 'http_other'],
    ["CatchResponseError('custom check failed')", 200, 'assertion'],
    [
      'ConnectionError(MaxRetryError("HTTPConnectionPool(host=\'127.0.0.1\', port=1): Max retries exceeded"))',
      0,
      'connection'
    ],
    ["ConnectionRefusedError(111, 'Connection refused')", 0, 'connection'],
    [
      'ReadTimeout(ReadTimeoutError("HTTPConnectionPool(...): Read timed out. (read timeout=0.05)"))',
      0,
      'timeout'
    ],
    ["ConnectTimeout('x')", 0, 'timeout'],
    ["ValueError('boom')", 200, 'other'],
    ["RuntimeError('x')", 502, 'http_5xx']
  ])('exception %s with status %s → %s', (exception, status, kind) => {
    expect(failureFromLocustException(exception, status)).toBe(kind)
  })

  it('upstreamFromDebian strips the Debian revision, epoch and repack suffix', () => {
    expect(upstreamFromDebian('2.12.1-1')).toBe('2.12.1')
    expect(upstreamFromDebian('1:2.0+dfsg-3')).toBe('2.0')
    expect(upstreamFromDebian('2.20.0')).toBe('2.20.0')
  })
})

describe('locust command line', () => {
  let dir = ''
  let script = ''
  beforeAll(() => {
    dir = tmp('cmd')
    script = join(dir, 'locustfile.py')
    writeFileSync(script, 'from locust import HttpUser\n')
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const ctx = (load: Partial<TaskLoad>): EngineRunContext => ({
    script,
    workDir: dir,
    tags: {},
    env: { MY_VAR: 'x' },
    load: { vus: 5, durationS: 10, rampUpS: 2, targetUrl: 'http://127.0.0.1:9', ...load }
  })

  it('builds a headless run with the hook first and writes the hook', async () => {
    const cmd = await locustEngine.command(ctx({}), { PERF_GATE_LOCUST_BIN: '/opt/locust/bin/locust' })
    expect(cmd.command).toBe('/opt/locust/bin/locust')
    expect(cmd.args).toEqual([
      '-f',
      `${join(dir, LOCUST_HOOK_FILE)},${script}`,
      '--headless',
      '-u',
      '5',
      '-r',
      '2.5',
      '-t',
      '12s',
      '-H',
      'http://127.0.0.1:9',
      '--only-summary',
      '--exit-code-on-error',
      '0',
      '-s',
      String(LOCUST_STOP_TIMEOUT_S)
    ])
    expect(cmd.samples).toEqual({ kind: 'fd3' })
    expect(cmd.env).toMatchObject({ MY_VAR: 'x', PERF_GATE_SAMPLES_FD: '3', PERF_GATE_STAGES: '' })
    expect(readFileSync(join(dir, LOCUST_HOOK_FILE), 'utf8')).toBe(LOCUST_HOOK_SOURCE)
    expect(locustEngine.binary({})).toBe('locust')
  })

  it('derives the spawn rate and run time', async () => {
    const arg = (args: string[], flag: string) => args[args.indexOf(flag) + 1]
    const allAtOnce = await locustEngine.command(ctx({ rampUpS: 0, durationS: 7.2 }))
    expect(arg(allAtOnce.args, '-r')).toBe('5')
    expect(arg(allAtOnce.args, '-t')).toBe('8s')
    const explicit = await locustEngine.command(ctx({ spawnRate: 0.5 }))
    expect(arg(explicit.args, '-r')).toBe('0.5')
    const slow = await locustEngine.command(ctx({ vus: 1, rampUpS: 1000, durationS: 0 }))
    expect(arg(slow.args, '-r')).toBe('0.01')
    expect(arg(slow.args, '-t')).toBe('1000s')
  })

  it('with stages: the hook goes last, -u/-r/-t are left out and the stages go to the hook', async () => {
    const stages = [
      { durationS: 2, target: 4 },
      { durationS: 3, target: 1 }
    ]
    const cmd = await locustEngine.command(ctx({ stages }))
    expect(cmd.args.slice(0, 3)).toEqual(['-f', `${script},${join(dir, LOCUST_HOOK_FILE)}`, '--headless'])
    for (const flag of ['-u', '-r', '-t']) expect(cmd.args).not.toContain(flag)
    expect(JSON.parse(cmd.env.PERF_GATE_STAGES)).toEqual(stages)
  })

  it('rejects a missing script, bad stages and comma paths with one-line messages', async () => {
    await expect(locustEngine.command({ ...ctx({}), script: undefined })).rejects.toThrow(
      /'script' is required/
    )
    await expect(locustEngine.command({ ...ctx({}), script: join(dir, 'nope.py') })).rejects.toThrow(
      /locustfile not found: .*nope\.py/
    )
    await expect(locustEngine.command(ctx({ stages: [{ durationS: -1, target: 2 }] }))).rejects.toThrow(
      /load\.stages\[0\]\.durationS/
    )
    await expect(locustEngine.command(ctx({ stages: [{ durationS: 0, target: 2 }] }))).rejects.toThrow(
      /longer than 0 s/
    )
    const commaDir = tmp('a,b')
    try {
      await expect(locustEngine.command({ ...ctx({}), workDir: commaDir })).rejects.toThrow(
        /must not contain a comma/
      )
    } finally {
      rmSync(commaDir, { recursive: true, force: true })
    }
  })

  it('only exit code 0 counts as completed', () => {
    expect(locustEngine.completed(0)).toBe(true)
    for (const c of [1, 2, 3, 130, -1]) expect(locustEngine.completed(c)).toBe(false)
  })
})

describe('locust version', () => {
  it('reports the installed Locust version, also for Debian’s empty __version__', async () => {
    const v = await locustEngine.version()
    expect(v).toMatch(/^\d+\.\d+(\.\d+)?/)
    expect(v).not.toBe('0.0.0')
    const help = spawnSync(locustEngine.binary(), ['--version'], { encoding: 'utf8' })
    const printed = /locust\s+(\d[^\s]*)/.exec(`${help.stdout}${help.stderr}`)?.[1]
    if (printed) expect(v).toBe(printed)
  })

  it('is empty when the binary does not exist', async () => {
    expect(await locustEngine.version({ ...process.env, PERF_GATE_LOCUST_BIN: '/nonexistent/locust' })).toBe(
      ''
    )
  })
})

describe('the Python hook outside a Locust run', () => {
  const python = locustPython(locustEngine.binary())
  let dir = ''
  beforeAll(() => {
    dir = tmp('hook')
    writeFileSync(join(dir, LOCUST_HOOK_FILE), LOCUST_HOOK_SOURCE)
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  function runPython(code: string, env: Record<string, string>) {
    return spawnSync(python[0], [...python.slice(1), '-c', code], {
      cwd: dir,
      env: { ...process.env, PYTHONPATH: dir, ...env },
      encoding: 'utf8',
      timeout: 60_000
    })
  }

  it('classifies real exception types and falls back to PERF_GATE_SAMPLES, flushed at exit', () => {
    const out = join(dir, 'by-hand.ndjson')
    const code = `
import perfgate_hook
import socket
import requests
from locust import events
from locust.exception import CatchResponseError

class R:
    def __init__(self, status):
        self.status_code = status

cases = [
    ("ok", R(200), None),
    ("e500", R(500), requests.exceptions.HTTPError("500 Server Error: Internal Server Error for url: http://x/")),
    ("e404", R(404), requests.exceptions.HTTPError("404 Client Error: Not Found for url: http://x/")),
    ("refused", R(0), requests.exceptions.ConnectionError("Max retries exceeded")),
    ("refused-os", None, ConnectionRefusedError(111, "Connection refused")),
    ("read-timeout", R(0), requests.exceptions.ReadTimeout("Read timed out")),
    ("connect-timeout", R(0), requests.exceptions.ConnectTimeout("Connect timed out")),
    ("socket-timeout", None, socket.timeout("timed out")),
    ("check", R(200), CatchResponseError("body did not match")),
    ("value", R(200), ValueError("boom")),
]
for name, response, exc in cases:
    events.request.fire(request_type="GET", name=name, response_time=12.5, response_length=7,
                        response=response, exception=exc, context={}, start_time=1000.0, url="http://x/")
events.request.fire(request_type="CUSTOM", name="no-start", response_time=4.0, response_length=0,
                    response=None, exception=None, context={})
`
    const r = runPython(code, { PERF_GATE_SAMPLES_FD: '97', PERF_GATE_SAMPLES: out, PERF_GATE_STAGES: '' })
    expect(r.stderr).not.toMatch(/Traceback/)
    expect(r.status).toBe(0)
    const lines = readFileSync(out, 'utf8').trim().split('\n')
    expect(lines).toHaveLength(11)
    const first = JSON.parse(lines[0]) as Record<string, unknown>
    expect(Object.keys(first).sort()).toEqual(
      [
        'start_time',
        'request_type',
        'name',
        'response_time',
        'response_length',
        'status_code',
        'exception',
        'end_time',
        'error_kind'
      ].sort()
    )
    const { sink, skipped } = parseAll(lines.join('\n'))
    expect(skipped).toBe(0)
    expect(Object.fromEntries(sink.samples.map(s => [s.label, s.failure ?? 'ok']))).toEqual({
      ok: 'ok',
      e500: 'http_5xx',
      e404: 'http_4xx',
      refused: 'connection',
      'refused-os': 'connection',
      'read-timeout': 'timeout',
      'connect-timeout': 'timeout',
      'socket-timeout': 'timeout',
      check: 'assertion',
      value: 'other',
      'no-start': 'ok'
    })
    // end_time is when the event fired (now), start_time the given 1000.0
    const nowMs = Date.now()
    for (const s of sink.samples) expect(Math.abs(s.endMs - nowMs)).toBeLessThan(120_000)
    const noStart = JSON.parse(lines[10]) as { start_time: number; end_time: number }
    expect(noStart.end_time - noStart.start_time).toBeCloseTo(0.004, 6)
  })

  it('the stages shape ramps linearly between targets and then ends', () => {
    const code = `
import json
import perfgate_hook as h
shape = h.PerfGateStagesShape()
out = []
for t in [0, 0.5, 1.0, 1.99, 2.0, 3.0, 3.5, 4.0, 5.0, 5.99, 6.0, 7.5]:
    shape.get_run_time = lambda t=t: t
    r = shape.tick()
    out.append(None if r is None else [r[0], r[1]])
print("RESULT " + json.dumps(out))
`
    // jump to 2 at once, hold 2 for 2 s, ramp to 6 over 2 s, ramp down to 0 over 2 s
    const stages = JSON.stringify([
      { durationS: 0, target: 2 },
      { durationS: 2, target: 2 },
      { durationS: 2, target: 6 },
      { durationS: 2, target: 0 }
    ])
    const r = runPython(code, { PERF_GATE_STAGES: stages, PERF_GATE_SAMPLES: join(dir, 'shape.ndjson') })
    expect(r.status).toBe(0)
    const ticks = JSON.parse(/RESULT (.*)/.exec(r.stdout)![1]) as ([number, number] | null)[]
    expect(ticks.map(t => (t ? t[0] : null))).toEqual([2, 2, 2, 2, 2, 4, 5, 6, 3, 0, null, null])
    // the jump to 2 users is spawned within about a second; ramps at their own slope
    expect(ticks[0]![1]).toBeGreaterThanOrEqual(2)
    expect(ticks[5]![1]).toBe(2)
    expect(ticks[8]![1]).toBe(3)
  })

  it('stops Locust with a one-line message on malformed stages', () => {
    const r = runPython('import perfgate_hook', { PERF_GATE_STAGES: '[{"durationS": "x"}]' })
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/PERF_GATE_STAGES must be a JSON list/)
    expect(r.stderr).not.toMatch(/Traceback/)
  })
})

// ---------------------------------------------------------------------------------------------
// Real Locust runs against the bundled target on 127.0.0.1

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer()
    s.once('error', rej)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => res(port))
    })
  })
}

interface RunOutcome {
  code: number | null
  signal: NodeJS.Signals | null
  sink: CollectSink
  recorder: TaskRecorder
  skipped: number
  stderr: string
  wallMs: number
}

async function runLocust(ctx: EngineRunContext, limitMs: number): Promise<RunOutcome> {
  const cmd = await locustEngine.command(ctx)
  const recorder = new TaskRecorder()
  const sink = new CollectSink(recorder)
  const parser = locustEngine.createParser(sink)
  let stderr = ''
  const started = Date.now()
  let child: ChildProcess | undefined
  let killer: NodeJS.Timeout | undefined
  try {
    child = spawn(cmd.command, cmd.args, {
      cwd: ctx.workDir,
      env: { ...process.env, ...cmd.env },
      stdio: ['ignore', 'pipe', 'pipe', 'pipe']
    })
    const c = child
    c.stdout!.resume()
    c.stderr!.on('data', (b: Buffer) => {
      stderr = (stderr + b.toString('utf8')).slice(-20_000)
    })
    const fd3 = c.stdio[3] as NodeJS.ReadableStream
    fd3.on('data', (b: Buffer) => parser.push(b))
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res, rej) => {
      killer = setTimeout(() => {
        if (c.pid !== undefined && c.exitCode === null) process.kill(c.pid, 'SIGKILL')
        rej(new Error(`locust did not end by itself within ${limitMs} ms\n${stderr}`))
      }, limitMs)
      c.once('error', rej)
      c.once('close', (cd, sg) => res([cd, sg]))
    })
    parser.end()
    return { code, signal, sink, recorder, skipped: parser.skipped, stderr, wallMs: Date.now() - started }
  } finally {
    if (killer) clearTimeout(killer)
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  }
}

describe('real Locust runs', () => {
  let target: TargetServer
  let dir: string
  beforeAll(async () => {
    target = await startTarget({ port: 0, seed: 7, maxSeconds: 120, faults: { '/health': { delayMs: 400 } } })
    dir = tmp('run')
  })
  afterAll(async () => {
    await target.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('records every request the target served, /flaky as http_5xx, and the active users', async () => {
    const script = join(dir, 'web.py')
    writeFileSync(
      script,
      `import random
from locust import HttpUser, constant, task


class Web(HttpUser):
    wait_time = constant(0.05)

    @task(3)
    def fast(self):
        self.client.get("/fast")

    @task(3)
    def flaky(self):
        self.client.get("/flaky")

    @task(1)
    def big(self):
        self.client.get("/big?id=%d" % random.randint(1, 1000), name="/big?id=[id]")
`
    )
    const workDir = mkdtempSync(join(dir, 'w1-'))
    const before = target.stats().byRoute
    const run = await runLocust(
      {
        script,
        workDir,
        tags: {},
        env: {},
        load: { vus: 4, rampUpS: 1, durationS: 4, targetUrl: target.url }
      },
      45_000
    )
    const after = target.stats().byRoute
    const served = (route: string) => (after[route] ?? 0) - (before[route] ?? 0)
    expect(run.stderr).not.toMatch(/Traceback|Uncaught exception/)
    expect(run.code).toBe(0)
    expect(locustEngine.completed(run.code!)).toBe(true)
    expect(run.skipped).toBe(0)

    const byLabel = (l: string) => run.sink.samples.filter(s => s.label === l)
    expect(run.sink.samples.length).toBeGreaterThan(0)
    expect(byLabel('/fast').length).toBe(served('/fast'))
    expect(byLabel('/flaky').length).toBe(served('/flaky'))
    expect(byLabel('/big?id=[id]').length).toBe(served('/big'))
    expect(run.sink.samples.length).toBe(served('/fast') + served('/flaky') + served('/big'))

    const flaky = byLabel('/flaky')
    const failed = flaky.filter(s => s.failure)
    expect(failed.every(s => s.failure === 'http_5xx')).toBe(true)
    expect(failed.length / flaky.length).toBeGreaterThan(0.15)
    expect(failed.length / flaky.length).toBeLessThan(0.45)
    expect(byLabel('/fast').every(s => !s.failure)).toBe(true)
    expect(byLabel('/big?id=[id]').every(s => s.bytesIn === 16384)).toBe(true)

    expect(Math.max(...run.sink.users.map(u => u.n))).toBe(4)
    const firstUsers = Math.min(...run.sink.users.map(u => u.tMs))
    const lastSample = Math.max(...run.sink.samples.map(s => s.endMs))
    // -t 5s from the start of the test; the last requests complete within the stop timeout
    expect(lastSample - firstUsers).toBeGreaterThan(4000)
    expect(lastSample - firstUsers).toBeLessThan(5000 + LOCUST_STOP_TIMEOUT_S * 1000)

    const task = run.recorder.finish(defaultTaskMeta({ engine: 'locust' }))
    const all = new ResultView([task]).stats({ window: 'all' })
    expect(all.requests).toBe(run.sink.samples.length)
    expect(all.failuresByKind.http_5xx).toBe(failed.length)
    expect(task.users?.values.length).toBeGreaterThanOrEqual(4)
  }, 60_000)

  it('follows stages through the hook’s load shape and classifies timeouts and refused connections', async () => {
    const closedPort = await freePort()
    const script = join(dir, 'staged.py')
    writeFileSync(
      script,
      `from locust import HttpUser, constant, task


class Staged(HttpUser):
    wait_time = constant(0.1)

    @task(4)
    def fast(self):
        self.client.get("/fast")

    @task(1)
    def slow_health(self):
        self.client.get("/health", name="timeout-probe", timeout=0.05)

    @task(1)
    def refused(self):
        self.client.get("http://127.0.0.1:${closedPort}/x", name="refused-probe")
`
    )
    const stages = [
      { durationS: 2, target: 4 },
      { durationS: 2, target: 4 },
      { durationS: 2, target: 1 }
    ]
    const expectedUsers = (s: number) => {
      if (s <= 0) return 0
      if (s < 2) return 2 * s
      if (s < 4) return 4
      if (s < 6) return 4 - 1.5 * (s - 4)
      return 1
    }
    const workDir = mkdtempSync(join(dir, 'w2-'))
    const run = await runLocust(
      {
        script,
        workDir,
        tags: {},
        env: {},
        load: { vus: 99, rampUpS: 0, durationS: 99, stages, targetUrl: target.url }
      },
      45_000
    )
    expect(run.stderr).not.toMatch(/Traceback|Uncaught exception/)
    expect(run.stderr).toMatch(/Shape test/)
    expect(run.code).toBe(0)
    expect(run.skipped).toBe(0)

    const users = [...run.sink.users].sort((a, b) => a.tMs - b.tMs)
    const t0 = users[0].tMs
    expect(Math.max(...users.map(u => u.n))).toBe(4)
    for (const u of users) {
      const s = (u.tMs - t0) / 1000
      // users follow the stage line, lagging by up to ~1.5 s (1 s shape ticks + spawning)
      const lo = Math.min(expectedUsers(s), expectedUsers(s - 1.5)) - 1
      const hi = Math.max(expectedUsers(s), expectedUsers(s - 1.5)) + 1
      if (u.n < lo || u.n > hi) throw new Error(`users ${u.n} at ${s.toFixed(2)} s, expected ${lo}..${hi}`)
      expect(u.n).toBeGreaterThanOrEqual(lo)
    }
    // the hold at 4 users and the ramp down are both visible
    expect(users.some(u => u.n === 4 && (u.tMs - t0) / 1000 > 2 && (u.tMs - t0) / 1000 < 4.6)).toBe(true)
    expect(users.some(u => u.n < 4 && (u.tMs - t0) / 1000 > 4.6)).toBe(true)
    // the shape ends the test after the last stage (6 s) without -t
    const lastSample = Math.max(...run.sink.samples.map(s => s.endMs))
    expect(lastSample - t0).toBeGreaterThan(5000)
    expect(lastSample - t0).toBeLessThan(6000 + LOCUST_STOP_TIMEOUT_S * 1000)

    const kinds = (label: string) =>
      new Set(run.sink.samples.filter(s => s.label === label).map(s => s.failure))
    expect([...kinds('timeout-probe')]).toEqual(['timeout'])
    expect([...kinds('refused-probe')]).toEqual(['connection'])
    expect([...kinds('/fast')]).toEqual([undefined])
  }, 60_000)

  it('lets a locustfile’s own load shape end the run although -t is given', async () => {
    const script = join(dir, 'own_shape.py')
    writeFileSync(
      script,
      `from locust import HttpUser, LoadTestShape, constant, task


class Web(HttpUser):
    wait_time = constant(0.1)

    @task
    def fast(self):
        self.client.get("/fast")


class TwoUsersForTwoSeconds(LoadTestShape):
    def tick(self):
        return (2, 10) if self.get_run_time() < 2 else None
`
    )
    const workDir = mkdtempSync(join(dir, 'w3-'))
    const run = await runLocust(
      {
        script,
        workDir,
        tags: {},
        env: {},
        load: { vus: 5, rampUpS: 0, durationS: 30, targetUrl: target.url }
      },
      45_000
    )
    expect(run.stderr).toMatch(/load shape TwoUsersForTwoSeconds ends the test; --run-time is ignored/)
    expect(run.code).toBe(0)
    expect(run.wallMs).toBeLessThan(20_000)
    expect(run.sink.samples.length).toBeGreaterThan(0)
    expect(Math.max(...run.sink.users.map(u => u.n))).toBe(2)
  }, 60_000)
})
