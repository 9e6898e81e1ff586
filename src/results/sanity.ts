/**
 * Plausibility limits for results read from files (engine output and perf-gate results), checked
 * before anything is computed from them. A value outside them is refused with the file and the
 * field named, rather than turning into an out-of-memory crash (a time span of years), a null mean
 * (a latency that overflows) or "Invalid time value" (a timestamp beyond what Date can show).
 */
import { DenseCounts, HDR_HIGHEST_US } from './hdr.js'
import { FAILURE_KINDS, type Sample, type SampleSink, type ThresholdSpec } from '../model/index.js'
import { decodeHist, HistogramDataError, type DecodedHist } from './decode.js'
import type { LabelSeries, TaskMeta, TaskResult } from './model.js'
import { ResultFileError } from './io.js'
import { errorMessage } from '../util/index.js'

/** Timestamps must fall in [1970, 2100). */
export const MIN_EPOCH_MS = 0
export const MAX_EPOCH_MS = Date.UTC(2100, 0, 1)
/** The longest time span one result file may cover: 31 days... */
export const MAX_SPAN_MS = 31 * 24 * 3600 * 1000
/** ...and at most this many intervals (31 days of 1 s intervals), so per-interval series stay small. */
export const MAX_SPAN_INTERVALS = 31 * 24 * 3600

/** The longest span accepted at an interval length. */
export function maxSpanMs(intervalMs: number): number {
  return Math.min(MAX_SPAN_MS, MAX_SPAN_INTERVALS * intervalMs)
}
/** The longest latency accepted: the highest value a result's histograms hold (one hour). */
export const MAX_LATENCY_MS = HDR_HIGHEST_US / 1000

const DAY_MS = 24 * 3600 * 1000

function when(ms: number): string {
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : 'not a date'
}

function spanText(ms: number): string {
  return ms >= DAY_MS
    ? `${Math.round(ms / DAY_MS).toLocaleString('en-US')} days`
    : `${Math.round(ms / 1000)} s`
}

const EPOCH_RANGE = 'timestamps must fall between 1970 and 2100'
function spanLimit(intervalMs: number): string {
  const max = maxSpanMs(intervalMs)
  return max === MAX_SPAN_MS
    ? `perf-gate reads results spanning at most ${MAX_SPAN_MS / DAY_MS} days`
    : `perf-gate reads results spanning at most ${MAX_SPAN_INTERVALS.toLocaleString('en-US')} intervals (${spanText(max)} at ${intervalMs} ms)`
}

/** Why an epoch-ms timestamp is refused, or null. */
function badTime(ms: number): string | null {
  if (!Number.isFinite(ms)) return `is ${String(ms)}; ${EPOCH_RANGE}`
  if (ms < MIN_EPOCH_MS || ms >= MAX_EPOCH_MS) return `is ${ms} ms (${when(ms)}); ${EPOCH_RANGE}`
  return null
}

/** The fields of one engine format that hold a request's latency and its time, for messages. */
export interface SampleFields {
  latency: string
  time: string
}

/**
 * A sink in front of the recorder that refuses implausible samples: a latency that is negative,
 * not finite or above MAX_LATENCY_MS, a timestamp outside [1970, 2100), and a file whose requests
 * span more than MAX_SPAN_MS. `fail(detail)` builds the error (it names the file).
 */
export class CheckedSink implements SampleSink {
  private n = 0
  private first = Number.POSITIVE_INFINITY
  private last = Number.NEGATIVE_INFINITY

  constructor(
    private readonly inner: SampleSink,
    private readonly fields: SampleFields,
    private readonly fail: (detail: string) => Error,
    private readonly intervalMs = 1000
  ) {}

  private time(ms: number, what: string): void {
    const bad = badTime(ms)
    if (bad) throw this.fail(`field '${this.fields.time}' of ${what} ${bad}`)
    if (ms < this.first) this.first = ms
    if (ms > this.last) this.last = ms
    if (this.last - this.first > maxSpanMs(this.intervalMs))
      throw this.fail(
        `field '${this.fields.time}': the records span ${spanText(this.last - this.first)} ` +
          `(${when(this.first)} to ${when(this.last)}); ${spanLimit(this.intervalMs)}`
      )
  }

