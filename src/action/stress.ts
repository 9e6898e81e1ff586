/**
 * The action's `mode: stress` (typically from a `workflow_dispatch` with `profile`, `multiplier` and
 * `duration` inputs): run the profile once, on this runner (`backend: local`) or across a Fargate
 * fleet (`backend: fargate`, sized for the profile's peak and `target-rps`), write the capacity
 * report to the job summary and the artifact, keep a capacity record in the baseline store, and set
 * the outputs. The stop rule ends the whole fleet at the end of the first step that breaks an SLO
 * (on Fargate through abort.json, the tasks' results still collected). It writes no comment or
 * status: a stress run does not gate. The work itself is `runStressJob` (src/jobs/stress.ts),
 * shared with `perf-gate stress`.
 */
import * as core from '@actions/core'
import type { BaselineStore } from '../baseline/store.js'
import { InputError, type ActionInputs } from '../config/inputs.js'
import type { Scenario } from '../config/scenario.js'
import { Inputs, Outputs, State } from '../constants.js'
import { runScenarioOnce } from '../fleet/run.js'
import { parseSlos, type Slo } from '../gate/slo.js'
import { actionConclusion } from '../jobs/exit.js'
import { publishDocument } from '../jobs/publish.js'
import { scenarioSlos } from '../jobs/source.js'
import { runStressJob, type StressJobContext } from '../jobs/stress.js'
import { stressDocument, type StressReportContext } from '../jobs/stress-report.js'
import { reportArtifactName } from '../report/artifact.js'
import type { EventInfo } from '../report/github-event.js'
import { setOutputs } from '../report/github.js'
import { redactText } from '../report/redact.js'
import { actionBaselineStore, actionFleet, skippedForFork, workspace, type ActionFleet } from './fleet.js'
import { commentKey, endStep, GitHubPublisher } from './publisher.js'
import { scenarioFromInputs } from './scenario.js'

/** The profile a stress run uses when neither the inputs nor the scenario name one. */
export const DEFAULT_STRESS_PROFILE = 'stress'

const log = (m: string) => core.info(`perf-gate: ${redactText(m)}`)

/** The stress job's context from the inputs and the event. */
function stressContext(
  inputs: ActionInputs,
  event: EventInfo,
  scenario: Scenario,
  run: { slos: Slo[]; store: BaselineStore }
): StressJobContext {
  return {
    repo: `${event.owner}/${event.repo}`,
    commit: event.headSha,
    ref: event.headRef ?? '',
    scenario,
    slos: run.slos,
    store: run.store,
    targetRps: inputs.targetRps,
    instances: inputs.instances,
    gate: { alpha: inputs.gate.alpha, minEffect: inputs.gate.minEffect },
    log
  }
}

/** The stress report's context: the fleet's cost, and the time to first request from the step's start. */
function stressReportContext(
  inputs: ActionInputs,
  event: EventInfo,
  setup: ActionFleet
): StressReportContext {
  const key = commentKey(inputs, setup.scenario.name)
  return {
    key,
    backend: inputs.backend,
    commit: event.headSha,
    runUrl: event.runUrl,
    artifactName: inputs.artifact ? reportArtifactName(key) : null,
    fleet: setup.fleetCost,
    // The action's process starts with its step: the time to first request counts from there.
    stepStartMs: performance.timeOrigin
  }
}

/** Runs `mode: stress`; throws (one line) for bad inputs, reports everything else. */
export async function runStressMode(
  inputs: ActionInputs,
  event: EventInfo,
  signal: AbortSignal
): Promise<void> {
  if (inputs.backend === 'none')
    throw new InputError(
      Inputs.Backend,
      'stress mode runs the load itself: use backend "local" (this runner) or "fargate" (a fleet)'
    )
  const cwd = workspace()
  const given = await scenarioFromInputs(inputs, cwd, DEFAULT_STRESS_PROFILE)
  const slos = [
    ...parseSlos(inputs.overrides.thresholds, `input '${Inputs.Thresholds}'`),
    ...scenarioSlos(given)
  ]
  if (await skippedForFork(inputs, event, given.name)) return
  const setup = await actionFleet(inputs, event, given, { runs: 1, targetRps: inputs.targetRps })
  const { fleet, scenario, regions } = setup
  const store = await actionBaselineStore(inputs, event, cwd, setup.awsConfig)
  core.saveState(State.Started, '1')
  const job = await runStressJob(
    stressContext(inputs, event, scenario, { slos, store }),
    ({ onProgress, signal: stop }) =>
      runScenarioOnce(scenario, { env: process.env, fleet, regions, onProgress, stop, signal, log })
  )
  const rctx = stressReportContext(inputs, event, setup)
  await publishDocument(
    new GitHubPublisher(inputs, event),
    stressDocument(rctx, scenario, slos, job),
    rctx.artifactName ?? null
  )
  setOutputs({ [Outputs.Verdict]: job.outcome, [Outputs.CapacityRps]: job.record?.capacityRps ?? undefined })
  const subject = `${scenario.name} (${scenario.profile?.name})`
  endStep(actionConclusion({ ...job, subject, sentence: job.analysis?.sentence }, 'stress'))
}
