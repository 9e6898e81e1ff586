/**
 * Bad-input fuzzing through the real entry points: a seeded generator of bad flags, bad
 * perf-gate.yml files, bad result files and bad action inputs, each run through the bundled CLI
 * (dist/cli/index.js) or the bundled action (dist/index.js) as a child process in a fresh
 * directory. Every case must end with the documented exit code (CLI 2, action 1 with one
 * `::error::` line), a message naming the flag, input or file, no stack trace, no hang (every
 * process has a time limit), nothing written to its directory or baseline store, and (action)
 * nothing posted to GitHub. Three cases run at a time; each process costs about 0.4 s (CLI) or
 * 0.55 s (action) of CPU, so the file takes about 80 s on two idle cores.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { defaultTaskMeta, type TaskResult } from '../../src/results/model.js'
import { TaskRecorder } from '../../src/results/recorder.js'
import { startFakeGitHub, type FakeGitHub } from '../helpers/fake-github.js'
import { errorLines, runActionOnce } from '../helpers/run-action.js'
import { runCli } from '../cli/spawn-cli.js'

/** A closed loopback port: nothing is ever sent (every case fails validation first). */
const TARGET = 'http://127.0.0.1:9'
const T0 = Date.UTC(2026, 10, 25, 5, 50, 0)
const JTL_HEADER =
  'timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,bytes,grpThreads,allThreads,Latency'

interface Case {
  name: string
  entry: 'cli' | 'action'
  /** CLI arguments, or action inputs. */
  args?: string[]
  inputs?: Record<string, string>
  /** Files placed in the case's directory before it runs. */
  files?: Record<string, string | Buffer>
  /** Text the one error line must contain (the flag, input or file). */
  mentions: string
}

/** mulberry32: the cases are the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
const r = rng(11)
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]

// ---------------------------------------------------------------------------------------------
// Bad flag values (CLI) and their action input twins.

const BAD_VALUES: Record<string, string[]> = {
  vus: ['0', '-1', 'ten', '1.5', '1000001', '1e6', ''],
  duration: ['soon', '0', '0s', '0.0001s', '200h', '8d', '-5s', '9'.repeat(400), '10x'],
  'ramp-up': ['x', '200h', '0.1ms', '-1s'],
  tasks: ['0', '257', 'many', '1.5'],
  target: ['ftp://127.0.0.1', 'http://user:pw@127.0.0.1', 'http://shop.example.com', 'not a url'],
  request: ['FETCH /x', 'GET x', 'GET /a b', 'GET'],
  'allow-host': ['http://x', 'a/b', 'a b'],
  engine: ['gatling', 'K6'],
  profile: ['nope', 'STRESS'],
  'profile-param': ['steps', '=1'],
  multiplier: ['x', '0']
}
/** The action input of each flag. */
const INPUT_OF: Record<string, string> = {
  vus: 'vus',
  duration: 'duration',
  'ramp-up': 'ramp-up',
  tasks: 'tasks',
  target: 'target',
  request: 'requests',
  'allow-host': 'allowed-hosts',
  engine: 'engine',
  profile: 'profile',
  'profile-param': 'profile-params',
  multiplier: 'multiplier'
}