  sample(s: Sample): void {
    this.n++
    const ms = s.latencyUs / 1000
    if (!Number.isFinite(ms) || ms < 0 || ms > MAX_LATENCY_MS)
      throw this.fail(
        `field '${this.fields.latency}' of request ${this.n} is ${Number.isFinite(ms) ? `${ms} ms` : 'too large to compute with'}; ` +
          `latencies must be between 0 and ${MAX_LATENCY_MS} ms (one hour, the most a result holds)`
      )
    this.time(s.endMs, `request ${this.n}`)
    this.inner.sample(s)
  }

  check(name: string, passed: boolean): void {
    this.inner.check(name, passed)
  }

  activeUsers(tMs: number, n: number): void {
    this.time(tMs, 'an active-users record')
    this.inner.activeUsers(tMs, n)
  }

  threshold(t: ThresholdSpec): void {
    this.inner.threshold(t)
  }
}

/** Refuses task meta times outside [1970, 2100) and ends before their starts. */
function checkTaskTimes(file: string, at: string, meta: TaskMeta): void {
  for (const key of ['plannedStartMs', 'startedMs', 'endedMs'] as const) {
    const v = meta[key]
    const bad = v === null ? null : badTime(v)
    if (bad) throw new ResultFileError(file, `${at}task.${key}`, bad)
  }
  if (meta.startedMs !== null && meta.endedMs !== null && meta.endedMs < meta.startedMs)
    throw new ResultFileError(
      file,
      `${at}task.endedMs`,
      `${meta.endedMs} is before task.startedMs ${meta.startedMs}`
    )
  if (!meta.steady) return
  for (const key of ['startMs', 'endMs'] as const) {
    const bad = badTime(meta.steady[key])
    if (bad) throw new ResultFileError(file, `${at}task.steady.${key}`, bad)
  }
  if (meta.steady.endMs < meta.steady.startMs)
    throw new ResultFileError(
      file,
      `${at}task.steady.endMs`,
      `${meta.steady.endMs} is before task.steady.startMs ${meta.steady.startMs}`
    )
}

/** The time span of one task's intervals, grown series by series; refuses one that gets too long. */
class IntervalSpan {
  private first = Number.POSITIVE_INFINITY
  private last = Number.NEGATIVE_INFINITY

  constructor(
    private readonly file: string,
    private readonly intervalMs: number
  ) {}

  /** Adds the intervals `lo` to `hi` of the series at `field`. */
  add(lo: number, hi: number, field: string): void {
    const iv = this.intervalMs
    for (const [ms, f] of [
      [lo * iv, `${field}.start`],
      [(hi + 1) * iv, `${field}.idx`]
    ] as const) {
      const bad = badTime(ms)
      if (bad) throw new ResultFileError(this.file, f, `puts an interval at ${bad}`)
    }
    this.first = Math.min(this.first, lo * iv)
    this.last = Math.max(this.last, (hi + 1) * iv)
    if (this.last - this.first > maxSpanMs(iv))
      throw new ResultFileError(
        this.file,
        `${field}.idx`,
        `the intervals span ${spanText(this.last - this.first)} (${when(this.first)} to ${when(this.last)}); ${spanLimit(iv)}`
      )
  }
}

