/**
 * The action's main step: read the inputs, produce the run(s), judge them against the baselines,
 * and report. Every decision lives in the modules it calls.
 */
import * as core from '@actions/core'
import * as github from '@actions/github'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { actionBaselineStore, actionFleet, skippedForFork } from './action/fleet.js'
import { runStressMode } from './action/stress.js'
import { InputError, readInputs, type ActionInputs } from './config/inputs.js'
import { scenarioFromInputs } from './action/scenario.js'
import { Inputs, Outputs, State } from './constants.js'
import { runScenarioOnce } from './fleet/run.js'
import type { S3ClientConfig } from '@aws-sdk/client-s3'
import type { FleetCostSpec } from './jobs/run-cost.js'
import type { GateLabels } from './config/gate-labels.js'
import { parseSlos } from './gate/slo.js'
import { importRunResult } from './jobs/import.js'
import { runBaselineJob, runGateJob, type JobContext, type RunOnce } from './jobs/gate.js'
import { baselineReportInput, gateReportInput } from './jobs/report-input.js'
import { reportArtifactName, uploadReportArtifact, writeReportFiles } from './report/artifact.js'
import {
  conclusionForOutcome,
  createCheckRun,
  describeEvent,
  setCommitStatus,
  setOutputs,
  statusForOutcome,
  upsertComment,
  writeJobSummary,
  type EventInfo
} from './report/github.js'
import { renderHtml } from './report/html.js'
import { commentMarker, renderCheckOutput, renderJobSummary, renderMarkdown } from './report/markdown.js'
import { redactDeep, redactText } from './report/redact.js'
import type { ReportInput } from './report/types.js'
import type { RunResult } from './results/model.js'
import { errorMessage } from './util/index.js'

function workspace(): string {
  return process.env.GITHUB_WORKSPACE || process.cwd()
}

/** The decision rule's settings among the inputs. */
function gateOptionsOf(inputs: ActionInputs) {
  const { failOnInconclusive: _failOnInconclusive, ...rule } = inputs.gate
  return rule
}

function commentKey(inputs: ActionInputs, scenario: string): string {
  return inputs.commentKey || [scenario, process.env.GITHUB_JOB].filter(Boolean).join('/')
}

async function report(
  inputs: ActionInputs,
  event: EventInfo,
  input: ReportInput,
  result: RunResult | null,
  failOnInconclusive: boolean
): Promise<void> {
  // Everything below is published: redact it once, before any text is cut to a size limit.
  input = redactDeep(input)
  result = result && redactDeep(result)
  const markdown = renderMarkdown(input)
  const outDir = join(
    process.env.RUNNER_TEMP || tmpdir(),
    'perf-gate',
    input.key.replace(/[^A-Za-z0-9_.-]+/g, '-')
  )
  const files = await writeReportFiles(outDir, result, renderHtml(input), renderJobSummary(input))
  setOutputs({ [Outputs.ResultJson]: files.resultJson, [Outputs.ReportHtml]: files.reportHtml })

  if (inputs.artifact) {
    try {
      const up = await uploadReportArtifact(reportArtifactName(input.key), files)
      if (up.reason) core.info(`perf-gate: report artifact not uploaded: ${up.reason}`)
    } catch (e) {
      core.warning(`perf-gate could not upload the report artifact: ${errorMessage(e)}`)
    }
  }
  await writeJobSummary(renderJobSummary(input))

  const token = inputs.githubToken
  if (!token) {
    core.info('perf-gate: no github-token, so no comment, status or check run')
    return
  }
  if (!event.canWrite) {
    core.notice(
      `perf-gate: ${event.readOnlyReason ?? 'this run cannot write to the repository'}; the report is in the job summary`
    )
    return
  }
  const octokit = github.getOctokit(token)
  const { owner, repo } = event
  const outcome = input.verdict.outcome
  if (event.isPullRequest && event.prNumber !== null && inputs.comment) {
    const c = await upsertComment(octokit, {
      owner,
      repo,
      issueNumber: event.prNumber,
      marker: commentMarker(input.key),
      body: markdown,
      warn: core.warning
    })
    if (c) setOutputs({ [Outputs.CommentUrl]: c.url })
  }
  if (event.headSha) {
    const detail = input.verdict.reasons[0] ?? ''
    const st = statusForOutcome(outcome, detail, { failOnInconclusive })
    await setCommitStatus(octokit, {
      owner,
      repo,
      sha: event.headSha,
      context: `perf-gate/${input.scenario}`,
      state: st.state,
      description: st.description,
      targetUrl: event.runUrl,
      warn: core.warning
    })
    if (inputs.checkRun) {
      const out = renderCheckOutput(input)
      await createCheckRun(octokit, {
        owner,
        repo,
        headSha: event.headSha,
        name: `perf-gate/${input.scenario}`,
        conclusion: conclusionForOutcome(outcome, { failOnInconclusive }),
        title: out.title,
        summary: out.summary,
        detailsUrl: event.runUrl,
        warn: core.warning
      })
    }
  }
}