function flagCases(): Case[] {
  const out: Case[] = []
  for (const command of ['run', 'gate'])
    for (const [flag, values] of Object.entries(BAD_VALUES))
      for (const v of values) {
        const extra =
          flag === 'multiplier' || flag === 'profile-param' ? ['--profile', pick(['stress', 'spike'])] : []
        if (flag === 'profile-param' && v === 'steps') extra.splice(0, 2, '--profile', 'stress')
        const args = [command, '--target', TARGET, '--duration', '1s', ...extra, `--${flag}`, v]
        if (flag === 'target') args.splice(1, 2)
        if (flag === 'allow-host') args.splice(2, 1, 'http://shop.example.com')
        out.push({
          name: `${command} --${flag} ${JSON.stringify(v)}`,
          entry: 'cli',
          args,
          mentions: `--${flag}`
        })
      }
  // More of the same: random words and numbers in random numeric flags.
  const words = ['NaN', 'Infinity', '-0', '0x10', '1_000', '１', '\u00e9', '%', '${{ x }}', '1e308', '2^31']
  for (let i = 0; i < 24; i++) {
    const flag = pick(['vus', 'duration', 'ramp-up', 'tasks', 'interval'])
    const v = pick(words)
    out.push({
      name: `run --${flag} ${JSON.stringify(v)} (random ${i})`,
      entry: 'cli',
      args: ['run', '--target', TARGET, `--${flag}`, v],
      mentions: `--${flag}`
    })
  }
  const gateFlags: [string, string[]][] = [
    ['replicates', ['0', '21', 'x']],
    ['confirm-replicates', ['-1', '21']],
    ['max-baselines', ['1', 'x']],
    ['min-baselines', ['0', '1001']],
    ['min-effect', ['lots', '0', '100%']],
    ['alpha', ['2', '0.5', 'x']],
    ['provisional-threshold', ['0', 'y']]
  ]
  for (const [flag, values] of gateFlags)
    for (const v of values)
      out.push({
        name: `gate --${flag} ${v}`,
        entry: 'cli',
        args: ['gate', '--target', TARGET, `--${flag}`, v],
        mentions: `--${flag}`
      })
  for (const unknown of ['--vu', '--target-url', '--thresholds', '-x'])
    out.push({ name: `run ${unknown}`, entry: 'cli', args: ['run', unknown, '1'], mentions: unknown })
  for (const t of ['p95<3', 'banana', 'p(95)<<3', 'rate<'])
    out.push({
      name: `run --threshold ${t}`,
      entry: 'cli',
      args: ['run', '--target', TARGET, '--threshold', t],
      mentions: '--threshold'
    })
  return out
}

// ---------------------------------------------------------------------------------------------
// Bad perf-gate.yml files.

function configCases(): Case[] {
  const good = { target: TARGET, requests: ['GET /a'], vus: 1, duration: '1s' }
  const fieldValues: [string, unknown][] = [
    ['vus', 'ten'],
    ['vus', 0],
    ['vus', 1e12],
    ['duration', '0'],
    ['duration', '200h'],
    ['duration', '0.0001s'],
    ['ramp-up', 'later'],
    ['tasks', 0],
    ['tasks', 1000],
    ['interval', '10ms'],
    ['interval', '5m'],
    ['thresholds', ['p95 < 3']],
    ['thresholds', 'p(95)<3'],
    ['requests', ['GET no-slash']],
    ['requests', [{ path: '/a', verb: 'GET' }]],
    ['env', { A: { nested: 1 } }],
    ['engine', 'gatling'],
    ['target', 'http://shop.example.com'],
    ['target', 42],
    ['stages', [{ duration: '10s', target: 1e12 }]],
    ['stages', [{ duration: '0s', target: 1 }]],
    [
      'stages',
      [
        { duration: '100h', target: 1 },
        { duration: '100h', target: 1 }
      ]
    ],
    ['stages', 'ramp'],
    ['profile', 'nope'],
    ['profile', { name: 'stress', steps: 'many' }],
    ['bogus', 1]
  ]
  const out: Case[] = fieldValues.map(([k, v]) => ({
    name: `perf-gate.yml ${k}: ${JSON.stringify(v)}`,
    entry: 'cli' as const,
    args: ['run'],
    files: { 'perf-gate.yml': JSON.stringify({ scenarios: { s: { ...good, [k]: v } } }) },
    mentions: 'perf-gate.yml'
  }))
  const raw = [
    'scenarios: [',
    'scenarios:\n  s:\n    vus: 1\n    vus: 2\n',
    '- a list\n',
    'scenarios:\n\ts: {}\n',
    'scenarios: 3\n',
    'allowed-hosts: [http://x]\nscenarios: {s: {target: "http://127.0.0.1:9"}}\n',
    '\u0000\u0001binary'
  ]
  for (const text of raw)
    out.push({
      name: `perf-gate.yml ${JSON.stringify(text.slice(0, 20))}`,
      entry: 'cli',
      args: ['run'],
      files: { 'perf-gate.yml': text },
      mentions: 'perf-gate.yml'
    })
  return out
}

// ---------------------------------------------------------------------------------------------
// Bad result files.

function k6Line(ms: number | string, value: number | string, name = 'GET /a'): string {
  const time = typeof ms === 'number' ? new Date(ms).toISOString() : ms
  return JSON.stringify({
    metric: 'http_req_duration',
    type: 'Point',
    data: { time, value, tags: { name, status: '200' } }
  })
}

