/**
 * The JSON summary (`perf-gate run --json`, `perf-gate summarize --json`): overall and per-label
 * figures over one window, computed from the exactly merged histograms of every task.
 *
 * Latency percentiles are over every request (successes and failures alike); failures are counted
 * apart. Figures that do not exist (no requests) are null. The format is documented in docs/cli.md.
 */
import { type TaskResult } from './model.js'
import { FAILURE_KINDS, type FailureKind } from '../model/index.js'
import { ResultView, type Stats } from './query.js'
import type { Window } from './window.js'

export const SUMMARY_SCHEMA = 'perf-gate/summary'
export const SUMMARY_VERSION = 1

export type SummaryWindowName = 'all' | 'steady'

export interface SummaryStats {
  requests: number
  failures: number
  /** failures / requests, 0–1. */
  error_rate: number
  /** Requests per second over the window. */
  rps: number
  mean_ms: number | null
  min_ms: number | null
  p50_ms: number | null
  p90_ms: number | null
  p95_ms: number | null
  p99_ms: number | null
  p999_ms: number | null
  max_ms: number | null
  failures_by_kind: Partial<Record<FailureKind, number>>
  bytes_in: number
  bytes_out: number
}

export interface SummaryThreshold {
  metric: string
  expr: string
  abort_on_fail?: boolean
}

export interface Summary {
  schema: typeof SUMMARY_SCHEMA
  version: typeof SUMMARY_VERSION
  scenario: string
  engine: string
  window: { name: SummaryWindowName; start_ms: number; end_ms: number; duration_s: number }
  overall: SummaryStats
  labels: Record<string, SummaryStats>
  /** Thresholds declared by the scenario or the engine script (k6), not evaluated here. */
  thresholds: SummaryThreshold[]
  /** k6 checks (and other named pass/fail outcomes) summed over all tasks. */
  checks: Record<string, { passes: number; fails: number }>
  tasks: { count: number; failed: number; statuses: Record<string, number> }
  sources: string[]
}

const round = (v: number, digits: number): number => {
  const f = 10 ** digits
  return Math.round(v * f) / f
}
const ms = (v: number): number | null => (Number.isFinite(v) ? round(v, 3) : null)

export function summaryStats(s: Stats): SummaryStats {
  const byKind: Partial<Record<FailureKind, number>> = {}
  for (const k of FAILURE_KINDS) if (s.failuresByKind[k] > 0) byKind[k] = s.failuresByKind[k]
  return {
    requests: s.requests,
    failures: s.failures,
    error_rate: round(s.errorRate, 6),
    rps: round(s.rps, 3),
    mean_ms: ms(s.meanMs),
    min_ms: ms(s.minMs),
    p50_ms: ms(s.p50Ms),
    p90_ms: ms(s.p90Ms),
    p95_ms: ms(s.p95Ms),
    p99_ms: ms(s.p99Ms),
    p999_ms: ms(s.p999Ms),
    max_ms: ms(s.maxMs),
    failures_by_kind: byKind,
    bytes_in: s.bytesIn,
    bytes_out: s.bytesOut
  }
}

/**
 * The window within the run's actual span: a profile's planned hold can outlast a run that was
 * stopped early, and rates over the planned length would be too low.
 */
function clampWindow(win: Window, all: Window): Window {
  const startMs = Math.max(win.startMs, all.startMs)
  const endMs = Math.min(win.endMs, all.endMs)
  return endMs > startMs ? { startMs, endMs } : all
}

const uniq = (xs: string[]): string[] => [...new Set(xs.filter(x => x !== ''))]

/** Builds the summary of a set of task results over the chosen window. */
export function buildSummary(
  tasks: TaskResult[],
  opts: { window?: SummaryWindowName; names?: string[]; view?: ResultView } = {}
): Summary {
  const view = opts.view ?? new ResultView(tasks, opts.names)
  const name = opts.window ?? 'steady'
  const win = clampWindow(view.resolveWindow(name), view.allWindow())
  const overall = view.stats({ window: win })
  const labels: Record<string, SummaryStats> = {}
  for (const [label, s] of Object.entries(view.statsByLabel({ window: win }))) labels[label] = summaryStats(s)

  const thresholds: SummaryThreshold[] = []
  for (const t of tasks)
    for (const th of t.task.thresholds)
      if (!thresholds.some(x => x.metric === th.metric && x.expr === th.expr))
        thresholds.push({
          metric: th.metric,
          expr: th.expr,
          ...(th.abortOnFail ? { abort_on_fail: true } : {})
        })

  const checks: Summary['checks'] = {}
  for (const t of tasks)
    for (const [k, c] of Object.entries(t.checks)) {
      const acc = (checks[k] ??= { passes: 0, fails: 0 })
      acc.passes += c.passes
      acc.fails += c.fails
    }

  const statuses: Record<string, number> = {}
  for (const t of tasks) statuses[t.task.status] = (statuses[t.task.status] ?? 0) + 1

  return {
    schema: SUMMARY_SCHEMA,
    version: SUMMARY_VERSION,
    scenario: uniq(tasks.map(t => t.task.scenario)).join(','),
    engine: uniq(tasks.flatMap(t => t.task.engine.split(','))).join(','),
    window: {
      name,
      start_ms: win.startMs,
      end_ms: win.endMs,
      duration_s: round((win.endMs - win.startMs) / 1000, 3)
    },
    overall: summaryStats(overall),
    labels,
    thresholds,
    checks,
    tasks: { count: tasks.length, failed: tasks.filter(t => t.task.status !== 'ok').length, statuses },
    sources: uniq(tasks.flatMap(t => t.task.sources))
  }
}
