/**
 * Where the fleet runs in each region: cluster, task definition, container, subnets, security
 * groups, and the results bucket. Read from the outputs of the regional infra-template stack
 * (DescribeStacks), or taken from inputs when they are all given.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation'
import { awsMessage, withRetry } from './retry.js'
import type { Sleep } from '../../util/index.js'

/** The regional stack's outputs the action reads (infra-template/region.yml). */
export const STACK_OUTPUTS = {
  ClusterName: 'ClusterName',
  TaskDefinitionArn: 'TaskDefinitionArn',
  ContainerName: 'ContainerName',
  Subnets: 'Subnets',
  SecurityGroups: 'SecurityGroups',
  AssignPublicIp: 'AssignPublicIp',
  ResultsBucket: 'ResultsBucket',
  LogGroup: 'LogGroup'
} as const

const REQUIRED = [
  STACK_OUTPUTS.ClusterName,
  STACK_OUTPUTS.TaskDefinitionArn,
  STACK_OUTPUTS.Subnets,
  STACK_OUTPUTS.SecurityGroups,
  STACK_OUTPUTS.ResultsBucket
] as const

export const DEFAULT_STACK_NAME = 'perf-gate-runner'
export const DEFAULT_CONTAINER = 'runner'

export interface RegionTarget {
  region: string
  cluster: string
  taskDefinition: string
  container: string
  subnets: string[]
  securityGroups: string[]
  assignPublicIp: 'ENABLED' | 'DISABLED'
  bucket: string
  logGroup?: string
}

export class DiscoveryError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DiscoveryError'
  }
}

/** Values given as inputs; when cluster, task definition, subnets and security groups are all set, no stack is read. */
export interface ExplicitTarget {
  cluster?: string
  taskDefinition?: string
  container?: string
  subnets?: string[]
  securityGroups?: string[]
  assignPublicIp?: 'ENABLED' | 'DISABLED'
  bucket?: string
}

const list = (s: string | undefined) =>
  (s ?? '')
    .split(/[,\s]+/)
    .map(x => x.trim())
    .filter(Boolean)

/** A RegionTarget from a stack's outputs (explicit values win); throws naming a missing output. */
export function targetFromOutputs(
  region: string,
  stack: string,
  outputs: Record<string, string>,
  explicit: ExplicitTarget = {}
): RegionTarget {
  const missing = REQUIRED.filter(k => !outputs[k])
  const fromInputs: Record<string, unknown> = {
    ClusterName: explicit.cluster,
    TaskDefinitionArn: explicit.taskDefinition,
    Subnets: explicit.subnets?.length ? explicit.subnets : undefined,
    SecurityGroups: explicit.securityGroups?.length ? explicit.securityGroups : undefined,
    ResultsBucket: explicit.bucket
  }
  const stillMissing = missing.filter(k => fromInputs[k] === undefined)
  if (stillMissing.length)
    throw new DiscoveryError(
      `stack ${stack} in ${region} has no output ${stillMissing.join(', ')}; deploy infra-template/region.yml there or set the matching inputs`
    )
  const ip = (explicit.assignPublicIp ?? outputs[STACK_OUTPUTS.AssignPublicIp] ?? 'ENABLED').toUpperCase()
  return {
    region,
    cluster: explicit.cluster ?? outputs[STACK_OUTPUTS.ClusterName],
    taskDefinition: explicit.taskDefinition ?? outputs[STACK_OUTPUTS.TaskDefinitionArn],
    container: explicit.container ?? outputs[STACK_OUTPUTS.ContainerName] ?? DEFAULT_CONTAINER,
    subnets: explicit.subnets?.length ? explicit.subnets : list(outputs[STACK_OUTPUTS.Subnets]),
    securityGroups: explicit.securityGroups?.length
      ? explicit.securityGroups
      : list(outputs[STACK_OUTPUTS.SecurityGroups]),
    assignPublicIp: ip === 'DISABLED' ? 'DISABLED' : 'ENABLED',
    bucket: explicit.bucket ?? outputs[STACK_OUTPUTS.ResultsBucket],
    ...(outputs[STACK_OUTPUTS.LogGroup] ? { logGroup: outputs[STACK_OUTPUTS.LogGroup] } : {})
  }
}

function complete(e: ExplicitTarget): boolean {
  return !!(e.cluster && e.taskDefinition && e.subnets?.length && e.securityGroups?.length && e.bucket)
}

/** Reads the stack outputs in every region (in parallel) unless the inputs already say everything. */
export async function discoverTargets(
  regions: readonly string[],
  opts: {
    stackName: string
    explicit?: ExplicitTarget
    client: (region: string) => CloudFormationClient
    sleep?: Sleep
  }
): Promise<RegionTarget[]> {
  const explicit = opts.explicit ?? {}
  if (complete(explicit)) return regions.map(r => targetFromOutputs(r, '(inputs)', {}, explicit))
  const bad: string[] = []
  const targets = await Promise.all(
    regions.map(async region => {
      try {
        const res = await withRetry(
          () => opts.client(region).send(new DescribeStacksCommand({ StackName: opts.stackName })),
          {
            sleep: opts.sleep,
            attempts: 4
          }
        )
        const stack = res.Stacks?.[0]
        if (!stack) throw new DiscoveryError(`stack ${opts.stackName} not found`)
        if (/_FAILED$|^DELETE_|ROLLBACK_COMPLETE$/.test(stack.StackStatus ?? ''))
          throw new DiscoveryError(`stack ${opts.stackName} is ${stack.StackStatus}`)
        const outputs: Record<string, string> = {}
        for (const o of stack.Outputs ?? [])
          if (o.OutputKey && o.OutputValue) outputs[o.OutputKey] = o.OutputValue
        return targetFromOutputs(region, opts.stackName, outputs, explicit)
      } catch (e) {
        bad.push(`${region}: ${e instanceof DiscoveryError ? e.message : awsMessage(e)}`)
        return null
      }
    })
  )
  if (bad.length)
    throw new DiscoveryError(
      `cannot find the perf-gate runner stack "${opts.stackName}" (${bad.join('; ')}); deploy infra-template/region.yml in each region (docs/aws-setup.md) or set input 'stack-name'`
    )
  const buckets = new Set(targets.map(t => t!.bucket))
  if (buckets.size > 1)
    throw new DiscoveryError(
      `the runner stacks name different results buckets (${[...buckets].join(', ')}); every region must use one bucket`
    )
  return targets as RegionTarget[]
}
