/**
 * Per-label baseline figures for `gate-labels`. A baseline record holds the run's overall figures;
 * the per-label ones come from the stored run result, over the same steady window.
 */
import type { BaselineRecord } from '../baseline/model.js'
import type { BaselineStore } from '../baseline/store.js'
import { extractRunMetrics, type RunMetrics } from '../gate/metrics.js'
import { ResultView } from '../results/query.js'
import { errorMessage } from '../util/index.js'

/** The gate's overall figures of a baseline record (its labels come from the stored run). */
export function baselineMetrics(record: BaselineRecord): RunMetrics {
  const m = record.metrics
  return {
    requests: m.requests,
    failures: m.failures ?? Math.round(m.errorRate * m.requests),
    durationS: m.durationS ?? 0,
    errorRate: m.errorRate,
    rps: m.rps,
    p50Ms: m.p50Ms,
    p90Ms: m.p90Ms,
    p95Ms: m.p95Ms,
    p99Ms: m.p99Ms,
    p99TailSamples: m.p99TailSamples,
    labels: {}
  }
}

/**
 * The gate's figures of each baseline with its labels filled in from the stored run. A run that
 * cannot be loaded keeps its overall figures and no labels (its labels then have one baseline
 * fewer), and the log says so.
 */
export async function withLabelMetrics(
  store: BaselineStore,
  records: readonly BaselineRecord[],
  log: (message: string) => void
): Promise<RunMetrics[]> {
  const out: RunMetrics[] = []
  for (const record of records) {
    const m = baselineMetrics(record)
    try {
      const run = await store.load(record)
      m.labels = extractRunMetrics(new ResultView(run.tasks), 'steady').labels
    } catch (e) {
      log(`baseline ${record.id}: per-label figures unavailable: ${errorMessage(e)}`)
    }
    out.push(m)
  }
  return out
}
