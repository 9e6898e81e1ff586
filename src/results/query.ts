/**
 * Queries over a set of task results: latency percentiles, throughput and errors, overall or per
 * label, region or task, over a chosen window. Figures are computed from the exactly merged
 * histograms of whatever the query selects.
 */
import { DenseCounts } from './hdr.js'
import { decodeHist } from './decode.js'
import { type LabelSeries, type TaskResult } from './model.js'
import { FAILURE_KINDS, type FailureKind } from '../model/index.js'
import { steadyWindow, type Window } from './window.js'

export type WindowSpec = 'all' | 'steady' | Window

export interface StatsQuery {
  window?: WindowSpec
  label?: string
  region?: string
  taskIndex?: number
}

export interface Stats {
  requests: number
  failures: number
  failuresByKind: Record<FailureKind, number>
  errorRate: number
  rps: number
  bytesIn: number
  bytesOut: number
  durationS: number
  window: Window
  minMs: number
  meanMs: number
  p50Ms: number
  p90Ms: number
  p95Ms: number
  p99Ms: number
  p999Ms: number
  maxMs: number
}

export interface SeriesPoint {
  startMs: number
  endMs: number
  requests: number
  failures: number
  rps: number
  p50Ms: number
  p95Ms: number
  p99Ms: number
  users: number | null
}

export const PERCENTILES = [
  ['p50Ms', 50],
  ['p90Ms', 90],
  ['p95Ms', 95],
  ['p99Ms', 99],
  ['p999Ms', 99.9]
] as const

interface Acc {
  requests: number
  failures: Float64Array
  bytesIn: number
  bytesOut: number
  sumUs: number
  minUs: number
  maxUs: number
  counts: DenseCounts
}

function newAcc(counts = new DenseCounts()): Acc {
  return {
    requests: 0,
    failures: new Float64Array(FAILURE_KINDS.length),
    bytesIn: 0,
    bytesOut: 0,
    sumUs: 0,
    minUs: Number.POSITIVE_INFINITY,
    maxUs: 0,
    counts
  }
}

/** A read-only view over task results. */
export class ResultView {
  readonly intervalMs: number
  private steadyCache: Window | undefined

  constructor(
    readonly tasks: TaskResult[],
    readonly names: string[] = []
  ) {
    if (tasks.length === 0) throw new Error('no task results to report on')
    this.intervalMs = tasks[0].intervalMs
    tasks.forEach((t, i) => {
      if (t.intervalMs !== this.intervalMs)
        throw new Error(
          `${this.nameOf(i)}: field 'intervalMs' is ${t.intervalMs}, but other results use ${this.intervalMs}`
        )
    })
  }

  private nameOf(i: number): string {
    return this.names[i] ?? `task ${this.tasks[i].task.region}/${this.tasks[i].task.taskIndex}`
  }

  labels(): string[] {
    return [...new Set(this.tasks.flatMap(t => Object.keys(t.labels)))].sort()
  }

  regions(): string[] {
    return [...new Set(this.tasks.map(t => t.task.region))].sort()
  }

  /** First and last interval index that holds data, over all tasks. */
  dataSpan(): { first: number; last: number } | null {
    let first = Number.POSITIVE_INFINITY
    let last = Number.NEGATIVE_INFINITY
    for (const t of this.tasks)
      for (const s of Object.values(t.labels)) {
        if (!s.idx.length) continue
        first = Math.min(first, s.start + s.idx[0])
        last = Math.max(last, s.start + s.idx[s.idx.length - 1])
      }
    return Number.isFinite(first) ? { first, last } : null
  }

  /** Requests per interval over all tasks and labels, from the first to the last data interval. */
  requestSeries(): { first: number; counts: number[] } {
    const span = this.dataSpan()
    if (!span) return { first: 0, counts: [] }
    const counts = new Array<number>(span.last - span.first + 1).fill(0)
    for (const t of this.tasks)
      for (const s of Object.values(t.labels))
        s.idx.forEach((off, i) => {
          counts[s.start + off - span.first] += s.requests[i]
        })
    return { first: span.first, counts }
  }

