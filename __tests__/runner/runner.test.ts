import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mergeTasks } from '../../src/results/merge.js'
import { readResultFile } from '../../src/results/io.js'
import { ResultView } from '../../src/results/query.js'
import type { TaskResult } from '../../src/results/model.js'
import { runTask, runnerMain } from '../../src/runner/runner.js'
import { TaskSpecError, type TaskSpecInput } from '../../src/runner/spec.js'
import { startTarget, type TargetServer } from '../../src/target/server.js'

let target: TargetServer
let dir: string

beforeAll(async () => {
  target = await startTarget({ port: 0, seed: 11, maxSeconds: 300 })
  dir = mkdtempSync(join(tmpdir(), 'perf-gate-runner-'))
})
afterAll(async () => {
  await target.close()
  rmSync(dir, { recursive: true, force: true })
})

let n = 0
function spec(over: Partial<TaskSpecInput> = {}): TaskSpecInput {
  n++
  return {
    version: 1,
    runId: 'run-1',
    scenario: 'smoke',
    fingerprint: 'fp',
    backend: 'local',
    region: 'local',
    taskIndex: 0,
    taskCount: 1,
    engine: 'http',
    requests: [
      { label: 'fast', path: '/fast' },
      { label: 'flaky', path: '/flaky' }
    ],
    load: { vus: 2, durationS: 1.5, rampUpS: 0, targetUrl: target.url },
    share: { vus: 2, weight: 1 },
    startAtMs: null,
    hardMaxS: 30,
    out: join(dir, `task-${n}.json`),
    ...over
  }
}

const requestsOf = (t: TaskResult) => new ResultView([t]).stats({ window: 'all' }).requests
const servedTotal = () => target.stats().served