export async function run(): Promise<void> {
  // On cancel the runner sends SIGINT, then SIGTERM 7.5 s later: stop the load and still report.
  const abort = new AbortController()
  const onSignal = () => {
    core.warning('perf-gate: cancelled; stopping the load generators')
    abort.abort()
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    const inputs = readInputs(name => core.getInput(name))
    const event = describeEvent(github.context.eventName, github.context.payload, process.env)
    if (!inputs.githubToken && (inputs.baselineStore === 'artifact' || event.canWrite))
      throw new InputError(
        Inputs.GithubToken,
        inputs.baselineStore === 'artifact'
          ? 'is empty, but the artifact baseline store needs it to find baselines (keep the default ${{ github.token }})'
          : 'is empty; comments and statuses need it (keep the default ${{ github.token }})'
      )
    if (inputs.mode === 'stress') {
      await runStressMode(inputs, event, abort.signal)
      return
    }
    const cwd = workspace()
    const thresholds = inputs.overrides.thresholds
    const slos = parseSlos(thresholds, `input '${Inputs.Thresholds}'`)

    let runOnce: RunOnce
    let scenarioName: string
    let fingerprint: string
    let engine = ''
    let vus: number | null = null
    let scenarioGateLabels: GateLabels | undefined
    let canRerun: boolean
    /** AWS client settings of a Fargate run (assumed credentials), for an S3 baseline store. */
    let awsConfig: S3ClientConfig | undefined
    /** The fleet the load runs on, for the report's cost estimate (none for imported results). */
    let fleetCost: FleetCostSpec | undefined
    if (inputs.backend === 'none') {
      const imported = await importRunResult(inputs.results, {
        cwd,
        scenario: inputs.scenario || 'default',
        warn: m => core.warning(`perf-gate: ${m}`)
      })
      scenarioName = imported.run.scenario
      fingerprint = imported.run.fingerprint
      engine = String(imported.run.facts.engine ?? '')
      runOnce = async () => imported
      canRerun = false
    } else {
      const given = await scenarioFromInputs(inputs, cwd)
      if (await skippedForFork(inputs, event, given.name)) return
      const setup = await actionFleet(inputs, event, given, {
        runs: inputs.mode === 'baseline' ? inputs.replicates : 1 + inputs.gate.confirmReplicates
      })
      const { fleet, regions, scenario } = setup
      awsConfig = setup.awsConfig
      fleetCost = setup.fleetCost
      scenarioName = scenario.name
      fingerprint = scenario.fingerprint
      engine = scenario.engine
      vus = scenario.vus
      scenarioGateLabels = scenario.gateLabels
      slos.push(
        ...parseSlos(
          scenario.thresholds.map(t => `${t.metric}: ${t.expr}`),
          `scenario ${scenario.name} thresholds`
        )
      )
      runOnce = async replicate => {
        core.info(`perf-gate: ${scenario.name} run ${replicate + 1}: ${scenario.engine}, ${scenario.vus} VUs`)
        return runScenarioOnce(scenario, {
          env: process.env,
          fleet,
          regions,
          signal: abort.signal,
          log: m => core.info(`perf-gate: ${redactText(m)}`)
        })
      }
      canRerun = true
    }
    core.saveState(State.Started, '1')

    const store = await actionBaselineStore(inputs, event, cwd, awsConfig)
    const ctx: JobContext = {
      repo: `${event.owner}/${event.repo}`,
      commit: event.headSha,
      ref: event.headRef ?? '',
      scenario: scenarioName,
      fingerprint,
      gate: gateOptionsOf(inputs),
      gateLabels: inputs.gateLabels ?? scenarioGateLabels,
      slos,
      store,
      minTaskSuccess: inputs.backend === 'fargate' ? inputs.fargate.minTaskSuccess : 1,
      beforeCommit: event.mergeBase?.base ?? undefined,
      signal: abort.signal,
      log: m => core.info(`perf-gate: ${redactText(m)}`)
    }
    const rctx = {
      key: commentKey(inputs, scenarioName),
      scenario: scenarioName,
      backend: inputs.backend === 'none' ? 'import' : inputs.backend,
      engine,
      vus,
      fleet: fleetCost,
      // The action's process starts with its step: the time to first request counts from there.
      ...(fleetCost ? { stepStartMs: performance.timeOrigin } : {}),
      commit: event.headSha,
      runUrl: event.runUrl,
      pr: event.isPullRequest && event.prNumber !== null ? { number: event.prNumber } : null,
      artifactName: inputs.artifact ? reportArtifactName(commentKey(inputs, scenarioName)) : null
    }

    if (inputs.mode === 'baseline') {
      const job = await runBaselineJob(ctx, runOnce, canRerun ? inputs.replicates : 1)
      const input = baselineReportInput(rctx, job)
      await report(inputs, event, input, job.runs[0] ?? null, false)
      setOutputs({ [Outputs.Verdict]: job.outcome })
      if (job.outcome !== 'PASS') core.setFailed(redactText(`perf-gate baseline: ${job.reasons.join('; ')}`))
      return
    }

    const job = await runGateJob(ctx, runOnce, canRerun)
    const input = gateReportInput(rctx, job)
    await report(inputs, event, input, job.runs[0] ?? null, inputs.gate.failOnInconclusive)
    const cur = input.currentPercentiles
    const p95 = input.metrics.find(m => m.name === 'p95')
    const screening = job.metrics[0]
    setOutputs({
      [Outputs.Verdict]: job.outcome,
      [Outputs.P50]: cur.p50,
      [Outputs.P95]: cur.p95,
      [Outputs.P99]: cur.p99,
      [Outputs.ErrorRate]: screening?.errorRate,
      [Outputs.Rps]: screening?.rps,
      [Outputs.DeltaP95]: p95?.deltaPct ?? undefined
    })
    const summary = redactText(
      `perf-gate ${scenarioName}: ${job.outcome}${job.reasons.length ? ` — ${job.reasons[0]}` : ''}`
    )
    if (job.outcome === 'FAIL' || job.outcome === 'ERROR') core.setFailed(summary)
    else if (job.outcome === 'INCONCLUSIVE' && inputs.gate.failOnInconclusive)
      core.setFailed(`${summary} (fail-on-inconclusive)`)
    else core.info(summary)
  } catch (e) {
    setOutputs({ [Outputs.Verdict]: 'ERROR' })
    core.setFailed(redactText(`perf-gate: ${errorMessage(e)}`))
  }
}
