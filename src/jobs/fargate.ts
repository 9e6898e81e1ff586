/**
 * Everything the action does before and after a Fargate run, as functions with their
 * dependencies passed in: size the fleet, check the cost cap, get credentials, find each region's
 * runner stack, and build the FargateFleet; in the post step, stop whatever a run left.
 */
import { createHash } from 'node:crypto'
import { CloudFormationClient } from '@aws-sdk/client-cloudformation'
import { ECSClient } from '@aws-sdk/client-ecs'
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
import { discoverTargets } from '../fleet/aws/discovery.js'
import { listTasksStartedBy, stopTasks } from '../fleet/aws/ecs.js'
import { awsMessage } from '../fleet/aws/retry.js'
import { FargateFleet } from '../fleet/fargate.js'
import { DEFAULT_FARGATE_TIMING, type FargateTiming } from '../fleet/fargate/timing.js'
import { hardMaxSeconds } from '../fleet/plan.js'
import { resolveK6Load } from '../fleet/k6-load.js'
import type { FleetProgress } from '../model/index.js'
import { compare, parseSlos, type Slo } from '../gate/slo.js'
import { LiveTotals } from '../gate/stop-rule.js'
import {
  FleetSizeError,
  estimateCost,
  formatUsd,
  parseRegions,
  sizeFleet,
  type CostEstimate,
  type FleetSize
} from '../plan/fleet.js'
import { RunObjects } from '../runner/objects.js'
import { timingOverrides } from '../util/timing.js'

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

function inputError(e: unknown): never {
  if (e instanceof FleetSizeError) {
    const m = /^([a-z-]+): (.*)$/s.exec(e.message)
    if (m) throw new InputError(m[1], m[2])
  }
  throw e
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

/** Sizes, prices, authenticates and discovers: the fleet a Fargate run needs. */
export async function prepareFargate(
  scenario: Scenario,
  inputs: FargateInputs,
  opts: {
    runs: number
    runId: string
    repo: string
    /** A stress run's `target-rps`: the fleet must offer it at the expected load, scaled to the profile's peak. */
    targetRps?: number | null
  },
  deps: FargateDeps
): Promise<FargateSetup> {
  const env = deps.env ?? process.env
  // A k6 script's own load sizes the fleet and its cost (the run reuses this reading).
  scenario = await resolveK6Load(scenario, env, deps.log)
  const abortOn = abortOnRule(inputs.abortOn)
  const timing = timingFromEnv(env)
  let regions
  let size: FleetSize
  let peakRps: number | undefined
  try {
    regions = parseRegions(inputs.regions, Inputs.Regions)
    const peakVus = scenario.stages?.length ? Math.max(...scenario.stages.map(s => s.target)) : scenario.vus
    peakRps = opts.targetRps ? (opts.targetRps * peakVus) / Math.max(1, scenario.vus) : undefined
    size = sizeFleet({
      peakRps,
      engine: scenario.engine,
      peakVus,
      regions,
      cpu: inputs.taskCpu,
      memoryMiB: inputs.taskMemory,
      maxTasks: inputs.maxTasks,
      vusPerVcpu: inputs.vusPerVcpu
    })
  } catch (e) {
    inputError(e)
  }
  const loadS = hardMaxSeconds(scenario)
  const cost = estimateCost({
    regions: size.regions,
    cpu: inputs.taskCpu,
    memoryMiB: inputs.taskMemory,
    loadSeconds: loadS,
    spot: inputs.spot,
    runs: opts.runs
  })
  const plan = size.regions.map(r => `${r.region} ${r.tasks}`).join(', ')
  deps.log(
    `fargate plan: ${size.totalTasks} task(s) of ${inputs.taskCpu / 1024} vCPU / ${inputs.taskMemory} MiB (${plan}), ` +
      `≤${size.vusPerTask} VUs per task; up to ${opts.runs} run(s) of ≤${loadS} s cost at most ${formatUsd(cost.maxUsd)}` +
      `${inputs.spot ? ' (Spot)' : ''}`
  )
  if (size.sizedBy === 'rps')
    deps.log(
      `fargate plan: sized by target-rps ${opts.targetRps} (up to ${Math.round(peakRps ?? 0)} req/s at the profile's peak, ` +
        `${size.rpsPerTask} req/s per task), not by VUs`
    )
  if (cost.perRegion.some(r => !r.priceKnown))
    deps.log('fargate plan: some regions have no list price here; priced at the highest known one')
  if (cost.maxUsd > inputs.maxCostUsd)
    throw new InputError(
      Inputs.MaxCostUsd,
      `the run may cost up to ${formatUsd(cost.maxUsd)} (${size.totalTasks} tasks × ${opts.runs} run(s) × ${cost.billedS} s), above the cap of ${formatUsd(inputs.maxCostUsd)}; raise max-cost-usd or lower the load`
    )

  const stsRegion = inputs.awsRegion || size.regions[0].region
  let credentials: AwsCredentials | undefined
  let role = ''
  if (inputs.roleToAssume) {
    role = roleArnOf(inputs.roleToAssume)
    credentials = await assumeRoleWithOidc(
      {
        roleArn: role,
        sessionName: sessionNameFor(
          opts.repo,
          env.GITHUB_RUN_ID ?? opts.runId,
          env.GITHUB_RUN_ATTEMPT ?? '1'
        ),
        durationS: sessionSeconds(opts.runs * (loadS + 600)),
        region: stsRegion
      },
      { getIdToken: deps.getIdToken, mask: deps.mask, log: deps.log }
    )
    deps.log(`assumed ${role}`)
  }
  const clientConfig = (region: string) => ({ region, ...(credentials ? { credentials } : {}) })
  const ecsClients = new Map<string, ECSClient>()
  const ecs = (region: string) => {
    let c = ecsClients.get(region)
    if (!c) ecsClients.set(region, (c = new ECSClient(clientConfig(region))))
    return c
  }
  const targets = await discoverTargets(
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
  const bucket = targets[0].bucket
  const s3 = new S3Client({ ...clientConfig(stsRegion), forcePathStyle: env.PERF_GATE_S3_PATH_STYLE === '1' })
  const startedBy = startedByFor(env, opts.runId)
  const state: FargateState = {
    startedBy,
    role,
    stsRegion,
    regions: Object.fromEntries(targets.map(t => [t.region, { cluster: t.cluster, arns: [] }]))
  }
  deps.saveState(state)
  const fleet = new FargateFleet({
    targets,
    ecs,
    objects: new RunObjects(s3, bucket),
    bucketRegion: stsRegion,
    spot: inputs.spot,
    startedBy,
    tags: { 'perf-gate:repo': opts.repo.slice(0, 250), 'perf-gate:scenario': scenario.name.slice(0, 250) },
    minTaskSuccess: inputs.minTaskSuccess,
    abortOn,
    timing,
    onLaunched: launched => {
      for (const [region, arns] of Object.entries(launched)) state.regions[region].arns = [...arns]
      deps.saveState(state)
    },
    ...(env.PERF_GATE_S3_PATH_STYLE === '1' ? { taskEnv: { PERF_GATE_S3_PATH_STYLE: '1' } } : {})
  })
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
      const ecs = new ECSClient({ region, ...(credentials ? { credentials } : {}) })
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
