/**
 * Inputs that used to crash, hang or mislead, through the real entry points: the bundled CLI and
 * the bundled action as child processes. Each case ends in a clear verdict naming the file or
 * input, and nothing is stored.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { TaskResult } from '../../src/results/model.js'
import { startTarget, type TargetServer } from '../../src/target/server.js'
import { startFakeGitHub, type FakeGitHub } from '../helpers/fake-github.js'
import { errorLines, runActionOnce } from '../helpers/run-action.js'
import { expectUsageError, fixtures, runCli } from './spawn-cli.js'

const k6Json = resolve(fixtures, 'k6', 'v0.48.0-default', 'results.json')
const jtlFull = resolve(fixtures, 'jmeter', '2.13-full', 'results.jtl')
const jtlDefault = resolve(fixtures, 'jmeter', '2.13-default', 'results.jtl')

let tmp: string
let gh: FakeGitHub
let target: TargetServer
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'perf-gate-hardening-'))
  gh = await startFakeGitHub()
  target = await startTarget({ port: 0, maxSeconds: 300 })
})
afterAll(async () => {
  await gh?.close()
  await target?.close()
  rmSync(tmp, { recursive: true, force: true })
})

let n = 0
function file(name: string, content: string | Buffer): string {
  const dir = join(tmp, `f${++n}`)
  mkdirSync(dir)
  const p = join(dir, name)
  writeFileSync(p, content)
  return p
}

function k6Point(time: string, value: number, name = 'GET /a'): string {
  return JSON.stringify({
    metric: 'http_req_duration',
    type: 'Point',
    data: { time, value, tags: { name, method: 'GET', status: '200' } }
  })
}

/** A perf-gate task result made by summarize's own reader, to mutate. */
async function taskResult(): Promise<TaskResult> {
  const out = join(tmp, 'task-source')
  mkdirSync(out, { recursive: true })
  // A run of the http engine writes a real run result; its first task is the document to mutate.
  const r = await runCli(
    [
      'run',
      '--target',
      target.url,
      '--request',
      'GET /fast',
      '--vus',
      '2',
      '--duration',
      '2s',
      '--out',
      join(out, 'run.json'),
      '--json'
    ],
    { cwd: out, timeoutMs: 60_000 }
  )
  expect(r.code).toBe(0)
  return JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).tasks[0]
}

describe('item 6: memory bounded by the samples, not the time span', () => {
  it('refuses a k6 file whose two points are ten years apart, naming the file and field', async () => {
    const f = file(
      'far.json',
      [k6Point('2016-11-25T05:50:05.514Z', 1), k6Point('2026-11-25T05:50:05.514Z', 1.2)].join('\n') + '\n'
    )
    const store = join(tmp, 'store-far')
    for (const args of [
      ['summarize', f],
      ['summarize', '--window', 'steady', f],
      ['gate', '--results', f, '--baseline-store', `dir:${store}`, '--baseline']
    ]) {
      const line = expectUsageError(await runCli(args, { cwd: tmp }), 'far.json')
      expect(line).toContain("field 'data.time'")
      expect(line).toContain('3,652 days')
      expect(line).toContain('at most 31 days')
    }
    expect(existsSync(store)).toBe(false)
  })
})

describe('item 7: many labels', () => {
  it('keeps 1,000 labels, folds the rest into (other) and says how to tag name', async () => {
    const lines: string[] = []
    for (let i = 0; i < 1500; i++)
      lines.push(
        k6Point(
          new Date(Date.UTC(2026, 10, 25, 5, 50, i % 60)).toISOString(),
          2,
          `http://127.0.0.1/items/${i}`
        )
      )
    const f = file('ids.json', lines.join('\n') + '\n')
    const r = await runCli(['summarize', '--json', f], { cwd: tmp })
    expect(r.code).toBe(0)
    const summary = JSON.parse(r.stdout) as { labels: Record<string, { requests: number }> }
    expect(Object.keys(summary.labels)).toHaveLength(1001)
    expect(summary.labels['(other)'].requests).toBe(500)
    expect(r.stderr).toContain('ids.json: more than 1000 distinct request labels')
    expect(r.stderr).toContain("tags: { name: 'GET /items/:id' }")
  })
})

