/**
 * Real profile runs on this machine (the bundled runner, real engines, the sample target on
 * 127.0.0.1):
 * - a stress run through `perf-gate stress` against a target of known capacity (4 requests at once,
 *   50 ms each: 80 req/s, reached at 4 VUs): the breaking point is found within one step of it, the
 *   stopping rule ends the run after the first broken step, and the capacity record is stored;
 * - a spike run through the stress job against a target that stays slow for 3 s after an overload:
 *   the recovery time is measured and matches.
 * The Locust and JMeter stepped runs are in stepped-engines.test.ts.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createBaselineStore } from '../../src/baseline/index.js'
import { loadScenario } from '../../src/plan/scenario.js'
import { LocalFleet } from '../../src/fleet/local.js'
import { runScenarioOnce } from '../../src/fleet/run.js'
import type { SpikeAnalysis } from '../../src/gate/capacity/spike.js'
import { parseSlos } from '../../src/gate/slo.js'
import { runStressJob } from '../../src/jobs/stress.js'
import { startTarget, type TargetServer } from '../../src/target/server.js'
import { root, runCli } from '../cli/spawn-cli.js'

/** The bundled runner (npm run package). */
const runnerEntry = join(root, 'dist', 'runner', 'index.js')
const fleet = () => new LocalFleet({ env: process.env, runnerEntry })

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pg-stress-real-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('a real stress run finds the known capacity', () => {
  let target: TargetServer
  beforeAll(async () => {
    target = await startTarget({ port: 0, maxSeconds: 120, concurrency: 4, serviceMs: 50 })
  })
  afterAll(() => target.close())

  it('breaking point within one step of 4 VUs / 80 req/s; stopped after the first broken step; record stored', async () => {
    const store = join(dir, 'store')
    const reportDir = join(dir, 'report')
    const started = Date.now()
    const r = await runCli(
      [
        'stress',
        '--target',
        target.url,
        '--request',
        'GET /fast',
        '--vus',
        '4',
        '--multiplier',
        '2',
        '--profile-param',
        'steps=4',
        '--profile-param',
        'step-duration=4s',
        '--profile-param',
        'step-ramp=1s',
        '--threshold',
        'p(95)<75',
        '--target-rps',
        '100',
        '--baseline-store',
        `dir:${store}`,
        '--repo',
        'acme/shop',
        '--scenario',
        'capacity',
        '--report-dir',
        reportDir
      ],
      { timeoutMs: 60_000 }
    )
    const tookS = (Date.now() - started) / 1000
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect(r.code).toBe(0)
    const record = JSON.parse(readFileSync(join(reportDir, 'capacity.json'), 'utf8'))
    // Known capacity: 4 concurrent requests of 50 ms = 80 req/s, reached at 4 VUs (levels 2, 4, 6, 8).
    expect(Math.abs(record.breakingVus - 4)).toBeLessThanOrEqual(2)
    expect(record.capacityRps).toBeGreaterThan(80 * 0.45)
    expect(record.capacityRps).toBeLessThan(80 * 1.15)
    expect(record.breaksAtVus).toBe(record.breakingVus + 2)
    // The stopping rule ended the run after the broken step: the last step never ran.
    expect(record.stoppedEarly).toBe(true)
    expect(record.steps[3].held).toBeNull()
    expect(r.stderr).toMatch(/broke "p\(95\)<75".*stopping the run at the end of that step/)
    expect(tookS).toBeLessThan(30)
    // The report and the store.
    expect(r.stdout).toMatch(/^### 📈 perf-gate capacity · capacity \(stress\)/)
    expect(r.stdout).toMatch(/\*\*Sustains \d+(\.\d)? req\/s at p95 &lt; 75 ms \(\d VUs/)
    expect(r.stdout).toContain('**Planning:** Needs')
    for (const f of ['report.md', 'report.html', 'result.json'])
      expect(existsSync(join(reportDir, f))).toBe(true)
    const listed = await (
      await createBaselineStore(`dir:${store}`)
    ).listCapacity({
      repo: 'acme/shop',
      scenario: 'capacity',
      limit: 5
    })
    expect(listed.map(x => x.id)).toEqual([record.id])
    // The target saw at most its capacity in parallel: throughput never exceeded it by much.
    expect(Math.max(...record.steps.map((s: { rps: number }) => s.rps))).toBeLessThan(80 * 1.15)
  }, 90_000)
})

describe('a real spike run measures the recovery', () => {
  let target: TargetServer
  beforeAll(async () => {
    // 4 requests at once, 20 ms each; after an overload 30 ms slower for 3 s.
    target = await startTarget({
      port: 0,
      maxSeconds: 120,
      concurrency: 4,
      serviceMs: 20,
      recoveryMs: 3000,
      recoveryPenaltyMs: 30
    })
  })
  afterAll(() => target.close())

  it('recovery time > 0, bounded, and close to the target’s 3 s', async () => {
    const scenario = await loadScenario({
      cwd: dir,
      flags: {
        target: target.url,
        requests: ['GET /fast'],
        vus: '2',
        profile: 'spike',
        multiplier: '4',
        profileParams: ['ramp-up=1s', 'baseline=4s', 'surge-ramp=1s', 'surge=3s', 'drop=1s', 'recovery=7s']
      }
    })
    const slos = parseSlos(['p(95)<40'])
    const logs: string[] = []
    const job = await runStressJob(
      { repo: 'acme/shop', commit: 'c', ref: 'main', scenario, slos, store: null, log: m => logs.push(m) },
      ({ onProgress, signal }) => runScenarioOnce(scenario, { fleet: fleet(), onProgress, signal })
    )
    expect(job.outcome).toBe('PASS')
    const a = job.analysis as SpikeAnalysis
    expect(a.kind).toBe('spike')
    expect(a.baseline.held).toBe(true)
    expect(a.surge.held).toBe(false)
    expect(a.recoveryS).not.toBeNull()
    expect(a.recoveryS!).toBeGreaterThan(0)
    // The target recovers 3 s after its last queued request, which is at most the 1 s drop before the surge's end.
    expect(a.recoveryS!).toBeGreaterThanOrEqual(1.5)
    expect(a.recoveryS!).toBeLessThanOrEqual(5)
    expect(logs.join('\n')).toMatch(/recovers \d+(\.\d)? s after the surge to 8 VUs/)
    expect(job.stop).toBeNull()
  }, 90_000)
})
