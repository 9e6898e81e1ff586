/** Load and volume analysis: the figures of the run's one hold, bytes per second included. */
import type { StepResult } from './steps.js'
import { bytesRate, failedText, ms, rps } from './wording.js'

export interface HoldAnalysis {
  kind: 'load' | 'volume'
  steps: StepResult[]
  hold: StepResult
  /** Mean bytes per request sent / received. */
  requestBytes: number | null
  responseBytes: number | null
  sentence: string
}

/** The hold of a load or volume run, with its byte throughput. */
export function analyzeHold(kind: 'load' | 'volume', steps: StepResult[]): HoldAnalysis {
  const hold = steps[0]
  const perReq = (perS: number) => (hold.rps > 0 && perS > 0 ? perS / hold.rps : null)
  const requestBytes = perReq(hold.bytesOutPerS)
  const responseBytes = perReq(hold.bytesInPerS)
  const held = hold.held === null ? '' : hold.held ? '; every SLO held' : `; ${failedText(hold)}`
  const sentence = !hold.reached
    ? 'the hold was not completed'
    : `${rps(hold.rps)} at p95 ${ms(hold.p95Ms)} with ${hold.vus} VUs; ` +
      `${bytesRate(hold.bytesOutPerS)} sent, ${bytesRate(hold.bytesInPerS)} received${held}`
  return { kind, steps, hold, requestBytes, responseBytes, sentence }
}
