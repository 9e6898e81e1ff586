/**
 * Streams samples into per-label, per-interval histograms with bounded memory.
 *
 * Only the intervals near the newest sample stay open as dense accumulators; older ones are sealed
 * into compact encoded bytes and their accumulators are reused. Memory therefore grows with the
 * run's duration and label count, never with the request count.
 */
import { deflateRawSync } from 'node:zlib'
import { ByteSink, DenseCounts, HIST_DEFLATE_LEVEL, HISTOGRAM_PARAMS, writeVarUint } from './hdr.js'
import {
  RESULT_VERSION,
  TASK_RESULT_SCHEMA,
  type LabelSeries,
  type TaskMeta,
  type TaskResult
} from './model.js'
import {
  FAILURE_KINDS,
  type FailureKind,
  type Sample,
  type SampleSink,
  type ThresholdSpec
} from '../model/index.js'

export const DEFAULT_INTERVAL_MS = 1000
/**
 * The most distinct labels one task keeps. Engines that label requests by URL (k6 by default, Locust
 * without `name=`) turn every dynamic id into a new label; requests under further labels are
 * recorded under `OTHER_LABEL`, so memory and processing time stay bounded.
 */
export const MAX_LABELS = 1000
/** The label that holds the requests of every label beyond `MAX_LABELS`. */
export const OTHER_LABEL = '(other)'
/**
 * How long an interval stays open after newer samples arrive. Engines write samples in completion
 * order (k6 flushes every 200 ms), so 2 s covers their reordering; a later sample is kept and
 * counted in `lateSamples`.
 */
export const DEFAULT_GRACE_MS = 2000
const KIND_INDEX: Record<FailureKind, number> = Object.fromEntries(
  FAILURE_KINDS.map((k, i) => [k, i])
) as Record<FailureKind, number>

class OpenInterval {
  requests = 0
  failures = new Float64Array(FAILURE_KINDS.length)
  bytesIn = 0
  bytesOut = 0
  sumUs = 0
  minUs = Number.POSITIVE_INFINITY
  maxUs = 0
  constructor(
    readonly index: number,
    readonly counts: DenseCounts
  ) {}
}

class LabelRecorder {
  readonly open = new Map<number, OpenInterval>()
  sealedUpTo = Number.NEGATIVE_INFINITY
  start: number | null = null
  readonly idx: number[] = []
  readonly requests: number[] = []
  readonly failures: number[][] = FAILURE_KINDS.map(() => [])
  readonly bytesIn: number[] = []
  readonly bytesOut: number[] = []
  readonly sumUs: number[] = []
  readonly minUs: number[] = []
  readonly maxUs: number[] = []
  readonly payloads = new ByteSink(4096)
  private readonly scratch = new ByteSink(1024)

  seal(iv: OpenInterval): void {
    if (this.start === null) this.start = iv.index
    this.idx.push(iv.index - this.start)
    this.requests.push(iv.requests)
    FAILURE_KINDS.forEach((_, k) => this.failures[k].push(iv.failures[k]))
    this.bytesIn.push(iv.bytesIn)
    this.bytesOut.push(iv.bytesOut)
    this.sumUs.push(Math.round(iv.sumUs))
    this.minUs.push(iv.requests ? Math.round(iv.minUs) : 0)
    this.maxUs.push(Math.round(iv.maxUs))
    this.scratch.length = 0
    iv.counts.encodePayload(this.scratch)
    writeVarUint(this.payloads, this.scratch.length)
    const bytes = this.scratch.bytes()
    for (let i = 0; i < bytes.length; i++) this.payloads.push(bytes[i])
  }

  toSeries(): LabelSeries {
    const failures: LabelSeries['failures'] = {}
    FAILURE_KINDS.forEach((kind, k) => {
      if (this.failures[k].some(v => v > 0)) failures[kind] = this.failures[k]
    })
    return {
      start: this.start ?? 0,
      idx: this.idx,
      requests: this.requests,
      failures,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      sumUs: this.sumUs,
      minUs: this.minUs,
      maxUs: this.maxUs,
      hist: deflateRawSync(this.payloads.bytes(), { level: HIST_DEFLATE_LEVEL }).toString('base64')
    }
  }
}

