/**
 * The runner with the real k6 binary (PERF_GATE_K6_BIN, else `k6` on PATH) against the sample
 * target on 127.0.0.1: samples arrive through fd 3, the script's own scenarios run as written,
 * execution segments split them exactly, and k6's errors read as one line.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ResultView } from '../../src/results/query.js'
import type { TaskResult } from '../../src/results/model.js'
import { runTask } from '../../src/runner/runner.js'
import type { TaskSpecInput } from '../../src/runner/spec.js'
import { k6Segments } from '../../src/plan/shares.js'
import { startTarget, type TargetServer } from '../../src/target/server.js'

const env = { ...process.env, K6_NO_USAGE_REPORT: 'true' }

let target: TargetServer
let dir: string

beforeAll(async () => {
  target = await startTarget({ port: 0, seed: 7, maxSeconds: 300 })
  dir = mkdtempSync(join(tmpdir(), 'perf-gate-k6-real-'))
})
afterAll(async () => {
  await target.close()
  rmSync(dir, { recursive: true, force: true })
})

function file(name: string, body: string): string {
  const p = join(dir, name)
  writeFileSync(p, body)
  return p
}

let n = 0
function spec(over: Partial<TaskSpecInput> = {}): TaskSpecInput {
  n++
  return {
    version: 1,
    runId: 'run-k6',
    scenario: 'k6',
    fingerprint: 'fp',
    backend: 'local',
    region: 'local',
    taskIndex: 0,
    taskCount: 1,
    engine: 'k6',
    load: { vus: 1, durationS: 30, rampUpS: 0, scriptLoad: true, targetUrl: target.url },
    share: { vus: 1 },
    startAtMs: null,
    hardMaxS: 120,
    env: { PERF_GATE_TARGET: target.url },
    out: join(dir, `task-${n}.json`),
    ...over
  }
}

const SHARED = `
import http from 'k6/http'
import { check } from 'k6'
export const options = {
  scenarios: { fixed: { executor: 'shared-iterations', vus: 3, iterations: 30, maxDuration: '60s' } },
}
export default function () {
  const res = http.get(__ENV.PERF_GATE_TARGET + '/fast', { tags: { name: 'fast' } })
  check(res, { 'is 200': r => r.status === 200 })
}
`

const stats = (t: TaskResult[]) => new ResultView(t).stats({ window: 'all' })

describe('runner with real k6', () => {
  it("samples reach the recorder through fd 3; the script's shared-iterations run as written", async () => {
    const before = target.stats().byRoute['/fast'] ?? 0
    const result = await runTask(spec({ script: file('shared.js', SHARED) }), { env })
    expect(result.task.message).toBe('')
    expect(result.task.status).toBe('ok')
    expect(result.task.exitCode).toBe(0)
    expect(result.task.engineVersion).toMatch(/^\d+\.\d+\.\d+/)
    expect(stats([result]).requests).toBe(30)
    expect((target.stats().byRoute['/fast'] ?? 0) - before).toBe(30)
    expect(new ResultView([result]).labels()).toEqual(['fast'])
    expect(result.checks['is 200']).toEqual({ passes: 30, fails: 0 })
  }, 120_000)

  it('three tasks with execution segments together run exactly the 30 shared iterations', async () => {
    const script = file('shared3.js', SHARED)
    const segs = k6Segments(3)
    const results = await Promise.all(
      segs.map((segment, i) =>
        runTask(
          spec({
            script,
            taskIndex: i,
            taskCount: 3,
            load: { vus: 3, durationS: 30, rampUpS: 0, scriptLoad: true, segment, targetUrl: target.url }
          }),
          { env }
        )
      )
    )
    expect(results.map(r => r.task.status)).toEqual(['ok', 'ok', 'ok'])
    expect(results.map(r => stats([r]).requests)).toEqual([10, 10, 10])
    expect(stats(results).requests).toBe(30)
  }, 120_000)

  it('two tasks with execution segments together run the total arrival rate, half each', async () => {
    const script = file(
      'rate.js',
      SHARED.replace(
        "fixed: { executor: 'shared-iterations', vus: 3, iterations: 30, maxDuration: '60s' }",
        "paced: { executor: 'constant-arrival-rate', rate: 20, timeUnit: '1s', duration: '2s', preAllocatedVUs: 10 }"
      )
    )
    const segs = k6Segments(2)
    const results = await Promise.all(
      segs.map((segment, i) =>
        runTask(
          spec({
            script,
            taskIndex: i,
            taskCount: 2,
            load: { vus: 10, durationS: 32, rampUpS: 0, scriptLoad: true, segment, targetUrl: target.url }
          }),
          { env }
        )
      )
    )
    expect(results.map(r => r.task.status)).toEqual(['ok', 'ok'])
    // 20 iterations per second for 2 s, one request each. k6 alone starts 40 or 41 of them (an
    // iteration may fall on the closing instant); each segment starts its half of the same schedule.
    const counts = results.map(r => stats([r]).requests)
    for (const n of counts) expect([20, 21]).toContain(n)
    expect([40, 41]).toContain(counts[0] + counts[1])
  }, 120_000)

  it('a given load replaces the script options: 2 VUs for 1 s', async () => {
    const result = await runTask(
      spec({
        script: file('given.js', SHARED.replace("{ name: 'fast' }", "{ name: 'vu' + __VU }")),
        load: { vus: 2, durationS: 1, rampUpS: 0, targetUrl: target.url }
      }),
      { env }
    )
    expect(result.task.status).toBe('ok')
    // The script's 30 iterations would end at 30 requests; 2 VUs for 1 s without sleep send more.
    expect(stats([result]).requests).toBeGreaterThan(30)
    // Labelled by VU: the script's own 3 VUs would give vu1, vu2 and vu3.
    expect(new ResultView([result]).labels()).toEqual(['vu1', 'vu2'])
  }, 120_000)

  it('crossed thresholds: exit 99 kept with k6 own line; submetric thresholds from the summary export', async () => {
    const script = file(
      'thresholds.js',
      SHARED.replace(
        "maxDuration: '60s' } },",
        "maxDuration: '60s' } },\n  thresholds: { http_reqs: ['count<5'], 'http_req_duration{name:fast}': ['p(90)<3000'] },"
      )
    )
    const result = await runTask(spec({ script }), { env })
    expect(result.task.status).toBe('ok')
    expect(result.task.exitCode).toBe(99)
    expect(result.task.message).toBe(
      "k6 exited with code 99: thresholds on metrics 'http_reqs' have been crossed"
    )
    expect(stats([result]).requests).toBe(30)
    const thresholds = result.task.thresholds.map(t => `${t.metric}: ${t.expr}`).sort()
    expect(thresholds).toEqual(['http_req_duration{name:fast}: p(90)<3000', 'http_reqs: count<5'])
  }, 60_000)

  it('a script syntax error is one readable line naming the script, without k6 stack frames', async () => {
    const script = file('broken.js', "import http from 'k6/http'\nexport default function () { http.get( }\n")
    const result = await runTask(spec({ script }), { env })
    expect(result.task.status).toBe('engine-error')
    const msg = result.task.message
    expect(msg).toContain('k6 exited with code 107')
    expect(msg).toContain(script)
    expect(msg).toContain('SyntaxError')
    expect(msg).toContain('Unexpected token (2:39)')
    expect(msg).toContain('> 2 | export default function () { http.get( }')
    expect(msg).not.toContain('\\n')
    expect(msg).not.toContain('\n')
    expect(msg).not.toContain('babel.min.js')
    expect(msg).not.toMatch(/\bat </)
  }, 60_000)

  it('a missing k6 names the step to add', async () => {
    const result = await runTask(spec({ script: file('any.js', SHARED) }), {
      env: { ...env, PERF_GATE_K6_BIN: join(dir, 'no-such-k6') }
    })
    expect(result.task.status).toBe('engine-error')
    expect(result.task.message).toContain('not found')
    expect(result.task.message).toContain('grafana/setup-k6-action')
  }, 60_000)
})
