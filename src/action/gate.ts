/**
 * The action's `mode: gate` and `mode: baseline`: build the run source (the inputs' fleet, or
 * imported results), judge it against the baseline store (or store baselines), publish the report
 * to GitHub, set the outputs and end the step as the exit policy says.
 */
import * as core from '@actions/core'
import type { ActionInputs } from '../config/inputs.js'
import { Inputs, Outputs, State } from '../constants.js'
import { parseSlos, type Slo } from '../gate/slo.js'
import { actionConclusion } from '../jobs/exit.js'
import { judgeRun, type JudgedRun, type JudgeSettings } from '../jobs/judge.js'
import { publishReport } from '../jobs/publish.js'
import type { RunSource } from '../jobs/source.js'
import { reportArtifactName } from '../report/artifact.js'
import type { EventInfo } from '../report/github-event.js'
import { setOutputs, type OutputValue } from '../report/github.js'
import { redactText } from '../report/redact.js'
import type { BaselineStore } from '../baseline/store.js'
import { actionBaselineStore, actionRunSource, workspace } from './fleet.js'
import { actionPublishPlan, commentKey, endStep, GitHubPublisher } from './publisher.js'

/** The decision rule's settings among the inputs. */
function gateOptionsOf(inputs: ActionInputs) {
  const { failOnInconclusive: _failOnInconclusive, ...rule } = inputs.gate
  return rule
}

/** The job's settings from the inputs and the event. */
function judgeSettings(
  inputs: ActionInputs,
  event: EventInfo,
  source: RunSource,
  run: { slos: Slo[]; store: BaselineStore; signal: AbortSignal }
): JudgeSettings {
  const key = commentKey(inputs, source.scenario)
  return {
    mode: inputs.mode === 'baseline' ? 'baseline' : 'gate',
    replicates: inputs.replicates,
    job: {
      repo: `${event.owner}/${event.repo}`,
      commit: event.headSha,
      ref: event.headRef ?? '',
      gate: gateOptionsOf(inputs),
      gateLabels: inputs.gateLabels ?? undefined,
      slos: run.slos,
      store: run.store,
      minTaskSuccess: inputs.backend === 'fargate' ? inputs.fargate.minTaskSuccess : 1,
      beforeCommit: event.mergeBase?.base ?? undefined,
      signal: run.signal,
      log: m => core.info(`perf-gate: ${redactText(m)}`)
    },
    report: {
      key,
      commit: event.headSha,
      runUrl: event.runUrl,
      pr: event.isPullRequest && event.prNumber !== null ? { number: event.prNumber } : null,
      artifactName: inputs.artifact ? reportArtifactName(key) : null
    }
  }
}

/** The step's outputs for a judged run: the verdict, and a gate's figures. */
export function judgedOutputs(judged: JudgedRun): Record<string, OutputValue> {
  if (judged.mode === 'baseline') return { [Outputs.Verdict]: judged.job.outcome }
  const { job, input } = judged
  const cur = input.currentPercentiles
  const p95 = input.metrics.find(m => m.name === 'p95')
  const screening = job.metrics[0]
  return {
    [Outputs.Verdict]: job.outcome,
    [Outputs.P50]: cur.p50,
    [Outputs.P95]: cur.p95,
    [Outputs.P99]: cur.p99,
    [Outputs.ErrorRate]: screening?.errorRate,
    [Outputs.Rps]: screening?.rps,
    [Outputs.DeltaP95]: p95?.deltaPct ?? undefined
  }
}

/** Runs `mode: gate` or `mode: baseline`; throws for bad inputs, reports everything else. */
export async function runGateMode(
  inputs: ActionInputs,
  event: EventInfo,
  signal: AbortSignal
): Promise<void> {
  const cwd = workspace()
  // The inputs' thresholds are checked before anything runs.
  const slos = parseSlos(inputs.overrides.thresholds, `input '${Inputs.Thresholds}'`)
  const source = await actionRunSource(inputs, event, cwd)
  if (!source) return
  core.saveState(State.Started, '1')
  const store = await actionBaselineStore(inputs, event, cwd, source.awsConfig)
  const settings = judgeSettings(inputs, event, source, { slos, store, signal })
  const judged = await judgeRun(source, settings)
  const failOnInconclusive = judged.mode === 'gate' && inputs.gate.failOnInconclusive
  const plan = actionPublishPlan(inputs, event, settings.report.key, failOnInconclusive)
  await publishReport(new GitHubPublisher(inputs, event), judged.input, judged.job.runs[0] ?? null, plan)
  setOutputs(judgedOutputs(judged))
  const end = actionConclusion(
    { outcome: judged.job.outcome, reasons: judged.job.reasons, subject: source.scenario },
    judged.mode,
    { failOnInconclusive }
  )
  endStep(end)
}
