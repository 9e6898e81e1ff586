/**
 * The checks that make imported results as trustworthy as the runner's own: a request's latency
 * lies between 0 and the histogram's highest trackable value (1 h), and a task result's times and
 * per-interval figures are consistent with each other. The schema (model.ts, io.ts) checks types
 * and shapes; these check the values. Every error names the file and the field.
 */
import { HDR_HIGHEST_US } from './hdr.js'
import { FAILURE_KINDS, type Sample, type SampleSink, type TaskResult } from './model.js'

/** A value that is not a plausible figure of a run; the message names the file and the field. */
export class ImplausibleResultError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    detail: string
  ) {
    super(field ? `${file}: field '${field}': ${detail}` : `${file}: ${detail}`)
    this.name = 'ImplausibleResultError'
  }
}

/** The latest epoch ms a Date can hold. */
const MAX_EPOCH_MS = 8.64e15
const HIGHEST_MS = HDR_HIGHEST_US / 1000

function ms(us: number): string {
  return `${+(us / 1000).toPrecision(6)} ms`
}

/** Why a sample's latency cannot be recorded faithfully, or null. */
export function implausibleLatency(latencyUs: number): string | null {
  if (!Number.isFinite(latencyUs)) return `latency ${latencyUs} is not a finite number`
  if (latencyUs < 0) return `latency ${ms(latencyUs)} is negative`
  if (latencyUs > HDR_HIGHEST_US)
    return `latency ${ms(latencyUs)} is above the ${HIGHEST_MS} ms a result can hold`
  return null
}

/**
 * A sink that refuses samples the recorder would silently clamp (negative, above 1 h or not
 * finite latency); `fail` turns the problem into the caller's error.
 */
export function strictSink(sink: SampleSink, fail: (detail: string) => Error): SampleSink {
  return {
    sample(s: Sample) {
      const why = implausibleLatency(s.latencyUs)
      if (why) throw fail(`request '${s.label}' ${why}`)
      if (!Number.isFinite(s.endMs) || s.endMs < 0 || s.endMs > MAX_EPOCH_MS)
        throw fail(`request '${s.label}' has the impossible time ${s.endMs}`)
      sink.sample(s)
    },
    check: (name, passed) => sink.check(name, passed),
    activeUsers: (t, n) => sink.activeUsers(t, n),
    threshold: t => sink.threshold(t)
  }
}

/** Checks the values of one task result (already valid against the schema); throws ImplausibleResultError. */
export function checkTaskValues(file: string, t: TaskResult, prefix = ''): void {
  const m = t.task
  const bad = (field: string, detail: string) => new ImplausibleResultError(file, `${prefix}${field}`, detail)
  for (const key of ['plannedStartMs', 'startedMs', 'endedMs'] as const) {
    const v = m[key]
    if (v !== null && (v < 0 || v > MAX_EPOCH_MS)) throw bad(`task.${key}`, `${v} is not a time (epoch ms)`)
  }
  if (m.startedMs !== null && m.endedMs !== null && m.endedMs < m.startedMs)
    throw bad('task.endedMs', `${m.endedMs} is before task.startedMs ${m.startedMs}`)
  if (m.steady) {
    for (const key of ['startMs', 'endMs'] as const)
      if (m.steady[key] < 0 || m.steady[key] > MAX_EPOCH_MS)
        throw bad(`task.steady.${key}`, `${m.steady[key]} is not a time (epoch ms)`)
    if (m.steady.endMs < m.steady.startMs)
      throw bad('task.steady.endMs', `${m.steady.endMs} is before task.steady.startMs ${m.steady.startMs}`)
  }
  for (const [label, s] of Object.entries(t.labels)) {
    const base = `labels.${label}`
    if ((s.start + (s.idx[s.idx.length - 1] ?? 0)) * t.intervalMs > MAX_EPOCH_MS)
      throw bad(`${base}.start`, `interval ${s.start} is not a time`)
    for (let i = 0; i < s.idx.length; i++) {
      const n = s.requests[i]
      if (s.maxUs[i] > HDR_HIGHEST_US)
        throw bad(`${base}.maxUs[${i}]`, `${ms(s.maxUs[i])} is above the ${HIGHEST_MS} ms a result can hold`)
      if (n > 0 && s.minUs[i] > s.maxUs[i])
        throw bad(`${base}.minUs[${i}]`, `${s.minUs[i]} is above maxUs ${s.maxUs[i]}`)
      // Each latency is rounded to whole µs when summed, so allow one µs per request.
      if (s.sumUs[i] > n * s.maxUs[i] + n || s.sumUs[i] + n < n * s.minUs[i])
        throw bad(`${base}.sumUs[${i}]`, `${s.sumUs[i]} is not between requests × minUs and requests × maxUs`)
      let failures = 0
      for (const kind of FAILURE_KINDS) failures += s.failures[kind]?.[i] ?? 0
      if (failures > n)
        throw bad(`${base}.failures`, `interval ${i} has ${failures} failures but ${n} requests`)
    }
  }
}
