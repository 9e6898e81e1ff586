/**
 * What every phase of a Fargate run is handed, and the counted, retried object calls the phases
 * share. `count` tallies the AWS calls made (and the polls) for the benchmark and the report.
 */
import { keyOf, type RunKeys } from '../../runner/objects.js'
import { withRetry } from '../aws/retry.js'
import type { Clock, ObjectStore, TaskControl } from './ports.js'
import type { FargateTiming } from './timing.js'

export interface PhaseContext {
  store: ObjectStore
  ecs: TaskControl
  clock: Clock
  /** The run's object keys (runKeys of its prefix). */
  keys: RunKeys
  timing: FargateTiming
  count: (op: string, n?: number) => void
  notice: (message: string) => void
}

/** Writes one JSON document, retrying throttling and 5xx. */
export async function putDoc(ctx: PhaseContext, key: string, doc: unknown): Promise<void> {
  ctx.count('s3:PutObject')
  await withRetry(() => ctx.store.putJson(key, doc), { sleep: ctx.clock.sleep })
}

/** The task keys of the objects under `prefix` (`…/ready/us-east-1-0003.json` → `us-east-1-0003`). */
export async function listKeys(ctx: PhaseContext, prefix: string): Promise<Set<string>> {
  ctx.count('s3:ListObjectsV2')
  const keys = await withRetry(() => ctx.store.list(prefix), { sleep: ctx.clock.sleep })
  return new Set(keys.map(keyOf))
}
