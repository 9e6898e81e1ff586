/**
 * Baselines: the stored summaries (and full results) of good runs on the base branch, which the
 * gate compares a pull request against. Every store keeps one immutable document per run and an
 * index that is only a cache: listing reconciles it against the documents actually stored.
 */
import { z } from 'zod'
import { ResultView } from '../results/query.js'
import { parseRunResult } from '../results/io.js'
import type { RunResult } from '../results/model.js'
import { errorMessage } from '../util/index.js'

export const BASELINE_SCHEMA = 'perf-gate/baseline'
export const BASELINE_INDEX_SCHEMA = 'perf-gate/baseline-index'
export const BASELINE_VERSION = 1

const metricsSchema = z
  .object({
    p50Ms: z.number(),
    p90Ms: z.number(),
    p95Ms: z.number(),
    p99Ms: z.number(),
    errorRate: z.number(),
    rps: z.number(),
    requests: z.number(),
    /** n·(1−0.99): how many samples lie beyond p99, i.e. how well the run pins p99 down. */
    p99TailSamples: z.number()
  })
  .catchall(z.number())
export type BaselineMetrics = z.infer<typeof metricsSchema>

export const baselineRecordSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9._-]*$/, 'must be a plain file name ([A-Za-z0-9._-])'),
  repo: z.string().min(1),
  scenario: z.string().min(1),
  fingerprint: z.string(),
  commit: z.string(),
  ref: z.string(),
  createdMs: z.number().int().nonnegative(),
  runId: z.string().min(1),
  replicate: z.number().int().nonnegative(),
  status: z.literal('ok'),
  metrics: metricsSchema,
  resultKey: z.string().optional()
})
export type BaselineRecord = z.infer<typeof baselineRecordSchema>

export interface BaselineQuery {
  repo: string
  scenario: string
  fingerprint: string
  /** At most this many records (the newest comparable ones). */
  limit: number
  /** The PR's merge base: its baselines, or the newest ones at or before it, are preferred. */
  beforeCommit?: string
  /** Only baselines recorded at or before this time (epoch ms), e.g. the merge base's commit time. */
  beforeMs?: number
  /**
   * Position of base-branch commits, larger = newer (e.g. from `git rev-list --first-parent`).
   * When it knows `beforeCommit`, records are kept by commit order instead of by time.
   */
  commitOrder?: ReadonlyMap<string, number>
}

/** A store could not do what was asked; the message is one line meant for the user. */
export class BaselineStoreError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'BaselineStoreError'
  }
}

/** A run that must not become a baseline (partial, failed, or not matching its record). */
export class BaselineRefusedError extends BaselineStoreError {
  constructor(
    readonly runId: string,
    readonly reason: string
  ) {
    super(`baseline refused for run ${runId}: ${reason}`)
    this.name = 'BaselineRefusedError'
  }
}

/** The stored document of one baseline run. */
export interface BaselineDocument {
  schema: typeof BASELINE_SCHEMA
  version: typeof BASELINE_VERSION
  record: BaselineRecord
  result: RunResult
}

/** Turns a run id into a file-name-safe string. */
export function safeRunId(runId: string): string {
  const s = runId.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[.]+/, '_')
  return s.slice(0, 120) || '_'
}

/** The id of a baseline: `<createdMs>-<runId>-<replicate>`, also its file name without `.json`. */
export function baselineId(createdMs: number, runId: string, replicate: number): string {
  return `${createdMs}-${safeRunId(runId)}-${replicate}`
}

/** Why a run cannot be a baseline, or null when it can. */
export function refusalReason(run: RunResult): string | null {
  const r = run.run
  if (r.missingTasks.length > 0) {
    const shown = r.missingTasks.slice(0, 5).map(t => `${t.region}/${t.taskIndex}: ${t.reason}`)
    const more = r.missingTasks.length - shown.length
    return (
      `the run is partial: ${r.missingTasks.length} of ${r.expectedTasks || '?'} task(s) missing ` +
      `(${shown.join('; ')}${more > 0 ? `; and ${more} more` : ''})`
    )
  }
  if (run.tasks.length === 0) return 'the run has no task results'
  if (r.expectedTasks > 0 && run.tasks.length < r.expectedTasks)
    return `the run is partial: ${run.tasks.length} of ${r.expectedTasks} task results present`
  const bad = run.tasks.find(t => t.task.status !== 'ok')
  if (bad) {
    const t = bad.task
    return `task ${t.region}/${t.taskIndex} has status '${t.status}'${t.message ? ` (${t.message})` : ''}, not 'ok'`
  }
  return null
}