describe('runTask with the http engine', () => {
  it('writes one valid task result with the samples, the metadata and progress lines', async () => {
    const progress = join(dir, 'progress.ndjson')
    const s = spec({
      progress,
      steady: { fromS: 0.5, toS: 1.5 },
      share: { vus: 2, weight: 0.5 },
      taskCount: 2,
      taskIndex: 1
    })
    const before = servedTotal()
    const privateTmp = mkdtempSync(join(dir, 'tmp-'))
    const oldTmp = process.env.TMPDIR
    process.env.TMPDIR = privateTmp
    let result: TaskResult
    try {
      result = await runTask(s)
    } finally {
      if (oldTmp === undefined) delete process.env.TMPDIR
      else process.env.TMPDIR = oldTmp
    }
    const served = servedTotal() - before
    // The task's work directory was created there and removed at the end.
    expect(readdirSync(privateTmp)).toEqual([])

    expect(result.task.status).toBe('ok')
    const [fromFile] = await readResultFile(s.out)
    expect(fromFile).toEqual(result)
    expect(requestsOf(result)).toBe(served)
    expect(Object.keys(result.labels).sort()).toEqual(['fast', 'flaky'])

    const t = result.task
    expect(t.runId).toBe('run-1')
    expect(t.engine).toBe('http')
    expect(t.engineVersion).toMatch(/^autocannon \d+\.\d+\.\d+/)
    expect(t.taskIndex).toBe(1)
    expect(t.taskCount).toBe(2)
    expect(t.share).toEqual({ vus: 2, weight: 0.5 })
    expect(t.plannedStartMs).toBeNull()
    expect(t.startedMs).not.toBeNull()
    expect(t.endedMs! - t.startedMs!).toBeGreaterThanOrEqual(1400)
    expect(t.steady).toEqual({ startMs: t.startedMs! + 500, endMs: t.startedMs! + 1500 })
    expect(t.exitCode).toBe(0)

    const lines = readFileSync(progress, 'utf8')
      .trim()
      .split('\n')
      .map(l => JSON.parse(l))
    expect(lines.length).toBeGreaterThanOrEqual(2)
    for (const l of lines) {
      expect(l).toMatchObject({ taskIndex: 1, region: 'local' })
      expect(typeof l.t).toBe('number')
      expect(typeof l.rps).toBe('number')
    }
    const last = lines[lines.length - 1]
    expect(last.requests).toBe(served)
    expect(last.failures).toBe(new ResultView([result]).stats({ window: 'all' }).failures)
    expect(lines.some(l => l.requests > 0 && l.requests < served && l.rps > 0)).toBe(true)
  })

  it('waits for the start barrier', async () => {
    const startAtMs = Date.now() + 1500
    const result = await runTask(
      spec({ startAtMs, load: { vus: 1, durationS: 1, rampUpS: 0, targetUrl: target.url } })
    )
    expect(result.task.status).toBe('ok')
    expect(result.task.plannedStartMs).toBe(startAtMs)
    expect(result.task.startedMs!).toBeGreaterThanOrEqual(startAtMs)
    expect(result.task.startedMs! - startAtMs).toBeLessThan(1000)
  })

  it('uses an injected clock for the barrier', async () => {
    let fake = 5_000_000
    const slept: number[] = []
    const result = await runTask(
      spec({
        startAtMs: 5_000_000 + 10 * 60_000,
        load: { vus: 1, durationS: 0.5, rampUpS: 0, targetUrl: target.url }
      }),
      {
        now: () => fake,
        sleep: async ms => {
          slept.push(ms)
          fake += ms
        }
      }
    )
    expect(slept.reduce((a, b) => a + b, 0)).toBe(10 * 60_000)
    expect(Math.max(...slept)).toBeLessThanOrEqual(60_000)
    expect(result.task.startedMs).toBe(5_000_000 + 10 * 60_000)
    expect(result.task.status).toBe('ok')
  })

  it('two tasks merged equal the union of their samples', async () => {
    const before = target.stats()
    const [a, b] = await Promise.all([
      runTask(spec({ taskIndex: 0, taskCount: 2 })),
      runTask(
        spec({
          taskIndex: 1,
          taskCount: 2,
          requests: [
            { label: 'fast', path: '/fast' },
            { label: 'slow', path: '/slow' }
          ]
        })
      )
    ])
    const after = target.stats()
    expect(a.task.status).toBe('ok')
    expect(b.task.status).toBe('ok')
    const merged = mergeTasks([a, b])
    const mv = new ResultView([merged])
    const av = new ResultView([a])
    const bv = new ResultView([b])
    const ms = mv.stats({ window: 'all' })
    expect(ms.requests).toBe(av.stats({ window: 'all' }).requests + bv.stats({ window: 'all' }).requests)
    expect(ms.requests).toBe(after.served - before.served)
    expect(ms.failures).toBe(av.stats({ window: 'all' }).failures + bv.stats({ window: 'all' }).failures)
    expect(ms.failuresByKind.http_5xx).toBe(av.stats({ window: 'all' }).failuresByKind.http_5xx)
    expect(bv.stats({ window: 'all' }).failuresByKind.http_5xx).toBe(0)

    const mc = mv.counts()
    const ac = av.counts()
    const bc = bv.counts()
    expect(mc.total).toBe(ac.total + bc.total)
    expect(mc.total).toBe(ms.requests)
    const len = Math.max(mc.counts.length, ac.counts.length, bc.counts.length)
    let mismatches = 0
    for (let i = 0; i < len; i++)
      if ((mc.counts[i] ?? 0) !== (ac.counts[i] ?? 0) + (bc.counts[i] ?? 0)) mismatches++
    expect(mismatches).toBe(0)
    // Per label: 'fast' comes from both tasks.
    const fast = mv.stats({ window: 'all', label: 'fast' }).requests
    expect(fast).toBe(
      av.stats({ window: 'all', label: 'fast' }).requests +
        bv.stats({ window: 'all', label: 'fast' }).requests
    )
    expect(fast).toBe((after.byRoute['/fast'] ?? 0) - (before.byRoute['/fast'] ?? 0))
  })

  it('stops on abort and still writes the result (status aborted)', async () => {
    const ac = new AbortController()
    setTimeout(() => ac.abort('SIGTERM'), 800)
    const t0 = Date.now()
    const s = spec({ load: { vus: 2, durationS: 60, rampUpS: 0, targetUrl: target.url } })
    const result = await runTask(s, { signal: ac.signal })
    expect(Date.now() - t0).toBeLessThan(8000)
    expect(result.task.status).toBe('aborted')
    expect(result.task.message).toContain('SIGTERM')
    expect(requestsOf(result)).toBeGreaterThan(0)
    const [fromFile] = await readResultFile(s.out)
    expect(fromFile.task.status).toBe('aborted')
  })

  it('an abort during the start barrier writes an aborted result without running', async () => {
    const ac = new AbortController()
    setTimeout(() => ac.abort('SIGINT'), 200)
    const before = servedTotal()
    const result = await runTask(spec({ startAtMs: Date.now() + 60_000 }), { signal: ac.signal })
    expect(result.task.status).toBe('aborted')
    expect(result.task.startedMs).toBeNull()
    expect(servedTotal()).toBe(before)
    expect(result.task.message).toMatch(/before http started/)
  })

  it('stops at the hard maximum (status timeout)', async () => {
    const t0 = Date.now()
    const result = await runTask(
      spec({ hardMaxS: 1, load: { vus: 1, durationS: 60, rampUpS: 0, targetUrl: target.url } })
    )
    expect(Date.now() - t0).toBeLessThan(6000)
    expect(result.task.status).toBe('timeout')
    expect(result.task.message).toMatch(/hard maximum of 1 s/)
    expect(requestsOf(result)).toBeGreaterThan(0)
  })

  it('reports no-samples when the engine completes without any', async () => {
    const result = await runTask(spec(), {
      engine: {
        name: 'http',
        kind: 'in-process',
        version: async () => 'none',
        run: async () => ({ exitCode: 0, message: 'did nothing' })
      }
    })
    expect(result.task.status).toBe('no-samples')
    expect(result.task.message).toContain('produced no samples')
  })

  it('reports an engine that throws as engine-error, with a result file', async () => {
    const s = spec()
    const result = await runTask(s, {
      engine: {
        name: 'http',
        kind: 'in-process',
        version: async () => 'x',
        run: async () => {
          throw new Error('boom')
        }
      }
    })
    expect(result.task.status).toBe('engine-error')
    expect(result.task.message).toContain('boom')
    expect((await readResultFile(s.out))[0].task.status).toBe('engine-error')
  })

  it('gives up on an in-process engine that ignores the abort, and drops its later samples', async () => {
    let timer: NodeJS.Timeout | undefined
    const t0 = Date.now()
    const result = await runTask(spec({ hardMaxS: 0.5 }), {
      killGraceMs: 300,
      engine: {
        name: 'http',
        kind: 'in-process',
        version: async () => 'stuck 1',
        run: (_ctx, sink) =>
          new Promise(() => {
            timer = setInterval(() => sink.sample({ label: 'x', endMs: Date.now(), latencyUs: 1000 }), 10)
          })
      }
    })
    try {
      expect(Date.now() - t0).toBeLessThan(3000)
      expect(result.task.status).toBe('timeout')
      expect(result.task.engineVersion).toBe('stuck 1')
      const before = requestsOf(result)
      expect(before).toBeGreaterThan(0)
      // The engine keeps emitting; nothing reaches the finished recorder (it would throw or change the result).
      await new Promise(r => setTimeout(r, 100))
      expect(requestsOf(result)).toBe(before)
    } finally {
      clearInterval(timer)
    }
  })

  it('an invalid request list ends as engine-error naming the request', async () => {
    const result = await runTask(spec({ requests: [{ method: 'BREW', path: '/pot' }] }))
    expect(result.task.status).toBe('engine-error')
    expect(result.task.exitCode).toBe(2)
    expect(result.task.message).toContain('requests[0].method')
  })

  it('refuses an invalid spec, naming the field', async () => {
    const bad = spec({ load: { vus: 0, durationS: 1, rampUpS: 0, targetUrl: target.url } })
    await expect(runTask(bad)).rejects.toThrow(TaskSpecError)
    await expect(runTask(bad)).rejects.toThrow(/field 'load\.vus'/)
    expect(existsSync(bad.out)).toBe(false)
  })
})

