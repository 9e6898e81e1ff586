/**
 * The sections of the markdown report, each a list of lines (or one line): the headline and its
 * reasons, the summary table of metrics, missing tasks, SLOs, the noise and run facts, the charts
 * and the per-label table. markdown.ts puts them together and keeps the body within size limits.
 */
import { markdownTable } from 'markdown-table'
import { mermaidPercentileChart, mermaidTimeChart } from './charts.js'
import {
  MISSING,
  OUTCOME_EMOJI,
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
  safeHttpUrl,
  shortSha
} from './format.js'
import { codeSpan, escapeMarkdown, htmlText } from './markdown-escape.js'
import { detectSentence as sensitivitySentence, noiseFacts } from './noise.js'
import type { ReportInput, ReportLabel, ReportMetric, ReportSlo } from './types.js'

/** Most missing tasks named one by one; the rest are counted. */
const MAX_MISSING_LISTED = 20

/** Whether the report compares against a baseline (false for stress runs and first runs). */
export function hasBaseline(input: ReportInput): boolean {
  if (input.mode === 'stress') return false
  return (
    input.metrics.some(m => m.baseline !== null && Number.isFinite(m.baseline)) || !!input.baselinePercentiles
  )
}

/** The scenario's title, or its name when it has none. */
export function displayTitle(input: ReportInput): string {
  return input.title?.trim() || input.scenario
}

function currentHeader(input: ReportInput): string {
  return input.pr ? 'This PR' : 'This run'
}

/** The heading with the outcome, the reasons, and what the gate could detect. */
export function headline(input: ReportInput): string[] {
  const v = input.verdict
  const out: string[] = []
  const provisional = v.provisional
    ? ` (provisional: ${formatCount(v.baselines)} of ${formatCount(v.minBaselines ?? 10)} baselines)`
    : ''
  out.push(
    `### ${OUTCOME_EMOJI[v.outcome]} perf-gate ${v.outcome}${provisional} · ${escapeMarkdown(displayTitle(input))}`
  )
  const reasons = v.reasons.map(r => r.trim()).filter(Boolean)
  if (reasons.length === 1) out.push('', escapeMarkdown(reasons[0]))
  else if (reasons.length > 1) out.push('', ...reasons.map(r => `- ${escapeMarkdown(r)}`))
  const detect = detectSentence(input)
  if (detect) out.push('', detect)
  return out
}

function detectSentence(input: ReportInput): string | null {
  if (!hasBaseline(input)) {
    return input.mode === 'stress'
      ? '_Stress run: no baseline comparison and no gate; the capacity report holds the analysis._'
      : '_No baseline to compare against yet: showing this run only._'
  }
  const s = sensitivitySentence(input.verdict)
  return s === null ? null : escapeMarkdown(s)
}

function metricRow(m: ReportMetric, withBaseline: boolean): string[] {
  const name = m.primary ? `**${escapeMarkdown(m.label)}**` : escapeMarkdown(m.label)
  const status = m.primary ? formatStatus(m.status) : formatStatus('advisory')
  const verdict = m.note ? `${status} (${escapeMarkdown(m.note)})` : status
  const current = formatValue(m.current, m.unit)
  return withBaseline
    ? [name, formatValue(m.baseline, m.unit), current, formatDelta(m.deltaPct), verdict]
    : [name, current, verdict]
}

/** The table of metrics: baseline, this run, change and verdict (no baseline columns without one). */
export function summaryTable(input: ReportInput): string {
  const withBaseline = hasBaseline(input)
  const header = withBaseline
    ? ['Metric', 'Baseline', currentHeader(input), 'Δ%', 'Verdict']
    : ['Metric', currentHeader(input), 'Verdict']
  const align = withBaseline ? ['l', 'r', 'r', 'r', 'l'] : ['l', 'r', 'l']
  return markdownTable([header, ...input.metrics.map(m => metricRow(m, withBaseline))], { align })
}

