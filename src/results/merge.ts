/**
 * Exact merge of task results. Counters are summed, minima and maxima combined, and histograms added
 * bucket by bucket, per label and per absolute interval. The merge is associative and commutative:
 * merging any grouping of the same tasks in any order gives the same document.
 */
import { deflateRawSync } from 'node:zlib'
import { ByteSink, DenseCounts, HIST_DEFLATE_LEVEL, HISTOGRAM_PARAMS, writeVarUint } from './hdr.js'
import { decodeHist, HistogramDataError } from './decode.js'
import {
  RESULT_VERSION,
  TASK_RESULT_SCHEMA,
  TASK_STATUSES,
  type LabelSeries,
  type TaskMeta,
  type TaskResult
} from './model.js'
import { FAILURE_KINDS, type ThresholdSpec } from '../model/index.js'
import { errorMessage } from '../util/index.js'

interface Cell {
  requests: number
  failures: Float64Array
  bytesIn: number
  bytesOut: number
  sumUs: number
  minUs: number
  maxUs: number
  counts: DenseCounts
}

function newCell(): Cell {
  return {
    requests: 0,
    failures: new Float64Array(FAILURE_KINDS.length),
    bytesIn: 0,
    bytesOut: 0,
    sumUs: 0,
    minUs: Number.POSITIVE_INFINITY,
    maxUs: 0,
    counts: new DenseCounts()
  }
}

/** One task's series of a label, decoded, with a cursor over its intervals. */
interface Part {
  series: LabelSeries
  bytes: Uint8Array
  starts: Int32Array
  ends: Int32Array
  fails: (number[] | undefined)[]
  where: string
  j: number
}

function partOf(series: LabelSeries, where: string, cache: boolean): Part {
  const d = decodeHist(series, where, cache)
  return {
    series,
    bytes: d.bytes,
    starts: d.starts,
    ends: d.ends,
    fails: FAILURE_KINDS.map(k => series.failures[k]),
    where,
    j: 0
  }
}

/** Adds interval `i` of a part into a cell, checking the histogram against the request count. */
function addInterval(c: Cell, p: Part, i: number): void {
  const s = p.series
  const req = s.requests[i]
  c.requests += req
  for (let k = 0; k < p.fails.length; k++) {
    const f = p.fails[k]
    if (f) c.failures[k] += f[i]
  }
  c.bytesIn += s.bytesIn[i]
  c.bytesOut += s.bytesOut[i]
  c.sumUs += s.sumUs[i]
  if (req > 0 && s.minUs[i] < c.minUs) c.minUs = s.minUs[i]
  if (s.maxUs[i] > c.maxUs) c.maxUs = s.maxUs[i]
  let added: number
  try {
    added = c.counts.addPayload(p.bytes, p.starts[i], p.ends[i])
  } catch (e) {
    throw new HistogramDataError(`${p.where}: field 'hist' interval ${i}: ${errorMessage(e)}`)
  }
  if (added !== req)
    throw new HistogramDataError(
      `${p.where}: field 'hist' interval ${i} holds ${added} latencies but 'requests' says ${req}`
    )
}

/**
 * Adds several tasks' series of one label into `cells`, interval by interval: every task's
 * histogram for an interval is added while that interval's accumulator is hot in the cache.
 */
export function accumulateParts(cells: Map<number, Cell>, parts: Part[]): void {
  for (;;) {
    let next = Number.POSITIVE_INFINITY
    for (const p of parts) {
      if (p.j < p.series.idx.length) {
        const abs = p.series.start + p.series.idx[p.j]
        if (abs < next) next = abs
      }
    }
    if (next === Number.POSITIVE_INFINITY) return
    let c = cells.get(next)
    if (!c) {
      c = newCell()
      cells.set(next, c)
    }
    for (const p of parts) {
      if (p.j < p.series.idx.length && p.series.start + p.series.idx[p.j] === next) {
        addInterval(c, p, p.j)
        p.j++
      }
    }
  }
}

/** Adds every interval of `series` into `cells` (keyed by absolute interval index). */
export function accumulateSeries(
  cells: Map<number, Cell>,
  series: LabelSeries,
  where: string,
  cache = true
): void {
  accumulateParts(cells, [partOf(series, where, cache)])
}

