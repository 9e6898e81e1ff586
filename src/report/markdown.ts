/**
 * The markdown report: one body used for the sticky PR comment, the job summary and the check-run
 * output. A reviewer reads the headline and the summary table; details, charts and per-label
 * tables follow. Bodies are kept under GitHub's size limits by dropping per-label rows first,
 * then the charts, and saying where the full report is.
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
import { detectSentence as sensitivitySentence, noiseFacts } from './noise.js'
import type { ReportInput, ReportLabel, ReportMetric, ReportSlo } from './types.js'

/** Largest comment / check-run summary body, in characters (GitHub rejects 65,536 and more). */
export const COMMENT_MAX_CHARS = 65_535

/** Largest check-run title, in characters. */
export const CHECK_TITLE_MAX_CHARS = 255

/** Largest job summary, in UTF-8 bytes: the runner refuses step summaries over 1 MiB. */
export const SUMMARY_MAX_BYTES = 1024 * 1024 - 1024

/** Prefix of the hidden sticky-comment marker. */
export const MARKER_PREFIX = '<!-- perf-gate:'

/** Most missing tasks named one by one; the rest are counted. */
const MAX_MISSING_LISTED = 20

/**
 * The hidden marker that identifies the sticky comment for a key: `<!-- perf-gate:<key> -->`.
 * Characters that could end or confuse an HTML comment are percent-encoded, so the marker of one
 * key never contains another key's marker.
 */
