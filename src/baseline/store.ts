/** The interface every baseline store (directory, S3, workflow artifact) implements. */
import type { RunResult } from '../results/model.js'
import type { CapacityQuery, CapacityRecord } from './capacity.js'
import type { BaselineQuery, BaselineRecord } from './model.js'

export type BaselineStoreKind = 's3' | 'artifact' | 'dir'

export interface BaselineStore {
  readonly kind: BaselineStoreKind
  /** A human-readable location, e.g. `s3://bucket/prefix` or `dir:/path`. */
  readonly location: string
  /** Stores one good run; refuses anything that is not a complete run whose tasks are all `ok`. */
  put(record: BaselineRecord, run: RunResult): Promise<void>
  /** Comparable baselines (same repo, scenario and fingerprint), oldest → newest, at most `limit`. */
  list(q: BaselineQuery): Promise<BaselineRecord[]>
  /** The full run result of a record (for per-label comparisons). */
  load(record: BaselineRecord): Promise<RunResult>
  /** Stores one capacity record (stress mode's history, see capacity.ts); records are immutable. */
  putCapacity(record: CapacityRecord): Promise<void>
  /** Capacity records of a repository's scenario, oldest → newest, at most `limit`. */
  listCapacity(q: CapacityQuery): Promise<CapacityRecord[]>
}
