/**
 * The action's fleet for a scenario, the same for every mode that runs load: a LocalFleet whose
 * runner PIDs are saved for the post step, or a Fargate fleet (sized, priced, authenticated) whose
 * task ARNs are saved. Also the run source of the gate and baseline modes, the baseline store, with
 * the assumed AWS credentials for an S3 store, and the fork policy: a fork pull request never
 * reaches AWS.
 */
import * as core from '@actions/core'
import type { S3ClientConfig } from '@aws-sdk/client-s3'
import { createBaselineStore } from '../baseline/index.js'
import type { BaselineStore } from '../baseline/store.js'
import type { ActionInputs } from '../config/inputs.js'
import type { Scenario } from '../config/scenario.js'
import { Outputs, State } from '../constants.js'
import { LocalFleet } from '../fleet/local.js'
import type { Fleet } from '../fleet/types.js'
import { prepareFargate } from '../jobs/fargate.js'
import { buildRunSource, type FleetSetup, type RunSource, type SourceSpec } from '../jobs/source.js'
import type { EventInfo } from '../report/github-event.js'
import { setOutputs, writeJobSummary } from '../report/github.js'
import { redactText, registerSecret } from '../report/redact.js'
import { scenarioFromInputs } from './scenario.js'

/** The action's fleet: a fleet is always set up (never the default of one per run). */
export type ActionFleet = FleetSetup & { fleet: Fleet }

const log = (m: string) => core.info(`perf-gate: ${redactText(m)}`)

/** The folder the action works in: the checked-out repository. */
export function workspace(): string {
  return process.env.GITHUB_WORKSPACE || process.cwd()
}

/**
 * With `backend: fargate` on a fork pull request: says why nothing ran (notice, summary,
 * INCONCLUSIVE) and returns true. Fork pull requests get no OIDC token and a read-only token.
 */
export async function skippedForFork(
  inputs: ActionInputs,
  event: EventInfo,
  scenario: string
): Promise<boolean> {
  if (inputs.backend !== 'fargate' || !event.isFork) return false
  const reason =
    'fork pull requests never reach AWS (they get no OIDC token and a read-only token), so the Fargate run was skipped; a maintainer can run it from a branch of this repository'
  core.notice(`perf-gate: ${reason}`)
  await writeJobSummary(`### perf-gate ${scenario}: INCONCLUSIVE\n\n${reason}.\n`)
  setOutputs({ [Outputs.Verdict]: 'INCONCLUSIVE' })
  return true
}

/** The fleet that runs `scenario` `runs` times (at most), for the inputs' backend. */
export async function actionFleet(
  inputs: ActionInputs,
  event: EventInfo,
  scenario: Scenario,
  opts: { runs: number; targetRps?: number | null }
): Promise<ActionFleet> {
  if (inputs.backend === 'fargate') {
    const setup = await prepareFargate(
      scenario,
      inputs.fargate,
      {
        runs: opts.runs,
        runId: `${scenario.name}-${process.env.GITHUB_RUN_ID ?? Date.now()}`,
        repo: `${event.owner}/${event.repo}`,
        targetRps: opts.targetRps
      },
      {
        getIdToken: aud => core.getIDToken(aud),
        mask: secret => {
          core.setSecret(secret)
          registerSecret(secret)
        },
        log,
        saveState: st => core.saveState(State.FargateTasks, JSON.stringify(st))
      }
    )
    return {
      fleet: setup.fleet,
      scenario: setup.scenario,
      regions: setup.size.regions,
      awsConfig: setup.awsConfig,
      fleetCost: {
        kind: 'fargate',
        regions: setup.size.regions,
        cpu: inputs.fargate.taskCpu,
        memoryMiB: inputs.fargate.taskMemory,
        spot: inputs.fargate.spot
      }
    }
  }
  const pids: number[] = []
  const fleet = new LocalFleet({
    env: process.env,
    onSpawn: (_spec, pid) => {
      pids.push(pid)
      core.saveState(State.Pids, pids.join(','))
    }
  })
  return { fleet, scenario, fleetCost: { kind: 'local' } }
}

/** The inputs' baseline store; an S3 store uses the fleet's assumed credentials when there are any. */
export function actionBaselineStore(
  inputs: ActionInputs,
  event: EventInfo,
  cwd: string,
  awsConfig?: S3ClientConfig
): Promise<BaselineStore> {
  return createBaselineStore(inputs.baselineStore, {
    cwd,
    warn: m => core.warning(redactText(`perf-gate: ${m}`)),
    ...(awsConfig
      ? {
          s3: { clientConfig: { ...awsConfig, forcePathStyle: process.env.PERF_GATE_S3_PATH_STYLE === '1' } }
        }
      : {}),
    github: { token: inputs.githubToken, baseBranch: event.baseRef ?? undefined }
  })
}

/**
 * The run source of the gate and baseline modes: the result files (`backend: none`), or the
 * scenario of the inputs on their fleet, sized for every run the mode may make. Null when the fork
 * policy skipped the run.
 */
export function actionRunSource(
  inputs: ActionInputs,
  event: EventInfo,
  cwd: string
): Promise<RunSource | null> {
  const spec: SourceSpec =
    inputs.backend === 'none'
      ? { kind: 'import', results: inputs.results, scenario: inputs.scenario || 'default' }
      : { kind: 'fleet', backend: inputs.backend, load: () => scenarioFromInputs(inputs, cwd) }
  const runs = inputs.mode === 'baseline' ? inputs.replicates : 1 + inputs.gate.confirmReplicates
  return buildRunSource(spec, {
    cwd,
    env: process.env,
    log,
    warn: m => core.warning(`perf-gate: ${m}`),
    skip: scenario => skippedForFork(inputs, event, scenario.name),
    fleet: scenario => actionFleet(inputs, event, scenario, { runs }),
    announce: (scenario, replicate) =>
      core.info(`perf-gate: ${scenario.name} run ${replicate + 1}: ${scenario.engine}, ${scenario.vus} VUs`)
  })
}
