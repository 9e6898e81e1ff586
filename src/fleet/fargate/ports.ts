/**
 * The small interfaces a Fargate run's phases talk to: the run's objects in S3, the ECS tasks of
 * each region, and the clock. Production code passes RunObjects, EcsTaskControl (over the AWS
 * SDK) and the real clock; tests pass in-memory stand-ins.
 */
import type { Task } from '@aws-sdk/client-ecs'
import type { LaunchRequest, LaunchResult } from '../aws/ecs.js'
import type { Sleep } from '../../util/index.js'

/** The run's bucket: small JSON documents and the script bundle (RunObjects implements it). */
export interface ObjectStore {
  readonly bucket: string
  put(key: string, body: Uint8Array | string, contentType?: string): Promise<void>
  putJson(key: string, doc: unknown): Promise<void>
  /** The parsed document at `key`; null when there is none. */
  getJson<T = unknown>(key: string): Promise<T | null>
  /** Every key under `prefix`. */
  list(prefix: string): Promise<string[]>
}

/** ECS, region by region: start, look at and stop the run's tasks. */
export interface TaskControl {
  /** Starts one batch of tasks; `onStarted` hears of the ARNs as soon as RunTask names them. */
  launch(
    region: string,
    req: LaunchRequest,
    opts: { signal?: AbortSignal; onStarted: (arns: string[]) => void }
  ): Promise<LaunchResult>
  /** The tasks' current state (tasks ECS no longer knows are left out). */
  describe(region: string, arns: readonly string[]): Promise<Task[]>
  /** Stops the tasks; `errors` names those that could not be stopped. */
  stop(region: string, arns: readonly string[], reason: string): Promise<{ errors: string[] }>
}

/** The time and a way to wait: injected so that tests run a whole fleet on a fake clock. */
export interface Clock {
  now: () => number
  sleep: Sleep
}