function encodeCells(cells: Map<number, Cell>): LabelSeries {
  const keys = [...cells.keys()].sort((a, b) => a - b)
  const start = keys.length ? keys[0] : 0
  const payloads = new ByteSink(4096)
  const scratch = new ByteSink(1024)
  const failures: number[][] = FAILURE_KINDS.map(() => [])
  const s: LabelSeries = {
    start,
    idx: [],
    requests: [],
    failures: {},
    bytesIn: [],
    bytesOut: [],
    sumUs: [],
    minUs: [],
    maxUs: [],
    hist: ''
  }
  for (const k of keys) {
    const c = cells.get(k)!
    s.idx.push(k - start)
    s.requests.push(c.requests)
    FAILURE_KINDS.forEach((_, j) => failures[j].push(c.failures[j]))
    s.bytesIn.push(c.bytesIn)
    s.bytesOut.push(c.bytesOut)
    s.sumUs.push(c.sumUs)
    s.minUs.push(c.requests ? c.minUs : 0)
    s.maxUs.push(c.maxUs)
    scratch.length = 0
    c.counts.encodePayload(scratch)
    writeVarUint(payloads, scratch.length)
    const b = scratch.bytes()
    for (let i = 0; i < b.length; i++) payloads.push(b[i])
  }
  FAILURE_KINDS.forEach((kind, j) => {
    if (failures[j].some(v => v > 0)) s.failures[kind] = failures[j]
  })
  s.hist = deflateRawSync(payloads.bytes(), { level: HIST_DEFLATE_LEVEL }).toString('base64')
  return s
}

const uniqSorted = (xs: string[]): string[] => [...new Set(xs)].sort()
const joinUniq = (xs: string[]): string =>
  uniqSorted(xs.flatMap(x => x.split(',')).filter(x => x !== '')).join(',')
const minOf = (xs: (number | null)[]): number | null => {
  const v = xs.filter((x): x is number => x !== null)
  return v.length ? Math.min(...v) : null
}
const maxOf = (xs: (number | null)[]): number | null => {
  const v = xs.filter((x): x is number => x !== null)
  return v.length ? Math.max(...v) : null
}

/** Combines task metadata; every rule is associative and commutative. */
export function mergeMeta(metas: TaskMeta[]): TaskMeta {
  if (metas.length === 1) return metas[0]
  const share: Record<string, number | string> = {}
  for (const m of metas)
    for (const [k, v] of Object.entries(m.share))
      if (typeof v === 'number') share[k] = (typeof share[k] === 'number' ? (share[k] as number) : 0) + v
  const steadies = metas.map(m => m.steady)
  const steady = steadies.every(s => s !== null)
    ? {
        startMs: Math.max(...steadies.map(s => s!.startMs)),
        endMs: Math.min(...steadies.map(s => s!.endMs))
      }
    : null
  const thresholds: ThresholdSpec[] = []
  for (const m of metas)
    for (const t of m.thresholds)
      if (!thresholds.some(x => x.metric === t.metric && x.expr === t.expr)) thresholds.push(t)
  thresholds.sort((a, b) => (a.metric + a.expr).localeCompare(b.metric + b.expr))
  return {
    runId: joinUniq(metas.map(m => m.runId)),
    scenario: joinUniq(metas.map(m => m.scenario)),
    fingerprint: joinUniq(metas.map(m => m.fingerprint)),
    engine: joinUniq(metas.map(m => m.engine)),
    engineVersion: joinUniq(metas.map(m => m.engineVersion)),
    backend: joinUniq(metas.map(m => m.backend)),
    region: joinUniq(metas.map(m => m.region)),
    taskIndex: -1,
    taskCount: Math.max(...metas.map(m => m.taskCount)),
    share,
    plannedStartMs: minOf(metas.map(m => m.plannedStartMs)),
    startedMs: minOf(metas.map(m => m.startedMs)),
    endedMs: maxOf(metas.map(m => m.endedMs)),
    steady: steady && steady.endMs > steady.startMs ? steady : null,
    status: TASK_STATUSES[Math.max(...metas.map(m => STATUS_RANK[m.status]))],
    exitCode: maxOf(metas.map(m => m.exitCode)),
    message: uniqSorted(metas.flatMap(m => m.message.split('; ')).filter(Boolean)).join('; '),
    stderrTail: '',
    thresholds,
    mergedFrom: metas.reduce((a, m) => a + m.mergedFrom, 0),
    sources: uniqSorted(metas.flatMap(m => m.sources))
  }
}
const STATUS_RANK: Record<string, number> = Object.fromEntries(TASK_STATUSES.map((s, i) => [s, i]))

