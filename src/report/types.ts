/**
 * The renderer input: plain data describing one gated run (one scenario, job or matrix leg).
 * The renderers only format this data; they compute no statistics and read no result files.
 *
 * Units are part of each field's name or documented beside it. "Percent" fields hold percent
 * values (12.3 means 12.3%); "fraction" fields hold 0..1 values. A missing or non-finite number is
 * shown as "—".
 */
import type { Outcome } from '../model/index.js'

/** A metric's statistical status; `advisory` metrics are shown but never gate. */
export type MetricStatus = 'pass' | 'fail' | 'inconclusive' | 'advisory'

/** The display unit of a summary metric. */
export type MetricUnit = 'ms' | 'rps' | '%'

export interface ReportVerdict {
  /** The overall outcome. */
  outcome: Outcome
  /** True while the baseline history is shorter than the configured minimum (usually 10 runs). */
  provisional: boolean
  /** One sentence per reason, most important first, as plain text (rendered escaped). */
  reasons: string[]
  /** Minimum detectable effect at the current noise, in percent; null when unknown (no baseline). */
  mdePct?: number | null
  /** Run-to-run noise σ of the gated latency (σ of ln p95), in percent; null when unknown. */
  noisePct?: number | null
  /** Number of baseline runs used (N). */
  baselines: number
  /** Number of PR replicates run (k). */
  replicates: number
  /** Whether a 10% regression is currently detectable with the target power; omitted when unknown. */
  detectable10?: boolean | null
  /** Baseline count under which the verdict is provisional; shown with `provisional` (default 10). */
  minBaselines?: number
  /** The fixed threshold of a provisional verdict, in percent (default 10). */
  provisionalThresholdPct?: number | null
}

export interface ReportMetric {
  /** Stable identifier, e.g. `p95`, `rps`, `error_rate`. */
  name: string
  /** Human name shown in the table, e.g. `p95 latency`. */
  label: string
  /** Display unit: milliseconds, requests per second, or percent (for `%`, values are percent). */
  unit: MetricUnit
  /** Baseline value in `unit`; null when there is no baseline for it. */
  baseline: number | null
  /** This run's value in `unit`; null when it could not be measured. */
  current: number | null
  /** Change versus the baseline in percent (+12.3 = 12.3% higher); null when not comparable. */
  deltaPct: number | null
  /** The metric's statistical status. */
  status: MetricStatus
  /** Whether the metric belongs to the gated primary family. */
  primary: boolean
  /** A short plain-text remark, e.g. why a primary metric is only advisory. */
  note?: string
}

export interface ReportSlo {
  /** The threshold expression in k6 syntax, e.g. `p(95)<500` or `rate<0.01`. */
  expr: string
  /** The metric the expression applies to, e.g. `http_req_duration`; optional. */
  metric?: string
  /** Where the SLO was declared: the perf-gate config or the load script. */
  source: 'config' | 'script'
  /** Whether the SLO held (true for one not judged: it does not fail the gate). */
  ok: boolean
  /**
   * false for a script threshold perf-gate cannot evaluate (a custom metric, a tag other than
   * name/check): shown as "not judged", never as a pass. Absent means judged.
   */
  judged?: boolean
  /** The observed value the expression was evaluated against; null when unavailable. */
  observed: number | null
  /** Unit of `observed`, used only for display; defaults to no unit. */
  unit?: MetricUnit | ''
  /** Plain-text explanation, mainly for failures or evaluation problems. */
  reason?: string
}

export interface ReportLabelBaseline {
  /** Baseline latency percentiles for the label, in milliseconds. */
  p50: number
  p95: number
  p99: number
}

export interface ReportLabel {
  /** The request label (endpoint/transaction name) exactly as recorded; rendered escaped. */
  label: string
  /** Requests completed in the reported window. */
  requests: number
  /** Failed requests as a fraction of requests (0..1). */
  errorRate: number
  /** Latency percentiles in milliseconds. */
  p50: number
  p95: number
  p99: number
  /** The same label's baseline percentiles, when the baseline recorded that label. */
  baseline?: ReportLabelBaseline | null
}

export interface ReportSeriesPoint {
  /** Interval start, epoch milliseconds. */
  startMs: number
  /** Requests per second completed in the interval. */
  rps: number
  /** Latency percentiles of the interval, in milliseconds. */
  p50Ms: number
  p95Ms: number
  p99Ms: number
  /** Active virtual users at the interval, when known. */
  users: number | null
}

export interface Percentiles {
  /** Latency percentiles in milliseconds. */
  p50: number
  p90: number
  p95: number
  p99: number
}

export interface ReportMissingTask {
  region: string
  taskIndex: number
  /** Why the task produced no result, as plain text. */
  reason: string
}

export interface ReportFacts {
  /** Where the load ran, e.g. `local` or `ecs`. */
  backend: string
  /** Regions that generated load (empty for local runs). */
  regions: string[]
  /** Number of load-generator tasks started. */
  tasks: number
  /** Peak virtual users, when known. */
  vus?: number | null
  /** Run length in seconds. */
  durationS: number
  /** Engine name, e.g. `k6`. */
  engine: string
  /** Engine version, when known. */
  engineVersion?: string | null
  /** The steady-state window the gate used, epoch milliseconds. */
  steadyWindow?: { startMs: number; endMs: number } | null
  /** Estimated cloud cost of the run in US dollars, when computed. */
  costUsd?: number | null
  /** How the cost was estimated (task size, count, billed time, Spot), plain text. */
  costDetail?: string | null
  /**
   * When the first request was answered, in seconds after the step started: the bounds of the
   * result interval that holds it.
   */
  firstRequest?: { fromS: number; toS: number } | null
  /** Spread of the tasks' actual start times (ms), when the backend measured it. */
  startSkewMs?: number | null
  /** Tasks that were started but produced no result. */
  missingTasks: ReportMissingTask[]
  /** Link to the workflow run; only `http(s)` links are rendered. */
  runUrl?: string | null
  /** The commit under test. */
  commit?: string | null
  /** The commit the baseline was recorded on. */
  baselineCommit?: string | null
}

export interface ReportInput {
  /** The sticky-comment key (scenario/job/matrix leg); becomes the hidden marker. */
  key: string
  /** Scenario name. */
  scenario: string
  /** Optional display title; defaults to the scenario name. */
  title?: string
  /**
   * `gate` compares against a baseline; `stress` (or a gate run with no baseline values at all)
   * renders without the baseline columns. Defaults to `gate`.
   */
  mode?: 'gate' | 'stress'
  verdict: ReportVerdict
  /** Summary rows in display order (usually p50, p90, p95, p99, throughput, error rate). */
  metrics: ReportMetric[]
  slos: ReportSlo[]
  labels: ReportLabel[]
  /** The PR run over time, oldest first, at a regular interval. */
  series: ReportSeriesPoint[]
  /** Baseline latency percentiles (for the baseline-vs-PR chart); null without a baseline. */
  baselinePercentiles?: Percentiles | null
  /** This run's latency percentiles. */
  currentPercentiles: Percentiles
  facts: ReportFacts
  /** The pull request under test; absent for push, schedule and dispatch runs ("This run"). */
  pr?: { number: number; url?: string | null } | null
  /** Where the full report is kept, named in the note when the markdown had to be shortened. */
  artifact?: { name: string; url?: string | null } | null
}
