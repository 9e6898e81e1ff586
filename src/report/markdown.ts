/**
 * The markdown report: one body used for the sticky PR comment, the job summary and the check-run
 * output. A reviewer reads the headline and the summary table; details, charts and per-label
 * tables follow. Bodies are kept under GitHub's size limits by dropping per-label rows first,
 * then the charts, and saying where the full report is.
 */
import { formatCount } from './format.js'
import {
  artifactText,
  chartsSection,
  displayTitle,
  headline,
  labelsSection,
  missingTasks,
  noiseLine,
  runLine,
  sloSection,
  summaryTable
} from './markdown-sections.js'
import type { ReportInput, ReportLabel } from './types.js'

/** Largest comment / check-run summary body, in characters (GitHub rejects 65,536 and more). */
export const COMMENT_MAX_CHARS = 65_535

/** Largest check-run title, in characters. */
export const CHECK_TITLE_MAX_CHARS = 255

/** Largest job summary, in UTF-8 bytes: the runner refuses step summaries over 1 MiB. */
export const SUMMARY_MAX_BYTES = 1024 * 1024 - 1024

/** Prefix of the hidden sticky-comment marker. */
export const MARKER_PREFIX = '<!-- perf-gate:'

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

export interface MarkdownOptions {
  /** Character cap for the whole body (default {@link COMMENT_MAX_CHARS}). */
  maxChars?: number
  /** Optional UTF-8 byte cap for the whole body. */
  maxBytes?: number
  /** Whether to start with the hidden sticky-comment marker (default true). */
  marker?: boolean
}
/** Labels ordered busiest first (stable), for when only some of them fit. */
function busiestFirst(labels: readonly ReportLabel[]): ReportLabel[] {
  return labels
    .map((l, i) => ({ l, i }))
    .sort((a, b) => (b.l.requests || 0) - (a.l.requests || 0) || a.i - b.i)
    .map(x => x.l)
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
