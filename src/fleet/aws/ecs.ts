/**
 * The ECS calls of a Fargate run: RunTask in batches (with capacity retries that never launch a
 * task twice), DescribeTasks in chunks of 100, StopTask in parallel, ListTasks by `startedBy`.
 */
import {
  DescribeTasksCommand,
  ListTasksCommand,
  RunTaskCommand,
  StopTaskCommand,
  type ECSClient,
  type Task
} from '@aws-sdk/client-ecs'
import type { RegionTarget } from './discovery.js'
import { awsMessage, withRetry } from './retry.js'
import type { Sleep } from '../../util/index.js'

/** RunTask starts at most 10 tasks per call. */
export const RUN_TASK_BATCH = 10
/** DescribeTasks takes at most 100 ARNs per call. */
export const DESCRIBE_BATCH = 100

export interface LaunchRequest {
  target: RegionTarget
  count: number
  startedBy: string
  /** Idempotency token of this batch; a retry after a failure gets a suffix. */
  clientToken: string
  env: Record<string, string>
  spot: boolean
  tags: Record<string, string>
}

export interface LaunchResult {
  arns: string[]
  /** Why tasks of the batch could not be started (after the retries). */
  failures: string[]
}

function isCapacityReason(reason: string): boolean {
  return /capacity|RESOURCE:|throttl|rate exceeded|AGENT|try again/i.test(reason)
}

/**
 * Starts `count` tasks, retrying capacity failures for the tasks still missing. A call whose reply
 * was lost is retried with the same client token, so ECS returns the tasks it already started.
 */
export async function launchBatch(
  ecs: ECSClient,
  req: LaunchRequest,
  opts: {
    sleep?: Sleep
    attempts?: number
    /** The first wait before a capacity retry (default 1000 ms); doubles per attempt, up to 20 times this. */
    backoffMs?: number
    signal?: AbortSignal
    /** Called before every RunTask request (retries included). */
    onCall?: () => void
    onStarted?: (arns: string[]) => void
  } = {}
): Promise<LaunchResult> {
  const arns: string[] = []
  let failures: string[] = []
  const attempts = opts.attempts ?? 8
  const backoff = opts.backoffMs ?? 1000
  for (let attempt = 0; attempt < attempts && arns.length < req.count; attempt++) {
    if (opts.signal?.aborted) break
    if (attempt > 0)
      await (opts.sleep ?? (ms => new Promise(r => setTimeout(r, ms))))(
        Math.min(20 * backoff, backoff * 2 ** attempt) * (0.5 + Math.random() / 2)
      )
    const count = req.count - arns.length
    const token = `${req.clientToken}-${attempt}`.slice(0, 64)
    let res
    try {
      res = await withRetry(
        () => {
          opts.onCall?.()
          return ecs.send(
            new RunTaskCommand({
              cluster: req.target.cluster,
              taskDefinition: req.target.taskDefinition,
              count,
              startedBy: req.startedBy,
              clientToken: token,
              ...(req.spot
                ? { capacityProviderStrategy: [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }] }
                : { launchType: 'FARGATE' }),
              networkConfiguration: {
                awsvpcConfiguration: {
                  subnets: req.target.subnets,
                  securityGroups: req.target.securityGroups,
                  assignPublicIp: req.target.assignPublicIp
                }
              },
              overrides: {
                containerOverrides: [
                  {
                    name: req.target.container,
                    environment: Object.entries(req.env).map(([name, value]) => ({ name, value }))
                  }
                ]
              },
              tags: Object.entries(req.tags).map(([key, value]) => ({ key, value })),
              enableECSManagedTags: true
            })
          )
        },
        { sleep: opts.sleep, attempts: 6 }
      )
    } catch (e) {
      failures = [awsMessage(e)]
      if (!isCapacityReason(failures[0])) break
      continue
    }
    const started = (res.tasks ?? []).map(t => t.taskArn).filter((a): a is string => !!a)
    arns.push(...started)
    if (started.length) opts.onStarted?.(started)
    failures = (res.failures ?? []).map(f => f.reason ?? f.detail ?? 'unknown failure')
    if (failures.length && !failures.every(isCapacityReason)) break
  }
  return { arns, failures: arns.length < req.count ? (failures.length ? failures : ['not started']) : [] }
}

export async function describeTasks(
  ecs: ECSClient,
  cluster: string,
  arns: readonly string[],
  sleep?: Sleep
): Promise<Task[]> {
  const out: Task[] = []
  for (let i = 0; i < arns.length; i += DESCRIBE_BATCH) {
    const res = await withRetry(
      () => ecs.send(new DescribeTasksCommand({ cluster, tasks: arns.slice(i, i + DESCRIBE_BATCH) })),
      { sleep }
    )
    out.push(...(res.tasks ?? []))
  }
  return out
}

/** Stops every task (in parallel, 10 at a time); a task that is already gone counts as stopped. */
export async function stopTasks(
  ecs: ECSClient,
  cluster: string,
  arns: readonly string[],
  reason: string,
  sleep?: Sleep
): Promise<{ stopped: string[]; errors: string[] }> {
  const stopped: string[] = []
  const errors: string[] = []
  const queue = [...arns]
  const worker = async () => {
    for (let arn = queue.shift(); arn; arn = queue.shift()) {
      try {
        await withRetry(
          () => ecs.send(new StopTaskCommand({ cluster, task: arn, reason: reason.slice(0, 255) })),
          {
            sleep,
            attempts: 5
          }
        )
        stopped.push(arn)
      } catch (e) {
        const msg = awsMessage(e)
        if (/not found|MISSING|stopped/i.test(msg)) stopped.push(arn)
        else errors.push(`${arn}: ${msg}`)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(10, queue.length) }, worker))
  return { stopped, errors }
}

/** ARNs of the tasks with this `startedBy` that are not stopped yet. */
export async function listTasksStartedBy(
  ecs: ECSClient,
  cluster: string,
  startedBy: string,
  sleep?: Sleep
): Promise<string[]> {
  const arns: string[] = []
  let nextToken: string | undefined
  do {
    const res = await withRetry(
      () => ecs.send(new ListTasksCommand({ cluster, startedBy, desiredStatus: 'RUNNING', nextToken })),
      { sleep }
    )
    arns.push(...(res.taskArns ?? []))
    nextToken = res.nextToken
  } while (nextToken)
  return arns
}
