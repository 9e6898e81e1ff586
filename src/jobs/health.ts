/**
 * Whether a complete run is healthy enough to become a baseline. A run against a target that was
 * down (every response a 500) is complete, but comparing pull requests with it would be
 * meaningless, so the baseline job refuses it. In the steady window a baseline run needs:
 *
 * - at least `BASELINE_MIN_REQUESTS` requests;
 * - an error rate within the scenario's error-rate SLOs (`http_req_failed` thresholds without a
 *   label, from the configuration or the k6 script); without such an SLO, at most
 *   `BASELINE_MAX_ERROR_RATE`.
 */
import { parseThresholdSpec, type Slo } from '../gate/slo.js'
import { evaluateSlos } from '../gate/slo-evaluate.js'
import type { RunResult } from '../results/model.js'
import { ResultView } from '../results/query.js'

/** Requests a baseline run must have in its steady window. */
export const BASELINE_MIN_REQUESTS = 100
/** The highest steady-window error rate of a baseline run when the scenario sets no error-rate SLO. */
export const BASELINE_MAX_ERROR_RATE = 0.05

function pct(x: number): string {
  return `${(x * 100).toFixed(x < 0.001 ? 3 : 1)}%`
}

/** Why a complete run must not become a baseline, or null when it is healthy. */
export function unhealthyReason(run: RunResult, slos: readonly Slo[]): string | null {
  if (run.tasks.length === 0) return 'the run has no task results'
  const view = new ResultView(run.tasks)
  const s = view.stats({ window: 'steady' })
  if (s.requests < BASELINE_MIN_REQUESTS)
    return (
      `unhealthy: ${s.requests} request(s) in the steady window, fewer than the ${BASELINE_MIN_REQUESTS} ` +
      'a baseline needs (run longer or with more VUs)'
    )
  const errorSlos = slos.filter(x => x.metric === 'http_req_failed' && x.label === null)
  const seen = new Set(errorSlos.map(x => x.text))
  for (const t of run.tasks)
    for (const th of t.task.thresholds) {
      if (th.metric !== 'http_req_failed') continue
      try {
        const slo = parseThresholdSpec(th, 'script threshold', 'script')
        if (slo.label === null && !seen.has(slo.text)) {
          seen.add(slo.text)
          errorSlos.push(slo)
        }
      } catch {
        // A threshold perf-gate cannot read is reported by the gate, not judged here.
      }
    }
  if (errorSlos.length) {
    const broken = evaluateSlos(view, errorSlos, { window: 'steady' }).find(r => r.status === 'fail')
    if (broken)
      return `unhealthy: the error rate in the steady window is ${pct(s.errorRate)}, which breaks the SLO ${broken.text}`
    return null
  }
  if (s.errorRate > BASELINE_MAX_ERROR_RATE)
    return (
      `unhealthy: the error rate in the steady window is ${pct(s.errorRate)}, above the ` +
      `${pct(BASELINE_MAX_ERROR_RATE)} a baseline may have (an http_req_failed threshold sets another limit)`
    )
  return null
}
