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
import { mkdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { InputError, type ActionInputs } from '../config/inputs.js'
import { scenarioFromInputs } from './scenario.js'
import { Inputs, Outputs, State } from '../constants.js'
import { actionBaselineStore, actionFleet, skippedForFork } from './fleet.js'
import { runScenarioOnce } from '../fleet/run.js'
import { parseSlos } from '../gate/slo.js'
import {
  capacityReportInput,
  runStressJob,
  stressHtmlInput,
  type StressReportContext
} from '../jobs/stress.js'
import { reportArtifactName, uploadReportArtifact, writeReportFiles } from '../report/artifact.js'
import { renderCapacityMarkdown } from '../report/capacity.js'
import { setOutputs, writeJobSummary, type EventInfo } from '../report/github.js'
import { renderHtml } from '../report/html.js'
import { redactText } from '../report/redact.js'
import { errorMessage } from '../util/index.js'

/** The profile a stress run uses when neither the inputs nor the scenario name one. */
export const DEFAULT_STRESS_PROFILE = 'stress'

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
  const cwd = process.env.GITHUB_WORKSPACE || process.cwd()
  const given = await scenarioFromInputs(inputs, cwd, DEFAULT_STRESS_PROFILE)
  const slos = parseSlos(inputs.overrides.thresholds, `input '${Inputs.Thresholds}'`)
  slos.push(
    ...parseSlos(
      given.thresholds.map(t => `${t.metric}: ${t.expr}`),
      `scenario ${given.name} thresholds`
    )
  )
  if (await skippedForFork(inputs, event, given.name)) return
  const { fleet, scenario, regions, awsConfig, fleetCost } = await actionFleet(inputs, event, given, {
    runs: 1,
    targetRps: inputs.targetRps
  })
  const store = await actionBaselineStore(inputs, event, cwd, awsConfig)
  core.saveState(State.Started, '1')
  const log = (m: string) => core.info(`perf-gate: ${redactText(m)}`)
  const job = await runStressJob(
    {
      repo: `${event.owner}/${event.repo}`,
      commit: event.headSha,
      ref: event.headRef ?? '',
      scenario,
      slos,
      store,
      targetRps: inputs.targetRps,
      instances: inputs.instances,
      gate: { alpha: inputs.gate.alpha, minEffect: inputs.gate.minEffect },
      log
    },
    ({ onProgress, signal: stop }) =>
      runScenarioOnce(scenario, { env: process.env, fleet, regions, onProgress, stop, signal, log })
  )

  const key = inputs.commentKey || [scenario.name, process.env.GITHUB_JOB].filter(Boolean).join('/')
  const artifactName = inputs.artifact ? reportArtifactName(key) : null
  const rctx: StressReportContext = {
    key,
    backend: inputs.backend,
    commit: event.headSha,
    runUrl: event.runUrl,
    artifactName,
    fleet: fleetCost,
    // The action's process starts with its step: the time to first request counts from there.
    stepStartMs: performance.timeOrigin
  }
  const markdown = renderCapacityMarkdown(capacityReportInput(rctx, scenario, slos, job))
  const html = stressHtmlInput(rctx, scenario, job)
  const outDir = join(process.env.RUNNER_TEMP || tmpdir(), 'perf-gate', key.replace(/[^A-Za-z0-9_.-]+/g, '-'))
  await mkdir(outDir, { recursive: true })
  const files = await writeReportFiles(outDir, job.run, html ? renderHtml(html) : '', markdown)
  if (job.record) await writeFile(join(outDir, 'capacity.json'), JSON.stringify(job.record) + '\n')
  if (artifactName) {
    try {
      const up = await uploadReportArtifact(artifactName, files)
      if (up.reason) core.info(`perf-gate: report artifact not uploaded: ${up.reason}`)
    } catch (e) {
      core.warning(`perf-gate could not upload the report artifact: ${errorMessage(e)}`)
    }
  }
  await writeJobSummary(markdown)
  setOutputs({
    [Outputs.Verdict]: job.outcome,
    [Outputs.ResultJson]: files.resultJson,
    [Outputs.ReportHtml]: files.reportHtml,
    [Outputs.CapacityRps]: job.record?.capacityRps ?? undefined
  })
  const line = `perf-gate ${scenario.name} (${scenario.profile?.name}): ${job.analysis?.sentence ?? 'no analysis'}`
  if (job.outcome === 'PASS') core.info(line)
  else core.setFailed(redactText(`${line} — ${job.reasons.join('; ')}`))
}
