/**
 * `perf-gate run` judges the scenario's thresholds (perf-gate.yml `thresholds` and `--threshold`)
 * on the run it just made, as the gate judges SLOs: a crossed or unevaluable threshold fails the
 * run (exit code 1).
 */
import { parseThresholdSpec } from '../gate/slo.js'
import { evaluateSlos } from '../gate/slo-evaluate.js'
import type { ThresholdSpec } from '../model/index.js'
import type { ResultView, WindowSpec } from '../results/query.js'

export interface ThresholdVerdict {
  /** One line per threshold: `held`, `FAILED` or `invalid`, then the reason. */
  lines: string[]
  failed: number
}

export function judgeThresholds(
  view: ResultView,
  thresholds: readonly ThresholdSpec[],
  window: WindowSpec
): ThresholdVerdict {
  const slos = thresholds.map((t, i) => parseThresholdSpec(t, `thresholds[${i}]`))
  const results = evaluateSlos(view, slos, { window })
  const lines = results.map(
    r => `  ${r.status === 'pass' ? 'held  ' : r.status === 'fail' ? 'FAILED' : r.status} ${r.reason}`
  )
  return { lines, failed: results.filter(r => r.status === 'fail' || r.status === 'invalid').length }
}