/** A valid perf-gate task result with a few labels and intervals, to mutate. */
function taskDoc(): TaskResult {
  const rec = new TaskRecorder()
  for (let i = 0; i < 200; i++)
    rec.sample({ label: `GET /l${i % 3}`, endMs: T0 + i * 50, latencyUs: 1000 + ((i * 7919) % 5000) })
  return rec.finish(defaultTaskMeta({ engine: 'http', startedMs: T0, endedMs: T0 + 10_000 }))
}

function resultFiles(): [string, string | Buffer][] {
  const out: [string, string | Buffer][] = []
  // k6 JSON: far-apart points, huge or negative latencies, timestamps beyond 2100 or before 1970.
  for (let i = 0; i < 12; i++) {
    const years = 1 + Math.floor(r() * 30)
    out.push([
      `k6-span-${i}.json`,
      [k6Line(T0, 1), k6Line(T0 + years * 365 * 86_400_000, 1)].join('\n') + '\n'
    ])
  }
  for (const v of [1e308, 1e20, 9e15, 86_400_001, -1, -1e-9])
    out.push([`k6-latency-${v}.json`, k6Line(T0, v) + '\n'])
  for (const t of ['+275760-09-13T00:00:00Z', '2200-01-01T00:00:00Z', '1960-01-01T00:00:00Z'])
    out.push([`k6-time-${t.slice(0, 5)}.json`, k6Line(t, 1) + '\n'])
  // JTL: timestamps near 1e20, latencies out of range, an empty one.
  for (const [ts, el] of [
    ['100000000000000000000', '5'],
    ['99999999999999', '5'],
    [String(T0), '99999999999']
  ])
    out.push([
      `jtl-${ts.length}-${el.length}.jtl`,
      `${JTL_HEADER}\n${ts},${el},a,200,OK,t,text,true,10,1,1,4\n`
    ])
  out.push(['header-only.jtl', JTL_HEADER + '\n'])
  // Locust NDJSON far apart.
  out.push([
    'locust-span.ndjson',
    [
      { request_type: 'GET', name: '/a', response_time: 3, start_time: T0 / 1000 },
      { request_type: 'GET', name: '/a', response_time: 3, start_time: T0 / 1000 + 5e8 }
    ]
      .map(x => JSON.stringify(x))
      .join('\n') + '\n'
  ])
  // Files that are not results at all.
  out.push(['empty.json', ''])
  out.push([
    'png.json',
    Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]), Buffer.alloc(200)])
  ])
  out.push(['truncated.json.gz', gzipSync(Buffer.from(k6Line(T0, 1).repeat(50))).subarray(0, 30)])
  out.push(['words.txt', 'hello world\n'])
  out.push(['array.json', '[1,2,3]\n'])
  // perf-gate results, mutated.
  const base = taskDoc()
  const label = Object.keys(base.labels)[0]
  const mutations: [string, (t: TaskResult) => void][] = [
    ['count', t => (t.labels[label].requests[0] += 1)],
    ['count-zero', t => (t.labels[label].requests[1] = 0)],
    ['maxus', t => (t.labels[label].maxUs[0] = 1e308)],
    ['sumus', t => (t.labels[label].sumUs[0] = 1e300)],
    ['started', t => (t.task.startedMs = 1e20)],
    ['ended', t => (t.task.endedMs = -5)],
    ['steady', t => (t.task.steady = { startMs: 0, endMs: 1e19 })],
    ['start', t => (t.labels[label].start = 1e14)],
    ['idx-far', t => (t.labels[label].idx[t.labels[label].idx.length - 1] = 1e9)],
    ['idx-order', t => (t.labels[label].idx[1] = 0)],
    ['hist', t => (t.labels[label].hist = 'AAAA')],
    ['schema', t => Object.assign(t, { schema: 'perf-gate/other' })],
    ['version', t => Object.assign(t, { version: 99 })],
    ['interval', t => (t.intervalMs = 0)],
    ['requests-type', t => Object.assign(t.labels[label], { requests: 'many' })],
    ['users', t => (t.users = { start: 1e15, idx: [0], values: [1] })]
  ]
  for (const [name, mutate] of mutations) {
    const doc = structuredClone(base)
    mutate(doc)
    out.push([`result-${name}.json`, JSON.stringify(doc)])
  }
  out.push(['result-truncated.json', JSON.stringify(base).slice(0, 300)])
  return out
}

