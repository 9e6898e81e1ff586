/**
 * The task spec: everything one runner process needs to run one task. The local backend writes it
 * to a file; a Fargate task receives it through its environment. Here also its validation
 * (`parseTaskSpec`) and how a runner process finds it (`loadTaskSpec`).
 */
import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { ENGINE_NAMES } from '../model/index.js'
import { errorMessage, fieldPath } from '../util/index.js'

export const TASK_SPEC_VERSION = 1

export const taskSpecSchema = z.object({
  version: z.literal(TASK_SPEC_VERSION),
  runId: z.string().min(1),
  scenario: z.string().min(1),
  fingerprint: z.string(),
  backend: z.string().min(1),
  region: z.string().min(1),
  taskIndex: z.number().int().nonnegative(),
  taskCount: z.number().int().positive(),
  engine: z.enum(ENGINE_NAMES),
  /** Absolute path of the script (k6/locust/jmeter). */
  script: z.string().optional(),
  requests: z
    .array(
      z.object({
        label: z.string().optional(),
        method: z.string().optional(),
        path: z.string(),
        headers: z.record(z.string(), z.string()).optional(),
        body: z.string().optional()
      })
    )
    .optional(),
  load: z.object({
    vus: z.number().int().positive(),
    durationS: z.number().positive(),
    rampUpS: z.number().nonnegative(),
    stages: z
      .array(z.object({ durationS: z.number().positive(), target: z.number().int().nonnegative() }))
      .optional(),
    spawnRate: z.number().positive().optional(),
    scriptLoad: z.boolean().optional(),
    segment: z.object({ segment: z.string(), sequence: z.string() }).optional(),
    targetUrl: z.string().url()
  }),
  /** Load share facts recorded in the result (e.g. vus, segment, weight). */
  share: z.record(z.string(), z.union([z.string(), z.number()])),
  /** Epoch ms at which the engine starts (the start barrier); null = start at once. */
  startAtMs: z.number().nullable(),
  /** Hard maximum run time in seconds, after which the engine is killed. */
  hardMaxS: z.number().positive(),
  intervalMs: z.number().int().positive().default(1000),
  /** Steady-state window relative to the start, seconds, when the profile knows it. */
  steady: z.object({ fromS: z.number().nonnegative(), toS: z.number().positive() }).nullable().default(null),
  tags: z.record(z.string(), z.string()).default({}),
  env: z.record(z.string(), z.string()).default({}),
  /** Where to write the task result (a local path). */
  out: z.string().min(1),
  /** Where to append progress lines (JSON), if anywhere. */
  progress: z.string().optional()
})

export type TaskSpec = z.infer<typeof taskSpecSchema>

export type TaskSpecInput = z.input<typeof taskSpecSchema>

/** Environment variable holding the task spec (JSON) when no spec file is given. */
export const TASK_SPEC_ENV = 'PERF_GATE_TASK_SPEC'

export class TaskSpecError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'TaskSpecError'
  }
}

/** Validates a task spec; the error names the first bad field. */
export function parseTaskSpec(input: unknown, source = 'task spec'): TaskSpec {
  const r = taskSpecSchema.safeParse(input)
  if (r.success) return r.data
  const issue = r.error.issues[0]
  const field = fieldPath(issue?.path ?? [])
  throw new TaskSpecError(
    field
      ? `${source}: field '${field}': ${issue?.message ?? 'invalid'}`
      : `${source}: ${issue?.message ?? 'invalid'}`
  )
}

/** The spec text and where it came from: a file argument, else PERF_GATE_TASK_SPEC. */
async function readTaskSpecText(
  args: string[],
  env: NodeJS.ProcessEnv
): Promise<{ text: string; source: string }> {
  const file = args.find(a => !a.startsWith('-'))
  if (file) {
    try {
      return { text: await readFile(file, 'utf8'), source: file }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      throw new TaskSpecError(
        `${file}: cannot read the task spec (${code === 'ENOENT' ? 'no such file' : code})`
      )
    }
  }
  if (env[TASK_SPEC_ENV]?.trim()) return { text: env[TASK_SPEC_ENV]!, source: TASK_SPEC_ENV }
  throw new TaskSpecError(
    `no task spec: pass the path of a spec file or set ${TASK_SPEC_ENV} to the spec JSON`
  )
}

/** Reads the spec from a file argument or PERF_GATE_TASK_SPEC; throws TaskSpecError with one line. */
export async function loadTaskSpec(args: string[], env: NodeJS.ProcessEnv): Promise<TaskSpec> {
  const { text, source } = await readTaskSpecText(args, env)
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (e) {
    throw new TaskSpecError(`${source}: the task spec is not valid JSON (${errorMessage(e)})`)
  }
  return parseTaskSpec(doc, source)
}
