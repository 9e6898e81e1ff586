/**
 * Hand-built, clearly synthetic report inputs for the renderer tests. Numbers are invented; they only
 * need to be distinguishable so the tests can find them in the output.
 */
import type { ReportInput, ReportLabel, ReportSeriesPoint } from '../../src/report/types.js'

export const T0 = Date.UTC(2026, 0, 2, 3, 4, 5)

/** `n` points at 10 s intervals with a latency bump in the middle. */
export function syntheticSeries(n: number): ReportSeriesPoint[] {
  return Array.from({ length: n }, (_, i) => ({
    startMs: T0 + i * 10_000,
    rps: 400 + (i % 7) * 3.3,
    p50Ms: 20 + (i % 5),
    p95Ms: i === Math.floor(n / 2) ? 480.25 : 90 + (i % 11),
    p99Ms: 150 + (i % 13) * 2,
    users: 50
  }))
}

/** `n` labels; label i has n - i requests, so earlier labels are busier. */
export function syntheticLabels(n: number, nameLength = 0): ReportLabel[] {
  return Array.from({ length: n }, (_, i) => ({
    label: `GET /api/item/${i}` + (nameLength ? `/${'x'.repeat(nameLength)}` : ''),
    requests: (n - i) * 10,
    errorRate: i % 3 === 0 ? 0.0123 : 0,
    p50: 10 + (i % 10),
    p95: 50 + (i % 10),
    p99: 90 + (i % 10),
    baseline: i % 2 === 0 ? { p50: 10, p95: 50, p99: 90 } : null
  }))
}

export function syntheticInput(overrides: Partial<ReportInput> = {}): ReportInput {
  return {
    key: 'checkout/api-job/node-20',
    scenario: 'checkout',
    pr: { number: 42 },
    verdict: {
      outcome: 'FAIL',
      provisional: false,
      reasons: ['p95 latency rose 12.3% (outside the 99% prediction interval; MDE 6.2%).'],
      mdePct: 6.2,
      noisePct: 2.1,
      baselines: 14,
      replicates: 1,
      detectable10: true
    },
    metrics: [
      {
        name: 'p50',
        label: 'p50',
        unit: 'ms',
        baseline: 20,
        current: 21,
        deltaPct: 5,
        status: 'advisory',
        primary: false
      },
      {
        name: 'p90',
        label: 'p90',
        unit: 'ms',
        baseline: 80,
        current: 79.2,
        deltaPct: -1,
        status: 'advisory',
        primary: false
      },
      {
        name: 'p95',
        label: 'p95',
        unit: 'ms',
        baseline: 100,
        current: 112.34,
        deltaPct: 12.34,
        status: 'fail',
        primary: true
      },
      {
        name: 'p99',
        label: 'p99',
        unit: 'ms',
        baseline: 200,
        current: 198,
        deltaPct: -1,
        status: 'advisory',
        primary: true,
        note: 'tail count 40 < 100'
      },
      {
        name: 'rps',
        label: 'throughput',
        unit: 'rps',
        baseline: 1250,
        current: 1200,
        deltaPct: -4,
        status: 'pass',
        primary: true
      },
      {
        name: 'error_rate',
        label: 'error rate',
        unit: '%',
        baseline: 0.1,
        current: 0.5,
        deltaPct: 400,
        status: 'inconclusive',
        primary: true
      }
    ],
    slos: [
      {
        expr: 'p(95)<500',
        metric: 'http_req_duration',
        source: 'config',
        ok: true,
        observed: 112.34,
        unit: 'ms'
      },
      {
        expr: 'rate<0.001',
        metric: 'http_req_failed',
        source: 'script',
        ok: false,
        observed: 0.005,
        reason: 'observed 0.005'
      }
    ],
    labels: syntheticLabels(5),
    series: syntheticSeries(12),
    baselinePercentiles: { p50: 20, p90: 80, p95: 100, p99: 200 },
    currentPercentiles: { p50: 21, p90: 79.2, p95: 112.34, p99: 198 },
    facts: {
      backend: 'ecs',
      regions: ['us-east-1', 'eu-west-1'],
      tasks: 8,
      vus: 200,
      durationS: 300,
      engine: 'k6',
      engineVersion: '0.48.0',
      steadyWindow: { startMs: T0 + 30_000, endMs: T0 + 100_000 },
      costUsd: 0.42,
      missingTasks: [{ region: 'eu-west-1', taskIndex: 3, reason: 'capacity: RESOURCE:MEMORY' }],
      runUrl: 'https://github.com/acme/shop/actions/runs/123',
      commit: 'abcdef1234567890',
      baselineCommit: '1234567abcdef'
    },
    artifact: { name: 'perf-gate-report-checkout' },
    ...overrides
  }
}

/** Checks one xychart-beta block and returns its x-axis size and series lengths. */
export function parseXyChart(block: string): { xCount: number; series: number[][]; yMax: number | null } {
  const lines = block.split('\n')
  expect(lines[0]).toBe('```mermaid')
  // Every chart names its colours: Mermaid's default first colour is close to the page background.
  expect(lines[1]).toMatch(
    /^%%\{init: \{"themeVariables": \{"xyChart": \{"plotColorPalette": "#[0-9a-f]{6}(, #[0-9a-f]{6})*"\}\}\}\}%%$/
  )
  lines.splice(1, 1)
  expect(lines[1]).toBe('xychart-beta')
  expect(lines[lines.length - 1]).toBe('```')
  let xCount = -1
  let yMax: number | null = null
  const series: number[][] = []
  for (const raw of lines.slice(2, -1)) {
    const line = raw.trim()
    if (line.startsWith('title ')) {
      expect(line).toMatch(/^title "[^"]*"$/)
    } else if (line.startsWith('x-axis ')) {
      const m = /^x-axis \[(.*)\]$/.exec(line)
      expect(m).not.toBeNull()
      const entries = m![1].split(', ')
      for (const e of entries) expect(e).toMatch(/^"[^"]*"$/)
      xCount = entries.length
    } else if (line.startsWith('y-axis ')) {
      const m = /^y-axis "[^"]+"(?: (-?\d+(?:\.\d+)?) --> (-?\d+(?:\.\d+)?))?$/.exec(line)
      expect(m).not.toBeNull()
      if (m![2] !== undefined) yMax = Number(m![2])
    } else {
      const m = /^(bar|line) \[(.*)\]$/.exec(line)
      expect(m).not.toBeNull()
      const values = m![2].split(', ')
      for (const v of values) expect(v).toMatch(/^-?\d+(\.\d+)?$/)
      series.push(values.map(Number))
    }
  }
  expect(xCount).toBeGreaterThan(0)
  expect(series.length).toBeGreaterThan(0)
  return { xCount, series, yMax }
}

/** Every fenced Mermaid block in a markdown body. */
export function mermaidBlocks(md: string): string[] {
  return md.match(/```mermaid\n[\s\S]*?\n```/g) ?? []
}

/** The cells of a GFM table row, splitting only on unescaped pipes. */
export function tableCells(row: string): string[] {
  const cells = row.split(/(?<!\\)\|/).map(c => c.trim())
  return cells.slice(1, -1)
}
