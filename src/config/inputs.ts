/**
 * The action's inputs, read once and validated into a typed object. A bad value ends in one
 * message that names the input.
 */
import { Inputs } from '../constants.js'
import { GateLabelsError, parseGateLabels, type GateLabels } from './gate-labels.js'

export class InputError extends Error {
  constructor(
    readonly input: string,
    detail: string
  ) {
    super(`input '${input}': ${detail}`)
    this.name = 'InputError'
  }
}

export type GetInput = (name: string) => string

export const MODES = ['gate', 'baseline', 'stress'] as const
export type Mode = (typeof MODES)[number]
export const BACKENDS = ['local', 'none', 'fargate'] as const
export type Backend = (typeof BACKENDS)[number]

export interface GateSettings {
  confirmReplicates: number
  maxBaselines: number
  minBaselines: number
  minEffect: number
  alpha: number
  provisionalThreshold: number
  failOnInconclusive: boolean
}

export interface ActionInputs {
  mode: Mode
  config: string
  scenario: string
  /** Scenario fields given as inputs; empty strings are "not given". */
  overrides: {
    engine: string
    script: string
    target: string
    requests: string[]
    vus: string
    duration: string
    rampUp: string
    tasks: string
    thresholds: string[]
    allowedHosts: string[]
  }
  backend: Backend
  results: string[]
  baselineStore: string
  replicates: number
  gate: GateSettings
  /** `gate-labels`; null when the input is empty (the scenario's setting, else none, applies). */
  gateLabels: GateLabels | null
  comment: boolean
  checkRun: boolean
  commentKey: string
  artifact: boolean
  githubToken: string
  /** A test-type profile (src/plan/profiles.ts); empty strings and lists are "not given". */
  profile: { name: string; params: string[]; multiplier: string }
  /** Capacity planning (stress mode): the throughput to serve and today's instance count. */
  targetRps: number | null
  instances: number | null
  /** The Fargate backend's settings (used with backend: fargate). */
  fargate: FargateInputs
}

export interface FargateInputs {
  roleToAssume: string
  /** Region of STS and the results bucket (default: the first region). */
  awsRegion: string
  /** The raw `regions` input (YAML), parsed by src/plan/fleet.ts. */
  regions: string
  taskCpu: number
  taskMemory: number
  spot: boolean
  maxTasks: number
  maxCostUsd: number
  vusPerVcpu: number | undefined
  stackName: string
  cluster: string
  taskDefinition: string
  subnets: string[]
  securityGroups: string[]
  resultsBucket: string
  abortOn: string[]
  minTaskSuccess: number
}

function parseNumber(name: string, v: string, dflt: number, min: number, max: number): number {
  const s = v.trim().replace(/^\$/, '')
  if (s === '') return dflt
  const n = Number(s)
  if (!/^\d+(\.\d+)?$/.test(s) || !Number.isFinite(n))
    throw new InputError(name, `expected a number, got "${v}"`)
  if (n < min || n > max) throw new InputError(name, `must be between ${min} and ${max}, got ${n}`)
  return n
}

function readFargateInputs(get: GetInput, backend: Backend): FargateInputs {
  const words = (v: string) =>
    v
      .split(/[\s,]+/)
      .map(x => x.trim())
      .filter(Boolean)
  const regions = get(Inputs.Regions).trim()
  if (backend === 'fargate' && !regions)
    throw new InputError(Inputs.Regions, 'backend "fargate" needs at least one AWS region')
  const awsRegion = get(Inputs.AwsRegion).trim()
  if (awsRegion && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(awsRegion))
    throw new InputError(Inputs.AwsRegion, `"${awsRegion}" is not an AWS region name like us-east-1`)
  const rawShare = get(Inputs.MinTaskSuccess).trim()
  const minTaskSuccess =
    rawShare === '100%' || rawShare === '1' ? 1 : parseFraction(Inputs.MinTaskSuccess, rawShare, 1)
  const vusPerVcpu = get(Inputs.VusPerVcpu).trim()
  return {
    roleToAssume: get(Inputs.RoleToAssume).trim(),
    awsRegion,
    regions,
    taskCpu: parseInteger(Inputs.TaskCpu, get(Inputs.TaskCpu), 1024, 256, 16384),
    taskMemory: parseInteger(Inputs.TaskMemory, get(Inputs.TaskMemory), 2048, 512, 122880),
    spot: parseBool(Inputs.Spot, get(Inputs.Spot), false),
    maxTasks: parseInteger(Inputs.MaxTasks, get(Inputs.MaxTasks), 50, 1, 5000),
    maxCostUsd: parseNumber(Inputs.MaxCostUsd, get(Inputs.MaxCostUsd), 5, 0, 100000),
    vusPerVcpu: vusPerVcpu ? parseInteger(Inputs.VusPerVcpu, vusPerVcpu, 0, 1, 100000) : undefined,
    stackName: get(Inputs.StackName).trim() || 'perf-gate-runner',
    cluster: get(Inputs.Cluster).trim(),
    taskDefinition: get(Inputs.TaskDefinition).trim(),
    subnets: words(get(Inputs.Subnets)),
    securityGroups: words(get(Inputs.SecurityGroups)),
    resultsBucket: get(Inputs.ResultsBucket).trim(),
    abortOn: lines(get(Inputs.AbortOn)),
    minTaskSuccess
  }
}

export function lines(v: string): string[] {
  return v
    .split(/\r?\n/)
    .map(s => s.trim())
    .filter(s => s !== '' && !s.startsWith('#'))
}

export function parseBool(name: string, v: string, dflt: boolean): boolean {
  const s = v.trim().toLowerCase()
  if (s === '') return dflt
  if (['true', 'yes', '1', 'on'].includes(s)) return true
  if (['false', 'no', '0', 'off'].includes(s)) return false
  throw new InputError(name, `expected true or false, got "${v}"`)
}