  /** The whole run: from the earliest actual start to the latest end (or the data span). */
  allWindow(): Window {
    const span = this.dataSpan()
    const starts = this.tasks.map(t => t.task.startedMs).filter((x): x is number => x !== null)
    const ends = this.tasks.map(t => t.task.endedMs).filter((x): x is number => x !== null)
    const dataStart = span ? span.first * this.intervalMs : 0
    const dataEnd = span ? (span.last + 1) * this.intervalMs : 0
    const startMs = starts.length === this.tasks.length ? Math.min(...starts) : dataStart
    const endMs = ends.length === this.tasks.length ? Math.max(...ends) : dataEnd
    return endMs > startMs ? { startMs, endMs } : { startMs: dataStart, endMs: dataEnd }
  }

  /** Steady state: the load profile's hold phase when known, else detected from throughput. */
  steadyWindow(): Window {
    if (!this.steadyCache) {
      const series = this.requestSeries()
      const known = this.tasks.map(t => t.task.steady)
      const steady = known.every(s => s !== null)
        ? {
            startMs: Math.max(...known.map(s => s!.startMs)),
            endMs: Math.min(...known.map(s => s!.endMs))
          }
        : null
      const all = this.allWindow()
      // A run that stopped early (aborted, timed out) ends before its planned hold does.
      const clamped =
        steady && (steady.startMs < all.startMs || steady.endMs > all.endMs)
          ? { startMs: Math.max(steady.startMs, all.startMs), endMs: Math.min(steady.endMs, all.endMs) }
          : steady
      this.steadyCache = steadyWindow(series, this.intervalMs, clamped, all)
    }
    return this.steadyCache
  }

  resolveWindow(spec: WindowSpec | undefined): Window {
    if (spec === undefined || spec === 'steady') return this.steadyWindow()
    if (spec === 'all') return this.allWindow()
    return spec
  }

  private selectTasks(q: StatsQuery): number[] {
    const out: number[] = []
    this.tasks.forEach((t, i) => {
      if (q.region !== undefined && t.task.region !== q.region) return
      if (q.taskIndex !== undefined && t.task.taskIndex !== q.taskIndex) return
      out.push(i)
    })
    return out
  }

  /** Accumulates the selection into `accFor(absInterval)`. */
  private scan(q: StatsQuery, win: Window, accFor: (abs: number) => Acc): void {
    const lo = Math.floor(win.startMs / this.intervalMs)
    const hi = Math.ceil(win.endMs / this.intervalMs) - 1
    for (const i of this.selectTasks(q)) {
      const t = this.tasks[i]
      // One label is looked up, not searched for: statsByLabel stays linear in the label count.
      const series: [string, LabelSeries][] =
        q.label === undefined
          ? Object.entries(t.labels)
          : Object.hasOwn(t.labels, q.label)
            ? [[q.label, t.labels[q.label]]]
            : []
      for (const [label, s] of series) {
        const d = decodeHist(s, `${this.nameOf(i)}: labels.${label}`)
        const fails = FAILURE_KINDS.map(k => s.failures[k])
        for (let j = 0; j < s.idx.length; j++) {
          const abs = s.start + s.idx[j]
          if (abs < lo || abs > hi) continue
          const a = accFor(abs)
          const req = s.requests[j]
          a.requests += req
          for (let k = 0; k < fails.length; k++) if (fails[k]) a.failures[k] += fails[k]![j]
          a.bytesIn += s.bytesIn[j]
          a.bytesOut += s.bytesOut[j]
          a.sumUs += s.sumUs[j]
          if (req > 0 && s.minUs[j] < a.minUs) a.minUs = s.minUs[j]
          if (s.maxUs[j] > a.maxUs) a.maxUs = s.maxUs[j]
          a.counts.addPayload(d.bytes, d.starts[j], d.ends[j])
        }
      }
    }
  }

  stats(q: StatsQuery = {}): Stats {
    const win = this.resolveWindow(q.window)
    const acc = newAcc()
    this.scan(q, win, () => acc)
    return finishStats(acc, win)
  }

  /** Statistics per label, over the same window. */
  statsByLabel(q: Omit<StatsQuery, 'label'> = {}): Record<string, Stats> {
    const out: Record<string, Stats> = {}
    const win = this.resolveWindow(q.window)
    // One bucket array serves every label: allocating one per label costs more than the label's
    // own data.
    const counts = new DenseCounts()
    for (const label of this.labels()) {
      counts.clear()
      const acc = newAcc(counts)
      this.scan({ ...q, label }, win, () => acc)
      out[label] = finishStats(acc, win)
    }
    return out
  }

