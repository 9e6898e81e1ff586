/**
 * The `gate-labels` setting: which labels (endpoints, transactions) have their p95 and error
 * rate judged in the primary family, next to the overall metrics.
 *
 * A setting is one of:
 * - nothing (the default): no label is gated; per-label figures are reported only;
 * - `all`: every label the screening run recorded;
 * - a share such as `5%` (or `0.05`): every label that carried at least that share of the screening
 *   run's requests;
 * - a list of label names, exactly as recorded (e.g. `GET /fast`).
 *
 * A selected label whose screening run is too small to pin its p95 down (fewer than
 * `minTailSamples` requests beyond the p95: n·0.05) stays advisory, and the report says so.
 */

export type GateLabels =
  { kind: 'none' } | { kind: 'all' } | { kind: 'share'; share: number } | { kind: 'list'; labels: string[] }

export const NO_GATE_LABELS: GateLabels = Object.freeze({ kind: 'none' })

/** A `gate-labels` value that cannot be read; the caller names where it came from. */
export class GateLabelsError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'GateLabelsError'
  }
}

const SHARE = /^(\d+(?:\.\d+)?)\s*(%?)$/

/**
 * Reads a `gate-labels` setting from its entries (input lines, repeated flags or a YAML list). One
 * entry `all`, `none` or a share selects by rule; anything else is a list of label names.
 */
export function parseGateLabels(entries: readonly string[]): GateLabels {
  const items = entries.map(e => e.trim()).filter(Boolean)
  if (!items.length) return NO_GATE_LABELS
  const rules = items.filter(i => /^(all|none)$/i.test(i) || SHARE.test(i))
  if (rules.length) {
    if (items.length > 1)
      throw new GateLabelsError(
        `"${rules[0]}" selects labels by rule and cannot be combined with other entries (${items.map(i => `"${i}"`).join(', ')})`
      )
    const only = items[0]
    if (/^none$/i.test(only)) return NO_GATE_LABELS
    if (/^all$/i.test(only)) return { kind: 'all' }
    const m = SHARE.exec(only)!
    const share = m[2] ? Number(m[1]) / 100 : Number(m[1])
    if (!(share > 0 && share <= 1))
      throw new GateLabelsError(
        `a share of traffic must be above 0 and at most 100% (like 5% or 0.05), got "${only}"`
      )
    return { kind: 'share', share }
  }
  return { kind: 'list', labels: [...new Set(items)] }
}