export interface RecorderOptions {
  intervalMs?: number
  /** How long (ms of sample time) an interval stays open for late samples. */
  graceMs?: number
  /** Also keep a running window of every label's latencies for `takeLive` (progress lines). */
  live?: boolean
  /** Distinct labels kept before the rest are folded into OTHER_LABEL (default MAX_LABELS). */
  maxLabels?: number
}

/** What was recorded since the previous `takeLive`: counts and the latency histogram payload. */
export interface LiveWindow {
  requests: number
  failures: number
  /** Sum of latencies, µs. */
  sumUs: number
  /** HdrHistogram V2 payload of the latencies (µs), base64. */
  hist: string
}

/** How to give requests with dynamic URLs one name, per engine. */
const NAME_HINTS: Record<string, string> = {
  k6: "k6 labels requests by URL: give requests with ids in their URL a name tag, e.g. http.get(url, { tags: { name: 'GET /items/:id' } }), or use http.url`...`",
  locust:
    "Locust labels requests by URL: give requests with ids in their URL a name, e.g. self.client.get(url, name='/items/[id]')",
  jmeter: 'give samplers a fixed name (the label is the sampler name, not its URL)',
  other: 'give requests with ids in their URL one fixed label'
}

export class TaskRecorder implements SampleSink {
  readonly intervalMs: number
  private readonly graceIntervals: number
  private readonly labels = new Map<string, LabelRecorder>()
  private readonly pool: DenseCounts[] = []
  private watermark = Number.NEGATIVE_INFINITY
  private lastSweep = Number.NEGATIVE_INFINITY
  private readonly checks = new Map<string, { passes: number; fails: number }>()
  private readonly users = new Map<number, number>()
  private readonly thresholds: ThresholdSpec[] = []
  lateSamples = 0
  /** Requests recorded under OTHER_LABEL because the task already had MAX_LABELS labels. */
  foldedSamples = 0
  /** The first few labels that were folded, for the warning. */
  readonly foldedExamples: string[] = []
  private readonly maxLabels: number
  samples = 0
  failures = 0
  firstMs = Number.POSITIVE_INFINITY
  lastMs = Number.NEGATIVE_INFINITY
  private readonly live: { counts: DenseCounts; requests: number; failures: number; sumUs: number } | null

  constructor(opts: RecorderOptions = {}) {
    this.intervalMs = opts.intervalMs ?? DEFAULT_INTERVAL_MS
    this.graceIntervals = Math.max(1, Math.ceil((opts.graceMs ?? DEFAULT_GRACE_MS) / this.intervalMs))
    this.live = opts.live ? { counts: new DenseCounts(), requests: 0, failures: 0, sumUs: 0 } : null
    this.maxLabels = opts.maxLabels ?? MAX_LABELS
  }

  /**
   * The samples recorded since the previous call (all labels together), and a fresh window. Null
   * unless the recorder was made with `live: true`.
   */
  takeLive(): LiveWindow | null {
    const w = this.live
    if (!w) return null
    const sink = new ByteSink(256)
    w.counts.encodePayload(sink)
    const out = {
      requests: w.requests,
      failures: w.failures,
      sumUs: Math.round(w.sumUs),
      hist: Buffer.from(sink.bytes()).toString('base64')
    }
    w.counts.clear()
    w.requests = 0
    w.failures = 0
    w.sumUs = 0
    return out
  }

  sample(s: Sample): void {
    const index = Math.floor(s.endMs / this.intervalMs)
    let label = s.label
    let lr = this.labels.get(label)
    if (!lr && this.labels.size >= this.maxLabels && label !== OTHER_LABEL) {
      this.foldedSamples++
      if (this.foldedExamples.length < 3 && !this.foldedExamples.includes(label))
        this.foldedExamples.push(label)
      label = OTHER_LABEL
      lr = this.labels.get(label)
    }
    if (!lr) {
      lr = new LabelRecorder()
      this.labels.set(label, lr)
    }
    let target = index
    if (target <= lr.sealedUpTo) {
      this.lateSamples++
      target = lr.sealedUpTo + 1
    }
    let iv = lr.open.get(target)
    if (!iv) {
      iv = new OpenInterval(target, this.pool.pop() ?? new DenseCounts())
      lr.open.set(target, iv)
    }
    const us = s.latencyUs > 0 ? s.latencyUs : 0
    iv.requests++
    iv.sumUs += us
    if (us < iv.minUs) iv.minUs = us
    if (us > iv.maxUs) iv.maxUs = us
    iv.counts.recordUs(us)
    if (s.failure) {
      iv.failures[KIND_INDEX[s.failure]]++
      this.failures++
    }
    if (s.bytesIn) iv.bytesIn += s.bytesIn
    if (s.bytesOut) iv.bytesOut += s.bytesOut
    if (this.live) {
      this.live.counts.recordUs(us)
      this.live.requests++
      this.live.sumUs += us
      if (s.failure) this.live.failures++
    }
    this.samples++
    if (s.endMs < this.firstMs) this.firstMs = s.endMs
    if (s.endMs > this.lastMs) this.lastMs = s.endMs
    if (index > this.watermark) {
      this.watermark = index
      if (index - this.lastSweep >= 1) this.sweep(index - this.graceIntervals)
    }
  }

