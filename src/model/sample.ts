/** What every engine adapter reports: one completed request, a threshold, and the sink they go to. */

export const FAILURE_KINDS = [
  'http_4xx',
  'http_5xx',
  'http_other',
  'timeout',
  'connection',
  'assertion',
  'other'
] as const
export type FailureKind = (typeof FAILURE_KINDS)[number]

/** One completed request, as every engine adapter reports it. */
export interface Sample {
  label: string
  /** Completion time, epoch ms. */
  endMs: number
  /** Latency in µs. */
  latencyUs: number
  /** Undefined for a success. */
  failure?: FailureKind
  bytesIn?: number
  bytesOut?: number
}

/** A threshold carried from an engine script (k6 `options.thresholds`). */
export interface ThresholdSpec {
  metric: string
  expr: string
  abortOnFail?: boolean
}

/** Where parsed engine output goes (TaskRecorder implements it). */
export interface SampleSink {
  sample(s: Sample): void
  /** A named check or assertion outcome that is not itself a request (k6 `checks`). */
  check(name: string, passed: boolean): void
  /** Active virtual users / threads at a moment (epoch ms). */
  activeUsers(tMs: number, n: number): void
  /** A threshold declared by the engine script (k6). */
  threshold(t: ThresholdSpec): void
}
