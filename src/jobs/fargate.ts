/**
 * Everything the action does before and after a Fargate run, as functions with their
 * dependencies passed in: size the fleet, check the cost cap, get credentials, find each region's
 * runner stack, and build the FargateFleet; in the post step, stop whatever a run left.
 */
import { createHash } from 'node:crypto'
import { CloudFormationClient } from '@aws-sdk/client-cloudformation'
import { ECSClient, type ECSClientConfig } from '@aws-sdk/client-ecs'
import { S3Client } from '@aws-sdk/client-s3'
import type { Scenario } from '../config/scenario.js'
import { Inputs } from '../constants.js'
import { InputError, type FargateInputs } from '../config/inputs.js'
import {
  assumeRoleWithOidc,
  roleArnOf,
  sessionNameFor,
  sessionSeconds,
  type AwsCredentials
} from '../fleet/aws/credentials.js'
import { discoverTargets, type RegionTarget } from '../fleet/aws/discovery.js'
import { listTasksStartedBy, stopTasks } from '../fleet/aws/ecs.js'
import { awsMessage } from '../fleet/aws/retry.js'
import { FargateFleet } from '../fleet/fargate.js'
import { DEFAULT_FARGATE_TIMING, type FargateTiming } from '../fleet/fargate/timing.js'
import { hardMaxSeconds } from '../fleet/plan.js'
import { resolveK6Load } from '../fleet/k6-load.js'
import type { FleetProgress } from '../model/index.js'
import { compare, parseSlos, type Slo } from '../gate/slo.js'
import { LiveTotals } from '../gate/stop-rule.js'
import type { CostEstimate, FleetSize } from '../plan/fleet.js'
import { priceFor, sizeFor } from './fargate-plan.js'
import { RunObjects } from '../runner/objects.js'
import { timingOverrides } from '../util/timing.js'
import { withHttpLimits } from '../util/aws-http.js'

/** What the post step needs to stop a run's tasks (never credentials). */
export interface FargateState {
  startedBy: string
  role: string
  stsRegion: string
  regions: Record<string, { cluster: string; arns: string[] }>
}

export interface FargateDeps {
  getIdToken: (audience: string) => Promise<string>
  mask: (secret: string) => void
  log: (message: string) => void
  saveState: (state: FargateState) => void
  env?: NodeJS.ProcessEnv
}

export interface FargateSetup {
  fleet: FargateFleet
  /** The scenario as the fleet runs it: its task count and a fingerprint that covers the fleet. */
  scenario: Scenario
  size: FleetSize
  cost: CostEstimate
  startedBy: string
  /** Client settings with the assumed credentials, for other AWS clients of the job (an S3 baseline store). */
  awsConfig: { region: string; credentials?: AwsCredentials }
}

/** The fingerprint of a scenario run on a given fleet: only like is compared with like. */
export function fleetFingerprint(
  scenarioFingerprint: string,
  f: { regions: readonly { region: string; tasks: number }[]; cpu: number; memoryMiB: number; spot: boolean }
): string {
  const doc = JSON.stringify({
    scenario: scenarioFingerprint,
    backend: 'fargate',
    regions: f.regions.map(r => [r.region, r.tasks]),
    cpu: f.cpu,
    memory: f.memoryMiB,
    spot: f.spot
  })
  return createHash('sha256').update(doc).digest('hex')
}

/** `startedBy` of a job's tasks: at most 36 characters of [A-Za-z0-9_-]. */
export function startedByFor(env: NodeJS.ProcessEnv, runId: string): string {
  const id = env.GITHUB_RUN_ID ? `${env.GITHUB_RUN_ID}-${env.GITHUB_RUN_ATTEMPT ?? '1'}` : runId
  return `perf-gate-${id}`.replace(/[^\w-]/g, '-').slice(0, 36)
}

/** Requests the fleet must have made (and, for latency, reported in live windows) before abort-on judges. */
export const ABORT_ON_MIN_REQUESTS = 100

/**
 * abort-on: SLOs judged on the whole fleet's live progress since the start: the error rate, the
 * request count, and latency aggregations (`p(95)<500`, `avg<200`) over the tasks' live windows,
 * merged exactly as they arrive. Returns a stateful judge of each progress report.
 */