/** Checks that a record and its run may be stored, or throws a BaselineRefusedError. */
export function assertStorable(record: BaselineRecord, run: RunResult): BaselineRecord {
  const runId = record?.runId || run?.run?.runId || '?'
  const parsed = baselineRecordSchema.safeParse(record)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const field = issue?.path.map(String).join('.') || 'record'
    throw new BaselineRefusedError(
      runId,
      `field '${field}' of the baseline record ${issue?.message ?? 'is invalid'}`
    )
  }
  try {
    parseRunResult(`run ${runId}`, run)
  } catch (e) {
    throw new BaselineRefusedError(runId, `the run result is invalid: ${errorMessage(e)}`)
  }
  const reason = refusalReason(run)
  if (reason) throw new BaselineRefusedError(runId, reason)
  const rec = parsed.data
  if (run.run.scenario !== rec.scenario)
    throw new BaselineRefusedError(
      runId,
      `the record is for scenario "${rec.scenario}" but the run is "${run.run.scenario}"`
    )
  if (run.run.fingerprint !== rec.fingerprint)
    throw new BaselineRefusedError(
      runId,
      `the record's fingerprint "${rec.fingerprint}" differs from the run's "${run.run.fingerprint}"`
    )
  if (run.run.runId !== rec.runId)
    throw new BaselineRefusedError(
      runId,
      `the record's runId "${rec.runId}" differs from the run's "${run.run.runId}"`
    )
  if (!(rec.metrics.requests > 0)) throw new BaselineRefusedError(runId, 'the run completed no requests')
  for (const [k, v] of Object.entries(rec.metrics))
    if (!Number.isFinite(v)) throw new BaselineRefusedError(runId, `metric '${k}' is not a finite number`)
  return rec
}

export interface RecordContext {
  repo: string
  commit: string
  ref: string
  replicate?: number
  /** Defaults to the run's createdMs. */
  createdMs?: number
}

/** Builds the baseline record of a run from its steady-state statistics. */
export function baselineRecordFromRun(run: RunResult, ctx: RecordContext): BaselineRecord {
  const reason = refusalReason(run)
  if (reason) throw new BaselineRefusedError(run.run.runId || '?', reason)
  const s = new ResultView(run.tasks).stats({ window: 'steady' })
  const createdMs = Math.round(ctx.createdMs ?? run.run.createdMs)
  const replicate = ctx.replicate ?? 0
  const metrics: BaselineMetrics = {
    p50Ms: s.p50Ms,
    p90Ms: s.p90Ms,
    p95Ms: s.p95Ms,
    p99Ms: s.p99Ms,
    p999Ms: s.p999Ms,
    meanMs: s.meanMs,
    errorRate: s.errorRate,
    rps: s.rps,
    requests: s.requests,
    failures: s.failures,
    durationS: s.durationS,
    p99TailSamples: Math.floor(s.requests / 100)
  }
  return {
    id: baselineId(createdMs, run.run.runId, replicate),
    repo: ctx.repo,
    scenario: run.run.scenario,
    fingerprint: run.run.fingerprint,
    commit: ctx.commit,
    ref: ctx.ref,
    createdMs,
    runId: run.run.runId,
    replicate,
    status: 'ok',
    metrics
  }
}

export function baselineDocument(record: BaselineRecord, run: RunResult): BaselineDocument {
  return { schema: BASELINE_SCHEMA, version: BASELINE_VERSION, record, result: run }
}

/** Validates a stored baseline document; `where` names it in errors. */
export function parseBaselineDocument(where: string, doc: unknown): BaselineDocument {
  const d = doc as Partial<BaselineDocument> | null
  if (!d || typeof d !== 'object' || d.schema !== BASELINE_SCHEMA)
    throw new BaselineStoreError(`${where}: not a perf-gate baseline (expected schema "${BASELINE_SCHEMA}")`)
  if (typeof d.version !== 'number' || d.version > BASELINE_VERSION)
    throw new BaselineStoreError(
      `${where}: baseline version ${String(d.version)} is newer than this perf-gate reads (${BASELINE_VERSION})`
    )
  const rec = baselineRecordSchema.safeParse(d.record)
  if (!rec.success) {
    const issue = rec.error.issues[0]
    throw new BaselineStoreError(
      `${where}: field 'record.${issue?.path.map(String).join('.')}' ${issue?.message}`
    )
  }
  return {
    schema: BASELINE_SCHEMA,
    version: BASELINE_VERSION,
    record: rec.data,
    result: parseRunResult(where, d.result)
  }
}

