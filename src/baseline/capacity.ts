/**
 * Capacity records: what each stress-mode run found (sustained throughput, breaking point, knee,
 * recovery time, …), kept in the baseline store so that capacity can be followed over time. One
 * small immutable JSON document per run; stores list them per repository and scenario.
 *
 * Where each store keeps them:
 * - `dir:<path>`: `<path>/_capacity/<owner>/<name>/<scenario>/<id>.json` (GitHub owners cannot start
 *   with `_`, so this never meets a baseline directory);
 * - `s3://bucket/prefix`: `<prefix>/capacity/<owner>/<name>/<scenario>/<id>.json`;
 * - `artifact`: one artifact `perf-gate-capacity-<scenario>` per workflow run, holding `capacity.json`.
 */
import { z } from 'zod'
import { keySegment, safeRunId, BaselineStoreError } from './model.js'

export const CAPACITY_SCHEMA = 'perf-gate/capacity'
export const CAPACITY_VERSION = 1

const nullableNumber = z.number().nullable()

export const capacityStepSchema = z.object({
  label: z.string(),
  vus: z.number(),
  rps: z.number(),
  p95Ms: nullableNumber,
  errorRate: z.number(),
  held: z.boolean().nullable()
})

export const capacityRecordSchema = z.object({
  schema: z.literal(CAPACITY_SCHEMA),
  version: z.literal(CAPACITY_VERSION),
  id: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9._-]*$/, 'must be a plain file name ([A-Za-z0-9._-])'),
  repo: z.string().min(1),
  scenario: z.string().min(1),
  fingerprint: z.string(),
  /** The profile the run used (`stress`, `spike`, …). */
  profile: z.string(),
  commit: z.string(),
  ref: z.string(),
  createdMs: z.number().int().nonnegative(),
  runId: z.string().min(1),
  /** Throughput sustained within the SLOs (stress), at the baseline (spike), or over the hold. */
  capacityRps: nullableNumber,
  peakRps: nullableNumber,
  /** VUs of the breaking point (the last step that held), and of the first step that broke. */
  breakingVus: nullableNumber,
  breaksAtVus: nullableNumber,
  breaksAtRps: nullableNumber,
  kneeVus: nullableNumber,
  kneeRps: nullableNumber,
  /** Spike: seconds until the SLOs held again. */
  recoveryS: nullableNumber,
  /** Soak: whether p95 degraded. */
  degraded: z.boolean().nullable(),
  /** The run was ended by the stopping rule. */
  stoppedEarly: z.boolean(),
  sentence: z.string(),
  steps: z.array(capacityStepSchema)
})
export type CapacityRecord = z.infer<typeof capacityRecordSchema>
export type CapacityStep = z.infer<typeof capacityStepSchema>

export interface CapacityQuery {
  repo: string
  scenario: string
  /** Only records of this fingerprint (comparable runs); all of the scenario's when absent. */
  fingerprint?: string
  /** At most this many of the newest records. */
  limit: number
}

/** The id of a capacity record: `<createdMs>-<runId>`, also its file name without `.json`. */
export function capacityId(createdMs: number, runId: string): string {
  return `${String(Math.round(createdMs)).padStart(13, '0')}-${safeRunId(runId)}`
}

/** Validates a record; throws a BaselineStoreError naming the field. */
export function parseCapacityRecord(where: string, doc: unknown): CapacityRecord {
  const r = capacityRecordSchema.safeParse(doc)
  if (r.success) return r.data
  const issue = r.error.issues[0]
  const field = issue?.path.map(String).join('.') || 'record'
  throw new BaselineStoreError(
    `${where}: field '${field}' of the capacity record ${issue?.message ?? 'is invalid'}`
  )
}

/** Validates a record a store is asked to keep: well-formed, with the id `<createdMs>-<runId>`. */
export function storableCapacityRecord(record: CapacityRecord): CapacityRecord {
  const rec = parseCapacityRecord('capacity record', record)
  if (rec.id !== capacityId(rec.createdMs, rec.runId))
    throw new BaselineStoreError(`capacity record ${rec.id}: the id must be <createdMs>-<runId>`)
  return rec
}

/** `owner/name/scenario` as safe segments. */
export function capacitySegments(repo: string, scenario: string): string[] {
  const parts = repo.split('/').filter(p => p.length > 0)
  if (parts.length === 0)
    throw new BaselineStoreError(`capacity: repo "${repo}" is empty (expected owner/name)`)
  return [...parts.map(keySegment), keySegment(scenario)]
}

/** The newest `limit` records of a query, oldest → newest. */
export function selectCapacity(records: Iterable<CapacityRecord>, q: CapacityQuery): CapacityRecord[] {
  if (!(q.limit > 0)) return []
  const seen = new Map<string, CapacityRecord>()
  for (const r of records)
    if (
      r.repo === q.repo &&
      r.scenario === q.scenario &&
      (q.fingerprint === undefined || r.fingerprint === q.fingerprint) &&
      !seen.has(r.id)
    )
      seen.set(r.id, r)
  const sorted = [...seen.values()].sort(
    (a, b) => a.createdMs - b.createdMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  )
  return sorted.slice(Math.max(0, sorted.length - Math.floor(q.limit)))
}