export function abortOnRule(texts: readonly string[]): ((p: FleetProgress) => string | null) | undefined {
  if (!texts.length) return undefined
  const slos: Slo[] = parseSlos(texts, `input '${Inputs.AbortOn}'`)
  for (const s of slos) {
    const judgeable =
      !s.label &&
      ((s.metric === 'http_req_failed' && s.aggregation.kind === 'rate') ||
        (s.metric === 'http_reqs' && s.aggregation.kind === 'count') ||
        (s.metric === 'http_req_duration' && s.aggregation.kind !== 'count' && s.aggregation.kind !== 'rate'))
    if (!judgeable)
      throw new InputError(
        Inputs.AbortOn,
        `"${s.text}": abort-on judges live fleet figures: use latency (e.g. 'p(95)<500'), error rate (e.g. 'http_req_failed: rate<0.05') or request count`
      )
  }
  const live = new LiveTotals()
  return p => {
    for (const t of p.tasks) for (const w of t.live ?? []) live.add(w)
    if (p.requests < ABORT_ON_MIN_REQUESTS) return null
    const after = `after ${Math.round(p.elapsedS)} s`
    for (const s of slos) {
      if (s.metric === 'http_req_duration') {
        if (live.requests < ABORT_ON_MIN_REQUESTS) continue
        const broken = live.broken(s, 0)
        if (broken) return `${broken} does not hold on ${live.requests} requests ${after}`
        continue
      }
      const v = s.metric === 'http_req_failed' ? p.failures / p.requests : p.requests
      if (!compare(v, s.op, s.value))
        return `${s.text} does not hold (${s.metric === 'http_req_failed' ? `error rate ${(100 * v).toFixed(2)}%` : `${v} requests`} ${after})`
    }
    return null
  }
}

/** Environment variable with FargateTiming overrides as JSON, e.g. {"pollMs": 2000}. */
export const TIMING_ENV = 'PERF_GATE_FARGATE_TIMING'

/** Reads timing overrides (milliseconds, each a positive number) from TIMING_ENV. */
export function timingFromEnv(env: NodeJS.ProcessEnv): Partial<FargateTiming> {
  return timingOverrides(env, TIMING_ENV, DEFAULT_FARGATE_TIMING)
}

/** The run options prepareFargate takes. */
export interface FargateRunOptions {
  runs: number
  runId: string
  repo: string
  /** A stress run's `target-rps`: the fleet must offer it at the expected load, scaled to the profile's peak. */
  targetRps?: number | null
}

/** Assumes `role-to-assume` through OIDC for as long as the runs may take; no role, no credentials. */
async function assumeFleetRole(
  inputs: FargateInputs,
  opts: FargateRunOptions,
  loadS: number,
  stsRegion: string,
  env: NodeJS.ProcessEnv,
  deps: FargateDeps
): Promise<{ role: string; credentials?: AwsCredentials }> {
  if (!inputs.roleToAssume) return { role: '' }
  const role = roleArnOf(inputs.roleToAssume)
  const credentials = await assumeRoleWithOidc(
    {
      roleArn: role,
      sessionName: sessionNameFor(opts.repo, env.GITHUB_RUN_ID ?? opts.runId, env.GITHUB_RUN_ATTEMPT ?? '1'),
      durationS: sessionSeconds(opts.runs * (loadS + 600)),
      region: stsRegion
    },
    { getIdToken: deps.getIdToken, mask: deps.mask, log: deps.log }
  )
  deps.log(`assumed ${role}`)
  return { role, credentials }
}

/** Each region's runner stack: the CloudFormation outputs, filled or replaced by the inputs. */
function discoverFor(
  size: FleetSize,
  inputs: FargateInputs,
  clientConfig: (region: string) => { region: string; credentials?: AwsCredentials }
): Promise<RegionTarget[]> {
  return discoverTargets(
    size.regions.map(r => r.region),
    {
      stackName: inputs.stackName,
      explicit: {
        cluster: inputs.cluster || undefined,
        taskDefinition: inputs.taskDefinition || undefined,
        subnets: inputs.subnets,
        securityGroups: inputs.securityGroups,
        bucket: inputs.resultsBucket || undefined
      },
      client: region => new CloudFormationClient(clientConfig(region))
    }
  )
}

/** One ECS client per region, created on first use. */
function ecsClients(clientConfig: (region: string) => ECSClientConfig): (region: string) => ECSClient {
  const clients = new Map<string, ECSClient>()
  return region => {
    let c = clients.get(region)
    if (!c) clients.set(region, (c = new ECSClient(clientConfig(region))))
    return c
  }
}

/** What buildFleet needs beyond the inputs: where the tasks run and how the job reaches AWS. */
interface FleetWiring {
  targets: RegionTarget[]
  role: string
  stsRegion: string
  clientConfig: (region: string) => { region: string; credentials?: AwsCredentials }
  startedBy: string
  abortOn: ReturnType<typeof abortOnRule>
  timing: Partial<FargateTiming>
}