export class MergeError extends Error {}

/**
 * Merges task results one at a time, so a large fleet never has to be in memory at once:
 * `add()` folds a task into per-label, per-interval accumulators and the task can be dropped.
 */
export class TaskMerger {
  private intervalMs: number | null = null
  private readonly labels = new Map<string, Map<number, Cell>>()
  private readonly checks = new Map<string, { passes: number; fails: number }>()
  private readonly users = new Map<number, number>()
  private readonly metas: TaskMeta[] = []
  private lateSamples = 0

  add(t: TaskResult, name = `task ${this.metas.length}`): void {
    this.addAll([t], [name])
  }

  /** Adds several tasks at once; their histograms are combined interval by interval. */
  addAll(tasks: TaskResult[], names: string[] = []): void {
    const nameOf = (i: number) => names[i] ?? `task ${this.metas.length + i}`
    tasks.forEach((t, i) => {
      if (this.intervalMs === null) this.intervalMs = t.intervalMs
      else if (t.intervalMs !== this.intervalMs)
        throw new MergeError(
          `${nameOf(i)}: field 'intervalMs' is ${t.intervalMs}, but other results use ${this.intervalMs}`
        )
    })
    const labelNames = new Set(tasks.flatMap(t => Object.keys(t.labels)))
    for (const label of labelNames) {
      let cells = this.labels.get(label)
      if (!cells) {
        cells = new Map()
        this.labels.set(label, cells)
      }
      const parts: Part[] = []
      tasks.forEach((t, i) => {
        const s = t.labels[label]
        if (s) parts.push(partOf(s, `${nameOf(i)}: labels.${label}`, false))
      })
      accumulateParts(cells, parts)
    }
    for (const t of tasks) {
      for (const [check, c] of Object.entries(t.checks)) {
        const acc = this.checks.get(check) ?? { passes: 0, fails: 0 }
        acc.passes += c.passes
        acc.fails += c.fails
        this.checks.set(check, acc)
      }
      // Active users add up across tasks at the same interval.
      if (t.users) {
        const u = t.users
        u.idx.forEach((off, i) =>
          this.users.set(u.start + off, (this.users.get(u.start + off) ?? 0) + u.values[i])
        )
      }
      this.metas.push(t.task)
      this.lateSamples += t.lateSamples
    }
  }

  finish(): TaskResult {
    if (this.intervalMs === null) throw new MergeError('nothing to merge: no task results')
    const labels: Record<string, LabelSeries> = {}
    for (const label of [...this.labels.keys()].sort()) labels[label] = encodeCells(this.labels.get(label)!)
    const checks: TaskResult['checks'] = {}
    for (const name of [...this.checks.keys()].sort()) checks[name] = this.checks.get(name)!
    const ukeys = [...this.users.keys()].sort((a, b) => a - b)
    return {
      schema: TASK_RESULT_SCHEMA,
      version: RESULT_VERSION,
      task: mergeMeta(this.metas),
      intervalMs: this.intervalMs,
      histogram: { ...HISTOGRAM_PARAMS },
      labels,
      checks,
      users: ukeys.length
        ? { start: ukeys[0], idx: ukeys.map(k => k - ukeys[0]), values: ukeys.map(k => this.users.get(k)!) }
        : null,
      lateSamples: this.lateSamples
    }
  }
}

/** Merges task results exactly into one. */
export function mergeTasks(tasks: TaskResult[], names: string[] = []): TaskResult {
  if (tasks.length === 0) throw new MergeError('nothing to merge: no task results')
  const m = new TaskMerger()
  m.addAll(tasks, names)
  return m.finish()
}
