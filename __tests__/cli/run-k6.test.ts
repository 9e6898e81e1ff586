/**
 * `perf-gate run --engine k6` end to end: the bundled CLI, local runners, the real k6 binary
 * (PERF_GATE_K6_BIN, else `k6` on PATH) and the sample target on 127.0.0.1.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseRunResult } from '../../src/results/io.js'
import type { RunResult } from '../../src/results/model.js'
import { startTarget, type TargetServer } from '../../src/target/server.js'
import { expectUsageError, runCli } from './spawn-cli.js'

let tmp: string
let target: TargetServer
const env = { K6_NO_USAGE_REPORT: 'true' }

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'perf-gate-cli-k6-'))
  target = await startTarget({ port: 0, maxSeconds: 300, seed: 13 })
})
afterAll(async () => {
  await target.close()
  rmSync(tmp, { recursive: true, force: true })
})

function requests(r: RunResult): number {
  let n = 0
  for (const t of r.tasks) for (const s of Object.values(t.labels)) n += s.requests.reduce((a, b) => a + b, 0)
  return n
}

const SCRIPT = `
import http from 'k6/http'
export const options = {
  scenarios: { fixed: { executor: 'shared-iterations', vus: 3, iterations: 30, maxDuration: '60s' } },
}
export default function () {
  http.get(__ENV.PERF_GATE_TARGET + '/fast', { tags: { name: 'fast' } })
}
`

describe('perf-gate run --engine k6 (real k6)', () => {
  it("runs the script's own scenarios over 3 tasks: exactly its 30 iterations, and says so", async () => {
    const script = join(tmp, 'shared.js')
    writeFileSync(script, SCRIPT)
    const before = target.stats().byRoute['/fast'] ?? 0
    const out = join(tmp, 'own.json')
    const r = await runCli(
      ['run', '--engine', 'k6', '--script', script, '--target', target.url, '--tasks', '3', '--out', out],
      { cwd: tmp, env, timeoutMs: 120_000 }
    )
    expect(r.stderr).toContain(
      "k6: running the script's own load: options.scenarios (fixed: shared-iterations); up to 3 VUs"
    )
    expect(r.stderr).toContain('split over 3 tasks by execution segments')
    expect(r.code).toBe(0)
    const result = parseRunResult(out, JSON.parse(readFileSync(out, 'utf8')))
    expect(result.tasks.map(t => t.task.status)).toEqual(['ok', 'ok', 'ok'])
    expect(result.tasks.map(t => t.task.share.segment)).toEqual(['0:1/3', '1/3:2/3', '2/3:1'])
    expect(requests(result)).toBe(30)
    expect((target.stats().byRoute['/fast'] ?? 0) - before).toBe(30)
    expect(r.stdout).toContain('fast')
  }, 150_000)

  it('a given load replaces the script options, and the log names what it replaced', async () => {
    const script = join(tmp, 'given.js')
    writeFileSync(script, SCRIPT)
    const out = join(tmp, 'given.json')
    const r = await runCli(
      [
        'run',
        '--engine',
        'k6',
        '--script',
        script,
        '--target',
        target.url,
        '--vus',
        '2',
        '--duration',
        '1s',
        '--out',
        out
      ],
      { cwd: tmp, env, timeoutMs: 120_000 }
    )
    expect(r.stderr).toContain(
      "k6: the given load (2 VUs for 1 s) replaces the script's options.scenarios (fixed: shared-iterations)"
    )
    expect(r.code).toBe(0)
    const result = parseRunResult(out, JSON.parse(readFileSync(out, 'utf8')))
    expect(requests(result)).toBeGreaterThan(30)
  }, 150_000)

  it('a script k6 cannot read exits 2 with one line naming the script and k6 own message', async () => {
    const script = join(tmp, 'broken.js')
    writeFileSync(script, "import http from 'k6/http'\nexport default function () { http.get( }\n")
    const r = await runCli(['run', '--engine', 'k6', '--script', script, '--target', target.url], {
      cwd: tmp,
      env,
      timeoutMs: 60_000
    })
    const line = expectUsageError(r, `${script}: k6 cannot read the script: SyntaxError`)
    expect(line).toContain('Unexpected token (2:39)')
    expect(line).not.toContain('\\n')
    expect(line).not.toContain('babel.min.js')
  }, 60_000)

  it('a missing k6 exits 2 naming the setup step', async () => {
    const script = join(tmp, 'any.js')
    writeFileSync(script, SCRIPT)
    const r = await runCli(['run', '--engine', 'k6', '--script', script, '--target', target.url], {
      cwd: tmp,
      env: { ...env, PERF_GATE_K6_BIN: join(tmp, 'no-k6') },
      timeoutMs: 60_000
    })
    expectUsageError(r, 'uses: grafana/setup-k6-action@v1')
  }, 60_000)
})

describe('perf-gate run --engine k6: thresholds the script crosses', () => {
  it('a task whose k6 exits 99 makes run exit 1 and say so', async () => {
    const script = join(tmp, 'crossed.js')
    writeFileSync(
      script,
      SCRIPT.replace(
        "maxDuration: '60s' } },",
        "maxDuration: '60s' } },\n  thresholds: { http_reqs: ['count<5'] },"
      )
    )
    const out = join(tmp, 'crossed.json')
    const r = await runCli(
      ['run', '--engine', 'k6', '--script', script, '--target', target.url, '--out', out],
      {
        cwd: tmp,
        env,
        timeoutMs: 120_000
      }
    )
    expect(r.stderr).toContain(
      "task local/0: the k6 script's thresholds were crossed (k6 exit code 99): k6 exited with code 99: thresholds on metrics 'http_reqs' have been crossed"
    )
    expect(r.code).toBe(1)
    const result = parseRunResult(out, JSON.parse(readFileSync(out, 'utf8')))
    expect(result.tasks[0].task.exitCode).toBe(99)
    expect(requests(result)).toBe(30)
  }, 150_000)
})

describe('perf-gate gate --engine k6: the script thresholds on the merged data', () => {
  it('a crossed submetric threshold fails the gate; a custom-metric one is not judged', async () => {
    const script = join(tmp, 'gate.js')
    writeFileSync(
      script,
      SCRIPT.replace(
        "maxDuration: '60s' } },",
        "maxDuration: '60s' } },\n  thresholds: { 'http_req_duration{name:fast}': ['p(50)<0.001'], iteration_duration: ['p(95)<60000'] },"
      )
    )
    const r = await runCli(
      [
        'gate',
        '--engine',
        'k6',
        '--script',
        script,
        '--target',
        target.url,
        '--tasks',
        '2',
        '--confirm-replicates',
        '0',
        '--baseline-store',
        `dir:${join(tmp, 'baselines')}`
      ],
      { cwd: tmp, env, timeoutMs: 150_000 }
    )
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect(r.code).toBe(1)
    const row = r.stdout.split('\n').find(l => l.includes('http_req_duration{name:fast}'))
    expect(row).toContain('script')
    expect(row).toContain('❌ fail')
    const custom = r.stdout.split('\n').find(l => l.includes('iteration_duration'))
    expect(custom).toContain('not judged')
    expect(custom).not.toContain('✅')
  }, 180_000)
})
