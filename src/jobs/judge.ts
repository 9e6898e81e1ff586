/**
 * A gate or baseline job on a run source, with the report input it produces: what the action's
 * `gate` and `baseline` modes and `perf-gate gate` share between building the source and
 * publishing the report.
 */
import type { ReportInput } from '../report/types.js'
import {
  runBaselineJob,
  runGateJob,
  type BaselineJobResult,
  type GateJobResult,
  type JobContext
} from './gate.js'
import { baselineReportInput, gateReportInput, type ReportContext } from './report-input.js'
import type { RunSource } from './source.js'

export interface JudgeSettings {
  mode: 'gate' | 'baseline'
  /** Runs of a baseline job (one when the source cannot repeat its run). */
  replicates: number
  /** The job's context apart from what the source tells; its SLOs come before the scenario's. */
  job: Omit<JobContext, 'scenario' | 'fingerprint'>
  /** The report's context apart from what the source tells. */
  report: Pick<ReportContext, 'key' | 'commit' | 'runUrl' | 'pr' | 'artifactName'>
}

export type JudgedRun =
  | { mode: 'gate'; job: GateJobResult; input: ReportInput }
  | { mode: 'baseline'; job: BaselineJobResult; input: ReportInput }

/** The job context for a source: the settings' labels win over the scenario's. */
export function jobContextFor(source: RunSource, job: JudgeSettings['job']): JobContext {
  return {
    ...job,
    scenario: source.scenario,
    fingerprint: source.fingerprint,
    gateLabels: job.gateLabels ?? source.gateLabels,
    slos: [...job.slos, ...source.slos]
  }
}

/** The report context for a source; a run on a fleet counts its time to first request from the step's start. */
export function reportContextFor(source: RunSource, report: JudgeSettings['report']): ReportContext {
  return {
    ...report,
    scenario: source.scenario,
    backend: source.backend,
    engine: source.engine,
    vus: source.vus,
    fleet: source.fleetCost,
    ...(source.fleetCost ? { stepStartMs: performance.timeOrigin } : {})
  }
}

/** Runs the settings' job on the source and makes its report input. */
export async function judgeRun(source: RunSource, settings: JudgeSettings): Promise<JudgedRun> {
  const ctx = jobContextFor(source, settings.job)
  const rctx = reportContextFor(source, settings.report)
  const runOnce = (replicate: number) => source.run(replicate, ctx.signal)
  if (settings.mode === 'baseline') {
    const job = await runBaselineJob(ctx, runOnce, source.canRerun ? settings.replicates : 1)
    return { mode: 'baseline', job, input: baselineReportInput(rctx, job) }
  }
  const job = await runGateJob(ctx, runOnce, source.canRerun)
  return { mode: 'gate', job, input: gateReportInput(rctx, job) }
}