export function parseInteger(
  name: string,
  v: string,
  dflt: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER
): number {
  const s = v.trim()
  if (s === '') return dflt
  if (!/^\d+$/.test(s)) throw new InputError(name, `expected a whole number, got "${v}"`)
  const n = Number(s)
  if (n < min || n > max) throw new InputError(name, `must be between ${min} and ${max}, got ${n}`)
  return n
}

/** "3%", "0.03" → 0.03. */
export function parseFraction(name: string, v: string, dflt: number, max = 1): number {
  const s = v.trim()
  if (s === '') return dflt
  const m = /^(\d+(?:\.\d+)?)\s*(%?)$/.exec(s)
  if (!m) throw new InputError(name, `expected a percentage like 3% or a fraction like 0.03, got "${v}"`)
  const n = m[2] ? Number(m[1]) / 100 : Number(m[1])
  if (!(n > 0) || n >= max) throw new InputError(name, `must be above 0 and below ${max * 100}%, got "${v}"`)
  return n
}

/** A number above 0, or null when empty. */
export function parsePositiveNumber(name: string, v: string): number | null {
  const s = v.trim()
  if (s === '') return null
  const n = Number(s)
  if (!/^\d+(\.\d+)?$/.test(s) || !(n > 0))
    throw new InputError(name, `expected a number above 0, got "${v}"`)
  return n
}

export function parseChoice<T extends string>(name: string, v: string, choices: readonly T[], dflt: T): T {
  const s = v.trim()
  if (s === '') return dflt
  if (!(choices as readonly string[]).includes(s))
    throw new InputError(name, `expected one of ${choices.join(', ')}, got "${v}"`)
  return s as T
}

function readGateLabels(get: GetInput): GateLabels | null {
  const entries = lines(get(Inputs.GateLabels))
  if (!entries.length) return null
  try {
    return parseGateLabels(entries)
  } catch (e) {
    if (e instanceof GateLabelsError) throw new InputError(Inputs.GateLabels, e.message)
    throw e
  }
}

export function readInputs(get: GetInput): ActionInputs {
  const mode = parseChoice(Inputs.Mode, get(Inputs.Mode), MODES, 'gate')
  const results = lines(get(Inputs.Results))
  // Results brought from elsewhere imply backend none, unless another backend is set explicitly.
  const backend = parseChoice(
    Inputs.Backend,
    get(Inputs.Backend),
    BACKENDS,
    results.length ? 'none' : 'local'
  )
  if (backend === 'none' && results.length === 0)
    throw new InputError(Inputs.Results, 'backend "none" gates existing result files: list them in results')
  if (backend !== 'none' && results.length > 0)
    throw new InputError(
      Inputs.Results,
      `is only read with backend none, but backend is "${backend}" (leave backend empty or set it to none to gate these files, or remove results to run the load)`
    )
  return {
    mode,
    config: get(Inputs.Config).trim() || 'perf-gate.yml',
    scenario: get(Inputs.Scenario).trim(),
    overrides: {
      engine: get(Inputs.Engine).trim(),
      script: get(Inputs.Script).trim(),
      target: get(Inputs.Target).trim(),
      requests: lines(get(Inputs.Requests)),
      vus: get(Inputs.Vus).trim(),
      duration: get(Inputs.Duration).trim(),
      rampUp: get(Inputs.RampUp).trim(),
      tasks: get(Inputs.Tasks).trim(),
      thresholds: lines(get(Inputs.Thresholds)),
      allowedHosts: lines(get(Inputs.AllowedHosts))
    },
    backend,
    results,
    baselineStore: get(Inputs.BaselineStore).trim() || 'artifact',
    replicates: parseInteger(Inputs.Replicates, get(Inputs.Replicates), 2, 1, 20),
    gate: {
      confirmReplicates: parseInteger(Inputs.ConfirmReplicates, get(Inputs.ConfirmReplicates), 4, 0, 20),
      maxBaselines: parseInteger(Inputs.MaxBaselines, get(Inputs.MaxBaselines), 30, 2, 1000),
      minBaselines: parseInteger(Inputs.MinBaselines, get(Inputs.MinBaselines), 10, 2, 1000),
      minEffect: parseFraction(Inputs.MinEffect, get(Inputs.MinEffect), 0.03),
      alpha: parseFraction(Inputs.Alpha, get(Inputs.Alpha), 0.01, 0.5),
      provisionalThreshold: parseFraction(
        Inputs.ProvisionalThreshold,
        get(Inputs.ProvisionalThreshold),
        0.1,
        10
      ),
      failOnInconclusive: parseBool(Inputs.FailOnInconclusive, get(Inputs.FailOnInconclusive), false)
    },
    gateLabels: readGateLabels(get),
    comment: parseBool(Inputs.Comment, get(Inputs.Comment), true),
    checkRun: parseBool(Inputs.CheckRun, get(Inputs.CheckRun), false),
    commentKey: get(Inputs.CommentKey).trim(),
    artifact: parseBool(Inputs.Artifact, get(Inputs.Artifact), true),
    githubToken: get(Inputs.GithubToken).trim(),
    profile: {
      name: get(Inputs.Profile).trim(),
      params: lines(get(Inputs.ProfileParams)),
      multiplier: get(Inputs.Multiplier).trim()
    },
    targetRps: parsePositiveNumber(Inputs.TargetRps, get(Inputs.TargetRps)),
    instances: get(Inputs.Instances).trim()
      ? parseInteger(Inputs.Instances, get(Inputs.Instances), 1, 1, 100_000)
      : null,
    fargate: readFargateInputs(get, backend)
  }
}