  check(name: string, passed: boolean): void {
    let c = this.checks.get(name)
    if (!c) {
      c = { passes: 0, fails: 0 }
      this.checks.set(name, c)
    }
    if (passed) c.passes++
    else c.fails++
  }

  /** Active virtual users at a moment; the per-interval maximum is kept. */
  activeUsers(tMs: number, n: number): void {
    const index = Math.floor(tMs / this.intervalMs)
    const prev = this.users.get(index)
    if (prev === undefined || n > prev) this.users.set(index, n)
  }

  threshold(t: ThresholdSpec): void {
    if (!this.thresholds.some(x => x.metric === t.metric && x.expr === t.expr)) this.thresholds.push(t)
  }

  /** Seals every interval at or below `upTo`. */
  private sweep(upTo: number): void {
    this.lastSweep = upTo + this.graceIntervals
    for (const lr of this.labels.values()) {
      if (lr.open.size === 0) continue
      const keys = [...lr.open.keys()].filter(k => k <= upTo).sort((a, b) => a - b)
      for (const k of keys) {
        const iv = lr.open.get(k)!
        lr.seal(iv)
        lr.sealedUpTo = k
        lr.open.delete(k)
        iv.counts.clear()
        this.pool.push(iv.counts)
      }
    }
  }

  get labelCount(): number {
    return this.labels.size
  }

  /**
   * The warning for a task whose labels were folded, with how to name requests in its engine; null
   * when nothing was folded.
   */
  foldWarning(engine: string): string | null {
    if (this.foldedSamples === 0) return null
    const examples = this.foldedExamples.map(l => JSON.stringify(l.length > 60 ? l.slice(0, 57) + '...' : l))
    return (
      `more than ${this.maxLabels} distinct request labels (e.g. ${examples.join(', ')}); ` +
      `${this.foldedSamples} requests under the labels beyond the first ${this.maxLabels} were recorded as "${OTHER_LABEL}". ` +
      NAME_HINTS[engine in NAME_HINTS ? engine : 'other']
    )
  }

  /** Seals everything and returns the task result. The recorder must not be used afterwards. */
  finish(meta: TaskMeta): TaskResult {
    const fold = this.foldWarning(meta.engine)
    if (fold) meta = { ...meta, message: [meta.message, fold].filter(Boolean).join('; ') }
    this.sweep(Number.POSITIVE_INFINITY)
    const labels: Record<string, LabelSeries> = {}
    for (const name of [...this.labels.keys()].sort()) labels[name] = this.labels.get(name)!.toSeries()
    const checks: TaskResult['checks'] = {}
    for (const name of [...this.checks.keys()].sort()) checks[name] = this.checks.get(name)!
    let users: TaskResult['users'] = null
    if (this.users.size) {
      const keys = [...this.users.keys()].sort((a, b) => a - b)
      users = { start: keys[0], idx: keys.map(k => k - keys[0]), values: keys.map(k => this.users.get(k)!) }
    }
    const thresholds = [...meta.thresholds]
    for (const t of this.thresholds)
      if (!thresholds.some(x => x.metric === t.metric && x.expr === t.expr)) thresholds.push(t)
    return {
      schema: TASK_RESULT_SCHEMA,
      version: RESULT_VERSION,
      task: { ...meta, thresholds },
      intervalMs: this.intervalMs,
      histogram: { ...HISTOGRAM_PARAMS },
      labels,
      checks,
      users,
      lateSamples: this.lateSamples
    }
  }
}
