/**
 * The terminal report: a plain-text table (overall and per label) with aligned columns, plus
 * failures by kind, checks and thresholds. Colour (ANSI) only when asked for, i.e. on a TTY.
 */
import type { Summary, SummaryStats } from '../results/summary.js'

export interface TerminalOptions {
  color?: boolean
  /** A first line naming the run (scenario, engine, tasks...). */
  title?: string
  /** Longest label shown in full; longer ones are shortened in the middle. */
  maxLabel?: number
}

const MISSING = '-'

function num(v: number | null, decimals: number): string {
  if (v === null || !Number.isFinite(v)) return MISSING
  const s = v.toFixed(decimals)
  const [int, frac] = s.split('.')
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  return frac === undefined ? grouped : `${grouped}.${frac}`
}

/** A latency in ms with about three significant digits. */
export function fmtMs(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return MISSING
  const a = Math.abs(v)
  return num(v, a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3)
}

export function fmtRps(v: number): string {
  return num(v, v >= 1000 ? 0 : v >= 10 ? 1 : 2)
}

export function fmtPct(rate: number): string {
  const p = rate * 100
  if (p === 0) return '0%'
  if (p < 0.01) return '<0.01%'
  return `${num(p, p >= 10 ? 1 : 2)}%`
}

function shorten(s: string, max: number): string {
  if (s.length <= max) return s
  const keep = max - 3
  return s.slice(0, Math.ceil(keep / 2)) + '...' + s.slice(s.length - Math.floor(keep / 2))
}

const COLUMNS = ['requests', 'failures', 'error %', 'rps', 'p50', 'p90', 'p95', 'p99', 'max'] as const

function row(label: string, s: SummaryStats): string[] {
  return [
    label,
    num(s.requests, 0),
    num(s.failures, 0),
    fmtPct(s.error_rate),
    fmtRps(s.rps),
    fmtMs(s.p50_ms),
    fmtMs(s.p90_ms),
    fmtMs(s.p95_ms),
    fmtMs(s.p99_ms),
    fmtMs(s.max_ms)
  ]
}

const ansi = (on: boolean, code: string, s: string) => (on ? `\u001b[${code}m${s}\u001b[0m` : s)

/** Lays out rows as aligned columns: the first left-aligned, the rest right-aligned. */
export function alignColumns(rows: string[][], gap = 2): string[] {
  const widths: number[] = []
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)))
  return rows.map(r =>
    r
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join(' '.repeat(gap))
      .trimEnd()
  )
}

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19)
}

/** Renders the summary as the terminal report (ends with a newline). */
export function renderTerminal(summary: Summary, opts: TerminalOptions = {}): string {
  const color = opts.color ?? false
  const maxLabel = opts.maxLabel ?? 56
  const out: string[] = []
  if (opts.title) out.push(ansi(color, '1', opts.title))
  const w = summary.window
  out.push(
    `window: ${w.name} ${clock(w.start_ms)}–${clock(w.end_ms)} UTC (${num(w.duration_s, 1)} s)` +
      ` · latency in ms over every request`
  )
  out.push('')
  const labels = Object.keys(summary.labels)
  const rows = [['label', ...COLUMNS] as string[]]
  for (const l of labels) rows.push(row(shorten(l, maxLabel), summary.labels[l]))
  rows.push(row('overall', summary.overall))
  const lines = alignColumns(rows)
  const rule = '-'.repeat(Math.max(...lines.map(l => l.length)))
  out.push(ansi(color, '1', lines[0]))
  out.push(rule)
  for (let i = 1; i < lines.length - 1; i++) {
    const s = summary.labels[labels[i - 1]]
    out.push(s.failures > 0 ? ansi(color, '31', lines[i]) : lines[i])
  }
  if (labels.length) out.push(rule)
  out.push(ansi(color, '1', lines[lines.length - 1]))

  const kinds = Object.entries(summary.overall.failures_by_kind)
  if (kinds.length) out.push('', `failures: ${kinds.map(([k, n]) => `${k} ${num(n, 0)}`).join(', ')}`)
  const checks = Object.entries(summary.checks)
  if (checks.length) {
    out.push('', 'checks:')
    for (const line of alignColumns(
      checks.map(([name, c]) => [`  ${name}`, `${num(c.passes, 0)} passed`, `${num(c.fails, 0)} failed`])
    ))
      out.push(line)
  }
  if (summary.thresholds.length) {
    out.push('', 'thresholds (declared, not evaluated here):')
    for (const t of summary.thresholds)
      out.push(`  ${t.metric}: ${t.expr}${t.abort_on_fail ? ' (abortOnFail)' : ''}`)
  }
  if (summary.tasks.failed > 0) {
    const st = Object.entries(summary.tasks.statuses)
      .filter(([k]) => k !== 'ok')
      .map(([k, n]) => `${n} ${k}`)
      .join(', ')
    out.push(
      '',
      ansi(color, '31', `tasks: ${summary.tasks.failed} of ${summary.tasks.count} did not finish ok (${st})`)
    )
  }
  return out.join('\n') + '\n'
}
