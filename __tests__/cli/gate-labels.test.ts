/**
 * Through the bundled CLI against the sample target: a +60 ms slowdown of one endpoint fails the
 * gate on that endpoint when perf-gate.yml gates its labels, and the report names it; a provisional
 * verdict shows its fixed threshold, not a detectable effect; the percentile chart draws the
 * table's figures; every report states the fleet's cost and the time to the first request; `run`
 * and `summarize` write the HTML report.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startTarget, type TargetServer } from '../../src/target/server.js'
import { expectUsageError, fixtures, runCli } from './spawn-cli.js'

/** The cells of the markdown table row whose first cell is `first`. */
function row(md: string, first: string): string[] {
  const line = md.split('\n').find(l => l.startsWith('|') && l.split('|')[1]?.trim() === first)
  expect(line).toBeDefined()
  return line!
    .split('|')
    .slice(1, -1)
    .map(c => c.trim())
}

/** The numbers of the first `bar [...]` series of the first Mermaid chart. */
function firstBars(md: string): number[] {
  const chart = md.split('```mermaid')[1]
  const m = /\n {2}bar \[([^\]]*)\]/.exec(chart)
  expect(m).not.toBeNull()
  return m![1].split(', ').map(Number)
}

/** The first cell of the row named `name`, bold or not. */
function anyWeight(md: string, name: string): string {
  return md.split('\n').some(l => l.startsWith(`| **${name}**`)) ? `**${name}**` : name
}

/** "+6,076.6%" → 6076.6; "−3.5%" → -3.5 */
const percent = (cell: string) => Number(cell.replace(/[,%\s]/g, '').replace('−', '-'))

/** "1,234 ms" → 1234 */
const ms = (cell: string) => Number(cell.replace(/ ms$/, '').replace(/,/g, ''))

