/**
 * Per-label baseline figures for `gate-labels`. A baseline record holds the run's overall figures;
 * the per-label ones come from the stored run result, over the same steady window.
 */
import type { BaselineRecord, BaselineStore } from '../baseline/model.js'
import { extractRunMetrics, type RunMetrics } from '../gate/metrics.js'
import { ResultView } from '../results/query.js'
import { baselineMetrics } from './gate.js'
import { errorMessage } from '../util/index.js'

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
