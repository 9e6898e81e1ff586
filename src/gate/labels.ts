/**
 * Per-label gating (`gate-labels`): which labels (endpoints, transactions) have their p95 and error
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
import type { GateLabels } from '../config/gate-labels.js'

/** A short description for logs and docs: `all labels`, `labels with ≥ 5% of requests`, `GET /a, GET /b`. */
export function describeGateLabels(g: GateLabels): string {
  switch (g.kind) {
    case 'none':
      return 'no labels'
    case 'all':
      return 'all labels'
    case 'share':
      return `labels with at least ${Number((g.share * 100).toPrecision(4))}% of the requests`
    case 'list':
      return g.labels.join(', ')
  }
}

/** One label's figures within a run. */
export interface LabelMetrics {
  requests: number
  failures: number
  errorRate: number
  rps: number
  p95Ms: number
  p99Ms: number
}

export interface LabelSelection {
  /** Labels to gate, in order. */
  labels: string[]
  /** Labels named in a list that the screening run did not record. */
  missing: string[]
}

/** The labels a setting selects in the screening run's per-label figures. */
export function selectGateLabels(g: GateLabels, screening: Record<string, LabelMetrics>): LabelSelection {
  const recorded = Object.keys(screening).sort()
  switch (g.kind) {
    case 'none':
      return { labels: [], missing: [] }
    case 'all':
      return { labels: recorded, missing: [] }
    case 'share': {
      const total = recorded.reduce((a, l) => a + screening[l].requests, 0)
      return {
        labels: total > 0 ? recorded.filter(l => screening[l].requests / total >= g.share - 1e-12) : [],
        missing: []
      }
    }
    case 'list':
      return {
        labels: g.labels.filter(l => l in screening),
        missing: g.labels.filter(l => !(l in screening))
      }
  }
}
