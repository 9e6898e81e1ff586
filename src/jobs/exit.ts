/**
 * The exit policy shared by the action and the CLI: whether a job's outcome fails the step (the
 * command exits 1), and the final line each of them prints. Pure.
 *
 * - gate: FAIL and ERROR fail; INCONCLUSIVE fails only with fail-on-inconclusive; PASS and
 *   CANCELLED do not.
 * - baseline and stress: everything but PASS fails.
 */
import type { Outcome } from '../model/index.js'

/** What the job did: judge a change (gate), store baselines, or measure capacity (stress). */
export type JobMode = 'gate' | 'baseline' | 'stress'

export interface ExitOptions {
  /** INCONCLUSIVE fails the gate too. */
  failOnInconclusive?: boolean
}

/** A finished job, as the exit policy sees it. */
export interface JobEnd {
  outcome: Outcome
  /** Why, most important first. */
  reasons: readonly string[]
  /** What ran: the scenario (gate), or the scenario and its profile (stress: `name (profile)`). */
  subject: string
  /** A stress run's one-sentence analysis, when there is one. */
  sentence?: string | null
}

/** Whether the outcome fails the action step or the command. */
export function failsJob(outcome: Outcome, mode: JobMode, opts: ExitOptions = {}): boolean {
  if (mode !== 'gate') return outcome !== 'PASS'
  if (outcome === 'FAIL' || outcome === 'ERROR') return true
  return outcome === 'INCONCLUSIVE' && opts.failOnInconclusive === true
}

/** The command's exit code for a job's outcome: 1 when it fails, else 0. */
export function exitCodeFor(outcome: Outcome, mode: JobMode, opts: ExitOptions = {}): 0 | 1 {
  return failsJob(outcome, mode, opts) ? 1 : 0
}

/** The action's last line: the step's failure message when `failed`, else a notice (or none). */
export interface ActionConclusion {
  failed: boolean
  message: string | null
}

/** The action's last line for a finished job (not yet redacted). */
export function actionConclusion(end: JobEnd, mode: JobMode, opts: ExitOptions = {}): ActionConclusion {
  const failed = failsJob(end.outcome, mode, opts)
  if (mode === 'baseline')
    return { failed, message: failed ? `perf-gate baseline: ${end.reasons.join('; ')}` : null }
  if (mode === 'stress') {
    const line = `perf-gate ${end.subject}: ${end.sentence ?? 'no analysis'}`
    return { failed, message: failed ? `${line} — ${end.reasons.join('; ')}` : line }
  }
  const summary = `perf-gate ${end.subject}: ${end.outcome}${end.reasons.length ? ` — ${end.reasons[0]}` : ''}`
  return {
    failed,
    message: failed && end.outcome === 'INCONCLUSIVE' ? `${summary} (fail-on-inconclusive)` : summary
  }
}

/** The CLI's last line on stderr for a finished job (after the command's prefix), or null. */
export function cliConclusion(end: JobEnd, mode: JobMode): string | null {
  if (mode === 'gate') return `${end.outcome}${end.reasons.length ? `: ${end.reasons[0]}` : ''}`
  if (mode === 'stress' && end.outcome !== 'PASS') return `ERROR: ${end.reasons.join('; ')}`
  return null
}
