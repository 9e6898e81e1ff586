/**
 * The result model: one versioned JSON document per load-generator task.
 *
 * Per label (request name) and per interval (1 s by default) a task keeps the request count, the
 * failures by kind, bytes, the exact latency sum/min/max, and an HDR histogram of latency in µs.
 * Intervals are keyed by absolute epoch interval (epoch ms / intervalMs), so tasks that ran on
 * different machines line up without any coordination.
 */
import { z } from 'zod'
import { HDR_DIGITS, HDR_ENCODING, HDR_LOWEST_US } from './hdr.js'
import { FAILURE_KINDS } from '../model/index.js'

export const TASK_RESULT_SCHEMA = 'perf-gate/task-result'
export const RUN_RESULT_SCHEMA = 'perf-gate/run-result'
export const RESULT_VERSION = 1

export const TASK_STATUSES = ['ok', 'engine-error', 'timeout', 'aborted', 'no-samples'] as const
export type TaskStatus = (typeof TASK_STATUSES)[number]

const finite = z.number()
const count = z.number().int().nonnegative()
const countArray = z.array(count)

const labelSeriesSchema = z.object({
  start: z.number().int(),
  idx: z.array(z.number().int().nonnegative()),
  requests: countArray,
  failures: z.partialRecord(z.enum(FAILURE_KINDS), countArray),
  bytesIn: z.array(z.number().nonnegative()),
  bytesOut: z.array(z.number().nonnegative()),
  sumUs: z.array(z.number().nonnegative()),
  minUs: z.array(z.number().nonnegative()),
  maxUs: z.array(z.number().nonnegative()),
  hist: z.string()
})
export type LabelSeries = z.infer<typeof labelSeriesSchema>

const taskMetaSchema = z.object({
  runId: z.string(),
  scenario: z.string(),
  fingerprint: z.string(),
  engine: z.string().min(1),
  engineVersion: z.string(),
  backend: z.string(),
  region: z.string(),
  taskIndex: z.number().int(),
  taskCount: z.number().int().positive(),
  share: z.record(z.string(), z.union([z.string(), finite])),
  plannedStartMs: finite.nullable(),
  startedMs: finite.nullable(),
  endedMs: finite.nullable(),
  steady: z.object({ startMs: finite, endMs: finite }).nullable(),
  status: z.enum(TASK_STATUSES),
  exitCode: z.number().int().nullable(),
  message: z.string(),
  stderrTail: z.string(),
  thresholds: z.array(
    z.object({ metric: z.string().min(1), expr: z.string().min(1), abortOnFail: z.boolean().optional() })
  ),
  mergedFrom: z.number().int().positive(),
  sources: z.array(z.string())
})
export type TaskMeta = z.infer<typeof taskMetaSchema>

export const taskResultSchema = z.object({
  schema: z.literal(TASK_RESULT_SCHEMA),
  version: z.literal(RESULT_VERSION),
  task: taskMetaSchema,
  intervalMs: z.number().int().positive(),
  histogram: z.object({
    encoding: z.literal(HDR_ENCODING),
    lowestUs: z.literal(HDR_LOWEST_US),
    highestUs: z.number().int().positive(),
    digits: z.literal(HDR_DIGITS)
  }),
  labels: z.record(z.string(), labelSeriesSchema),
  checks: z.record(z.string(), z.object({ passes: count, fails: count })),
  users: z
    .object({
      start: z.number().int(),
      idx: z.array(z.number().int().nonnegative()),
      values: z.array(finite)
    })
    .nullable(),
  lateSamples: count
})
export type TaskResult = z.infer<typeof taskResultSchema>

export const runResultSchema = z.object({
  schema: z.literal(RUN_RESULT_SCHEMA),
  version: z.literal(RESULT_VERSION),
  run: z.object({
    runId: z.string(),
    scenario: z.string(),
    fingerprint: z.string(),
    backend: z.string(),
    createdMs: finite,
    expectedTasks: z.number().int().nonnegative(),
    missingTasks: z.array(z.object({ region: z.string(), taskIndex: z.number().int(), reason: z.string() })),
    facts: z.record(z.string(), z.union([z.string(), finite, z.boolean()]))
  }),
  tasks: z.array(taskResultSchema)
})
export type RunResult = z.infer<typeof runResultSchema>

/** Default task metadata, for callers that know only part of it. */
export function defaultTaskMeta(partial: Partial<TaskMeta> & Pick<TaskMeta, 'engine'>): TaskMeta {
  return {
    runId: '',
    scenario: 'default',
    fingerprint: '',
    engineVersion: '',
    backend: 'import',
    region: 'local',
    taskIndex: 0,
    taskCount: 1,
    share: {},
    plannedStartMs: null,
    startedMs: null,
    endedMs: null,
    steady: null,
    status: 'ok',
    exitCode: null,
    message: '',
    stderrTail: '',
    thresholds: [],
    mergedFrom: 1,
    sources: [],
    ...partial
  }
}
