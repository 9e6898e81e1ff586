/**
 * What the report says about the gate's sensitivity, as plain text for the markdown and HTML
 * renderers: the minimum detectable effect when it means something, the fixed threshold of a
 * provisional verdict, and a plain sentence instead of a figure when the noise is too large.
 */
import { formatCount, formatPercent } from './format.js'
import type { ReportVerdict } from './types.js'

/** Largest detectable effect stated as a figure, percent (a doubling); see MDE_CAP in src/gate/rule.ts. */
export const MDE_CAP_PCT = 100

function known(x: number | null | undefined): x is number {
  return x !== null && x !== undefined && Number.isFinite(x)
}

/** The threshold a provisional verdict used, e.g. "10%". */
function thresholdText(v: ReportVerdict): string {
  const t = known(v.provisionalThresholdPct) ? v.provisionalThresholdPct : 10
  return Number.isInteger(t) ? `${t}%` : formatPercent(t)
}

/** The sentence under the headline of a report with a baseline, or null when there is nothing to say. */
export function detectSentence(v: ReportVerdict): string | null {
  const min = formatCount(v.minBaselines ?? 10)
  if (v.provisional)
    return (
      `Provisional verdict: ${formatCount(v.baselines)} of ${min} baselines. Until there are ${min}, a metric ` +
      `fails only when it is more than ${thresholdText(v)} worse than the baseline median (confirmed by more ` +
      'runs); no detectable-effect figure is given yet.'
    )
  if (!known(v.mdePct)) return null
  const noise = known(v.noisePct) ? `σ=${formatPercent(v.noisePct)}, ` : ''
  const where = `(${noise}N=${formatCount(v.baselines)} baselines)`
  if (v.mdePct > MDE_CAP_PCT)
    return (
      `Regressions smaller than ${MDE_CAP_PCT}% cannot be told from this noise ${where}: ` +
      'needs more baselines or steadier runs.'
    )
  let s = `Can detect regressions ≥ ${formatPercent(v.mdePct)} at this noise ${where}.`
  if (v.detectable10 === false) s += ' A 10% regression is not reliably detectable at this noise.'
  return s
}

/** The sensitivity facts: [name, value] pairs (noise, N, k, then the MDE or the fixed threshold). */
export function noiseFacts(v: ReportVerdict): [string, string][] {
  const rows: [string, string][] = [
    ['Noise (σ)', formatPercent(v.noisePct)],
    ['Baselines (N)', formatCount(v.baselines)],
    ['PR replicates (k)', formatCount(v.replicates)]
  ]
  if (v.provisional) {
    rows.push([
      'Threshold',
      `fixed ${thresholdText(v)} (provisional: fewer than ${formatCount(v.minBaselines ?? 10)} baselines)`
    ])
    return rows
  }
  if (!known(v.mdePct)) return rows
  if (v.mdePct > MDE_CAP_PCT) {
    rows.push(['Minimum detectable effect', `over ${MDE_CAP_PCT}%: needs more baselines`])
    return rows
  }
  rows.push(['Minimum detectable effect', formatPercent(v.mdePct)])
  if (v.detectable10 === true) rows.push(['10% target', 'reachable'])
  if (v.detectable10 === false) rows.push(['10% target', 'not reachable at this noise'])
  return rows
}
