/**
 * The stress profile's stopping rule: judge each step while the run goes on, and stop once a step
 * has broken an SLO.
 *
 * It reads the fleet's progress reports. Runners that write progress lines add a `live` window to
 * each (the requests, failures, latency sum and latency histogram recorded since their previous
 * line, all labels together; see the runner's Progress). A window belongs to a step when it lies
 * within the step's hold by the task's own clock (seconds since that task's engine started). Once
 * every reporting task is past the end of a step's hold, the step's windows are merged exactly and
 * the SLOs that can be judged this way are evaluated: latency aggregations and the error rate of
 * the whole run (`p(95)<300`, `avg<200`, `rate<0.01`) and the request rate (`http_reqs: rate>100`).
 * SLOs on one label, on checks and request counts are left to the analysis after the run. A step
 * with fewer than `minRequests` requests is not judged.
 *
 * The rule only decides; the caller stops the fleet. The analysis after the run judges the steps
 * again on the recorded results, which are exact; this rule's figures differ from them only by the
 * few requests at the edges of the hold.
 */
import type { FleetProgress, LiveWindow } from '../model/index.js'
import type { ProfileStep } from '../model/index.js'
import { DenseCounts } from '../results/hdr.js'
import { aggregationText, compare, type Slo } from './slo.js'
import { formatValue } from './format.js'

/** Least requests a step needs before the rule judges it. */
export const MIN_STEP_REQUESTS = 20
/** Seconds a window may end after the hold's end and still count (progress lines are ~1 s apart). */
const END_SLACK_S = 0.5

/** What the rule saw in one step. */
export interface LiveStepVerdict {
  step: ProfileStep
  requests: number
  failures: number
  p95Ms: number
  rps: number
  /** The SLOs that failed, as sentences; empty when the step held. */
  failed: string[]
}

export interface StopDecision {
  /** The step that broke. */
  verdict: LiveStepVerdict
  reason: string
}

/**
 * Live windows merged exactly: request and failure counts, the latency sum and the latency
 * histogram of every window added. Judges the SLOs that live figures can answer.
 */
export class LiveTotals {
  readonly counts = new DenseCounts()
  requests = 0
  failures = 0
  sumUs = 0

  add(w: LiveWindow): void {
    if (w.hist) {
      const bytes = Buffer.from(w.hist, 'base64')
      this.counts.addPayload(bytes, 0, bytes.length)
    }
    this.requests += w.requests
    this.failures += w.failures
    this.sumUs += w.sumUs
  }

  /** Latency at percentile q (0–100), ms; NaN without samples. */
  percentileMs(q: number): number {
    return this.counts.total ? this.counts.toHistogram().getValueAtPercentile(q) / 1000 : Number.NaN
  }

  /**
   * The figure `slo` is about (a liveJudgeable SLO) and its unit; `rps` answers request-rate SLOs.
   */
  observe(slo: Slo, rps: number): { value: number; unit: 'ms' | 'fraction' | 'req/s' } {
    if (slo.metric === 'http_req_failed') return { value: this.failures / this.requests, unit: 'fraction' }
    if (slo.metric === 'http_reqs') return { value: rps, unit: 'req/s' }
    const g = slo.aggregation
    const value =
      g.kind === 'p'
        ? this.percentileMs(g.p)
        : g.kind === 'med'
          ? this.percentileMs(50)
          : g.kind === 'avg'
            ? this.sumUs / this.requests / 1000
            : g.kind === 'max'
              ? this.percentileMs(100)
              : this.percentileMs(0)
    return { value, unit: 'ms' }
  }

  /** The SLO's sentence when it does not hold, else null. */
  broken(slo: Slo, rps: number): string | null {
    const { value, unit } = this.observe(slo, rps)
    return compare(value, slo.op, slo.value)
      ? null
      : `"${slo.text}" (${aggregationText(slo.aggregation)} = ${formatValue(value, unit)})`
  }
}

interface Acc {
  totals: LiveTotals
  /** Seconds of each task's windows that were counted. */
  covered: Map<string, number>
  requestsByTask: Map<string, number>
}

/** Whether the rule can judge an SLO from live windows. */
export function liveJudgeable(slo: Slo): boolean {
  if (slo.label !== null) return false
  if (slo.metric === 'http_req_duration') return slo.aggregation.kind !== 'count'
  if (slo.metric === 'http_req_failed') return true
  if (slo.metric === 'http_reqs') return slo.aggregation.kind === 'rate'
  return false
}

export class StepStopRule {
  /** The SLOs this rule judges. */
  readonly slos: Slo[]
  /** Every step judged so far, in order. */
  readonly verdicts: LiveStepVerdict[] = []
  private readonly accs: Acc[]
  private readonly prev = new Map<string, number>()
  private next = 0
  private decided: StopDecision | null = null
  private readonly minRequests: number

  constructor(
    private readonly steps: readonly ProfileStep[],
    slos: readonly Slo[],
    opts: { minRequests?: number } = {}
  ) {
    this.slos = slos.filter(liveJudgeable)
    this.minRequests = opts.minRequests ?? MIN_STEP_REQUESTS
    this.accs = steps.map(() => ({
      totals: new LiveTotals(),
      covered: new Map(),
      requestsByTask: new Map()
    }))
  }

  /** Whether the rule has anything to judge. */
  get active(): boolean {
    return this.slos.length > 0 && this.steps.length > 0
  }

  /** Takes one progress report; returns the decision to stop the first time a step breaks. */
  feed(p: FleetProgress): StopDecision | null {
    if (this.decided || !this.active) return null
    for (const t of p.tasks) {
      const key = `${t.region}/${t.taskIndex}`
      for (const w of t.live ?? []) {
        const from = this.prev.get(key) ?? 0
        this.prev.set(key, w.elapsedS)
        const i = this.steps.findIndex(s => from >= s.holdFromS && w.elapsedS <= s.endS + END_SLACK_S)
        if (i < 0 || w.requests === 0) continue
        const a = this.accs[i]
        a.totals.add(w)
        a.covered.set(key, (a.covered.get(key) ?? 0) + (w.elapsedS - from))
        a.requestsByTask.set(key, (a.requestsByTask.get(key) ?? 0) + w.requests)
      }
    }
    // A step is complete once every task has reported past its end (or every task has finished).
    const allDone = p.total > 0 && p.finished >= p.total
    const behind =
      p.reporting < p.total && !allDone
        ? 0
        : Math.min(...p.tasks.map(t => t.elapsedS), Number.POSITIVE_INFINITY)
    while (this.next < this.steps.length && (allDone || behind >= this.steps[this.next].endS)) {
      const verdict = this.judge(this.next++)
      if (!verdict) continue
      this.verdicts.push(verdict)
      if (verdict.failed.length) {
        this.decided = {
          verdict,
          reason:
            `${verdict.step.label} (${verdict.step.vus} VUs) broke ${verdict.failed.join('; ')}` +
            '; stopping the run at the end of that step'
        }
        return this.decided
      }
    }
    return null
  }

  private judge(i: number): LiveStepVerdict | null {
    const a = this.accs[i]
    if (a.totals.requests < this.minRequests) return null
    let rps = 0
    for (const [key, n] of a.requestsByTask) {
      const s = a.covered.get(key) ?? 0
      if (s > 0) rps += n / s
    }
    const failed = this.slos.map(slo => a.totals.broken(slo, rps)).filter((x): x is string => x !== null)
    return {
      step: this.steps[i],
      requests: a.totals.requests,
      failures: a.totals.failures,
      p95Ms: a.totals.percentileMs(95),
      rps,
      failed
    }
  }
}
