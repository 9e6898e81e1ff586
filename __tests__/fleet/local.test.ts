import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { FleetError, LocalFleet, resolveRunnerEntry } from '../../src/fleet/local.js'
import { parseProgressLine } from '../../src/fleet/local-progress.js'
import type { FleetProgress } from '../../src/model/index.js'
import { taskSpecSchema, type TaskSpec } from '../../src/runner/spec.js'
import { startTarget, type TargetServer } from '../../src/target/server.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const runner = resolve(root, 'dist', 'runner', 'index.js')

let tmp: string
let target: TargetServer

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'perf-gate-fleet-'))
  target = await startTarget({ port: 0, maxSeconds: 120, seed: 7 })
})
afterAll(async () => {
  await target.close()
  rmSync(tmp, { recursive: true, force: true })
})

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function httpSpecs(n: number, vus: number, durationS: number): TaskSpec[] {
  return Array.from({ length: n }, (_, i) =>
    taskSpecSchema.parse({
      version: 1,
      runId: 'fleet-test',
      scenario: 'fleet',
      fingerprint: 'f',
      backend: 'local',
      region: 'local',
      taskIndex: i,
      taskCount: n,
      engine: 'http',
      requests: [
        { method: 'GET', path: '/fast' },
        { method: 'GET', path: '/slow' }
      ],
      load: { vus, durationS, rampUpS: 0, targetUrl: target.url },
      share: { vus },
      startAtMs: null,
      hardMaxS: durationS + 20,
      out: `unused-${i}.json`
    })
  )
}

/** A stand-in runner script, for the failure paths a real runner does not take on purpose. */
function script(name: string, body: string): string {
  const p = join(tmp, name)
  writeFileSync(p, body)
  return p
}

describe('LocalFleet with the real runner and the http engine', () => {
  it('runs two tasks from one start barrier, reports progress and reads both results', async () => {
    const before = target.stats().served
    const progress: FleetProgress[] = []
    const pids: number[] = []
    const workRoot = mkdtempSync(join(tmp, 'work-'))
    const fleet = new LocalFleet({
      runnerEntry: runner,
      tempRoot: workRoot,
      onSpawn: (_s, pid) => pids.push(pid)
    })
    const t0 = Date.now()
    const out = await fleet.run(
      { runId: 'fleet-test', tasks: httpSpecs(2, 2, 3), expectedTasks: 2 },
      { onProgress: p => progress.push(p) }
    )
    expect(out.missing).toEqual([])
    expect(out.aborted).toBe(false)
    expect(out.tasks).toHaveLength(2)
    expect(out.tasks.map(t => t.task.taskIndex).sort()).toEqual([0, 1])
    expect(out.tasks.every(t => t.task.status === 'ok')).toBe(true)
    // One common start barrier, about 1.5 s after the spawn.
    const planned = out.tasks.map(t => t.task.plannedStartMs)
    expect(planned[0]).not.toBeNull()
    expect(planned[0]).toBe(planned[1])
    expect(planned[0]! - t0).toBeGreaterThanOrEqual(1000)
    expect(planned[0]! - t0).toBeLessThan(4000)
    const recorded = out.tasks.reduce(
      (a, t) => a + Object.values(t.labels).reduce((b, s) => b + s.requests.reduce((x, y) => x + y, 0), 0),
      0
    )
    expect(recorded).toBeGreaterThan(0)
    expect(recorded).toBe(target.stats().served - before)
    // Progress: several reports, request counts never going down, all tasks finished at the end.
    expect(progress.length).toBeGreaterThanOrEqual(3)
    for (let i = 1; i < progress.length; i++)
      expect(progress[i].requests).toBeGreaterThanOrEqual(progress[i - 1].requests)
    const last = progress[progress.length - 1]
    expect(last.finished).toBe(2)
    expect(last.requests).toBe(recorded)
    // Nothing left behind: no runner alive, no temp directory.
    expect(pids).toHaveLength(2)
    expect(pids.filter(isAlive)).toEqual([])
    expect(readdirSync(workRoot)).toEqual([])
  }, 60_000)

  it('an abort forwards SIGINT and still collects what the runners wrote', async () => {
    const pids: number[] = []
    const fleet = new LocalFleet({ runnerEntry: runner, onSpawn: (_s, pid) => pids.push(pid) })
    const ac = new AbortController()
    let requestsAtAbort = 0
    const t0 = Date.now()
    const out = await fleet.run(
      { runId: 'fleet-abort', tasks: httpSpecs(2, 2, 60), expectedTasks: 2 },
      {
        signal: ac.signal,
        onProgress: p => {
          if (!ac.signal.aborted && p.requests > 20) {
            requestsAtAbort = p.requests
            ac.abort()
          }
        }
      }
    )
    expect(ac.signal.aborted).toBe(true)
    expect(out.aborted).toBe(true)
    expect(Date.now() - t0).toBeLessThan(30_000)
    expect(out.missing).toEqual([])
    expect(out.tasks).toHaveLength(2)
    expect(out.tasks.every(t => t.task.status === 'aborted')).toBe(true)
    const recorded = out.tasks.reduce(
      (a, t) => a + Object.values(t.labels).reduce((b, s) => b + s.requests.reduce((x, y) => x + y, 0), 0),
      0
    )
    expect(recorded).toBeGreaterThanOrEqual(requestsAtAbort)
    expect(pids.filter(isAlive)).toEqual([])
  }, 60_000)
})