export function commentMarker(key: string): string {
  const safe = key
    .trim()
    .replace(/[^A-Za-z0-9._~/:@=+,-]/g, c =>
      [...Buffer.from(c, 'utf8')].map(b => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('')
    )
    .replace(/-(?=-)/g, '%2D')
  return `${MARKER_PREFIX}${safe} -->`
}

/**
 * Escapes plain text for inline markdown (table cells, headings, list items): HTML is
 * entity-encoded, markdown punctuation and `|` are backslash-escaped, `@` cannot mention anyone,
 * and line breaks become spaces.
 */
export function escapeMarkdown(s: string): string {
  return s
    .replace(/\r\n|\r|\n/g, ' ')
    .replace(/[\\`*_{}[\]#|~$]/g, c => `\\${c}`)
    .replace(/[&<>]/g, c => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'))
    .replace(/@/g, '@&#8203;')
}

/** Inline code for a table cell: backticks inside are fenced with longer runs, `|` is escaped. */
export function codeSpan(s: string): string {
  const text = s.replace(/\r\n|\r|\n/g, ' ').replace(/\|/g, '\\|')
  const runs = text.match(/`+/g) ?? []
  const fence = '`'.repeat(Math.max(0, ...runs.map(r => r.length)) + 1)
  const pad = text.startsWith('`') || text.endsWith('`') || runs.length ? ' ' : ''
  return `${fence}${pad}${text}${pad}${fence}`
}

/** Escapes text for HTML element content (e.g. inside `<summary>`). */
function htmlText(s: string): string {
  return s.replace(/[&<>]/g, c => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'))
}

export interface MarkdownOptions {
  /** Character cap for the whole body (default {@link COMMENT_MAX_CHARS}). */
  maxChars?: number
  /** Optional UTF-8 byte cap for the whole body. */
  maxBytes?: number
  /** Whether to start with the hidden sticky-comment marker (default true). */
  marker?: boolean
}

/** Whether the report compares against a baseline (false for stress runs and first runs). */
export function hasBaseline(input: ReportInput): boolean {
  if (input.mode === 'stress') return false
  return (
    input.metrics.some(m => m.baseline !== null && Number.isFinite(m.baseline)) || !!input.baselinePercentiles
  )
}

function displayTitle(input: ReportInput): string {
  return input.title?.trim() || input.scenario
}

function currentHeader(input: ReportInput): string {
  return input.pr ? 'This PR' : 'This run'
}

function headline(input: ReportInput): string[] {
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

function summaryTable(input: ReportInput): string {
  const withBaseline = hasBaseline(input)
  const header = withBaseline
    ? ['Metric', 'Baseline', currentHeader(input), 'Δ%', 'Verdict']
    : ['Metric', currentHeader(input), 'Verdict']
  const align = withBaseline ? ['l', 'r', 'r', 'r', 'l'] : ['l', 'r', 'l']
  return markdownTable([header, ...input.metrics.map(m => metricRow(m, withBaseline))], { align })
}

function missingTasks(input: ReportInput): string[] {
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

function sloSection(input: ReportInput): string[] {
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

function noiseLine(input: ReportInput): string | null {
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

function runLine(input: ReportInput): string {
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

function chartsSection(input: ReportInput): string[] {
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

/** Labels ordered busiest first (stable), for when only some of them fit. */
function busiestFirst(labels: readonly ReportLabel[]): ReportLabel[] {
  return labels
    .map((l, i) => ({ l, i }))
    .sort((a, b) => (b.l.requests || 0) - (a.l.requests || 0) || a.i - b.i)
    .map(x => x.l)
}

function labelsSection(input: ReportInput, labels: readonly ReportLabel[]): string[] {
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

function artifactText(input: ReportInput): string {
  const a = input.artifact
  if (!a?.name) return 'the workflow run artifacts'
  const url = safeHttpUrl(a.url)
  return url ? `the artifact [${escapeMarkdown(a.name)}](${url})` : `the artifact ${codeSpan(a.name)}`
}

interface Plan {
  /** Labels to list; all of them normally. */
  labels: readonly ReportLabel[]
  charts: boolean
  /** What was left out, for the truncation note; empty when nothing was. */
  dropped: string
}

function compose(input: ReportInput, plan: Plan, marker: boolean): string {
  const blocks: string[][] = []
  if (marker) blocks.push([commentMarker(input.key)])
  blocks.push(headline(input))
  blocks.push([summaryTable(input)])
  blocks.push(missingTasks(input))
  blocks.push(sloSection(input))
  const facts = [noiseLine(input), runLine(input)].filter((l): l is string => l !== null)
  blocks.push([facts.join('  \n')])
  if (plan.charts) blocks.push(chartsSection(input))
  blocks.push(labelsSection(input, plan.labels))
  if (plan.dropped) blocks.push([truncationNote(input, plan.dropped)])
  else if (input.artifact?.name)
    blocks.push([`<sub>Full report (HTML and raw results): ${artifactText(input)}.</sub>`])
  return blocks
    .filter(b => b.length)
    .map(b => b.join('\n'))
    .join('\n\n')
    .concat('\n')
}

function truncationNote(input: ReportInput, dropped: string): string {
  return `> ✂️ **Shortened to fit the size limit:** ${dropped}. The full report is in ${artifactText(input)}.`
}

function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8')
}

/**
 * Renders the markdown report. The first line is the hidden marker (unless `marker: false`). When the
 * body exceeds the caps, per-label rows are dropped (busiest labels kept) then the charts, and a note
 * points to the full report; as a last resort the body is cut at a line boundary.
 */
export function renderMarkdown(input: ReportInput, options: MarkdownOptions = {}): string {
  const maxChars = options.maxChars ?? COMMENT_MAX_CHARS
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY
  const marker = options.marker ?? true
  const fits = (s: string): boolean => s.length <= maxChars && byteLength(s) <= maxBytes
  const all = input.labels

  const full = compose(input, { labels: all, charts: true, dropped: '' }, marker)
  if (fits(full)) return full

  if (all.length > 1) {
    const ordered = busiestFirst(all)
    const attempt = (n: number): string =>
      compose(
        input,
        {
          labels: ordered.slice(0, n),
          charts: true,
          dropped: `per-label results list the ${formatCount(n)} busiest of ${formatCount(all.length)} labels`
        },
        marker
      )
    let lo = 0
    let hi = all.length - 1
    let best: string | null = null
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2)
      const s = attempt(mid)
      if (fits(s)) {
        best = s
        lo = mid
      } else {
        hi = mid - 1
      }
    }
    if (best !== null && lo >= 1) return best
  }

  const labelsNote = all.length ? `per-label results (${formatCount(all.length)} labels) are omitted` : ''
  const noLabels = compose(
    input,
    { labels: [], charts: true, dropped: labelsNote || 'details are omitted' },
    marker
  )
  if (fits(noLabels)) return noLabels

  const bare = compose(
    input,
    { labels: [], charts: false, dropped: [labelsNote, 'charts are omitted'].filter(Boolean).join('; ') },
    marker
  )
  if (fits(bare)) return bare
  return hardCut(input, bare, fits)
}

/** Cuts a body at a line boundary so that it plus the note fits; the first (marker) line always stays. */
function hardCut(input: ReportInput, body: string, fits: (s: string) => boolean): string {
  const note = `\n\n${truncationNote(input, 'the report was cut here')}\n`
  const lines = body.split('\n')
  let lo = 1
  let hi = lines.length
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2)
    if (fits(lines.slice(0, mid).join('\n') + note)) lo = mid
    else hi = mid - 1
  }
  return lines.slice(0, lo).join('\n') + note
}

/** The job summary: the same markdown, allowed to grow to the 1 MiB step-summary limit. */
export function renderJobSummary(input: ReportInput): string {
  return renderMarkdown(input, {
    maxChars: Number.POSITIVE_INFINITY,
    maxBytes: SUMMARY_MAX_BYTES,
    marker: false
  })
}

export interface CheckOutput {
  /** At most {@link CHECK_TITLE_MAX_CHARS} characters. */
  title: string
  /** At most {@link COMMENT_MAX_CHARS} characters. */
  summary: string
}

/** Shortens to `max` characters, ending with an ellipsis when cut. */
function clip(s: string, max: number): string {
  if (s.length <= max) return s
  const chars = [...s]
  let out = ''
  for (const c of chars) {
    if (out.length + c.length > max - 1) break
    out += c
  }
  return `${out}…`
}

/** The check-run output: a one-line title and the markdown report (without the marker). */
export function renderCheckOutput(input: ReportInput): CheckOutput {
  const v = input.verdict
  const reason = v.reasons.map(r => r.trim()).find(Boolean)
  const title = `${v.outcome}${v.provisional ? ' (provisional)' : ''}: ${displayTitle(input)}${reason ? ` — ${reason}` : ''}`
  return {
    title: clip(title.replace(/\s+/g, ' ').trim(), CHECK_TITLE_MAX_CHARS),
    summary: renderMarkdown(input, { maxChars: COMMENT_MAX_CHARS, marker: false })
  }
}