/** A warning naming the tasks that produced no result; empty when every task did. */
export function missingTasks(input: ReportInput): string[] {
  const missing = input.facts.missingTasks
  if (!missing.length) return []
  const listed = missing
    .slice(0, MAX_MISSING_LISTED)
    .map(t => `${escapeMarkdown(t.region || 'local')} #${t.taskIndex} (${escapeMarkdown(t.reason)})`)
  const more = missing.length > MAX_MISSING_LISTED ? `, and ${missing.length - MAX_MISSING_LISTED} more` : ''
  return [
    `> ⚠️ **${formatCount(missing.length)} of ${formatCount(input.facts.tasks)} tasks produced no result**; ` +
      `the figures cover the others. Missing: ${listed.join('; ')}${more}.`
  ]
}

function sloRow(s: ReportSlo): string[] {
  const expr = s.metric ? `${codeSpan(s.metric)}: ${codeSpan(s.expr)}` : codeSpan(s.expr)
  const result = s.judged === false ? '⚪ not judged' : s.ok ? '✅ pass' : '❌ fail'
  return [
    expr,
    s.source,
    formatValue(s.observed, s.unit || undefined),
    s.reason ? `${result} (${escapeMarkdown(s.reason)})` : result
  ]
}

/** The SLOs with what was observed and whether each held; empty without SLOs. */
export function sloSection(input: ReportInput): string[] {
  if (!input.slos.length) return []
  const passed = input.slos.filter(s => s.ok && s.judged !== false).length
  const notJudged = input.slos.filter(s => s.judged === false).length
  return [
    `**SLOs** (${passed} of ${input.slos.length} passed${notJudged ? `, ${notJudged} not judged` : ''})`,
    '',
    markdownTable([['SLO', 'Source', 'Observed', 'Result'], ...input.slos.map(sloRow)], {
      align: ['l', 'l', 'r', 'l'],
      alignDelimiters: false
    })
  ]
}

/** The noise figures of the comparison (σ, N, k, MDE); null without a baseline. */
export function noiseLine(input: ReportInput): string | null {
  if (!hasBaseline(input)) return null
  const parts = noiseFacts(input.verdict).map(([name, value]) => {
    switch (name) {
      case 'Noise (σ)':
        return `σ=${value}`
      case 'Baselines (N)':
        return `N=${value} baselines`
      case 'PR replicates (k)':
        return `k=${value} ${input.verdict.replicates === 1 ? 'PR replicate' : 'PR replicates'}`
      case 'Minimum detectable effect':
        return `MDE ${value}`
      case '10% target':
        return value === 'reachable' ? '10% target reachable' : '10% target not reachable'
      default:
        return `${name.toLowerCase()} ${value}`
    }
  })
  return `**Noise:** ${escapeMarkdown(parts.join(' · '))}`
}

function steadyText(input: ReportInput): string | null {
  const w = input.facts.steadyWindow
  if (!w || !Number.isFinite(w.startMs) || !Number.isFinite(w.endMs)) return null
  const t0 = input.series[0]?.startMs
  const len = formatDuration((w.endMs - w.startMs) / 1000)
  if (t0 === undefined || !Number.isFinite(t0)) return `steady window ${len}`
  return `steady window ${formatClock((w.startMs - t0) / 1000)}–${formatClock((w.endMs - t0) / 1000)} (${len})`
}

