/**
 * The capacity report of a profile run (stress mode): markdown for the job summary and the artifact.
 * It formats an analysis made beforehand (src/gate/capacity/) and computes no statistics.
 *
 * Layout: a headline with the capacity sentence ("sustains 1,850 req/s at p95 < 300 ms; breaks at
 * 2,100 req/s"), the planning line, a table of the steps, the kind's own findings (breaking point,
 * knee and error onset; recovery; soak windows and trend; scaling efficiency; bytes), Mermaid charts
 * of latency and throughput against the load and over time, the capacity history of earlier runs,
 * and the run's facts.
 */
import { markdownTable } from 'markdown-table'
import type { CapacityRecord } from '../baseline/capacity.js'
import type { CapacityPlan } from '../gate/capacity/planning.js'
import type { CapacityAnalysis } from '../gate/capacity/profile.js'
import type { ScalabilityLevel } from '../gate/capacity/scalability.js'
import { RECOVERY_WINDOW_INTERVALS } from '../gate/capacity/spike.js'
import type { StepResult } from '../gate/capacity/steps.js'
import { bytesRate } from '../gate/capacity/wording.js'
import { mermaidCategoryChart, mermaidTimeChart } from './charts.js'
import {
  formatCount,
  formatDuration,
  formatFirstRequest,
  formatMs,
  formatRate,
  formatRps,
  formatUsd,
  safeHttpUrl,
  shortSha
} from './format.js'
import { codeSpan, escapeMarkdown } from './markdown-escape.js'
import type { ReportSeriesPoint } from './types.js'

/** What one region's tasks measured over the profile (their share of the fleet's load). */
export interface RegionCapacity {
  region: string
  tasks: number
  requests: number
  errorRate: number
  /** Throughput this region's tasks sustained within the SLOs. */
  capacityRps: number | null
  /** Highest throughput of any step from this region. */
  peakRps: number
  /** The first step that broke an SLO as seen from this region (stress profiles). */
  breaksAt: { label: string; vus: number } | null
}

export interface CapacityReportInput {
  scenario: string
  /** `PASS` when the run could be analysed, `ERROR` otherwise (stress mode never gates). */
  outcome: 'PASS' | 'ERROR'
  /** Problems (ERROR) or remarks, plain text. */
  reasons: string[]
  profile: { name: string; description: string; params: Record<string, number | boolean | number[]> }
  analysis: CapacityAnalysis | null
  plan: CapacityPlan | null
  /** Why the run ended before its profile did, when the stopping rule ended it. */
  stopped: string | null
  /** The SLOs the steps were judged by, as written. */
  slos: string[]
  /** Each region's share of the run, analysed alone (a run across several regions). */
  regions?: RegionCapacity[]
  /** The whole run over time. */
  series: ReportSeriesPoint[]
  /** Earlier capacity records of the scenario, oldest first (this run's included, last). */
  history: CapacityRecord[]
  facts: {
    engine: string
    backend: string
    tasks: number
    durationS: number
    commit?: string | null
    runUrl?: string | null
    artifactName?: string | null
    /** Estimated cost of the run, USD, and how it was estimated. */
    costUsd?: number | null
    costDetail?: string | null
    /** When the first request was answered, seconds after the step started (interval bounds). */
    firstRequest?: { fromS: number; toS: number } | null
  }
}

const KIND_EMOJI = '📈'

function capitalize(s: string): string {
  return s ? s[0].toUpperCase() + s.slice(1) : s
}

function heldCell(s: StepResult): string {
  if (!s.reached) return 'not reached'
  if (s.held === null) return '—'
  return s.held ? '✅ held' : '❌ broke'
}

function usersCell(s: StepResult): string {
  return s.users === null ? '—' : formatCount(s.users)
}

function stepRows(steps: StepResult[], extra?: (s: StepResult) => string[]): string[][] {
  return steps.map(s => [
    escapeMarkdown(s.label),
    formatCount(s.vus),
    usersCell(s),
    s.reached ? formatRps(s.rps) : '—',
    s.reached ? formatMs(s.p50Ms) : '—',
    s.reached ? formatMs(s.p95Ms) : '—',
    s.reached ? formatMs(s.p99Ms) : '—',
    s.reached ? formatRate(s.errorRate) : '—',
    ...(extra ? extra(s) : []),
    heldCell(s)
  ])
}