describe('item 8: bounds on the load', () => {
  const cases: [string[], string, string][] = [
    [['--vus', '1000000'], '--vus', '100000'],
    [['--duration', '200h'], '--duration', '7 days'],
    [['--duration', '0.0001s'], '--duration', 'rounds to zero'],
    [['--ramp-up', '0.1ms'], '--ramp-up', 'rounds to zero'],
    [['--duration', '100h', '--ramp-up', '100h'], '--duration', '7 days'],
    [['--vus', '100000', '--profile', 'stress', '--multiplier', '5'], '--multiplier', '100000']
  ]
  it.each(cases)('run %j is refused naming the flag and the limit', async (args, flag, limit) => {
    const dir = mkdtempSync(join(tmp, 'run-'))
    const line = expectUsageError(
      await runCli(['run', '--target', target.url, ...args], { cwd: dir }),
      `perf-gate run: ${flag}:`
    )
    expect(line).toContain(limit)
    expect(readdirSync(dir)).toEqual([])
  })

  it('a stage target of 1e12 in perf-gate.yml is refused naming the field', async () => {
    const dir = mkdtempSync(join(tmp, 'run-'))
    writeFileSync(
      join(dir, 'perf-gate.yml'),
      `scenarios:\n  s:\n    target: ${target.url}\n    stages:\n      - { duration: 10s, target: 1000000000000 }\n`
    )
    const line = expectUsageError(
      await runCli(['run'], { cwd: dir }),
      'perf-gate.yml: scenarios.s.stages[0].target'
    )
    expect(line).toContain('100000')
    expect(readdirSync(dir)).toEqual(['perf-gate.yml'])
  })
})

describe('item 9: implausible values in result files', () => {
  it('refuses a latency of 1e308 ms, naming the file and the field', async () => {
    const f = file('huge.json', k6Point('2026-11-25T05:50:05.514Z', 1e308) + '\n')
    const line = expectUsageError(await runCli(['summarize', f], { cwd: tmp }), 'huge.json')
    expect(line).toContain("field 'data.value' of request 1")
  })

  it('refuses a JTL timestamp near 1e20, naming the file and the field', async () => {
    const f = file(
      'future.jtl',
      'timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,bytes,grpThreads,allThreads,Latency\n' +
        '100000000000000000000,5,a,200,OK,t,text,true,10,1,1,4\n'
    )
    const line = expectUsageError(await runCli(['summarize', f], { cwd: tmp }), 'future.jtl')
    expect(line).toContain("field 'timeStamp'")
    expect(line).toContain('between 1970 and 2100')
  })

  it('refuses result files whose histogram count disagrees, or whose times are out of range', async () => {
    const task = await taskResult()
    const label = Object.keys(task.labels)[0]
    const variants: [string, (t: TaskResult) => void, string][] = [
      ['count.json', t => (t.labels[label].requests[0] += 1), `labels.${label}.`],
      ['started.json', t => (t.task.startedMs = 1e20), "field 'task.startedMs'"],
      ['maxus.json', t => (t.labels[label].maxUs[0] = 1e308), `field 'labels.${label}.maxUs[0]'`]
    ]
    for (const [name, mutate, field] of variants) {
      const doc = structuredClone(task)
      mutate(doc)
      const f = file(name, JSON.stringify(doc))
      const store = join(tmp, `store-${name}`)
      const line = expectUsageError(
        await runCli(['gate', '--results', f, '--baseline-store', `dir:${store}`, '--baseline'], {
          cwd: tmp
        }),
        name
      )
      expect(line).toContain(field)
      expect(existsSync(store)).toBe(false)
    }
  }, 90_000)
})