function fileCases(): Case[] {
  const out: Case[] = []
  const files = resultFiles()
  for (const [name, content] of files) {
    out.push({
      name: `summarize ${name}`,
      entry: 'cli',
      args: ['summarize', name],
      files: { [name]: content },
      mentions: name
    })
    out.push({
      name: `gate --baseline --results ${name}`,
      entry: 'cli',
      args: ['gate', '--results', name, '--baseline', '--baseline-store', 'dir:store'],
      files: { [name]: content },
      mentions: name
    })
  }
  out.push({
    name: 'summarize missing.json',
    entry: 'cli',
    args: ['summarize', 'missing.json'],
    mentions: 'missing.json'
  })
  return out
}

// ---------------------------------------------------------------------------------------------
// The action.

function actionCases(): Case[] {
  const out: Case[] = []
  const base = { target: TARGET, requests: 'GET /a', duration: '1s' }
  for (const [flag, values] of Object.entries(BAD_VALUES)) {
    const input = INPUT_OF[flag]
    for (const v of values.filter(x => x !== '')) {
      const inputs: Record<string, string> = { ...base, [input]: v }
      if (flag === 'multiplier' || flag === 'profile-param') inputs.profile = 'stress'
      if (flag === 'profile-param') inputs['profile-params'] = v
      if (flag === 'allow-host') inputs.target = 'http://shop.example.com'
      if (flag === 'engine' || flag === 'target') delete inputs.requests
      out.push({
        name: `action ${input}: ${JSON.stringify(v)}`,
        entry: 'action',
        inputs,
        mentions: `input '${input}'`
      })
    }
  }
  const plain: [string, string[]][] = [
    ['mode', ['load', 'GATE']],
    ['backend', ['aws', 'remote']],
    ['replicates', ['0', '21', 'two']],
    ['confirm-replicates', ['-1', '99']],
    ['max-baselines', ['1']],
    ['min-baselines', ['1', 'x']],
    ['min-effect', ['lots', '0']],
    ['alpha', ['0.9', 'x']],
    ['provisional-threshold', ['x']],
    ['fail-on-inconclusive', ['maybe']],
    ['comment', ['sure']],
    ['check-run', ['2']],
    ['artifact', ['yes please']],
    ['thresholds', ['p95 < 3', 'banana']],
    ['target-rps', ['-1', 'x']],
    ['instances', ['0', 'x']]
  ]
  for (const [input, values] of plain)
    for (const v of values)
      out.push({
        name: `action ${input}: ${v}`,
        entry: 'action',
        inputs: { ...base, [input]: v },
        mentions: `input '${input}'`
      })
  for (const [tasks, vus] of [
    ['3', '2'],
    ['256', '10']
  ])
    out.push({
      name: `action tasks: ${tasks} with vus: ${vus}`,
      entry: 'action',
      inputs: { ...base, tasks, vus },
      mentions: "input 'tasks'"
    })
  out.push({
    name: 'action backend none without results',
    entry: 'action',
    inputs: { backend: 'none' },
    mentions: "input 'results'"
  })
  out.push({
    name: 'action results with backend local',
    entry: 'action',
    inputs: { backend: 'local', results: 'r.json' },
    files: { 'r.json': k6Line(T0, 1) },
    mentions: "input 'results'"
  })
  out.push({
    name: 'action results: missing file',
    entry: 'action',
    inputs: { results: 'nothing-here.json' },
    mentions: 'nothing-here.json'
  })
  // Bad result files through the results input (every fourth of the generated files).
  resultFiles()
    .filter((_, i) => i % 4 === 0)
    .forEach(([name, content]) =>
      out.push({
        name: `action results: ${name}`,
        entry: 'action',
        inputs: { results: name },
        files: { [name]: content },
        mentions: name
      })
    )
  out.push({
    name: 'action config: invalid perf-gate.yml',
    entry: 'action',
    inputs: {},
    files: { 'perf-gate.yml': 'scenarios: [' },
    mentions: 'perf-gate.yml'
  })
  out.push({
    name: 'action config: missing named file',
    entry: 'action',
    inputs: { config: 'load/missing.yml' },
    mentions: 'load/missing.yml'
  })
  return out
}