function stepTable(
  steps: StepResult[],
  extraHeader: string[] = [],
  extra?: (s: StepResult) => string[]
): string {
  const header = [
    'Step',
    'VUs',
    'Users seen',
    'Throughput',
    'p50',
    'p95',
    'p99',
    'Errors',
    ...extraHeader,
    'SLOs'
  ]
  const align = header.map((_, i) => (i === 0 || i === header.length - 1 ? 'l' : 'r'))
  return markdownTable([header, ...stepRows(steps, extra)], { align, alignDelimiters: false })
}

function stepText(s: StepResult): string {
  return `${escapeMarkdown(s.label)} (${formatCount(s.vus)} VUs, ${formatRps(s.rps)}, p95 ${formatMs(s.p95Ms)})`
}

function findings(a: CapacityAnalysis): string[] {
  switch (a.kind) {
    case 'stress': {
      const out: string[] = []
      out.push(
        `- **Breaking point:** ${
          a.breakingPoint
            ? stepText(a.breakingPoint)
            : a.judged
              ? 'none: the first step already broke an SLO'
              : 'not judged: no SLOs were given'
        }`
      )
      if (a.breaksAt) out.push(`- **Breaks at:** ${stepText(a.breaksAt)}`)
      out.push(
        `- **Knee:** ${
          a.knee
            ? `${stepText(a.knee.step)}; the next step added ${Math.round((a.knee.next.vus / a.knee.step.vus - 1) * 100)}% load ` +
              `for ${Math.round(a.knee.efficiency * (a.knee.next.vus / a.knee.step.vus - 1) * 100)}% more throughput while p95 rose ${Math.round(a.knee.latencyRise * 100)}%`
            : 'none: throughput kept scaling with the load'
        }`
      )
      out.push(
        `- **Error onset:** ${a.errorOnset ? `${stepText(a.errorOnset)} with ${formatRate(a.errorOnset.errorRate)} errors` : 'none'}`
      )
      return out
    }
    case 'spike':
      return [
        `- **Recovery:** ${a.recoveryS === null ? 'not within the run' : `${Number(a.recoveryS.toFixed(1))} s after the surge ended (resolution ${a.resolutionS} s)`}`,
        `- **Recovered means:** ${escapeMarkdown(a.criterion)} over ${RECOVERY_WINDOW_INTERVALS} intervals in a row`,
        `- **Surge:** ${stepText(a.surge)}, ${a.surge.held === null ? 'not judged' : a.surge.held ? 'SLOs held' : 'SLOs broke'}`
      ]
    case 'soak': {
      const out: string[] = []
      if (a.judgement) out.push(`- **First vs last window:** ${escapeMarkdown(a.judgement.reason)}`)
      if (a.trend)
        out.push(
          `- **Trend:** ${(a.trend.perHour * 100).toFixed(1)}% per hour over ${a.trend.points} points ` +
            `(p = ${Number(a.trend.pValue.toPrecision(2))}${a.trend.flagged ? ', flagged as slow degradation' : ''})`
        )
      return out
    }
    case 'scalability':
      return [
        `- **Efficiency drops:** ${a.efficiencyDropsAt ? `at ${stepText(a.efficiencyDropsAt)}, ${Math.round((a.efficiencyDropsAt.efficiency ?? 0) * 100)}% of the first level's throughput per VU` : 'not within the levels run'}`
      ]
    default:
      return [
        `- **Bytes:** ${bytesRate(a.hold.bytesOutPerS)} sent (${a.requestBytes === null ? '—' : `${formatCount(a.requestBytes)} B`} per request), ` +
          `${bytesRate(a.hold.bytesInPerS)} received (${a.responseBytes === null ? '—' : `${formatCount(a.responseBytes)} B`} per response)`
      ]
  }
}

