import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { gzipSync } from 'node:zlib'
import { expectUsageError, fixtures, root, runCli } from './spawn-cli.js'

interface StatsJson {
  requests: number
  failures: number
  rps: number
  p50_ms: number | null
  p90_ms: number | null
  p95_ms: number | null
  p99_ms: number | null
  max_ms: number | null
  error_rate: number
  failures_by_kind: Record<string, number>
}
interface SummaryJson {
  overall: StatsJson
  labels: Record<string, StatsJson>
  window: { name: string; start_ms: number; end_ms: number }
  thresholds: { metric: string; expr: string }[]
  checks: Record<string, { passes: number; fails: number }>
}

const k6Json = resolve(fixtures, 'k6', 'v0.48.0-default', 'results.json')
const k6Csv = resolve(fixtures, 'k6', 'v0.48.0-default', 'results.csv')
const jtlDefault = resolve(fixtures, 'jmeter', '2.13-default', 'results.jtl')
const jtlFull = resolve(fixtures, 'jmeter', '2.13-full', 'results.jtl')
const jtl5 = resolve(fixtures, 'jmeter', 'upstream-5.x', 'HTMLReportTestFile.csv')
const locust = resolve(fixtures, 'locust', 'hooks', 'requests.ndjson')

let tmp: string
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'perf-gate-cli-summarize-'))
})
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true })
})