describe('item 12: messages and formats', () => {
  it('perf-gate run records and judges --threshold, and refuses a bad one naming the flag', async () => {
    const dir = mkdtempSync(join(tmp, 'run-'))
    const args = ['run', '--target', target.url, '--request', 'GET /fast', '--vus', '1', '--duration', '1s']
    const held = await runCli([...args, '--threshold', 'p(95)<5000', '--out', 'r.json'], {
      cwd: dir,
      timeoutMs: 60_000
    })
    expect(held.code).toBe(0)
    const run = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')) as { tasks: TaskResult[] }
    expect(run.tasks[0].task.thresholds).toContainEqual({ metric: 'http_req_duration', expr: 'p(95)<5000' })
    expect(held.stdout).toMatch(
      /thresholds:\n {2}held {3}SLO "http_req_duration: p\(95\)<5000" held: p\(95\) = /
    )

    const crossed = await runCli(
      [...args, '--threshold', 'p(95)<5000', '--threshold', 'max<0.001', '--out', 'c.json'],
      {
        cwd: dir,
        timeoutMs: 60_000
      }
    )
    expect(crossed.code).toBe(1)
    expect(crossed.stdout).toContain('FAILED SLO "http_req_duration: max<0.001" failed')
    expect(crossed.stderr).toContain('perf-gate run: 1 threshold not met')

    const bad = mkdtempSync(join(tmp, 'run-'))
    expectUsageError(
      await runCli(['run', '--target', target.url, '--threshold', 'p95 under 5'], { cwd: bad }),
      '--threshold'
    )
    expect(readdirSync(bad)).toEqual([])
  }, 120_000)

  it('reads a JTL with Latin-1 text and one with a tab delimiter', async () => {
    const latin1 = file(
      'latin1.jtl',
      Buffer.from(readFileSync(jtlFull, 'utf8').replaceAll('/fast', '/caf\u00e9'), 'latin1')
    )
    const r = await runCli(['summarize', '--json', latin1], { cwd: tmp })
    expect(r.code).toBe(0)
    expect(Object.keys(JSON.parse(r.stdout).labels)).toContain('GET /caf\u00e9')

    const comma = await runCli(['summarize', '--json', jtlDefault], { cwd: tmp })
    const tab = file('tab.jtl', readFileSync(jtlDefault, 'utf8').replaceAll(',', '\t'))
    const t = await runCli(['summarize', '--json', tab], { cwd: tmp })
    expect(t.code).toBe(0)
    expect(JSON.parse(t.stdout).overall).toEqual(JSON.parse(comma.stdout).overall)
  })

  it('action errors name the action inputs, not CLI flags', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ requests: 'GET /fast' }, "input 'target': is required"],
      [{ target: target.url, requests: 'FETCH /x' }, "input 'requests':"],
      [{ target: 'http://shop.example.com', 'allowed-hosts': 'http://bad/' }, "input 'allowed-hosts':"],
      [{ target: target.url, vus: '1000000' }, "input 'vus': expected at most 100000"],
      [{ target: target.url, duration: '0.0001s' }, "input 'duration':"],
      [
        { target: target.url, requests: 'GET /fast', tasks: '5', vus: '2' },
        "input 'tasks': 5 tasks need at least 5 VUs"
      ]
    ]
    for (const [inputs, expected] of cases) {
      const store = join(tmp, `astore-${++n}`)
      const a = await runActionOnce(
        join(tmp, `action-${n}`),
        { ...inputs, 'github-token': 'ghs_fake', 'baseline-store': `dir:${store}`, artifact: 'false' },
        { apiUrl: gh.url }
      )
      expect(a.code).toBe(1)
      const errors = errorLines(a.stdout)
      expect(errors).toHaveLength(1)
      expect(errors[0]).toContain(expected)
      expect(a.stdout).not.toMatch(/--(target|request|allow-host|vus|duration)\b/)
      expect(a.stdout).not.toMatch(/\n\s+at /)
      expect(existsSync(store)).toBe(false)
    }
  }, 120_000)

  it('results imply backend none in the action; an explicit other backend is refused', async () => {
    const store = join(tmp, 'astore-results')
    const a = await runActionOnce(
      join(tmp, 'action-results'),
      {
        mode: 'gate',
        results: k6Json,
        scenario: 'imported',
        'github-token': 'ghs_fake',
        'baseline-store': `dir:${store}`,
        artifact: 'false',
        comment: 'false'
      },
      { apiUrl: gh.url }
    )
    // The fixture crosses its own k6 threshold on purpose: the verdict shows the file was gated.
    expect(a.outputs.verdict).toBe('FAIL')
    expect(errorLines(a.stdout)).toEqual([
      expect.stringContaining('k6 threshold "http_req_failed: rate<0.05" failed')
    ])
    expect(a.stdout).not.toContain('is required')

    const store2 = join(tmp, 'astore-results-local')
    const b = await runActionOnce(
      join(tmp, 'action-results-local'),
      { backend: 'local', results: k6Json, 'github-token': 'ghs_fake', 'baseline-store': `dir:${store2}` },
      { apiUrl: gh.url }
    )
    expect(b.code).toBe(1)
    expect(errorLines(b.stdout)[0]).toContain("input 'results': is only read with backend none")
    expect(existsSync(store2)).toBe(false)
  }, 120_000)
})
