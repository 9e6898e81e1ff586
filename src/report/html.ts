/**
 * The HTML report: one self-contained file (inline CSS and SVG, no scripts, fonts or external
 * resources) with the verdict, every table and charts drawn as inline SVG. A Content-Security-Policy
 * forbids scripts and remote loads, and all data is HTML-escaped.
 */
import { SVG_MAX_POINTS, downsampleSeries, svgBarChart, svgLineChart } from './charts.js'
import {
  MISSING,
  OUTCOME_EMOJI,
  escapeHtml,
  formatClock,
  formatCount,
  formatDelta,
  formatDuration,
  formatFirstRequest,
  formatMs,
  formatRate,
  formatStatus,
  formatUsd,
  formatValue,
  safeHttpUrl
} from './format.js'
import { hasBaseline } from './markdown-sections.js'
import { detectSentence as sensitivitySentence, noiseFacts } from './noise.js'
import type { ReportInput, ReportLabel } from './types.js'

const COLORS = {
  baseline: '#8c96a5',
  current: '#2f6fdd',
  p50: '#3aa655',
  p95: '#2f6fdd',
  p99: '#d9534f',
  rps: '#7b4fd0'
}

const CSS = `
:root { color-scheme: light dark; --fg: #1f2328; --muted: #59636e; --bg: #ffffff; --line: #d1d9e0; --shade: rgba(47,111,221,.08);
  --pass: #1a7f37; --fail: #cf222e; --warn: #9a6700; --error: #82071e; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117; --line: #3d444d; --shade: rgba(88,166,255,.12); } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 8px; } h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.verdict { border-left: 6px solid var(--muted); padding: 8px 16px; margin: 8px 0 16px; }
.verdict.PASS { border-color: var(--pass); } .verdict.FAIL { border-color: var(--fail); }
.verdict.INCONCLUSIVE { border-color: var(--warn); } .verdict.ERROR, .verdict.CANCELLED { border-color: var(--error); }
.muted { color: var(--muted); }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid var(--line); padding: 4px 10px; vertical-align: top; }
th { text-align: left; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.label { word-break: break-all; max-width: 480px; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 90%; }
.warn { border: 1px solid var(--warn); padding: 8px 12px; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
svg.chart { max-width: 100%; height: auto; }
svg .grid { stroke: var(--line); stroke-width: 1; } svg .axis { stroke: var(--muted); stroke-width: 1; }
svg .shade { fill: var(--shade); }
svg text { fill: var(--fg); font-size: 11px; font-family: inherit; } svg .chart-title { font-size: 14px; font-weight: 600; }
svg .tick, svg .axis-label, svg .value { fill: var(--muted); }
`

/** A table from header cells and rows of pre-escaped HTML cells; `numeric` marks right-aligned columns. */
function table(headers: string[], rows: string[][], numeric: boolean[] = [], labelCol = -1): string {
  const head = `<tr>${headers.map(h => `<th>${escapeHtml(h)}</th>`).join('')}</tr>`
  const body = rows
    .map(
      r =>
        `<tr>${r.map((c, i) => `<td${numeric[i] ? ' class="num"' : i === labelCol ? ' class="label"' : ''}>${c}</td>`).join('')}</tr>`
    )
    .join('\n')
  return `<table>\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`
}

function summarySection(input: ReportInput): string {
  const withBaseline = hasBaseline(input)
  const current = input.pr ? 'This PR' : 'This run'
  const rows = input.metrics.map(m => {
    const name = m.primary ? `<strong>${escapeHtml(m.label)}</strong>` : escapeHtml(m.label)
    const status = escapeHtml(formatStatus(m.primary ? m.status : 'advisory'))
    const verdict = m.note ? `${status} <span class="muted">(${escapeHtml(m.note)})</span>` : status
    const cur = escapeHtml(formatValue(m.current, m.unit))
    return withBaseline
      ? [name, escapeHtml(formatValue(m.baseline, m.unit)), cur, escapeHtml(formatDelta(m.deltaPct)), verdict]
      : [name, cur, verdict]
  })
  return withBaseline
    ? table(['Metric', 'Baseline', current, 'Δ%', 'Verdict'], rows, [false, true, true, true, false])
    : table(['Metric', current, 'Verdict'], rows, [false, true, false])
}

