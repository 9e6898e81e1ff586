/**
 * The S3 objects of one Fargate run, shared by the action and its tasks:
 *
 *   <prefix>/bundle.tgz             the script folder (k6, Locust, JMeter), once per run
 *   <prefix>/tasks/<key>.json       one task's envelope: its spec and where its script lies
 *   <prefix>/assign/<ecs id>.json   which key an ECS task runs ({"key": …}), written by the action
 *                                   once RunTask has named the task (RunTask starts up to 10 tasks
 *                                   with the same overrides, so a task learns its key from here)
 *   <prefix>/ready/<key>.json       written by a task once its engine and script are in place
 *   <prefix>/go.json                written by the action when all are ready: the common start time
 *   <prefix>/heartbeat.json         rewritten by the action every 30 s while it watches the run
 *   <prefix>/abort.json             written by the action to stop every task early
 *   <prefix>/progress/<key>.json    a task's latest progress line and its recent live windows
 *   <prefix>/results/<key>.json     a task's result, written once at its end
 *   <prefix>/failed/<key>.json      why a task could not even start its engine (no result then)
 *
 * `<prefix>` is `runs/<run id>`; `<key>` is `<region>-<fleet-wide task index>`.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import type { LiveWindow } from '../results/recorder.js'
import type { ProgressLine } from './progress.js'
import { errorMessage } from '../util/index.js'

export const RUNS_PREFIX = 'runs'

/** Environment of a Fargate task, set by the action through RunTask's container overrides. */
export const REMOTE_ENV = {
  Bucket: 'PERF_GATE_BUCKET',
  BucketRegion: 'PERF_GATE_BUCKET_REGION',
  RunPrefix: 'PERF_GATE_RUN_PREFIX',
  /** A fixed task key; without it the task looks itself up in assign/ by its ECS task id. */
  TaskKey: 'PERF_GATE_TASK_KEY',
  RunId: 'PERF_GATE_RUN_ID',
  TaskIndex: 'PERF_GATE_TASK_INDEX',
  Share: 'PERF_GATE_SHARE',
  /** Set to 1 to address the bucket path-style (S3-compatible endpoints). */
  PathStyle: 'PERF_GATE_S3_PATH_STYLE'
} as const

export function runPrefix(runId: string): string {
  return `${RUNS_PREFIX}/${runId}`
}

export function taskKey(region: string, taskIndex: number): string {
  return `${region}-${String(taskIndex).padStart(4, '0')}`
}

export function runKeys(prefix: string) {
  return {
    bundle: `${prefix}/bundle.tgz`,
    task: (key: string) => `${prefix}/tasks/${key}.json`,
    assign: (ecsTaskId: string) => `${prefix}/assign/${ecsTaskId}.json`,
    ready: (key: string) => `${prefix}/ready/${key}.json`,
    readyPrefix: `${prefix}/ready/`,
    go: `${prefix}/go.json`,
    heartbeat: `${prefix}/heartbeat.json`,
    abort: `${prefix}/abort.json`,
    progress: (key: string) => `${prefix}/progress/${key}.json`,
    progressPrefix: `${prefix}/progress/`,
    result: (key: string) => `${prefix}/results/${key}.json`,
    resultsPrefix: `${prefix}/results/`,
    failure: (key: string) => `${prefix}/failed/${key}.json`
  }
}
export type RunKeys = ReturnType<typeof runKeys>

/** The key a listed object stands for: `<prefix>/ready/us-east-1-0003.json` → `us-east-1-0003`. */
export function keyOf(objectKey: string): string {
  return (objectKey.split('/').pop() ?? '').replace(/\.json$/, '')
}

/** The id at the end of an ECS task ARN. */
export function ecsTaskId(taskArn: string): string {
  return taskArn.split('/').pop() ?? taskArn
}

/** Live windows a task's published progress keeps: two minutes of one-second progress lines. */
export const PUBLISHED_WINDOWS = 120

/**
 * What a task publishes at progress/<key>.json: its latest progress line and, oldest first, the
 * live windows of its last PUBLISHED_WINDOWS lines. The action reads it less often than the task
 * writes it, and takes the windows it has not seen yet by their `elapsedS`, so latency SLOs can be
 * judged live on the whole fleet's merged histograms.
 */
export interface PublishedProgress extends Omit<ProgressLine, 'live'> {
  windows?: TimedWindow[]
}

/** A live window and the task's clock (seconds since its start) at the end of it. */
export type TimedWindow = LiveWindow & { elapsedS: number }

/** Keeps a task's recent live windows and builds the document it publishes. */
export class ProgressPublication {
  private latest: ProgressLine | null = null
  private readonly windows: TimedWindow[] = []
  private changed = false

  constructor(private readonly keep = PUBLISHED_WINDOWS) {}

  add(line: ProgressLine): void {
    this.latest = line
    this.changed = true
    if (line.live) {
      this.windows.push({ ...line.live, elapsedS: line.elapsedS })
      if (this.windows.length > this.keep) this.windows.splice(0, this.windows.length - this.keep)
    }
  }

  /** The document to publish when something changed since the last call, else null. */
  take(): PublishedProgress | null {
    if (!this.changed || !this.latest) return null
    this.changed = false
    const { live: _live, ...line } = this.latest
    return { ...line, windows: [...this.windows] }
  }
}

export interface TaskEnvelope {
  schema: 'perf-gate/remote-task'
  version: 1
  /** The task spec; `script`, when set, is relative to the unpacked bundle. */
  spec: Record<string, unknown>
  /** Whether the run has a script bundle to unpack. */
  bundle: boolean
}

function status(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode
}

function isNotFound(e: unknown): boolean {
  const name = (e as { name?: string } | null)?.name
  return name === 'NoSuchKey' || name === 'NotFound' || status(e) === 404
}

/** Small JSON and byte objects in one bucket; a missing object reads as null. */
export class RunObjects {
  constructor(
    readonly client: S3Client,
    readonly bucket: string
  ) {}

  async getBytes(key: string): Promise<Uint8Array | null> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }))
      return res.Body ? await res.Body.transformToByteArray() : new Uint8Array()
    } catch (e) {
      if (isNotFound(e)) return null
      throw e
    }
  }

  async getJson<T = unknown>(key: string): Promise<T | null> {
    const bytes = await this.getBytes(key)
    if (bytes === null) return null
    try {
      return JSON.parse(Buffer.from(bytes).toString('utf8')) as T
    } catch (e) {
      throw new Error(`s3://${this.bucket}/${key} is not valid JSON: ${errorMessage(e)}`)
    }
  }

  async put(key: string, body: Uint8Array | string, contentType = 'application/json'): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType })
    )
  }

  async putJson(key: string, doc: unknown): Promise<void> {
    await this.put(key, JSON.stringify(doc))
  }

  /** Every key under `prefix` (paginated). */
  async list(prefix: string): Promise<string[]> {
    const keys: string[] = []
    let token: string | undefined
    do {
      const res = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token })
      )
      for (const o of res.Contents ?? []) if (o.Key) keys.push(o.Key)
      token = res.IsTruncated ? res.NextContinuationToken : undefined
    } while (token)
    return keys
  }
}