async function summarizeJson(...args: string[]): Promise<SummaryJson> {
  const r = await runCli(['summarize', '--json', ...args])
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`)
  return JSON.parse(r.stdout) as SummaryJson
}

function lines(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(l => l.trim() !== '')
}

/** A quote-aware split of one CSV line (the fixtures quote messages that contain commas). */
function csvFields(line: string): string[] {
  const out: string[] = []
  let cur = ''
  let q = false
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (q) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"'
        i++
      } else if (c === '"') q = false
      else cur += c
    } else if (c === '"') q = true
    else if (c === ',') {
      out.push(cur)
      cur = ''
    } else cur += c
  }
  out.push(cur)
  return out
}

/** Requests and failures in a JTL, counted from its rows (transaction controller rows left out). */
function jtlCounts(
  file: string,
  header: string[] | null
): { requests: number; failures: number; max: number } {
  const cols = header ?? [
    'timeStamp',
    'elapsed',
    'label',
    'responseCode',
    'responseMessage',
    'threadName',
    'dataType',
    'success',
    'bytes',
    'grpThreads',
    'allThreads',
    'Latency'
  ]
  const rows = lines(file)
    .slice(header ? 1 : 0)
    .map(csvFields)
  const real = rows.filter(
    r => !r[cols.indexOf('responseMessage')].startsWith('Number of samples in transaction')
  )
  return {
    requests: real.length,
    failures: real.filter(r => r[cols.indexOf('success')] === 'false').length,
    max: Math.max(...real.map(r => Number(r[cols.indexOf('elapsed')])))
  }
}

describe('perf-gate summarize --json on every fixture family', () => {
  it('k6 NDJSON: 64 requests, the failed ones from http_req_failed, and the script thresholds', async () => {
    const points = lines(k6Json).map(
      l => JSON.parse(l) as { type: string; metric: string; data: { value: number } }
    )
    const reqs = points.filter(p => p.type === 'Point' && p.metric === 'http_reqs').length
    const failed = points
      .filter(p => p.type === 'Point' && p.metric === 'http_req_failed')
      .reduce((a, p) => a + p.data.value, 0)
    const maxMs = Math.max(
      ...points.filter(p => p.type === 'Point' && p.metric === 'http_req_duration').map(p => p.data.value)
    )
    expect(reqs).toBe(64)
    const s = await summarizeJson(k6Json)
    expect(s.overall.requests).toBe(64)
    expect(s.overall.failures).toBe(failed)
    expect(s.overall.max_ms).toBeCloseTo(maxMs, 2)
    expect(s.window.name).toBe('all')
    expect(Object.values(s.labels).reduce((a, l) => a + l.requests, 0)).toBe(64)
    expect(s.thresholds).toEqual(expect.arrayContaining([{ metric: 'http_req_failed', expr: 'rate<0.05' }]))
    expect(s.checks['fast is 200'].passes + s.checks['fast is 200'].fails).toBeGreaterThan(0)
    for (const k of ['requests', 'failures', 'rps', 'p50_ms', 'p90_ms', 'p95_ms', 'p99_ms', 'max_ms'])
      expect(s.overall).toHaveProperty(k)
  })

  it('k6 CSV: the same 64 requests as the NDJSON', async () => {
    const reqs = lines(k6Csv).filter(l => l.startsWith('http_reqs,')).length
    const s = await summarizeJson(k6Csv)
    expect(s.overall.requests).toBe(reqs)
    expect(s.overall.requests).toBe(64)
  })

  it('JMeter 2.13 headerless, 2.13 with header and 5.x JTLs', async () => {
    for (const [file, header] of [
      [jtlDefault, null],
      [jtlFull, csvFields(lines(jtlFull)[0])],
      [jtl5, csvFields(lines(jtl5)[0])]
    ] as const) {
      const want = jtlCounts(file, header as string[] | null)
      const s = await summarizeJson(file)
      expect({ file, requests: s.overall.requests, failures: s.overall.failures }).toEqual({
        file,
        requests: want.requests,
        failures: want.failures
      })
      expect(s.overall.max_ms).toBeCloseTo(want.max, 3)
      expect(s.overall.p50_ms!).toBeLessThanOrEqual(s.overall.p95_ms!)
      expect(s.overall.p95_ms!).toBeLessThanOrEqual(s.overall.max_ms!)
    }
  })

  it('Locust request NDJSON: 402 requests, per-label counts and failures', async () => {
    const recs = lines(locust).map(
      l => JSON.parse(l) as { name: string; exception: string | null; response_time: number }
    )
    expect(recs).toHaveLength(402)
    const s = await summarizeJson(locust)
    expect(s.overall.requests).toBe(402)
    expect(s.overall.failures).toBe(recs.filter(r => r.exception !== null).length)
    expect(s.overall.max_ms).toBeCloseTo(Math.max(...recs.map(r => r.response_time)), 2)
    const byName: Record<string, number> = {}
    for (const r of recs) byName[r.name] = (byName[r.name] ?? 0) + 1
    expect(Object.fromEntries(Object.entries(s.labels).map(([k, v]) => [k, v.requests]))).toEqual(byName)
    const forced = await summarizeJson('--engine', 'locust', locust)
    expect(forced.overall).toEqual(s.overall)
  })

  it('merges several files of different engines exactly, and reads gzipped k6 output', async () => {
    const gz = join(tmp, 'k6.json.gz')
    writeFileSync(gz, gzipSync(readFileSync(k6Json)))
    const s = await summarizeJson(gz, locust)
    expect(s.overall.requests).toBe(64 + 402)
    expect(s.labels['/slow'].requests).toBe(lines(locust).filter(l => l.includes('"name": "/slow"')).length)
    expect(s.labels['slow'].requests).toBe(10)
  })

  it('prints an aligned table by default', async () => {
    const r = await runCli(['summarize', locust])
    expect(r.code).toBe(0)
    const out = r.stdout.split('\n')
    const header = out.find(l => l.startsWith('label'))!
    expect(header).toMatch(/requests\s+failures\s+error %\s+rps\s+p50\s+p90\s+p95\s+p99\s+max/)
    const overall = out.find(l => l.startsWith('overall'))!
    expect(overall).toContain('402')
    // Right-aligned columns end at the same position as their header.
    expect(overall.length).toBe(header.length)
    expect(r.stdout).not.toContain('\u001b[')
  })
})

describe('perf-gate summarize input errors', () => {
  it('a bad flag names the flag', async () => {
    expect(expectUsageError(await runCli(['summarize', '--bogus', locust]), '--bogus')).toBe(
      'perf-gate summarize: --bogus: unknown option (see perf-gate summarize --help)'
    )
    expectUsageError(await runCli(['summarize', '--engine', 'gatling', locust]), '--engine')
    expectUsageError(await runCli(['summarize', '--window', 'middle', locust]), '--window')
    expectUsageError(await runCli(['summarize']), 'no files given')
  })

  it('a missing file, a directory, an empty file', async () => {
    const missing = join(tmp, 'nope.json')
    expect(expectUsageError(await runCli(['summarize', missing]), missing)).toContain('no such file')
    expect(expectUsageError(await runCli(['summarize', tmp]), tmp)).toContain('directory')
    const empty = join(tmp, 'empty.jtl')
    writeFileSync(empty, '')
    expect(expectUsageError(await runCli(['summarize', empty]), empty)).toContain('empty')
  })

  it('foreign files: binary bytes, a random JSON object, a text file', async () => {
    const png = join(tmp, 'image.png')
    writeFileSync(
      png,
      Buffer.from([
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 1, 2, 3, 0xff
      ])
    )
    expect(expectUsageError(await runCli(['summarize', png]), png)).toContain('unknown format')
    const obj = join(tmp, 'random.json')
    writeFileSync(obj, JSON.stringify({ hello: 'world', n: [1, 2, 3] }))
    expect(expectUsageError(await runCli(['summarize', obj]), obj)).toContain('unknown format')
    const txt = join(tmp, 'notes.txt')
    writeFileSync(txt, 'just some notes\nnothing else\n')
    expectUsageError(await runCli(['summarize', locust, txt]), txt)
  })

  it('a forced engine that does not match the file says no requests were found', async () => {
    expect(expectUsageError(await runCli(['summarize', '--engine', 'jmeter', k6Json]), k6Json)).toContain(
      'no requests found'
    )
  })

  it('a broken perf-gate result names the file and the field', async () => {
    const bad = join(tmp, 'bad-result.json')
    writeFileSync(bad, JSON.stringify({ schema: 'perf-gate/task-result', version: 1, task: {} }))
    const line = expectUsageError(await runCli(['summarize', bad]), bad)
    expect(line).toMatch(/field '/)
  })
})

describe('perf-gate help and version', () => {
  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }
    const r = await runCli(['--version'])
    expect(r.code).toBe(0)
    expect(r.stdout.trim()).toBe(`perf-gate ${pkg.version}`)
  })

  it('--help lists the commands; each command has its own help', async () => {
    const r = await runCli(['--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^\s+run\s+/m)
    expect(r.stdout).toMatch(/^\s+summarize\s+/m)
    const run = await runCli(['run', '--help'])
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('--tasks N')
    const sum = await runCli(['summarize', '-h'])
    expect(sum.code).toBe(0)
    expect(sum.stdout).toContain('--engine k6|locust|jmeter')
  })

  it('an unknown command exits 2', async () => {
    expect(expectUsageError(await runCli(['frobnicate']), 'unknown command "frobnicate"')).toMatch(
      /^perf-gate: /
    )
  })
})