/** The run's facts: engine, backend, regions, tasks, VUs, duration, windows, cost, commits, link. */
export function runLine(input: ReportInput): string {
  const f = input.facts
  const engine = f.engineVersion ? `${f.engine} ${f.engineVersion}` : f.engine
  const parts = [`${escapeMarkdown(engine)} on ${codeSpan(f.backend)}`]
  if (f.regions.length) parts.push(`regions ${f.regions.map(escapeMarkdown).join(', ')}`)
  parts.push(`${formatCount(f.tasks)} ${f.tasks === 1 ? 'task' : 'tasks'}`)
  if (f.vus !== null && f.vus !== undefined && Number.isFinite(f.vus)) parts.push(`${formatCount(f.vus)} VUs`)
  parts.push(formatDuration(f.durationS))
  const steady = steadyText(input)
  if (steady) parts.push(steady)
  if (f.startSkewMs !== null && f.startSkewMs !== undefined && Number.isFinite(f.startSkewMs))
    parts.push(`start skew ${formatCount(Math.round(f.startSkewMs))} ms`)
  if (f.costUsd !== null && f.costUsd !== undefined && Number.isFinite(f.costUsd)) {
    parts.push(`est. cost ${formatUsd(f.costUsd)}${f.costDetail ? ` (${escapeMarkdown(f.costDetail)})` : ''}`)
  }
  if (f.firstRequest) parts.push(escapeMarkdown(formatFirstRequest(f.firstRequest)))
  if (f.commit) {
    parts.push(
      f.baselineCommit
        ? `commit ${codeSpan(shortSha(f.commit))} vs baseline ${codeSpan(shortSha(f.baselineCommit))}`
        : `commit ${codeSpan(shortSha(f.commit))}`
    )
  }
  const url = safeHttpUrl(f.runUrl)
  if (url) parts.push(`[workflow run](${url.replace(/[()\s]/g, c => encodeURIComponent(c))})`)
  return `**Run:** ${parts.join(' · ')}`
}

/** The percentile chart and the p95 and throughput over time, in a collapsible block. */
export function chartsSection(input: ReportInput): string[] {
  const charts: string[] = [
    mermaidPercentileChart(hasBaseline(input) ? input.baselinePercentiles : null, input.currentPercentiles)
  ]
  const p95 = mermaidTimeChart(input.series, { title: 'p95 latency over time', field: 'p95Ms', yLabel: 'ms' })
  const rps = mermaidTimeChart(input.series, { title: 'Throughput over time', field: 'rps', yLabel: 'req/s' })
  if (p95) charts.push(p95)
  if (rps) charts.push(rps)
  return ['<details open><summary>Charts</summary>', '', charts.join('\n\n'), '', '</details>']
}

function withDelta(cur: number, base: number | undefined, useBaseline: boolean): string {
  const s = formatMs(cur)
  if (!useBaseline || base === undefined || !Number.isFinite(base) || base <= 0 || !Number.isFinite(cur))
    return s
  return `${s} (${formatDelta(((cur - base) / base) * 100)})`
}

function labelRow(l: ReportLabel, useBaseline: boolean): string[] {
  const b = useBaseline ? (l.baseline ?? undefined) : undefined
  return [
    escapeMarkdown(l.label) || MISSING,
    formatCount(l.requests),
    formatRate(l.errorRate),
    withDelta(l.p50, b?.p50, useBaseline),
    withDelta(l.p95, b?.p95, useBaseline),
    withDelta(l.p99, b?.p99, useBaseline)
  ]
}

/** The per-label table, in a collapsed block; empty without labels. */
export function labelsSection(input: ReportInput, labels: readonly ReportLabel[]): string[] {
  if (!labels.length) return []
  const useBaseline = hasBaseline(input)
  const total = input.labels.length
  const shown =
    labels.length === total
      ? `${formatCount(total)}`
      : `${formatCount(labels.length)} busiest of ${formatCount(total)}`
  const note = useBaseline ? '; Δ% vs the same label in the newest baseline' : ''
  const table = markdownTable(
    [['Label', 'Requests', 'Errors', 'p50', 'p95', 'p99'], ...labels.map(l => labelRow(l, useBaseline))],
    { align: ['l', 'r', 'r', 'r', 'r', 'r'], alignDelimiters: false }
  )
  return [
    `<details><summary>Per-label results (${htmlText(shown)} ${total === 1 ? 'label' : 'labels'}${htmlText(note)})</summary>`,
    '',
    table,
    '',
    '</details>'
  ]
}

/** Where the full report is: the artifact (linked when its URL is safe) or the run's artifacts. */
export function artifactText(input: ReportInput): string {
  const a = input.artifact
  if (!a?.name) return 'the workflow run artifacts'
  const url = safeHttpUrl(a.url)
  return url ? `the artifact [${escapeMarkdown(a.name)}](${url})` : `the artifact ${codeSpan(a.name)}`
}
