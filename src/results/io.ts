/**
 * Reading and writing result documents. Every read is validated; a corrupt or foreign file gets an
 * error that names the file and the field.
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { ZodError } from 'zod'
import {
  RESULT_VERSION,
  RUN_RESULT_SCHEMA,
  TASK_RESULT_SCHEMA,
  runResultSchema,
  taskResultSchema,
  type RunResult,
  type TaskResult
} from './model.js'
import { FAILURE_KINDS } from '../model/index.js'
import { fieldPath, errorMessage } from '../util/index.js'

export class ResultFileError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    detail: string
  ) {
    super(field ? `${file}: field '${field}': ${detail}` : `${file}: ${detail}`)
    this.name = 'ResultFileError'
  }
}

function fromZod(file: string, err: ZodError, prefix = ''): ResultFileError {
  const issue = err.issues[0]
  const field = prefix + fieldPath(issue?.path ?? [])
  return new ResultFileError(file, field, issue?.message ?? 'invalid')
}

/** Checks the parallel arrays of every label series have one entry per interval. */
function checkShapes(file: string, doc: TaskResult, prefix: string): void {
  for (const [label, s] of Object.entries(doc.labels)) {
    const n = s.idx.length
    const base = `${prefix}labels.${label}`
    for (const key of ['requests', 'bytesIn', 'bytesOut', 'sumUs', 'minUs', 'maxUs'] as const) {
      if (s[key].length !== n)
        throw new ResultFileError(
          file,
          `${base}.${key}`,
          `has ${s[key].length} entries, expected ${n} (one per interval)`
        )
    }
    for (const kind of FAILURE_KINDS) {
      const arr = s.failures[kind]
      if (arr && arr.length !== n)
        throw new ResultFileError(
          file,
          `${base}.failures.${kind}`,
          `has ${arr.length} entries, expected ${n}`
        )
    }
    for (let i = 1; i < n; i++) {
      if (s.idx[i] <= s.idx[i - 1])
        throw new ResultFileError(file, `${base}.idx[${i}]`, 'interval offsets must be strictly increasing')
    }
  }
  if (doc.users && doc.users.idx.length !== doc.users.values.length)
    throw new ResultFileError(file, `${prefix}users.values`, 'must have one entry per interval')
}

function checkEnvelope(file: string, doc: unknown, expected: string): void {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new ResultFileError(file, '', 'is not a perf-gate result (expected a JSON object)')
  const schema = (doc as Record<string, unknown>).schema
  if (schema !== expected) {
    throw new ResultFileError(
      file,
      'schema',
      schema === undefined
        ? `is missing; this is not a perf-gate result (expected "${expected}")`
        : `is ${JSON.stringify(schema)}, expected "${expected}"`
    )
  }
  const version = (doc as Record<string, unknown>).version
  if (typeof version !== 'number' || !Number.isInteger(version))
    throw new ResultFileError(file, 'version', 'must be an integer')
  if (version > RESULT_VERSION)
    throw new ResultFileError(
      file,
      'version',
      `is ${version}; this perf-gate reads result versions up to ${RESULT_VERSION} (upgrade perf-gate)`
    )
}

export function parseTaskResult(file: string, doc: unknown): TaskResult {
  checkEnvelope(file, doc, TASK_RESULT_SCHEMA)
  const r = taskResultSchema.safeParse(doc)
  if (!r.success) throw fromZod(file, r.error)
  checkShapes(file, r.data, '')
  return r.data
}

export function parseRunResult(file: string, doc: unknown): RunResult {
  checkEnvelope(file, doc, RUN_RESULT_SCHEMA)
  const r = runResultSchema.safeParse(doc)
  if (!r.success) throw fromZod(file, r.error)
  r.data.tasks.forEach((t, i) => checkShapes(file, t, `tasks[${i}].`))
  return r.data
}

export function parseJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (e) {
    throw new ResultFileError(file, '', `is not valid JSON (${errorMessage(e)})`)
  }
}

/** Reads a task result or a run result and returns its task results. */
export async function readResultFile(file: string): Promise<TaskResult[]> {
  const doc = parseJson(file, await readFile(file, 'utf8'))
  const schema = (doc as { schema?: unknown } | null)?.schema
  if (schema === RUN_RESULT_SCHEMA) return parseRunResult(file, doc).tasks
  return [parseTaskResult(file, doc)]
}

export async function readRunResult(file: string): Promise<RunResult> {
  return parseRunResult(file, parseJson(file, await readFile(file, 'utf8')))
}

export async function writeJsonFile(file: string, doc: unknown): Promise<void> {
  await mkdir(dirname(file), { recursive: true })
  await writeFile(file, JSON.stringify(doc) + '\n')
}
