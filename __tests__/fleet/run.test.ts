import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadScenario } from '../../src/plan/scenario.js'
import { runProblems, runScenarioOnce } from '../../src/fleet/run.js'
import { parseRunResult } from '../../src/results/io.js'
import { startTarget, type TargetServer } from '../../src/target/server.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const runner = resolve(root, 'dist', 'runner', 'index.js')

let target: TargetServer
let cwd: string
beforeAll(async () => {
  target = await startTarget({ port: 0, maxSeconds: 60, seed: 3 })
  // A fresh directory: no perf-gate.yml, the flags alone make the scenario.
  cwd = mkdtempSync(join(tmpdir(), 'perf-gate-run-once-'))
})
afterAll(async () => {
  await target.close()
  rmSync(cwd, { recursive: true, force: true })
})

describe('runScenarioOnce', () => {
  it('plans, runs and assembles a valid run result with the scenario thresholds', async () => {
    const scenario = await loadScenario({
      cwd,
      flags: {
        target: target.url,
        requests: ['GET /fast'],
        vus: '2',
        duration: '2s',
        tasks: '2',
        thresholds: ['p(99)<250']
      }
    })
    const logs: string[] = []
    const before = target.stats().served
    const result = await runScenarioOnce(scenario, {
      env: { ...process.env, PERF_GATE_RUNNER: runner },
      log: m => logs.push(m)
    })
    expect(() => parseRunResult('result', JSON.parse(JSON.stringify(result)))).not.toThrow()
    expect(result.run).toMatchObject({
      scenario: 'default',
      fingerprint: scenario.fingerprint,
      backend: 'local',
      expectedTasks: 2,
      missingTasks: [],
      facts: { engine: 'http', vus: 2, tasks: 2, aborted: false }
    })
    expect(result.run.runId).toMatch(/^default-\d{8}T\d{6}Z-[0-9a-f]{6}$/)
    expect(result.tasks).toHaveLength(2)
    for (const t of result.tasks) {
      expect(t.task.runId).toBe(result.run.runId)
      expect(t.task.thresholds).toContainEqual({ metric: 'http_req_duration', expr: 'p(99)<250' })
    }
    const served = target.stats().served - before
    const recorded = result.tasks.reduce(
      (a, t) => a + t.labels['GET /fast'].requests.reduce((x, y) => x + y, 0),
      0
    )
    expect(recorded).toBe(served)
    expect(runProblems(result)).toBeNull()
    expect(logs).toEqual([])
  }, 60_000)

  it('runProblems names missing and failed tasks and interruptions', () => {
    const base = {
      schema: 'perf-gate/run-result' as const,
      version: 1 as const,
      run: {
        runId: 'r',
        scenario: 's',
        fingerprint: 'f',
        backend: 'local',
        createdMs: 0,
        expectedTasks: 2,
        missingTasks: [{ region: 'local', taskIndex: 1, reason: 'runner exited with code 3' }],
        facts: { aborted: true }
      },
      tasks: []
    }
    expect(runProblems(base)).toBe('the run was interrupted; task local/1 missing: runner exited with code 3')
    expect(runProblems({ ...base, run: { ...base.run, missingTasks: [], facts: {} } })).toBeNull()
  })
})
