/**
 * Chart builders: Mermaid `xychart-beta` blocks for markdown, and inline SVG for the HTML report.
 * Both take plain numbers; values are rounded and non-finite values are drawn as 0 (Mermaid has
 * no gaps) or skipped (SVG).
 */
import { escapeHtml, formatClock, roundForChart } from './format.js'
import type { Percentiles, ReportSeriesPoint } from './types.js'

/** Most points drawn in a Mermaid time chart; more make the x axis unreadable. */
export const MERMAID_MAX_POINTS = 30

/** Most points drawn in an SVG time chart. */
export const SVG_MAX_POINTS = 600

const PERCENTILE_KEYS = ['p50', 'p90', 'p95', 'p99'] as const

/** Keeps only characters that are safe inside a quoted Mermaid string. */
function mermaidText(s: string): string {
  const cleaned = s
    .replace(/[^A-Za-z0-9 _.,:/()%+-]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
  return cleaned.slice(0, 80)
}

/** A rounded upper axis bound with some headroom, so bars do not touch the top. */
export function niceMax(max: number): number {
  if (!Number.isFinite(max) || max <= 0) return 1
  const target = max * 1.1
  const mag = 10 ** Math.floor(Math.log10(target))
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) {
    if (m * mag >= target) return roundForChart(m * mag)
  }
  return roundForChart(10 * mag)
}

/** Evenly spaced "nice" ticks from 0 to at least `max`. */
export function niceTicks(max: number, count = 5): number[] {
  if (!Number.isFinite(max) || max <= 0) return [0, 1]
  const raw = max / count
  const mag = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 2.5, 5, 10].map(m => m * mag).find(s => s >= raw) ?? 10 * mag
  const ticks: number[] = []
  for (let i = 0; i * step < max + step * 0.999 && ticks.length <= count + 2; i++) {
    ticks.push(Number((i * step).toPrecision(12)))
  }
  return ticks
}

/**
 * Reduces a series to at most `max` points by merging consecutive intervals: throughput is averaged,
 * latency percentiles and users take the highest value in each group (the worst interval stays visible).
 */
export function downsampleSeries(points: readonly ReportSeriesPoint[], max: number): ReportSeriesPoint[] {
  if (points.length <= max || max < 1) return [...points]
  const size = Math.ceil(points.length / max)
  const out: ReportSeriesPoint[] = []
  for (let i = 0; i < points.length; i += size) {
    const group = points.slice(i, i + size)
    const finiteMax = (pick: (p: ReportSeriesPoint) => number): number => {
      const vals = group.map(pick).filter(Number.isFinite)
      return vals.length ? Math.max(...vals) : Number.NaN
    }
    const rpsVals = group.map(p => p.rps).filter(Number.isFinite)
    const users = group.map(p => p.users).filter((u): u is number => u !== null && Number.isFinite(u))
    out.push({
      startMs: group[0].startMs,
      rps: rpsVals.length ? rpsVals.reduce((a, b) => a + b, 0) / rpsVals.length : Number.NaN,
      p50Ms: finiteMax(p => p.p50Ms),
      p95Ms: finiteMax(p => p.p95Ms),
      p99Ms: finiteMax(p => p.p99Ms),
      users: users.length ? Math.max(...users) : null
    })
  }
  return out
}

/** Series colours of the charts: this run, the baseline (the SVG charts use the same). */
export const CHART_COLORS = { current: '#2f6fdd', baseline: '#8c96a5' } as const

/**
 * A Mermaid block whose series are drawn in `palette` (in series order). Mermaid's default palette
 * starts with a colour close to the page background, which hides a chart's only series.
 */
function mermaidBlock(lines: string[], palette: readonly string[] = [CHART_COLORS.current]): string {
  const init = `%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "${palette.join(', ')}"}}}}%%`
  return ['```mermaid', init, ...lines, '```'].join('\n')
}

function mermaidArray(values: readonly number[]): string {
  return `[${values.map(v => String(roundForChart(v))).join(', ')}]`
}

function mermaidCategories(names: readonly string[]): string {
  return `[${names.map(n => `"${mermaidText(n)}"`).join(', ')}]`
}

/**
 * Baseline vs PR latency percentiles: baseline as bars, this run as a line over them (Mermaid
 * draws several bar series on top of each other, so two bar series would hide one another).
 * Without a baseline only this run's bars are drawn.
 */
export function mermaidPercentileChart(
  baseline: Percentiles | null | undefined,
  current: Percentiles
): string {
  const cur = PERCENTILE_KEYS.map(k => current[k])
  const base = baseline ? PERCENTILE_KEYS.map(k => baseline[k]) : null
  const all = [...cur, ...(base ?? [])].filter(Number.isFinite)
  const lines = [
    'xychart-beta',
    `  title "${base ? 'Latency percentiles: baseline (grey bars) vs this run (blue line)' : 'Latency percentiles of this run (bars)'}"`,
    `  x-axis ${mermaidCategories(PERCENTILE_KEYS)}`,
    `  y-axis "ms" 0 --> ${niceMax(Math.max(0, ...all))}`
  ]
  if (base) {
    lines.push(`  bar ${mermaidArray(base)}`, `  line ${mermaidArray(cur)}`)
    return mermaidBlock(lines, [CHART_COLORS.baseline, CHART_COLORS.current])
  }
  lines.push(`  bar ${mermaidArray(cur)}`)
  return mermaidBlock(lines)
}

