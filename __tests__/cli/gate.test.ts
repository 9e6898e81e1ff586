/**
 * `perf-gate gate` reproduces the action's verdict in the terminal: baselines stored with
 * --baseline, then a run judged against them with the same rule and report.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startTarget, type TargetServer } from '../../src/target/server.js'
import { expectUsageError, fixtures, runCli } from './spawn-cli.js'

describe('perf-gate gate', () => {
  let target: TargetServer
  let dir: string
  const scenario = () => [
    '--engine',
    'http',
    '--target',
    target.url,
    '--request',
    'GET /fast',
    '--vus',
    '2',
    '--duration',
    '2s',
    '--scenario',
    'cli-gate',
    '--baseline-store',
    `dir:${join(dir, 'baselines')}`,
    '--repo',
    'acme/shop'
  ]

  beforeAll(async () => {
    target = await startTarget({ port: 0, maxSeconds: 300 })
    dir = await mkdtemp(join(tmpdir(), 'pg-cli-gate-'))
  })
  afterAll(async () => {
    await target.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('stores baselines, then fails a slowed run with its deltas', async () => {
    const base = await runCli(['gate', '--baseline', '--replicates', '2', ...scenario()], {
      timeoutMs: 90_000
    })
    expect(base.code).toBe(0)
    const files = await readdir(join(dir, 'baselines'), { recursive: true })
    expect(files.filter(f => /\d+-.+-\d\.json$/.test(String(f)))).toHaveLength(2)

    target.setFaults({ '/fast': { delayMs: 15 } })
    try {
      const r = await runCli(
        ['gate', '--confirm-replicates', '1', '--report-dir', join(dir, 'report'), ...scenario()],
        {
          timeoutMs: 90_000
        }
      )
      expect(r.code).toBe(1)
      expect(r.stdout).toMatch(/perf-gate FAIL \(provisional: 2 of 10 baselines\)/)
      expect(r.stdout).toMatch(/\|\s+\*\*p95 latency\*\*\s+\|.*\|\s+\+[\d,]+\.\d%\s+\|\s+❌ fail/)
      expect(r.stderr).toMatch(/FAIL: p95/)
      const html = await readFile(join(dir, 'report', 'report.html'), 'utf8')
      expect(html).toContain('<svg')
    } finally {
      target.setFaults({})
    }
  })

  it('judges results brought from another tool, without running load', async () => {
    const served = target.stats().served
    const r = await runCli([
      'gate',
      '--results',
      join(fixtures, 'k6', 'v0.48.0-default', 'results.json'),
      '--baseline-store',
      `dir:${join(dir, 'other')}`,
      '--threshold',
      'p(95)<1'
    ])
    // The fixture's p95 is far above 1 ms, so the SLO fails the gate.
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/p\(95\)<1/)
    expect(r.stdout).toMatch(/no comparable baseline/)
    expect(target.stats().served).toBe(served)
  })

  it.each([
    [['--min-effect', 'lots'], '--min-effect'],
    [['--threshold', 'p(95)<<1'], 'p(95)<<1'],
    [['--baseline-store', 'ftp://x'], 'baseline-store: unknown scheme'],
    [['--replicates', '0'], '--replicates']
  ])('bad input %j is one line naming it', async (args, mention) => {
    const r = await runCli([
      'gate',
      '--results',
      join(fixtures, 'k6', 'v0.48.0-default', 'results.json'),
      ...args
    ])
    expectUsageError(r, mention)
  })
})