/** Only the record of a stored baseline document (cheaper: the run result is not validated). */
export function parseBaselineRecordOf(where: string, doc: unknown): BaselineRecord {
  const d = doc as Partial<BaselineDocument> | null
  if (!d || typeof d !== 'object' || d.schema !== BASELINE_SCHEMA)
    throw new BaselineStoreError(`${where}: not a perf-gate baseline (expected schema "${BASELINE_SCHEMA}")`)
  const rec = baselineRecordSchema.safeParse(d.record)
  if (!rec.success) throw new BaselineStoreError(`${where}: the baseline record is invalid`)
  return rec.data
}

export interface BaselineIndex {
  schema: typeof BASELINE_INDEX_SCHEMA
  version: typeof BASELINE_VERSION
  records: BaselineRecord[]
}

export function indexDocument(records: Iterable<BaselineRecord>): BaselineIndex {
  return { schema: BASELINE_INDEX_SCHEMA, version: BASELINE_VERSION, records: sortRecords([...records]) }
}

/** The records of an index document; a missing or damaged index reads as empty (it is only a cache). */
export function parseIndexRecords(doc: unknown): BaselineRecord[] {
  const d = doc as Partial<BaselineIndex> | null
  if (!d || typeof d !== 'object' || d.schema !== BASELINE_INDEX_SCHEMA || !Array.isArray(d.records))
    return []
  const out: BaselineRecord[] = []
  for (const r of d.records) {
    const p = baselineRecordSchema.safeParse(r)
    if (p.success) out.push(p.data)
  }
  return out
}

function byTime(a: BaselineRecord, b: BaselineRecord): number {
  return a.createdMs - b.createdMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

export function sortRecords(records: BaselineRecord[]): BaselineRecord[] {
  return records.sort(byTime)
}

/**
 * Picks the comparable baselines for a query, oldest → newest, at most `limit`:
 * - only records of the same repo, scenario and fingerprint;
 * - with `commitOrder` knowing `beforeCommit`: records whose commit is at or before it in that order
 *   (commits it does not know are left out), ordered by commit, then time;
 * - otherwise by time: records created at or before a cutoff, which is the latest of `beforeMs` and
 *   the creation time of `beforeCommit`'s own baselines (so the merge base's baselines always count);
 *   without either, no cutoff;
 * - then the newest `limit` of them.
 */
export function selectBaselines(records: Iterable<BaselineRecord>, q: BaselineQuery): BaselineRecord[] {
  if (!(q.limit > 0)) return []
  const seen = new Map<string, BaselineRecord>()
  for (const r of records)
    if (r.repo === q.repo && r.scenario === q.scenario && r.fingerprint === q.fingerprint && !seen.has(r.id))
      seen.set(r.id, r)
  let pool = [...seen.values()]
  const order = q.commitOrder
  const mergeBasePos = q.beforeCommit !== undefined ? order?.get(q.beforeCommit) : undefined
  if (order && mergeBasePos !== undefined) {
    pool = pool.filter(r => {
      const p = order.get(r.commit)
      return p !== undefined && p <= mergeBasePos
    })
    pool.sort((a, b) => order.get(a.commit)! - order.get(b.commit)! || byTime(a, b))
  } else {
    const cutoffs: number[] = []
    if (q.beforeMs !== undefined) cutoffs.push(q.beforeMs)
    if (q.beforeCommit !== undefined) {
      const own = pool.filter(r => r.commit === q.beforeCommit).map(r => r.createdMs)
      if (own.length) cutoffs.push(Math.max(...own))
    }
    if (cutoffs.length) {
      const cutoff = Math.max(...cutoffs)
      pool = pool.filter(r => r.createdMs <= cutoff)
    }
    sortRecords(pool)
  }
  return pool.slice(Math.max(0, pool.length - Math.floor(q.limit)))
}

/** A path segment that is safe on every file system and in S3 keys, and reversible. */
export function keySegment(s: string): string {
  if (s === '') return '%'
  const enc = encodeURIComponent(s).replace(/\*/g, '%2A')
  return enc === '.' || enc === '..' ? enc.replace(/\./g, '%2E') : enc
}

/** `owner/name/scenario/fingerprint` as safe segments. */
export function scopeSegments(repo: string, scenario: string, fingerprint: string): string[] {
  const parts = repo.split('/').filter(p => p.length > 0)
  if (parts.length === 0)
    throw new BaselineStoreError(`baseline: repo "${repo}" is empty (expected owner/name)`)
  return [...parts.map(keySegment), keySegment(scenario), keySegment(fingerprint)]
}
