/**
 * Exact merge of task results. Counters are summed, minima and maxima combined, and histograms added
 * bucket by bucket, per label and per absolute interval. The merge is associative and commutative:
 * merging any grouping of the same tasks in any order gives the same document.
 */
import { deflateRawSync } from 'node:zlib'
import { ByteSink, DenseCounts, HISTOGRAM_PARAMS, writeVarUint } from './hdr.js'
import { decodeHist, HistogramDataError } from './decode.js'
import {
  FAILURE_KINDS,
  RESULT_VERSION,
  TASK_RESULT_SCHEMA,
  TASK_STATUSES,
  type LabelSeries,
  type TaskMeta,
  type TaskResult,
  type ThresholdSpec
} from './model.js'

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

/** Adds every interval of `series` into `cells` (keyed by absolute interval index). */
export function accumulateSeries(cells: Map<number, Cell>, series: LabelSeries, where: string): void {
  const d = decodeHist(series, where)
  const n = series.idx.length
  const fails = FAILURE_KINDS.map(k => series.failures[k])
  for (let i = 0; i < n; i++) {
    const abs = series.start + series.idx[i]
    let c = cells.get(abs)
    if (!c) {
      c = newCell()
      cells.set(abs, c)
    }
    const req = series.requests[i]
    c.requests += req
    for (let k = 0; k < fails.length; k++) {
      const f = fails[k]
      if (f) c.failures[k] += f[i]
    }
    c.bytesIn += series.bytesIn[i]
    c.bytesOut += series.bytesOut[i]
    c.sumUs += series.sumUs[i]
    if (req > 0 && series.minUs[i] < c.minUs) c.minUs = series.minUs[i]
    if (series.maxUs[i] > c.maxUs) c.maxUs = series.maxUs[i]
    let added: number
    try {
      added = c.counts.addPayload(d.bytes, d.starts[i], d.ends[i])
    } catch (e) {
      throw new HistogramDataError(`${where}: field 'hist' interval ${i}: ${(e as Error).message}`)
    }
    if (added !== req)
      throw new HistogramDataError(
        `${where}: field 'hist' interval ${i} holds ${added} latencies but 'requests' says ${req}`
      )
  }
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
  s.hist = deflateRawSync(payloads.bytes()).toString('base64')
  return s
}

const uniqSorted = (xs: string[]): string[] => [...new Set(xs)].sort()
const joinUniq = (xs: string[]): string => uniqSorted(xs.flatMap(x => x.split(',')).filter(x => x !== '')).join(',')
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

/** Merges task results exactly into one. */
export function mergeTasks(tasks: TaskResult[], names: string[] = []): TaskResult {
  if (tasks.length === 0) throw new MergeError('nothing to merge: no task results')
  const intervalMs = tasks[0].intervalMs
  tasks.forEach((t, i) => {
    if (t.intervalMs !== intervalMs)
      throw new MergeError(
        `${names[i] ?? `task ${i}`}: field 'intervalMs' is ${t.intervalMs}, but other results use ${intervalMs}`
      )
  })
  const labelNames = uniqSorted(tasks.flatMap(t => Object.keys(t.labels)))
  const labels: Record<string, LabelSeries> = {}
  for (const label of labelNames) {
    const cells = new Map<number, Cell>()
    tasks.forEach((t, i) => {
      const s = t.labels[label]
      if (s) accumulateSeries(cells, s, `${names[i] ?? `task ${i}`}: labels.${label}`)
    })
    labels[label] = encodeCells(cells)
  }
  const checks: TaskResult['checks'] = {}
  for (const name of uniqSorted(tasks.flatMap(t => Object.keys(t.checks)))) {
    let passes = 0
    let fails = 0
    for (const t of tasks) {
      passes += t.checks[name]?.passes ?? 0
      fails += t.checks[name]?.fails ?? 0
    }
    checks[name] = { passes, fails }
  }
  // Active users add up across tasks at the same interval.
  const users = new Map<number, number>()
  for (const t of tasks) {
    if (!t.users) continue
    t.users.idx.forEach((off, i) => {
      const k = t.users!.start + off
      users.set(k, (users.get(k) ?? 0) + t.users!.values[i])
    })
  }
  const ukeys = [...users.keys()].sort((a, b) => a - b)
  return {
    schema: TASK_RESULT_SCHEMA,
    version: RESULT_VERSION,
    task: mergeMeta(tasks.map(t => t.task)),
    intervalMs,
    histogram: { ...HISTOGRAM_PARAMS },
    labels,
    checks,
    users: ukeys.length
      ? { start: ukeys[0], idx: ukeys.map(k => k - ukeys[0]), values: ukeys.map(k => users.get(k)!) }
      : null,
    lateSamples: tasks.reduce((a, t) => a + t.lateSamples, 0)
  }
}