/** Which per-interval value a time chart shows. */
export type SeriesField = 'p50Ms' | 'p95Ms' | 'p99Ms' | 'rps' | 'users'

/**
 * One value of the run over time as a Mermaid line chart. The x axis holds the elapsed time of
 * each (possibly merged) interval, so it always has as many entries as the line.
 * Returns null when there are no points.
 */
export function mermaidTimeChart(
  points: readonly ReportSeriesPoint[],
  opts: { title: string; field: SeriesField; yLabel: string; maxPoints?: number; series?: string }
): string | null {
  if (!points.length) return null
  const pts = downsampleSeries(points, opts.maxPoints ?? MERMAID_MAX_POINTS)
  const t0 = pts[0].startMs
  const xs = pts.map(p => formatClock((p.startMs - t0) / 1000))
  const ys = pts.map(p => {
    const v = p[opts.field]
    return v === null ? Number.NaN : v
  })
  const max = Math.max(0, ...ys.filter(Number.isFinite))
  return mermaidBlock([
    'xychart-beta',
    `  title "${mermaidText(`${opts.title} (line: ${opts.series ?? 'this run, per interval'})`)}"`,
    `  x-axis ${mermaidCategories(xs)}`,
    `  y-axis "${mermaidText(opts.yLabel)}" 0 --> ${niceMax(max)}`,
    `  line ${mermaidArray(ys)}`
  ])
}

/**
 * Values against named categories (e.g. load levels) as a Mermaid chart: a line, or bars. Returns
 * null when there are no values.
 */
export function mermaidCategoryChart(
  categories: readonly string[],
  values: readonly number[],
  opts: { title: string; yLabel: string; kind?: 'line' | 'bar'; series?: string }
): string | null {
  if (!categories.length || categories.length !== values.length) return null
  const max = Math.max(0, ...values.filter(Number.isFinite))
  return mermaidBlock([
    'xychart-beta',
    `  title "${mermaidText(`${opts.title} (${opts.kind ?? 'line'}: ${opts.series ?? 'this run'})`)}"`,
    `  x-axis ${mermaidCategories(categories)}`,
    `  y-axis "${mermaidText(opts.yLabel)}" 0 --> ${niceMax(max)}`,
    `  ${opts.kind ?? 'line'} ${mermaidArray(values)}`
  ])
}

/** One line or bar series of an SVG chart. */
export interface SvgSeries {
  name: string
  /** A CSS color. */
  color: string
  values: readonly number[]
}

const W = 720
const H = 280
const PAD = { left: 64, right: 16, top: 36, bottom: 52 }

function fmtTick(v: number): string {
  if (v >= 10_000) return `${Number((v / 1000).toPrecision(3))}k`
  return String(Number(v.toPrecision(4)))
}

function yAxis(ticks: number[], yOf: (v: number) => number, unit: string): string[] {
  const out: string[] = []
  for (const t of ticks) {
    const y = yOf(t).toFixed(1)
    out.push(
      `<line x1="${PAD.left}" y1="${y}" x2="${W - PAD.right}" y2="${y}" class="grid"/>`,
      `<text x="${PAD.left - 6}" y="${y}" class="tick" text-anchor="end" dominant-baseline="middle">${escapeHtml(fmtTick(t))}</text>`
    )
  }
  out.push(
    `<text x="14" y="${(PAD.top + (H - PAD.bottom)) / 2}" class="axis-label" text-anchor="middle" transform="rotate(-90 14 ${(PAD.top + (H - PAD.bottom)) / 2})">${escapeHtml(unit)}</text>`
  )
  return out
}

function legend(series: readonly SvgSeries[]): string[] {
  const out: string[] = []
  let x = PAD.left
  for (const s of series) {
    out.push(
      `<rect x="${x}" y="${H - 16}" width="12" height="12" fill="${escapeHtml(s.color)}"/>`,
      `<text x="${x + 16}" y="${H - 6}" class="legend">${escapeHtml(s.name)}</text>`
    )
    x += 24 + s.name.length * 7
  }
  return out
}

function svgOpen(title: string): string[] {
  return [
    `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" class="chart">`,
    `<title>${escapeHtml(title)}</title>`,
    `<text x="${W / 2}" y="20" class="chart-title" text-anchor="middle">${escapeHtml(title)}</text>`
  ]
}

/**
 * A line chart over elapsed time. `xs` are seconds since the start, one per value; non-finite values
 * break the line. `shade` marks a time range (e.g. the steady window).
 */