const CASES: Case[] = [...flagCases(), ...configCases(), ...fileCases(), ...actionCases()]
const COUNTS = {
  total: CASES.length,
  cli: CASES.filter(c => c.entry === 'cli').length,
  action: CASES.filter(c => c.entry === 'action').length
}

describe('bad-input fuzzing through the bundled CLI and action', () => {
  let gh: FakeGitHub
  let work: string
  beforeAll(async () => {
    gh = await startFakeGitHub()
    work = mkdtempSync(join(tmpdir(), 'perf-gate-fuzz-'))
  })
  afterAll(async () => {
    await gh?.close()
    if (work) rmSync(work, { recursive: true, force: true })
  })

  it('generates at least 300 cases, both entry points', () => {
    // The counts README.md reports (section Reliability).
    expect(COUNTS).toEqual({ total: 353, cli: 265, action: 88 })
    expect(new Set(CASES.map(c => c.name)).size).toBe(CASES.length)
  })

  async function runCase(c: Case, i: number): Promise<string | null> {
    const dir = join(work, `case-${i}`)
    mkdirSync(dir)
    for (const [name, content] of Object.entries(c.files ?? {})) writeFileSync(join(dir, name), content)
    const before = readdirSync(dir).sort()
    const problems: string[] = []
    if (c.entry === 'cli') {
      const res = await runCli(c.args!, { cwd: dir, timeoutMs: 30_000 })
      const lines = res.stderr.split('\n').filter(l => l.trim() !== '')
      if (res.code !== 2) problems.push(`exit ${res.code}`)
      if (res.stdout !== '') problems.push(`stdout ${JSON.stringify(res.stdout.slice(0, 200))}`)
      if (lines.length !== 1) problems.push(`${lines.length} stderr lines`)
      if (!lines.some(l => l.includes(c.mentions))) problems.push(`no mention of ${c.mentions}`)
      if (/\n\s+at /.test(res.stderr)) problems.push('stack trace')
      if (problems.length) problems.push(`stderr: ${res.stderr.slice(0, 300)}`)
    } else {
      const posts = gh.requests.filter(q => q.method !== 'GET').length
      const res = await runActionOnce(
        join(dir, 'ws'),
        { 'github-token': 'ghs_fake', 'baseline-store': 'dir:store', artifact: 'false', ...c.inputs },
        { apiUrl: gh.url, files: c.files, timeoutMs: 30_000 }
      )
      const errors = errorLines(res.stdout)
      if (res.code !== 1) problems.push(`exit ${res.code}`)
      if (errors.length !== 1) problems.push(`${errors.length} ::error:: lines`)
      if (!errors.some(l => l.includes(c.mentions))) problems.push(`no mention of ${c.mentions}`)
      if (c.mentions.startsWith('input ') && /(^|\s)--[a-z]/.test(errors.join('\n')))
        problems.push('names a CLI flag')
      if (/\n\s+at /.test(res.stdout)) problems.push('stack trace')
      if (gh.requests.filter(q => q.method !== 'GET').length !== posts) problems.push('posted to GitHub')
      const left = readdirSync(join(dir, 'ws')).filter(f => !f.startsWith('.') && !(c.files && f in c.files))
      if (left.length) problems.push(`left ${left.join(', ')} in the workspace`)
      if (problems.length) problems.push(`output: ${errors.join(' | ') || res.stdout.slice(-300)}`)
    }
    const after = readdirSync(dir).sort()
    if (c.entry === 'cli' && after.join('/') !== before.join('/')) problems.push(`wrote ${after.join(', ')}`)
    return problems.length ? `${c.name}: ${problems.join('; ')}` : null
  }

  it(`every case ends in the documented exit code, names what was wrong, stores nothing`, async () => {
    const failures: string[] = []
    let next = 0
    const worker = async () => {
      while (next < CASES.length) {
        const i = next++
        const f = await runCase(CASES[i], i)
        if (f) failures.push(f)
      }
    }
    await Promise.all([worker(), worker(), worker()])
    expect(failures).toEqual([])
  }, 600_000)
})
