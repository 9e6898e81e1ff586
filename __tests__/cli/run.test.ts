import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseRunResult } from '../../src/results/io.js'
import type { RunResult } from '../../src/results/model.js'
import { startTarget, type TargetServer } from '../../src/target/server.js'
import { cliPath, expectUsageError, runCli } from './spawn-cli.js'

const sleep = (ms: number) => new Promise<void>(res => setTimeout(res, ms))

let tmp: string
let target: TargetServer

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'perf-gate-cli-run-'))
  target = await startTarget({ port: 0, maxSeconds: 120, seed: 11 })
})
afterAll(async () => {
  await target.close()
  rmSync(tmp, { recursive: true, force: true })
})

/** Requests in a run result, summed straight from the per-interval counters of every task. */
function requestsIn(r: RunResult): { total: number; byLabel: Record<string, number> } {
  const byLabel: Record<string, number> = {}
  for (const t of r.tasks)
    for (const [label, s] of Object.entries(t.labels))
      byLabel[label] = (byLabel[label] ?? 0) + s.requests.reduce((a, b) => a + b, 0)
  return { total: Object.values(byLabel).reduce((a, b) => a + b, 0), byLabel }
}

describe('perf-gate run (http engine, local fleet)', () => {
  it('--tasks 2: the merged request count equals what the target served', async () => {
    const before = target.stats()
    const out = join(tmp, 'flags-run.json')
    const r = await runCli(
      [
        'run',
        '--target',
        target.url,
        '--tasks',
        '2',
        '--vus',
        '4',
        '--duration',
        '3s',
        '--request',
        'GET /fast',
        '--request',
        'GET /slow',
        '--request',
        'GET /flaky',
        '--out',
        out,
        '--json',
        '--window',
        'all'
      ],
      { cwd: tmp }
    )
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 0,
      stderr: expect.stringContaining('run result:')
    })
    const after = target.stats()
    const result = parseRunResult(out, JSON.parse(readFileSync(out, 'utf8')))
    expect(result.run.expectedTasks).toBe(2)
    expect(result.run.missingTasks).toEqual([])
    expect(result.tasks).toHaveLength(2)
    expect(result.tasks.map(t => t.task.share.vus)).toEqual([2, 2])
    const { total, byLabel } = requestsIn(result)
    expect(total).toBeGreaterThan(0)
    expect(total).toBe(after.served - before.served)
    for (const route of ['/fast', '/slow', '/flaky'])
      expect(byLabel[`GET ${route}`]).toBe((after.byRoute[route] ?? 0) - (before.byRoute[route] ?? 0))
    // The printed JSON summary (window all) agrees with the file.
    const summary = JSON.parse(r.stdout) as {
      overall: { requests: number; failures: number }
      labels: object
    }
    expect(summary.overall.requests).toBe(total)
    expect(Object.keys(summary.labels).sort()).toEqual(['GET /fast', 'GET /flaky', 'GET /slow'])
    // /flaky fails ~30% of the time on the target; those are counted apart.
    expect(summary.overall.failures).toBeGreaterThan(0)
  }, 90_000)

  it('reads perf-gate.yml from the working directory and writes the default result path', async () => {
    const dir = mkdtempSync(join(tmp, 'cfg-'))
    writeFileSync(
      join(dir, 'perf-gate.yml'),
      `scenarios:\n  smoke:\n    engine: http\n    target: ${target.url}\n    requests: ['GET /fast']\n    vus: 2\n    duration: 2s\n    tasks: 1\n    thresholds: ['p(95)<500']\n`
    )
    const before = target.stats().served
    const r = await runCli(['run'], { cwd: dir })
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^overall\s+[\d,]+/m)
    expect(r.stdout).toContain('GET /fast')
    const files = readdirSync(join(dir, '.perf-gate', 'results'))
    expect(files).toHaveLength(1)
    expect(files[0]).toMatch(/^smoke-\d{8}T\d{6}Z\.json$/)
    const file = join(dir, '.perf-gate', 'results', files[0])
    const result = parseRunResult(file, JSON.parse(readFileSync(file, 'utf8')))
    expect(result.run.scenario).toBe('smoke')
    expect(result.run.fingerprint).toMatch(/^[0-9a-f]{64}$/)
    expect(result.tasks[0].task.fingerprint).toBe(result.run.fingerprint)
    expect(result.tasks[0].task.thresholds).toEqual(
      expect.arrayContaining([{ metric: 'http_req_duration', expr: 'p(95)<500' }])
    )
    expect(requestsIn(result).total).toBe(target.stats().served - before)
    // The run result can be summarized again.
    const again = await runCli(['summarize', '--json', file])
    expect(again.code).toBe(0)
    expect((JSON.parse(again.stdout) as { overall: { requests: number } }).overall.requests).toBe(
      requestsIn(result).total
    )
  }, 90_000)

  it('Ctrl-C (SIGINT) stops the runners, still writes the result and exits 1', async () => {
    const out = join(tmp, 'interrupted.json')
    const before = target.stats().served
    const child = spawn(
      process.execPath,
      [
        cliPath,
        'run',
        '--target',
        target.url,
        '--tasks',
        '2',
        '--vus',
        '2',
        '--duration',
        '60s',
        '--out',
        out
      ],
      { cwd: tmp, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] }
    )
    let stderr = ''
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')))
    child.stdout.resume()
    const exited = new Promise<number | null>(res => child.on('close', code => res(code)))
    try {
      // Wait until load is flowing, then interrupt the CLI process only (by PID).
      const t0 = Date.now()
      while (target.stats().served - before < 20 && Date.now() - t0 < 20_000) await sleep(200)
      expect(target.stats().served - before).toBeGreaterThanOrEqual(20)
      process.kill(child.pid!, 'SIGINT')
      const tSig = Date.now()
      const code = await Promise.race([exited, sleep(30_000).then(() => 'timeout' as const)])
      // The runners stop at once; nothing (no runner, no timer) keeps the CLI waiting.
      expect(Date.now() - tSig).toBeLessThan(8000)
      expect({ code, stderr }).toEqual({ code: 1, stderr })
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    }
    expect(stderr).toContain('interrupted; stopping the tasks')
    const result = parseRunResult(out, JSON.parse(readFileSync(out, 'utf8')))
    expect(result.run.facts.aborted).toBe(true)
    expect(result.tasks).toHaveLength(2)
    expect(result.tasks.every(t => t.task.status === 'aborted')).toBe(true)
    // Every request the target served was recorded, except those cut in flight by the stop:
    // at most one per VU (2 VUs in all).
    const served = target.stats().served
    const recorded = requestsIn(result).total
    expect(recorded).toBeGreaterThan(0)
    expect(served - before - recorded).toBeGreaterThanOrEqual(0)
    expect(served - before - recorded).toBeLessThanOrEqual(2)
    // The target sees no more load.
    await sleep(1500)
    expect(target.stats().served).toBe(served)
  }, 90_000)

  it('refuses a target host that is not on the allow-list, before sending anything', async () => {
    const line = expectUsageError(
      await runCli(['run', '--target', 'http://10.255.255.1:8080/', '--duration', '1s'], { cwd: tmp }),
      '--target'
    )
    expect(line).toContain('"10.255.255.1" is not allowed')
    const dir = mkdtempSync(join(tmp, 'deny-'))
    writeFileSync(join(dir, 'perf-gate.yml'), `scenarios:\n  prod:\n    target: https://shop.example.com\n`)
    expectUsageError(await runCli(['run'], { cwd: dir }), 'perf-gate.yml: scenarios.prod.target')
    expect(readdirSync(dir)).toEqual(['perf-gate.yml'])
  })

  it('bad input exits 2 with one line naming the flag', async () => {
    expect(
      expectUsageError(
        await runCli(['run', '--target', target.url, '--vus', 'ten']),
        '--vus: expected a positive integer, got "ten"'
      )
    ).toBe('perf-gate run: --vus: expected a positive integer, got "ten"')
    expectUsageError(
      await runCli(['run', '--target', target.url, '--vus', '2', '--tasks', '3']),
      '--tasks: 3 tasks need at least 3 VUs'
    )
    expectUsageError(await runCli(['run', '--target', target.url, '--vus']), '--vus: expects a value')
    expectUsageError(await runCli(['run', '--target', target.url, '--window', 'x']), '--window')
    expectUsageError(await runCli(['run', 'extra']), 'unexpected argument "extra"')
  })
})
