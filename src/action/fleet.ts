/**
 * The action's fleet for a scenario, the same for every mode that runs load: a LocalFleet whose
 * runner PIDs are saved for the post step, or a Fargate fleet (sized, priced, authenticated) whose
 * task ARNs are saved. Also the baseline store, with the assumed AWS credentials for an S3 store,
 * and the fork policy: a fork pull request never reaches AWS.
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
import type { FleetCostSpec } from '../jobs/run-cost.js'
import { setOutputs, writeJobSummary, type EventInfo } from '../report/github.js'
import { redactText, registerSecret } from '../report/redact.js'

export interface ActionFleet {
  fleet: Fleet
  /** The scenario as the fleet runs it (a Fargate fleet sets the task count and fingerprint). */
  scenario: Scenario
  /** Regions and their task counts, in task order (Fargate). */
  regions?: { region: string; tasks: number }[]
  /** AWS client settings with the assumed credentials (Fargate), for an S3 baseline store. */
  awsConfig?: S3ClientConfig
  /** The fleet's size and kind, for the reports' cost estimate. */
  fleetCost: FleetCostSpec
}

const log = (m: string) => core.info(`perf-gate: ${redactText(m)}`)

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