function headerSection(input: ReportInput): string {
  const v = input.verdict
  const title = input.title?.trim() || input.scenario
  const provisional = v.provisional
    ? ` <span class="muted">(provisional: ${escapeHtml(formatCount(v.baselines))} of ${escapeHtml(formatCount(v.minBaselines ?? 10))} baselines)</span>`
    : ''
  const reasons = v.reasons.map(r => r.trim()).filter(Boolean)
  const reasonHtml =
    reasons.length === 1
      ? `<p>${escapeHtml(reasons[0])}</p>`
      : reasons.length > 1
        ? `<ul>${reasons.map(r => `<li>${escapeHtml(r)}</li>`).join('')}</ul>`
        : ''
  let detect = ''
  if (!hasBaseline(input)) {
    detect =
      input.mode === 'stress'
        ? '<p class="muted">Stress run: no baseline comparison and no gate; the capacity report holds the analysis.</p>'
        : '<p class="muted">No baseline to compare against yet: showing this run only.</p>'
  } else {
    const s = sensitivitySentence(v)
    if (s !== null) detect = `<p>${escapeHtml(s)}</p>`
  }
  return [
    `<h1>perf-gate · ${escapeHtml(title)}</h1>`,
    `<div class="verdict ${v.outcome}">`,
    `<h2 style="border:0;margin:4px 0">${OUTCOME_EMOJI[v.outcome]} ${v.outcome}${provisional}</h2>`,
    reasonHtml,
    detect,
    '</div>'
  ]
    .filter(Boolean)
    .join('\n')
}

function missingSection(input: ReportInput): string {
  const missing = input.facts.missingTasks
  if (!missing.length) return ''
  return [
    `<div class="warn"><strong>⚠️ ${escapeHtml(formatCount(missing.length))} of ${escapeHtml(formatCount(input.facts.tasks))} tasks produced no result</strong>; the figures cover the others.</div>`,
    table(
      ['Region', 'Task', 'Reason'],
      missing.map(t => [
        escapeHtml(t.region || 'local'),
        escapeHtml(String(t.taskIndex)),
        escapeHtml(t.reason)
      ]),
      [false, true, false]
    )
  ].join('\n')
}

function sloSection(input: ReportInput): string {
  if (!input.slos.length) return ''
  const passed = input.slos.filter(s => s.ok && s.judged !== false).length
  const notJudged = input.slos.filter(s => s.judged === false).length
  const rows = input.slos.map(s => [
    s.metric
      ? `<code>${escapeHtml(s.metric)}</code>: <code>${escapeHtml(s.expr)}</code>`
      : `<code>${escapeHtml(s.expr)}</code>`,
    escapeHtml(s.source),
    escapeHtml(formatValue(s.observed, s.unit || undefined)),
    (s.judged === false ? '⚪ not judged' : s.ok ? '✅ pass' : '❌ fail') +
      (s.reason ? ` <span class="muted">(${escapeHtml(s.reason)})</span>` : '')
  ])
  return [
    `<h2>SLOs <span class="muted">(${passed} of ${input.slos.length} passed${notJudged ? `, ${notJudged} not judged` : ''})</span></h2>`,
    table(['SLO', 'Source', 'Observed', 'Result'], rows, [false, false, true, false])
  ].join('\n')
}

function chartsSection(input: ReportInput): string {
  const charts: string[] = []
  const cats = ['p50', 'p90', 'p95', 'p99'] as const
  const cur = cats.map(k => input.currentPercentiles[k])
  const bp = hasBaseline(input) ? input.baselinePercentiles : null
  const base = bp ? cats.map(k => bp[k]) : null
  charts.push(
    svgBarChart({
      title: base ? 'Latency percentiles: baseline vs this run' : 'Latency percentiles',
      categories: [...cats],
      unit: 'ms',
      series: base
        ? [
            { name: 'baseline', color: COLORS.baseline, values: base },
            { name: 'this run', color: COLORS.current, values: cur }
          ]
        : [{ name: 'this run', color: COLORS.current, values: cur }]
    })
  )
  const pts = downsampleSeries(input.series, SVG_MAX_POINTS)
  if (pts.length) {
    const t0 = pts[0].startMs
    const xs = pts.map(p => (p.startMs - t0) / 1000)
    const w = input.facts.steadyWindow
    const shade =
      w && Number.isFinite(w.startMs) && Number.isFinite(w.endMs)
        ? { from: (w.startMs - t0) / 1000, to: (w.endMs - t0) / 1000, label: 'steady window' }
        : null
    charts.push(
      svgLineChart({
        title: 'Latency percentiles over time',
        xs,
        unit: 'ms',
        shade,
        series: [
          { name: 'p50', color: COLORS.p50, values: pts.map(p => p.p50Ms) },
          { name: 'p95', color: COLORS.p95, values: pts.map(p => p.p95Ms) },
          { name: 'p99', color: COLORS.p99, values: pts.map(p => p.p99Ms) }
        ]
      }),
      svgLineChart({
        title: 'Throughput over time',
        xs,
        unit: 'req/s',
        shade,
        series: [{ name: 'req/s', color: COLORS.rps, values: pts.map(p => p.rps) }]
      })
    )
  }
  const note =
    input.facts.steadyWindow && pts.length
      ? '<p class="muted">Shaded: the steady window the gate used.</p>'
      : ''
  return ['<h2>Charts</h2>', `<div class="charts">\n${charts.join('\n')}\n</div>`, note]
    .filter(Boolean)
    .join('\n')
}