describe('LocalFleet failure paths', () => {
  it('names a task whose runner died without a result, and keeps the others', async () => {
    const entry = script(
      'flaky-runner.mjs',
      `import { readFileSync, writeFileSync } from 'node:fs'
const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'))
if (spec.taskIndex === 1) { console.error('boom: engine binary not found'); process.exit(3) }
const doc = JSON.parse(readFileSync(${JSON.stringify(join(tmp, 'template.json'))}, 'utf8'))
doc.task.taskIndex = spec.taskIndex
doc.task.plannedStartMs = spec.startAtMs
writeFileSync(spec.out, JSON.stringify(doc))
`
    )
    const { TaskRecorder } = await import('../../src/results/recorder.js')
    const { defaultTaskMeta } = await import('../../src/results/model.js')
    const rec = new TaskRecorder()
    rec.sample({ label: 'GET /x', endMs: 1_700_000_000_000, latencyUs: 1500 })
    writeFileSync(join(tmp, 'template.json'), JSON.stringify(rec.finish(defaultTaskMeta({ engine: 'http' }))))
    const fleet = new LocalFleet({ runnerEntry: entry })
    const out = await fleet.run({ runId: 'r', tasks: httpSpecs(2, 2, 1), expectedTasks: 2 })
    expect(out.tasks).toHaveLength(1)
    expect(out.tasks[0].task.taskIndex).toBe(0)
    expect(out.tasks[0].task.plannedStartMs).toEqual(expect.any(Number))
    expect(out.missing).toEqual([
      {
        region: 'local',
        taskIndex: 1,
        reason: 'runner exited with code 3 and wrote no result: boom: engine binary not found'
      }
    ])
  }, 30_000)

  it('escalates to SIGKILL for a runner that ignores SIGINT and SIGTERM', async () => {
    const entry = script(
      'stubborn-runner.mjs',
      `process.on('SIGINT', () => {}); process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)\n`
    )
    const pids: number[] = []
    const fleet = new LocalFleet({
      runnerEntry: entry,
      stopGraceMs: 500,
      onSpawn: (_s, pid) => pids.push(pid)
    })
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 800)
    const t0 = Date.now()
    const out = await fleet.run(
      { runId: 'r', tasks: httpSpecs(1, 1, 60), expectedTasks: 1 },
      { signal: ac.signal }
    )
    expect(Date.now() - t0).toBeLessThan(15_000)
    expect(out.aborted).toBe(true)
    expect(out.tasks).toEqual([])
    expect(out.missing).toHaveLength(1)
    expect(out.missing[0].reason).toMatch(/^runner was killed by SIGKILL and wrote no result/)
    expect(pids.filter(isAlive)).toEqual([])
  }, 30_000)

  it('refuses to start without a runner and resolves the entry from the option or PERF_GATE_RUNNER', async () => {
    const missing = join(tmp, 'no-runner.js')
    await expect(
      new LocalFleet({ runnerEntry: missing }).run({
        runId: 'r',
        tasks: httpSpecs(1, 1, 1),
        expectedTasks: 1
      })
    ).rejects.toThrow(FleetError)
    expect(resolveRunnerEntry({ env: { PERF_GATE_RUNNER: '/opt/r.js' } })).toBe('/opt/r.js')
    expect(resolveRunnerEntry({ runnerEntry: '/a/b.js', env: { PERF_GATE_RUNNER: '/opt/r.js' } })).toBe(
      '/a/b.js'
    )
    expect(existsSync(missing)).toBe(false)
  })
})

describe('parseProgressLine', () => {
  it('reads a runner progress line and ignores anything else', () => {
    const spec = { region: 'local', taskIndex: 3 }
    expect(parseProgressLine('{"t":1,"elapsedS":2.5,"requests":40,"failures":2,"rps":16.2}', spec)).toEqual({
      region: 'local',
      taskIndex: 3,
      elapsedS: 2.5,
      requests: 40,
      failures: 2,
      rps: 16.2
    })
    expect(parseProgressLine('not json', spec)).toBeNull()
    expect(parseProgressLine('{"elapsedS":1}', spec)).toBeNull()
  })
})