function table(a: CapacityAnalysis): string {
  if (a.kind === 'scalability')
    return stepTable(a.steps, ['Efficiency'], s => {
      const e = (s as ScalabilityLevel).efficiency
      return [e === null ? '—' : `${Math.round(e * 100)}%`]
    })
  if (a.kind === 'load' || a.kind === 'volume')
    return stepTable(a.steps, ['Sent', 'Received'], s => [
      bytesRate(s.bytesOutPerS),
      bytesRate(s.bytesInPerS)
    ])
  return stepTable(a.steps)
}

function charts(input: CapacityReportInput): string[] {
  const a = input.analysis
  const out: string[] = []
  if (a && a.steps.length > 1) {
    const reached = a.steps.filter(s => s.reached)
    const cats = reached.map(s => (a.kind === 'spike' ? `${s.label} (${s.vus})` : `${s.vus} VUs`))
    const p95 = mermaidCategoryChart(
      cats,
      reached.map(s => s.p95Ms),
      { title: 'p95 latency against load', yLabel: 'ms', series: 'p95 of each step' }
    )
    const rps = mermaidCategoryChart(
      cats,
      reached.map(s => s.rps),
      { title: 'Throughput against load', yLabel: 'req/s', kind: 'bar', series: 'req/s of each step' }
    )
    if (p95) out.push(p95)
    if (rps) out.push(rps)
  }
  const lat = mermaidTimeChart(input.series, { title: 'p95 latency over time', field: 'p95Ms', yLabel: 'ms' })
  const thr = mermaidTimeChart(input.series, { title: 'Throughput over time', field: 'rps', yLabel: 'req/s' })
  const users = input.series.some(p => p.users !== null)
    ? mermaidTimeChart(input.series, { title: 'Active users over time', field: 'users', yLabel: 'VUs' })
    : null
  for (const c of [lat, thr, users]) if (c) out.push(c)
  return out.length ? ['<details open><summary>Charts</summary>', '', out.join('\n\n'), '', '</details>'] : []
}

function history(input: CapacityReportInput): string[] {
  const h = input.history
  if (!h.length) return []
  const rows = h.map(r => [
    new Date(r.createdMs).toISOString().slice(0, 16).replace('T', ' '),
    r.commit ? codeSpan(shortSha(r.commit)) : '—',
    escapeMarkdown(r.profile),
    r.capacityRps === null ? '—' : formatRps(r.capacityRps),
    r.breaksAtRps === null ? '—' : formatRps(r.breaksAtRps),
    r.recoveryS === null ? '—' : `${Number(r.recoveryS.toFixed(1))} s`
  ])
  const out = [
    `**Capacity history** (${formatCount(h.length)} run${h.length === 1 ? '' : 's'} of this scenario)`,
    '',
    markdownTable([['When (UTC)', 'Commit', 'Profile', 'Sustained', 'Breaks at', 'Recovery'], ...rows], {
      align: ['l', 'l', 'l', 'r', 'r', 'r'],
      alignDelimiters: false
    })
  ]
  const points = h.filter(r => r.capacityRps !== null)
  if (points.length >= 2) {
    const chart = mermaidCategoryChart(
      points.map(r => new Date(r.createdMs).toISOString().slice(5, 10)),
      points.map(r => r.capacityRps as number),
      { title: 'Sustained throughput per run', yLabel: 'req/s', series: 'each stored run' }
    )
    if (chart) out.push('', chart)
  }
  return out
}

function paramsText(params: CapacityReportInput['profile']['params']): string {
  const show = (k: string, v: number | boolean | number[]) => {
    if (Array.isArray(v)) return v.map(x => `${x}%`).join(', ')
    if (typeof v === 'boolean') return String(v)
    if (/duration|ramp|hold|baseline|surge|drop|recovery|window/.test(k)) return formatDuration(v)
    return String(v)
  }
  return Object.entries(params)
    .map(([k, v]) => `${k} ${show(k, v)}`)
    .join(', ')
}