  statsByRegion(q: Omit<StatsQuery, 'region'> = {}): Record<string, Stats> {
    const out: Record<string, Stats> = {}
    for (const region of this.regions()) out[region] = this.stats({ ...q, region })
    return out
  }

  /** A time series over the window, at most `maxPoints` points (intervals are grouped evenly). */
  series(q: StatsQuery = {}, maxPoints = 60): SeriesPoint[] {
    const win = this.resolveWindow(q.window ?? 'all')
    const lo = Math.floor(win.startMs / this.intervalMs)
    const hi = Math.ceil(win.endMs / this.intervalMs) - 1
    const n = hi - lo + 1
    if (n <= 0) return []
    const group = Math.max(1, Math.ceil(n / maxPoints))
    const accs = new Map<number, Acc>()
    this.scan(q, win, abs => {
      const g = Math.floor((abs - lo) / group)
      let a = accs.get(g)
      if (!a) {
        a = newAcc()
        accs.set(g, a)
      }
      return a
    })
    const users = this.usersByInterval(q)
    const points: SeriesPoint[] = []
    for (let g = 0; g * group < n; g++) {
      const a = accs.get(g) ?? newAcc()
      const startAbs = lo + g * group
      const endAbs = Math.min(hi + 1, startAbs + group)
      let u: number | null = null
      for (let k = startAbs; k < endAbs; k++) {
        const v = users.get(k)
        if (v !== undefined) u = Math.max(u ?? 0, v)
      }
      const seconds = ((endAbs - startAbs) * this.intervalMs) / 1000
      const h = a.counts.total ? a.counts.toHistogram() : null
      points.push({
        startMs: startAbs * this.intervalMs,
        endMs: endAbs * this.intervalMs,
        requests: a.requests,
        failures: a.failures.reduce((x, y) => x + y, 0),
        rps: a.requests / seconds,
        p50Ms: h ? h.getValueAtPercentile(50) / 1000 : Number.NaN,
        p95Ms: h ? h.getValueAtPercentile(95) / 1000 : Number.NaN,
        p99Ms: h ? h.getValueAtPercentile(99) / 1000 : Number.NaN,
        users: u
      })
    }
    return points
  }

  private usersByInterval(q: StatsQuery): Map<number, number> {
    const m = new Map<number, number>()
    for (const i of this.selectTasks(q)) {
      const u = this.tasks[i].users
      if (!u) continue
      u.idx.forEach((off, j) => m.set(u.start + off, (m.get(u.start + off) ?? 0) + u.values[j]))
    }
    return m
  }

  /** Every latency bucket of the selection, for exactness checks and custom analysis. */
  counts(q: StatsQuery = {}): DenseCounts {
    const acc = newAcc()
    this.scan(q, this.resolveWindow(q.window), () => acc)
    return acc.counts
  }
}

function finishStats(a: Acc, win: Window): Stats {
  const durationS = Math.max(0, (win.endMs - win.startMs) / 1000)
  const failuresByKind = Object.fromEntries(FAILURE_KINDS.map((k, i) => [k, a.failures[i]])) as Record<
    FailureKind,
    number
  >
  const failures = a.failures.reduce((x, y) => x + y, 0)
  const s: Stats = {
    requests: a.requests,
    failures,
    failuresByKind,
    errorRate: a.requests ? failures / a.requests : 0,
    rps: durationS > 0 ? a.requests / durationS : 0,
    bytesIn: a.bytesIn,
    bytesOut: a.bytesOut,
    durationS,
    window: win,
    minMs: a.requests ? a.minUs / 1000 : Number.NaN,
    meanMs: a.requests ? a.sumUs / a.requests / 1000 : Number.NaN,
    p50Ms: Number.NaN,
    p90Ms: Number.NaN,
    p95Ms: Number.NaN,
    p99Ms: Number.NaN,
    p999Ms: Number.NaN,
    maxMs: a.requests ? a.maxUs / 1000 : Number.NaN
  }
  if (a.counts.total > 0) {
    for (const [key, p] of PERCENTILES) s[key] = Math.min(a.counts.valueAtPercentile(p), a.maxUs) / 1000
  }
  return s
}