function factsSection(input: ReportInput): string {
  const f = input.facts
  const v = input.verdict
  const rows: [string, string][] = []
  if (hasBaseline(input)) {
    for (const [name, value] of noiseFacts(v)) rows.push([name, escapeHtml(value)])
  }
  rows.push(
    ['Engine', escapeHtml(f.engineVersion ? `${f.engine} ${f.engineVersion}` : f.engine)],
    ['Backend', escapeHtml(f.backend)],
    ['Regions', escapeHtml(f.regions.length ? f.regions.join(', ') : MISSING)],
    ['Tasks', escapeHtml(formatCount(f.tasks))]
  )
  if (f.vus !== null && f.vus !== undefined) rows.push(['VUs', escapeHtml(formatCount(f.vus))])
  rows.push(['Duration', escapeHtml(formatDuration(f.durationS))])
  const w = f.steadyWindow
  if (w && Number.isFinite(w.startMs) && Number.isFinite(w.endMs)) {
    const t0 = input.series[0]?.startMs
    const range =
      t0 !== undefined && Number.isFinite(t0)
        ? `${formatClock((w.startMs - t0) / 1000)}–${formatClock((w.endMs - t0) / 1000)} `
        : ''
    rows.push(['Steady window', escapeHtml(`${range}(${formatDuration((w.endMs - w.startMs) / 1000)})`)])
  }
  if (f.startSkewMs !== null && f.startSkewMs !== undefined)
    rows.push(['Start skew', `${Math.round(f.startSkewMs)} ms`])
  if (f.costUsd !== null && f.costUsd !== undefined)
    rows.push([
      'Estimated cost',
      escapeHtml(formatUsd(f.costUsd)) +
        (f.costDetail ? ` <span class="muted">(${escapeHtml(f.costDetail)})</span>` : '')
    ])
  if (f.firstRequest) {
    const text = formatFirstRequest(f.firstRequest)
    rows.push(['Time to first request', escapeHtml(text.replace(/^first request /, ''))])
  }
  if (f.commit) rows.push(['Commit', `<code>${escapeHtml(f.commit)}</code>`])
  if (f.baselineCommit) rows.push(['Baseline commit', `<code>${escapeHtml(f.baselineCommit)}</code>`])
  if (input.pr) rows.push(['Pull request', escapeHtml(`#${input.pr.number}`)])
  const url = safeHttpUrl(f.runUrl)
  if (url)
    rows.push([
      'Workflow run',
      `<a href="${escapeHtml(url)}" rel="noopener noreferrer">${escapeHtml(url)}</a>`
    ])
  return [
    '<h2>Run</h2>',
    `<table>\n<tbody>\n${rows.map(([k, val]) => `<tr><th>${escapeHtml(k)}</th><td>${val}</td></tr>`).join('\n')}\n</tbody>\n</table>`
  ].join('\n')
}

function labelCell(cur: number, base: number | undefined): string {
  const s = formatMs(cur)
  if (base === undefined || !Number.isFinite(base) || base <= 0 || !Number.isFinite(cur)) return escapeHtml(s)
  return `${escapeHtml(s)} <span class="muted">(${escapeHtml(formatDelta(((cur - base) / base) * 100))})</span>`
}

function labelsSection(input: ReportInput): string {
  if (!input.labels.length) return ''
  const useBaseline = hasBaseline(input)
  const rows = input.labels.map((l: ReportLabel) => {
    const b = useBaseline ? (l.baseline ?? undefined) : undefined
    return [
      escapeHtml(l.label),
      escapeHtml(formatCount(l.requests)),
      escapeHtml(formatRate(l.errorRate)),
      labelCell(l.p50, b?.p50),
      labelCell(l.p95, b?.p95),
      labelCell(l.p99, b?.p99)
    ]
  })
  const n = input.labels.length
  return [
    `<h2>Per-label results <span class="muted">(${escapeHtml(formatCount(n))} ${n === 1 ? 'label' : 'labels'}${useBaseline ? '; Δ% vs the same label in the newest baseline' : ''})</span></h2>`,
    table(
      ['Label', 'Requests', 'Errors', 'p50', 'p95', 'p99'],
      rows,
      [false, true, true, true, true, true],
      0
    )
  ].join('\n')
}

/** Renders the self-contained HTML report. */
export function renderHtml(input: ReportInput): string {
  const v = input.verdict
  const title = `perf-gate ${v.outcome} · ${input.title?.trim() || input.scenario}`
  const body = [
    headerSection(input),
    '<h2>Summary</h2>',
    summarySection(input),
    missingSection(input),
    sloSection(input),
    chartsSection(input),
    factsSection(input),
    labelsSection(input)
  ]
    .filter(Boolean)
    .join('\n')
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    '<main>',
    body,
    '</main>',
    '</body>',
    '</html>',
    ''
  ].join('\n')
}
