import {
  downsampleSeries,
  mermaidPercentileChart,
  mermaidTimeChart,
  niceMax,
  niceTicks,
  svgBarChart,
  svgLineChart
} from '../../src/report/charts.js'
import { parseXyChart, syntheticSeries } from './synthetic-input.js'

describe('mermaid charts', () => {
  test('baseline vs this run: bars for the baseline, a line for the run, 4 percentiles each', () => {
    const block = mermaidPercentileChart(
      { p50: 10.123, p90: 20, p95: 30, p99: 400.4 },
      { p50: 11, p90: 21, p95: 33.333, p99: 410 }
    )
    const { xCount, series, yMax } = parseXyChart(block)
    expect(xCount).toBe(4)
    expect(series).toEqual([
      [10.1, 20, 30, 400],
      [11, 21, 33.3, 410]
    ])
    expect(block).toMatch(/\n {2}bar \[/)
    expect(block).toMatch(/\n {2}line \[/)
    expect(yMax).toBeGreaterThanOrEqual(410)
  })

  test('every chart names its series colours; a single series is drawn in the run colour', () => {
    const both = mermaidPercentileChart(
      { p50: 1, p90: 2, p95: 3, p99: 4 },
      { p50: 1, p90: 2, p95: 3, p99: 4 }
    )
    expect(both).toContain('"plotColorPalette": "#8c96a5, #2f6fdd"')
    expect(both).toContain('title "Latency percentiles: baseline (grey bars) vs this run (blue line)"')
    const single = mermaidTimeChart(syntheticSeries(5), {
      title: 'p95 latency over time',
      field: 'p95Ms',
      yLabel: 'ms'
    })!
    expect(single).toContain('"plotColorPalette": "#2f6fdd"')
    expect(single).toContain('title "p95 latency over time (line: this run, per interval)"')
  })

  test('without a baseline only the run is drawn', () => {
    const block = mermaidPercentileChart(null, { p50: 1, p90: 2, p95: 3, p99: Number.NaN })
    const { series } = parseXyChart(block)
    expect(series).toEqual([[1, 2, 3, 0]])
    expect(block).not.toContain('NaN')
  })

  test('time charts have one x entry per point and are downsampled to the cap', () => {
    const pts = syntheticSeries(95)
    const block = mermaidTimeChart(pts, { title: 'p95 "latency" <over> time', field: 'p95Ms', yLabel: 'ms' })!
    const { xCount, series, yMax } = parseXyChart(block)
    expect(xCount).toBeLessThanOrEqual(30)
    expect(series[0]).toHaveLength(xCount)
    expect(Math.max(...series[0])).toBe(480)
    expect(yMax).toBeGreaterThanOrEqual(480)
    expect(block).not.toContain('<over>')
    expect(mermaidTimeChart([], { title: 'x', field: 'rps', yLabel: 'req/s' })).toBeNull()
  })

  test('unknown users become 0, never NaN', () => {
    const pts = syntheticSeries(3).map(p => ({ ...p, users: null }))
    const block = mermaidTimeChart(pts, { title: 'users', field: 'users', yLabel: 'VUs' })!
    expect(parseXyChart(block).series[0]).toEqual([0, 0, 0])
  })
})

describe('chart helpers', () => {
  test('downsampling averages throughput and keeps the worst latency', () => {
    const pts = syntheticSeries(100)
    const out = downsampleSeries(pts, 30)
    expect(out.length).toBeLessThanOrEqual(30)
    expect(out[0].startMs).toBe(pts[0].startMs)
    expect(Math.max(...out.map(p => p.p95Ms))).toBe(Math.max(...pts.map(p => p.p95Ms)))
    const meanIn = pts.reduce((a, p) => a + p.rps, 0) / pts.length
    const meanOut = out.reduce((a, p) => a + p.rps, 0) / out.length
    expect(Math.abs(meanOut - meanIn) / meanIn).toBeLessThan(0.02)
    expect(downsampleSeries(pts.slice(0, 5), 30)).toHaveLength(5)
  })

  test('nice axis bounds cover the data', () => {
    for (const max of [0.003, 0.7, 1, 9.9, 42, 480.25, 12345, 9.8e6]) {
      const ticks = niceTicks(max)
      expect(ticks[0]).toBe(0)
      expect(ticks[ticks.length - 1]).toBeGreaterThanOrEqual(max)
      for (let i = 1; i < ticks.length; i++) expect(ticks[i]).toBeGreaterThan(ticks[i - 1])
      expect(niceMax(max)).toBeGreaterThanOrEqual(max)
    }
    expect(niceMax(0)).toBe(1)
    expect(niceMax(Number.NaN)).toBe(1)
  })
})

describe('svg charts', () => {
  test('line chart breaks the line at gaps and escapes names', () => {
    const svg = svgLineChart({
      title: 'Latency <b>',
      xs: [0, 10, 20, 30, 40],
      unit: 'ms',
      series: [{ name: 'p95 <script>', color: '#123456', values: [1, 2, Number.NaN, 4, 5] }],
      shade: { from: 10, to: 30, label: 'steady' }
    })
    expect(svg.startsWith('<svg ')).toBe(true)
    expect(svg.endsWith('</svg>')).toBe(true)
    expect(svg.match(/<polyline /g)).toHaveLength(2)
    expect(svg).toContain('class="shade"')
    expect(svg).not.toContain('<script>')
    expect(svg).toContain('p95 &lt;script&gt;')
    expect(svg).not.toContain('NaN')
    for (const m of svg.matchAll(/points="([^"]+)"/g)) {
      for (const pair of m[1].split(' ')) {
        const [x, y] = pair.split(',').map(Number)
        expect(x).toBeGreaterThanOrEqual(0)
        expect(x).toBeLessThanOrEqual(720)
        expect(y).toBeGreaterThanOrEqual(0)
        expect(y).toBeLessThanOrEqual(280)
      }
    }
  })

  test('bar chart draws one bar per finite value, taller for larger values', () => {
    const svg = svgBarChart({
      title: 'bars',
      categories: ['p50', 'p95'],
      unit: 'ms',
      series: [
        { name: 'baseline', color: '#888', values: [10, 100] },
        { name: 'run', color: '#00f', values: [20, Number.NaN] }
      ]
    })
    const heights = [
      ...svg.matchAll(/<rect x="[^"]+" y="[^"]+" width="[^"]+" height="([^"]+)" fill="[^"]+"><title>/g)
    ].map(m => Number(m[1]))
    expect(heights).toHaveLength(3)
    expect(heights[1]).toBeGreaterThan(heights[0])
    expect(svg).not.toContain('NaN')
  })
})
