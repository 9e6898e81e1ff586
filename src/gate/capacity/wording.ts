/** How capacity figures read in the analyses' sentences: rates, latencies, SLOs and byte rates. */
import { formatValue } from '../format.js'
import { aggregationText, type Slo } from '../slo.js'
import type { StepResult } from './steps.js'

/** A request rate: `1,850 req/s`, three significant digits below 100. */
export function rps(v: number): string {
  if (!Number.isFinite(v)) return '—'
  const r = v >= 100 ? Math.round(v) : Number(v.toPrecision(3))
  return `${r.toLocaleString('en-US')} req/s`
}

/** A latency in milliseconds, formatted like the gate's figures. */
export function ms(v: number): string {
  return formatValue(v, 'ms')
}

const OP_TEXT: Record<string, string> = { '<': '<', '<=': '≤', '>': '>', '>=': '≥', '==': '=', '!=': '≠' }

/**
 * How an SLO reads in a sentence: `p95 < 300 ms`, `error rate < 1%`. The latency SLO on the whole
 * run comes first, then the error-rate one; null when there is neither.
 */
export function sloPhrase(slos: readonly Slo[]): string | null {
  const latency = slos.find(
    s => s.metric === 'http_req_duration' && s.label === null && s.aggregation.kind !== 'count'
  )
  if (latency) {
    const a = latency.aggregation
    const name =
      a.kind === 'p'
        ? `p${a.p}`
        : a.kind === 'med'
          ? 'p50'
          : a.kind === 'avg'
            ? 'mean latency'
            : aggregationText(a)
    return `${name} ${OP_TEXT[latency.op]} ${ms(latency.value)}`
  }
  const errors = slos.find(s => s.metric === 'http_req_failed' && s.label === null)
  if (errors) return `error rate ${OP_TEXT[errors.op]} ${Number((errors.value * 100).toPrecision(3))}%`
  return null
}

/** The reasons of the SLOs a step broke, without their leading `SLO`, joined by `; `. */
export function failedText(step: StepResult): string {
  return step.slo
    .filter(r => r.status !== 'pass')
    .map(r => r.reason.replace(/^SLO /, ''))
    .join('; ')
}

/** A byte rate in binary units: `1.5 MiB/s`. */
export function bytesRate(v: number): string {
  const units = ['B/s', 'KiB/s', 'MiB/s', 'GiB/s']
  let x = v
  let u = 0
  while (x >= 1024 && u < units.length - 1) {
    x /= 1024
    u++
  }
  return `${Number(x.toPrecision(3))} ${units[u]}`
}
