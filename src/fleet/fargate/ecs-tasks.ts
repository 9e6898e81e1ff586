/**
 * TaskControl over the AWS SDK: each region's ECS client and runner stack, with every ECS call
 * counted (RunTask per request, retries included; DescribeTasks per chunk of 100; StopTask per task).
 */
import type { ECSClient, Task } from '@aws-sdk/client-ecs'
import type { RegionTarget } from '../aws/discovery.js'
import { describeTasks, launchBatch, stopTasks, type LaunchRequest, type LaunchResult } from '../aws/ecs.js'
import type { Sleep } from '../../util/index.js'
import type { TaskControl } from './ports.js'

/** The runner stack of `region`; an error names a region the discovery did not find. */
export function targetIn(targets: readonly RegionTarget[], region: string): RegionTarget {
  const t = targets.find(x => x.region === region)
  if (!t) throw new Error(`no runner stack found for region ${region}`)
  return t
}

export interface EcsTaskControlOptions {
  targets: readonly RegionTarget[]
  client: (region: string) => ECSClient
  sleep: Sleep
  /** The first wait before RunTask is retried for capacity. */
  launchRetryMs?: number
  count: (op: string, n?: number) => void
}

export class EcsTaskControl implements TaskControl {
  constructor(private readonly o: EcsTaskControlOptions) {}

  launch(
    region: string,
    req: LaunchRequest,
    opts: { signal?: AbortSignal; onStarted: (arns: string[]) => void }
  ): Promise<LaunchResult> {
    return launchBatch(this.o.client(region), req, {
      sleep: this.o.sleep,
      backoffMs: this.o.launchRetryMs,
      signal: opts.signal,
      onCall: () => this.o.count('ecs:RunTask'),
      onStarted: opts.onStarted
    })
  }

  describe(region: string, arns: readonly string[]): Promise<Task[]> {
    const target = targetIn(this.o.targets, region)
    this.o.count('ecs:DescribeTasks', Math.ceil(arns.length / 100))
    return describeTasks(this.o.client(region), target.cluster, arns, this.o.sleep)
  }

  stop(region: string, arns: readonly string[], reason: string): Promise<{ errors: string[] }> {
    this.o.count('ecs:StopTask', arns.length)
    return stopTasks(
      this.o.client(region),
      targetIn(this.o.targets, region).cluster,
      arns,
      reason,
      this.o.sleep
    )
  }
}