export function svgLineChart(opts: {
  title: string
  xs: readonly number[]
  series: readonly SvgSeries[]
  unit: string
  shade?: { from: number; to: number; label: string } | null
}): string {
  const { xs, series } = opts
  const values = series.flatMap(s => s.values.filter(Number.isFinite))
  const ticks = niceTicks(Math.max(0, ...values))
  const yMax = ticks[ticks.length - 1]
  const xMax = Math.max(1, ...xs.filter(Number.isFinite))
  const plotW = W - PAD.left - PAD.right
  const plotH = H - PAD.top - PAD.bottom
  const xOf = (x: number): number => PAD.left + (Math.min(Math.max(x, 0), xMax) / xMax) * plotW
  const yOf = (v: number): number => PAD.top + plotH - (v / yMax) * plotH
  const out = svgOpen(opts.title)
  if (opts.shade && Number.isFinite(opts.shade.from) && Number.isFinite(opts.shade.to)) {
    const x1 = xOf(opts.shade.from)
    const x2 = xOf(opts.shade.to)
    out.push(
      `<rect x="${x1.toFixed(1)}" y="${PAD.top}" width="${Math.max(0, x2 - x1).toFixed(1)}" height="${plotH}" class="shade"><title>${escapeHtml(opts.shade.label)}</title></rect>`
    )
  }
  out.push(...yAxis(ticks, yOf, opts.unit))
  for (const t of niceTicks(xMax, 6)) {
    if (t > xMax) break
    const x = xOf(t).toFixed(1)
    out.push(
      `<text x="${x}" y="${H - PAD.bottom + 16}" class="tick" text-anchor="middle">${escapeHtml(formatClock(t))}</text>`
    )
  }
  out.push(
    `<line x1="${PAD.left}" y1="${H - PAD.bottom}" x2="${W - PAD.right}" y2="${H - PAD.bottom}" class="axis"/>`
  )
  for (const s of series) {
    const segments: string[][] = [[]]
    s.values.forEach((v, i) => {
      const x = xs[i]
      if (!Number.isFinite(v) || x === undefined || !Number.isFinite(x)) {
        if (segments[segments.length - 1].length) segments.push([])
        return
      }
      segments[segments.length - 1].push(`${xOf(x).toFixed(1)},${yOf(v).toFixed(1)}`)
    })
    for (const seg of segments) {
      if (seg.length === 1) {
        const [cx, cy] = seg[0].split(',')
        out.push(`<circle cx="${cx}" cy="${cy}" r="2" fill="${escapeHtml(s.color)}"/>`)
      } else if (seg.length > 1) {
        out.push(
          `<polyline points="${seg.join(' ')}" fill="none" stroke="${escapeHtml(s.color)}" stroke-width="1.8"/>`
        )
      }
    }
  }
  out.push(...legend(series), '</svg>')
  return out.join('\n')
}

/** A grouped bar chart: one group per category, one bar per series, value labels on top. */
export function svgBarChart(opts: {
  title: string
  categories: readonly string[]
  series: readonly SvgSeries[]
  unit: string
}): string {
  const { categories, series } = opts
  const values = series.flatMap(s => s.values.filter(Number.isFinite))
  const ticks = niceTicks(Math.max(0, ...values) * 1.08)
  const yMax = ticks[ticks.length - 1]
  const plotW = W - PAD.left - PAD.right
  const plotH = H - PAD.top - PAD.bottom
  const yOf = (v: number): number => PAD.top + plotH - (v / yMax) * plotH
  const groupW = plotW / Math.max(1, categories.length)
  const barW = Math.min(48, (groupW * 0.7) / Math.max(1, series.length))
  const out = svgOpen(opts.title)
  out.push(...yAxis(ticks, yOf, opts.unit))
  categories.forEach((c, ci) => {
    const gx = PAD.left + ci * groupW
    const start = gx + (groupW - barW * series.length) / 2
    series.forEach((s, si) => {
      const v = s.values[ci]
      if (v === undefined || !Number.isFinite(v)) return
      const x = start + si * barW
      const y = yOf(Math.max(0, v))
      out.push(
        `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(PAD.top + plotH - y).toFixed(1)}" fill="${escapeHtml(s.color)}"><title>${escapeHtml(`${s.name} ${c}: ${roundForChart(v)} ${opts.unit}`)}</title></rect>`,
        `<text x="${(x + (barW - 2) / 2).toFixed(1)}" y="${(y - 4).toFixed(1)}" class="value" text-anchor="middle">${escapeHtml(String(roundForChart(v)))}</text>`
      )
    })
    out.push(
      `<text x="${(gx + groupW / 2).toFixed(1)}" y="${H - PAD.bottom + 16}" class="tick" text-anchor="middle">${escapeHtml(c)}</text>`
    )
  })
  out.push(
    `<line x1="${PAD.left}" y1="${H - PAD.bottom}" x2="${W - PAD.right}" y2="${H - PAD.bottom}" class="axis"/>`
  )
  out.push(...legend(series), '</svg>')
  return out.join('\n')
}