/** The FargateFleet, with the post step's state saved first and again after every launched batch. */
function buildFleet(
  scenario: Scenario,
  inputs: FargateInputs,
  opts: FargateRunOptions,
  w: FleetWiring,
  env: NodeJS.ProcessEnv,
  deps: FargateDeps
): FargateFleet {
  const pathStyle = env.PERF_GATE_S3_PATH_STYLE === '1'
  const s3 = new S3Client({ ...w.clientConfig(w.stsRegion), forcePathStyle: pathStyle })
  const state: FargateState = {
    startedBy: w.startedBy,
    role: w.role,
    stsRegion: w.stsRegion,
    regions: Object.fromEntries(w.targets.map(t => [t.region, { cluster: t.cluster, arns: [] }]))
  }
  deps.saveState(state)
  return new FargateFleet({
    targets: w.targets,
    ecs: ecsClients(w.clientConfig),
    objects: new RunObjects(s3, w.targets[0].bucket),
    bucketRegion: w.stsRegion,
    spot: inputs.spot,
    startedBy: w.startedBy,
    tags: { 'perf-gate:repo': opts.repo.slice(0, 250), 'perf-gate:scenario': scenario.name.slice(0, 250) },
    minTaskSuccess: inputs.minTaskSuccess,
    abortOn: w.abortOn,
    timing: w.timing,
    onLaunched: launched => {
      for (const [region, arns] of Object.entries(launched)) state.regions[region].arns = [...arns]
      deps.saveState(state)
    },
    ...(pathStyle ? { taskEnv: { PERF_GATE_S3_PATH_STYLE: '1' } } : {})
  })
}

/** Sizes, prices, authenticates and discovers: the fleet a Fargate run needs. */
export async function prepareFargate(
  scenario: Scenario,
  inputs: FargateInputs,
  opts: FargateRunOptions,
  deps: FargateDeps
): Promise<FargateSetup> {
  const env = deps.env ?? process.env
  // A k6 script's own load sizes the fleet and its cost (the run reuses this reading).
  scenario = await resolveK6Load(scenario, env, deps.log)
  const abortOn = abortOnRule(inputs.abortOn)
  const timing = timingFromEnv(env)
  const { size, peakRps } = sizeFor(scenario, inputs, opts.targetRps)
  const loadS = hardMaxSeconds(scenario)
  const cost = priceFor(size, peakRps, loadS, inputs, opts, deps.log)
  const stsRegion = inputs.awsRegion || size.regions[0].region
  const { role, credentials } = await assumeFleetRole(inputs, opts, loadS, stsRegion, env, deps)
  const clientConfig = (region: string) => withHttpLimits({ region, ...(credentials ? { credentials } : {}) })
  const targets = await discoverFor(size, inputs, clientConfig)
  const startedBy = startedByFor(env, opts.runId)
  const wiring = { targets, role, stsRegion, clientConfig, startedBy, abortOn, timing }
  const fleet = buildFleet(scenario, inputs, opts, wiring, env, deps)
  return {
    fleet,
    scenario: {
      ...scenario,
      tasks: size.totalTasks,
      fingerprint: fleetFingerprint(scenario.fingerprint, {
        regions: size.regions,
        cpu: inputs.taskCpu,
        memoryMiB: inputs.taskMemory,
        spot: inputs.spot
      })
    },
    size,
    cost,
    startedBy,
    awsConfig: clientConfig(stsRegion)
  }
}

/**
 * The post step's guarantee: with fresh credentials, stop every saved task and every task still
 * listed under the job's `startedBy` (a cancel can land between RunTask and the saved state).
 */
export async function cleanupFargate(
  stateJson: string,
  deps: Pick<FargateDeps, 'getIdToken' | 'mask' | 'log' | 'env'>
): Promise<{ stopped: number; errors: string[] }> {
  if (!stateJson.trim()) return { stopped: 0, errors: [] }
  let state: FargateState
  try {
    state = JSON.parse(stateJson) as FargateState
  } catch {
    return { stopped: 0, errors: ['the saved Fargate state is not valid JSON'] }
  }
  let credentials: AwsCredentials | undefined
  if (state.role) {
    const env = deps.env ?? process.env
    credentials = await assumeRoleWithOidc(
      {
        roleArn: state.role,
        sessionName: sessionNameFor(
          env.GITHUB_REPOSITORY ?? 'repo',
          `${env.GITHUB_RUN_ID ?? 'run'}-post`,
          env.GITHUB_RUN_ATTEMPT ?? '1'
        ),
        durationS: 900,
        region: state.stsRegion
      },
      { getIdToken: deps.getIdToken, mask: deps.mask, attempts: 3 }
    )
  }
  let stopped = 0
  const errors: string[] = []
  await Promise.all(
    Object.entries(state.regions).map(async ([region, r]) => {
      const ecs = new ECSClient(withHttpLimits({ region, ...(credentials ? { credentials } : {}) }))
      try {
        let listed: string[] = []
        try {
          listed = await listTasksStartedBy(ecs, r.cluster, state.startedBy)
        } catch (e) {
          errors.push(`${region}: ListTasks: ${awsMessage(e)}`)
        }
        const arns = [...new Set([...r.arns, ...listed])]
        if (!arns.length) return
        const res = await stopTasks(ecs, r.cluster, arns, 'perf-gate post-step cleanup')
        stopped += listed.length
        errors.push(...res.errors.map(e => `${region}: ${e}`))
        if (listed.length) deps.log(`${region}: stopped ${listed.length} task(s) still running`)
      } finally {
        ecs.destroy()
      }
    })
  )
  return { stopped, errors }
}