describe('runnerMain (the process entry)', () => {
  const io = () => {
    const out: string[] = []
    const err: string[] = []
    return { out, err, io: { log: (l: string) => out.push(l), error: (l: string) => err.push(l) } }
  }

  it('runs a spec file and exits 0 when the task is ok', async () => {
    const s = spec({ load: { vus: 1, durationS: 0.5, rampUpS: 0, targetUrl: target.url } })
    const file = join(dir, 'spec-ok.json')
    writeFileSync(file, JSON.stringify(s))
    const { out, err, io: sink } = io()
    const code = await runnerMain([file], {}, sink)
    expect(err).toEqual([])
    expect(code).toBe(0)
    expect(out.join('\n')).toContain(' ok, ')
    expect((await readResultFile(s.out))[0].task.status).toBe('ok')
  })

  it('reads the spec from PERF_GATE_TASK_SPEC and exits 1 when the task is not ok', async () => {
    const s = spec({ hardMaxS: 0.5, load: { vus: 1, durationS: 30, rampUpS: 0, targetUrl: target.url } })
    const { out, io: sink } = io()
    const code = await runnerMain([], { PERF_GATE_TASK_SPEC: JSON.stringify(s) }, sink)
    expect(code).toBe(1)
    expect(out.join('\n')).toContain('timeout')
    expect((await readResultFile(s.out))[0].task.status).toBe('timeout')
  })

  it('on SIGTERM stops the engine, writes an aborted result and exits 1', async () => {
    const s = spec({ load: { vus: 1, durationS: 60, rampUpS: 0, targetUrl: target.url } })
    const file = join(dir, 'spec-signal.json')
    writeFileSync(file, JSON.stringify(s))
    const { err, io: sink } = io()
    const t0 = Date.now()
    const running = runnerMain([file], {}, sink)
    // Delivered to the runner's listener the way a real signal would be.
    setTimeout(() => process.emit('SIGTERM', 'SIGTERM'), 700)
    const code = await running
    expect(Date.now() - t0).toBeLessThan(8000)
    expect(code).toBe(1)
    expect(err.join('\n')).toContain('SIGTERM received')
    const [r] = await readResultFile(s.out)
    expect(r.task.status).toBe('aborted')
    expect(r.task.message).toContain('SIGTERM')
    expect(requestsOf(r)).toBeGreaterThan(0)
    expect(process.listenerCount('SIGTERM')).toBe(0)
  })

  it('exits 2 with one line naming the field for a bad spec', async () => {
    const { err, io: sink } = io()
    const bad = { ...spec(), taskCount: 0 }
    expect(await runnerMain([], { PERF_GATE_TASK_SPEC: JSON.stringify(bad) }, sink)).toBe(2)
    expect(err).toHaveLength(1)
    expect(err[0]).toMatch(/^perf-gate runner: PERF_GATE_TASK_SPEC: field 'taskCount'/)
    expect(existsSync(bad.out)).toBe(false)
  })

  it('exits 2 for a missing spec, an unreadable file or invalid JSON', async () => {
    const a = io()
    expect(await runnerMain([], {}, a.io)).toBe(2)
    expect(a.err[0]).toContain('PERF_GATE_TASK_SPEC')
    const b = io()
    expect(await runnerMain([join(dir, 'nope.json')], {}, b.io)).toBe(2)
    expect(b.err[0]).toContain('nope.json')
    const c = io()
    expect(await runnerMain([], { PERF_GATE_TASK_SPEC: '{not json' }, c.io)).toBe(2)
    expect(c.err[0]).toContain('not valid JSON')
    expect([a, b, c].every(x => x.err.length === 1 && !x.err[0].includes('\n'))).toBe(true)
  })
})