function runLine(input: CapacityReportInput): string {
  const f = input.facts
  const parts = [
    `${escapeMarkdown(f.engine)} on ${codeSpan(f.backend)}`,
    `${formatCount(f.tasks)} ${f.tasks === 1 ? 'task' : 'tasks'}`,
    formatDuration(f.durationS)
  ]
  if (f.costUsd !== null && f.costUsd !== undefined && Number.isFinite(f.costUsd))
    parts.push(`est. cost ${formatUsd(f.costUsd)}${f.costDetail ? ` (${escapeMarkdown(f.costDetail)})` : ''}`)
  if (f.firstRequest) parts.push(escapeMarkdown(formatFirstRequest(f.firstRequest)))
  if (f.commit) parts.push(`commit ${codeSpan(shortSha(f.commit))}`)
  const url = safeHttpUrl(f.runUrl)
  if (url) parts.push(`[workflow run](${url.replace(/[()\s]/g, c => encodeURIComponent(c))})`)
  return `**Run:** ${parts.join(' · ')}  \n**Profile:** ${escapeMarkdown(input.profile.description)} (${escapeMarkdown(paramsText(input.profile.params))})`
}

/** Renders the capacity report as markdown (GitHub-flavoured, with Mermaid charts). */
/** One row per region: what its tasks measured over the profile, alone. */
function regionTable(regions: readonly RegionCapacity[]): string[] {
  if (!regions.length) return []
  const rows = regions.map(r => [
    escapeMarkdown(r.region),
    String(r.tasks),
    formatCount(r.requests),
    formatRate(r.errorRate),
    r.capacityRps === null ? '—' : formatRps(r.capacityRps),
    formatRps(r.peakRps),
    r.breaksAt ? `${escapeMarkdown(r.breaksAt.label)} (${r.breaksAt.vus} VUs)` : 'none'
  ])
  return [
    '**By region** (each region’s tasks alone; their share of the load, judged by the latency and error SLOs):',
    '',
    markdownTable([
      ['region', 'tasks', 'requests', 'errors', 'sustained', 'peak', 'first broken step'],
      ...rows
    ])
  ]
}

export function renderCapacityMarkdown(input: CapacityReportInput): string {
  const a = input.analysis
  const blocks: string[][] = []
  const status =
    input.outcome === 'ERROR' ? '⛔ perf-gate capacity ERROR' : `${KIND_EMOJI} perf-gate capacity`
  blocks.push([`### ${status} · ${escapeMarkdown(input.scenario)} (${escapeMarkdown(input.profile.name)})`])
  if (a) blocks.push([`**${escapeMarkdown(capitalize(a.sentence))}.**`])
  if (input.plan) blocks.push([`**Planning:** ${escapeMarkdown(capitalize(input.plan.sentence))}.`])
  if (input.stopped) blocks.push([`> ⏹️ **Stopped early:** ${escapeMarkdown(input.stopped)}.`])
  if (input.reasons.length) blocks.push(input.reasons.map(r => `- ${escapeMarkdown(r)}`))
  if (a) {
    blocks.push([table(a)])
    blocks.push(findings(a))
  }
  blocks.push(regionTable(input.regions ?? []))
  if (input.slos.length)
    blocks.push([`**SLOs judged per step:** ${input.slos.map(s => codeSpan(s)).join(', ')}`])
  else if (a) blocks.push(['_No SLOs were given: steps are not judged, only measured._'])
  blocks.push(charts(input))
  blocks.push(history(input))
  blocks.push([runLine(input)])
  if (input.facts.artifactName)
    blocks.push([
      `<sub>Result JSON and HTML report: the artifact ${codeSpan(input.facts.artifactName)}.</sub>`
    ])
  return (
    blocks
      .filter(b => b.length)
      .map(b => b.join('\n'))
      .join('\n\n') + '\n'
  )
}

/** A one-line summary for logs: the sentence and the planning line. */
export function capacityLine(input: Pick<CapacityReportInput, 'analysis' | 'plan'>): string {
  const parts = [input.analysis?.sentence, input.plan?.sentence].filter((s): s is string => !!s)
  return parts.join('; ')
}