describe('per-endpoint gating through perf-gate gate', () => {
  let target: TargetServer
  let dir: string

  beforeAll(async () => {
    target = await startTarget({ port: 0, maxSeconds: 300 })
    dir = await mkdtemp(join(tmpdir(), 'pg-cli-labels-'))
    await writeFile(
      join(dir, 'perf-gate.yml'),
      [
        'scenarios:',
        '  endpoints:',
        '    engine: http',
        `    target: ${target.url}`,
        '    requests: [GET /fast, GET /big]',
        '    vus: 32',
        '    duration: 8s',
        '    gate-labels: all',
        ''
      ].join('\n')
    )
  })
  afterAll(async () => {
    await target.close()
    await rm(dir, { recursive: true, force: true })
  })

  const store = () => ['--baseline-store', `dir:${join(dir, 'baselines')}`, '--repo', 'acme/shop']

  it('fails on the slowed endpoint and names it; provisional, with charts matching the table', async () => {
    const base = await runCli(['gate', '--baseline', '--replicates', '2', ...store()], {
      cwd: dir,
      timeoutMs: 120_000
    })
    expect(base.code).toBe(0)
    // A baseline report states the local fleet's cost and the time to the first request too.
    expect(base.stdout).toMatch(
      /est\. cost \$0\.00 \(local fleet: the load ran on this machine, no cloud tasks\)/
    )
    expect(base.stdout).toMatch(/first request \d+(\.\d)?–\d+(\.\d)? s after the step started/)

    // Well above the noise of a machine busy with other suites, which can lift a baseline's p95 by
    // tens of milliseconds, yet short enough that 32 VUs for 8 s still send each label the ~2,000
    // requests a gated p95 needs.
    target.setFaults({ '/fast': { delayMs: 60 } })
    try {
      const r = await runCli(
        ['gate', '--confirm-replicates', '1', '--report-dir', join(dir, 'report'), ...store()],
        {
          cwd: dir,
          timeoutMs: 120_000
        }
      )
      expect(r.code).toBe(1)
      const md = r.stdout
      // The slowed endpoint's own p95 fails, and the report names it. The other endpoint moved far
      // less: its p95 of a few milliseconds can still cross the provisional 10% on a machine busy
      // with other suites, so its change is compared with the slowed one's rather than required to pass.
      const fast = row(md, '**p95 latency · GET /fast**')
      expect(fast[4]).toBe('❌ fail')
      const big = row(md, anyWeight(md, 'p95 latency · GET /big'))
      expect(percent(fast[3])).toBeGreaterThan(100)
      expect(percent(big[3])).toBeLessThan(percent(fast[3]) / 4)
      expect(md).toMatch(/^- p95\\\{name:GET \/fast\\\} [\d.,]+ ms vs baseline median/m)

      // Provisional: the fixed threshold, no detectable-effect figure.
      expect(md).toMatch(/perf-gate FAIL \(provisional: 2 of 10 baselines\)/)
      expect(md).toContain(
        'Provisional verdict: 2 of 10 baselines. Until there are 10, a metric fails only when it is more than 10% worse than the baseline median'
      )
      expect(md).toContain('threshold fixed 10% (provisional: fewer than 10 baselines)')
      expect(md).not.toMatch(/Can detect|· MDE|minimum detectable effect at/)

      // The chart's baseline bars are the table's Baseline column.
      const table = ['p50', 'p90', 'p95', 'p99'].map(p => {
        return ms(row(md, anyWeight(md, `${p} latency`))[1])
      })
      expect(firstBars(md)).toEqual(table)
      expect(md).toContain('title "Latency percentiles: baseline (grey bars) vs this run (blue line)"')

      expect(md).toMatch(/est\. cost \$0\.00 \(local fleet/)
      expect(md).toMatch(/first request \d+(\.\d)?–\d+(\.\d)? s after the step started/)
      const html = await readFile(join(dir, 'report', 'report.html'), 'utf8')
      expect(html).toContain('p95 latency · GET /fast')
      expect(html).toMatch(
        /<th>Time to first request<\/th><td>\d+(\.\d)?–\d+(\.\d)? s after the step started<\/td>/
      )
      expect(html).toContain('fixed 10% (provisional: fewer than 10 baselines)')
    } finally {
      target.setFaults({})
    }
  })

  it('a --gate-labels rule mixed with names is one line naming the flag', async () => {
    const r = await runCli(['gate', '--gate-labels', 'all', '--gate-labels', 'GET /fast', ...store()], {
      cwd: dir
    })
    expectUsageError(r, '--gate-labels: "all" selects labels by rule and cannot be combined')
  })

  it('a bad gate-labels in perf-gate.yml names the file and field', async () => {
    const bad = join(dir, 'bad.yml')
    await writeFile(
      bad,
      `scenarios:\n  x:\n    target: ${target.url}\n    requests: [GET /fast]\n    gate-labels: 250%\n`
    )
    const r = await runCli(['gate', '--config', bad, ...store()], { cwd: dir })
    expectUsageError(r, 'gate-labels')
    expect(r.stderr).toContain('at most 100%')
  })
})

describe('run and summarize write the HTML report', () => {
  let target: TargetServer
  let dir: string
  beforeAll(async () => {
    target = await startTarget({ port: 0, maxSeconds: 120 })
    dir = await mkdtemp(join(tmpdir(), 'pg-cli-html-'))
  })
  afterAll(async () => {
    await target.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('perf-gate run --html', async () => {
    const file = join(dir, 'out', 'run.html')
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
        '1s',
        '--out',
        join(dir, 'r.json'),
        '--html',
        file
      ],
      { cwd: dir }
    )
    expect(r.code).toBe(0)
    expect(r.stderr).toContain('HTML report:')
    const html = await readFile(file, 'utf8')
    expect(html).toContain('<svg')
    expect(html).toContain('GET /fast')
    expect(html).toMatch(/<th>Estimated cost<\/th><td>\$0\.00 <span class="muted">\(local fleet/)
    expect(html).toMatch(/<th>Time to first request<\/th>/)
  })

  it('perf-gate summarize --html', async () => {
    const file = join(dir, 'summary.html')
    const r = await runCli([
      'summarize',
      join(fixtures, 'k6', 'v0.48.0-default', 'results.json'),
      '--html',
      file
    ])
    expect(r.code).toBe(0)
    const html = await readFile(file, 'utf8')
    expect(html).toContain('<svg')
    expect(html).toContain('perf-gate summarize: 1 file')
    expect(html).toContain('Latency percentiles')
  })
})