/** Refuses interval `i`'s latency figures (max, min, sum) and failure count when they cannot be. */
function checkIntervalFigures(file: string, field: string, s: LabelSeries, i: number): void {
  const maxUs = MAX_LATENCY_MS * 1000
  const req = s.requests[i]
  if (s.maxUs[i] > maxUs)
    throw new ResultFileError(
      file,
      `${field}.maxUs[${i}]`,
      `is ${s.maxUs[i]} µs; latencies must be at most ${maxUs} µs (one hour, the most a result holds)`
    )
  if (s.minUs[i] > s.maxUs[i])
    throw new ResultFileError(file, `${field}.minUs[${i}]`, `is ${s.minUs[i]}, above maxUs ${s.maxUs[i]}`)
  if (s.sumUs[i] > req * (s.maxUs[i] + 0.5) + 1)
    throw new ResultFileError(
      file,
      `${field}.sumUs[${i}]`,
      `is ${s.sumUs[i]}, more than ${req} requests of at most ${s.maxUs[i]} µs can add up to`
    )
  // Each latency is rounded to whole µs when summed: one µs per request of slack.
  if (req > 0 && s.sumUs[i] + req < req * s.minUs[i])
    throw new ResultFileError(
      file,
      `${field}.sumUs[${i}]`,
      `is ${s.sumUs[i]}, less than ${req} requests of at least ${s.minUs[i]} µs add up to`
    )
  let failures = 0
  for (const kind of FAILURE_KINDS) failures += s.failures[kind]?.[i] ?? 0
  if (failures > req)
    throw new ResultFileError(
      file,
      `${field}.failures`,
      `interval ${i} has ${failures} failures but ${req} requests`
    )
}

/** The series' histograms, decoded; a ResultFileError when they cannot be. */
function decodeSeries(file: string, field: string, s: LabelSeries): DecodedHist {
  try {
    return decodeHist(s, `${file}: ${field}`)
  } catch (e) {
    if (e instanceof HistogramDataError)
      throw new ResultFileError(file, `${field}.hist`, e.message.replace(/^.*field 'hist' /, ''))
    throw e
  }
}

/** Refuses interval `i` when its histogram does not hold as many latencies as it has requests. */
function checkIntervalHistogram(
  file: string,
  field: string,
  s: LabelSeries,
  d: DecodedHist,
  i: number,
  counts: DenseCounts
): void {
  const req = s.requests[i]
  counts.clear()
  let held: number
  try {
    held = counts.addPayload(d.bytes, d.starts[i], d.ends[i])
  } catch (e) {
    throw new ResultFileError(file, `${field}.hist`, `interval ${i}: ${errorMessage(e)}`)
  }
  if (held !== req)
    throw new ResultFileError(
      file,
      `${field}.hist`,
      `interval ${i} holds ${held} latencies but requests[${i}] is ${req}`
    )
}

/** Checks one label's series: its span, its histograms, and every interval's figures. */
function checkLabelSeries(
  file: string,
  field: string,
  s: LabelSeries,
  span: IntervalSpan,
  counts: DenseCounts
): void {
  const n = s.idx.length
  if (n === 0) return
  span.add(s.start + s.idx[0], s.start + s.idx[n - 1], field)
  const d = decodeSeries(file, field, s)
  for (let i = 0; i < n; i++) {
    checkIntervalFigures(file, field, s, i)
    checkIntervalHistogram(file, field, s, d, i, counts)
  }
}

/**
 * Checks perf-gate result documents beyond their schema: timestamps in range, a time span of at
 * most MAX_SPAN_MS, latencies at most MAX_LATENCY_MS, and every interval's histogram holding as
 * many latencies as its request count. Throws a ResultFileError naming the file and the field.
 */
export function checkTaskResults(file: string, tasks: TaskResult[], fromRun: boolean): void {
  const counts = new DenseCounts()
  tasks.forEach((t, ti) => {
    const at = fromRun ? `tasks[${ti}].` : ''
    checkTaskTimes(file, at, t.task)
    const span = new IntervalSpan(file, t.intervalMs)
    for (const [label, s] of Object.entries(t.labels))
      checkLabelSeries(file, `${at}labels.${label}`, s, span, counts)
    if (t.users && t.users.idx.length) {
      const u = t.users
      span.add(u.start + u.idx[0], u.start + u.idx[u.idx.length - 1], `${at}users`)
    }
  })
}
