/**
 * `s3://bucket/prefix`: baselines in S3.
 *
 *   <prefix>/baselines/<owner>/<name>/<scenario>/<fingerprint>/<id>.json   one object per run, written
 *                                                                            with If-None-Match: * (never overwritten)
 *   <prefix>/baselines/<owner>/<name>/<scenario>/<fingerprint>/index.json  the records, updated with
 *                                                                            conditional writes
 *   <prefix>/capacity/<owner>/<name>/<scenario>/<id>.json                  capacity records (stress mode),
 *                                                                            written with If-None-Match: *
 *
 * The index is read with its ETag and written back with `If-Match: <etag>` (or `If-None-Match: *`
 * when it does not exist yet). A 412 PreconditionFailed or 409 ConditionalRequestConflict means
 * another writer got there first: read again, merge, retry after a jittered back-off. Listing also
 * reconciles the index with a ListObjectsV2 of the directory, so a writer that died between the two
 * writes loses nothing either. Capacity records are listed with ListObjectsV2 (no index).
 */
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  type S3ClientConfig
} from '@aws-sdk/client-s3'
import type { RunResult } from '../results/model.js'
import {
  capacitySegments,
  parseCapacityRecord,
  selectCapacity,
  storableCapacityRecord,
  type CapacityQuery,
  type CapacityRecord
} from './capacity.js'
import {
  BaselineStoreError,
  assertStorable,
  baselineDocument,
  indexDocument,
  parseBaselineDocument,
  parseBaselineRecordOf,
  parseIndexRecords,
  scopeSegments,
  selectBaselines,
  type BaselineQuery,
  type BaselineRecord
} from './model.js'
import type { BaselineStore } from './store.js'
import { sleep, errorMessage } from '../util/index.js'
import { withHttpLimits } from '../util/aws-http.js'

const INDEX = 'index.json'

export interface RetryOptions {
  /** Attempts at the index update before giving up (default 12). */
  maxAttempts?: number
  /** First back-off in ms (default 50); doubles per attempt up to `maxDelayMs` (default 2000). */
  baseDelayMs?: number
  maxDelayMs?: number
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>
  random?: () => number
}

export interface S3StoreOptions extends RetryOptions {
  /** An existing client; otherwise one is made from `clientConfig`. */
  client?: S3Client
  clientConfig?: S3ClientConfig
}

interface AwsError {
  name?: string
  Code?: string
  $metadata?: { httpStatusCode?: number }
}

function status(e: unknown): number | undefined {
  return (e as AwsError | null)?.$metadata?.httpStatusCode
}

function isNotFound(e: unknown): boolean {
  const err = e as AwsError | null
  return err?.name === 'NoSuchKey' || err?.name === 'NotFound' || status(e) === 404
}

/** Lost a conditional-write race (412) or hit a concurrent conditional write (409). */
export function isConditionalConflict(e: unknown): boolean {
  const err = e as AwsError | null
  const s = status(e)
  return (
    s === 412 || s === 409 || err?.name === 'PreconditionFailed' || err?.name === 'ConditionalRequestConflict'
  )
}

/** Parses `s3://bucket/prefix` (the prefix may be empty). */
export function parseS3Url(spec: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]*)\/?(.*)$/.exec(spec)
  if (!m || !m[1])
    throw new BaselineStoreError(`baseline-store: "${spec}" has no bucket (expected s3://bucket/prefix)`)
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(m[1]))
    throw new BaselineStoreError(
      `baseline-store: "${m[1]}" in "${spec}" is not a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)`
    )
  return { bucket: m[1], prefix: m[2].replace(/^\/+|\/+$/g, '') }
}

export class S3BaselineStore implements BaselineStore {
  readonly kind = 's3' as const
  readonly location: string
  private readonly maxAttempts: number
  private readonly baseDelayMs: number
  private readonly maxDelayMs: number
  private readonly sleep: (ms: number) => Promise<void>
  private readonly random: () => number

  constructor(
    readonly client: S3Client,
    readonly bucket: string,
    readonly prefix: string,
    opts: RetryOptions = {}
  ) {
    this.location = `s3://${bucket}/${prefix}`
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 12)
    this.baseDelayMs = opts.baseDelayMs ?? 50
    this.maxDelayMs = opts.maxDelayMs ?? 2000
    this.sleep = opts.sleep ?? sleep
    this.random = opts.random ?? Math.random
  }

  private dirKey(repo: string, scenario: string, fingerprint: string): string {
    const parts = [
      ...(this.prefix ? [this.prefix] : []),
      'baselines',
      ...scopeSegments(repo, scenario, fingerprint)
    ]
    return parts.join('/')
  }

  /** Key of a record's run object. */
  objectKey(record: BaselineRecord): string {
    return `${this.dirKey(record.repo, record.scenario, record.fingerprint)}/${record.id}.json`
  }

  indexKey(repo: string, scenario: string, fingerprint: string): string {
    return `${this.dirKey(repo, scenario, fingerprint)}/${INDEX}`
  }

  private where(key: string): string {
    return `s3://${this.bucket}/${key}`
  }

  private fail(action: string, key: string, e: unknown): BaselineStoreError {
    const s = status(e)
    const hint =
      s === 403 ? ' (access denied: the role needs s3:GetObject, s3:PutObject and s3:ListBucket)' : ''
    return new BaselineStoreError(
      `baseline-store: cannot ${action} ${this.where(key)}: ${errorMessage(e)}${hint}`
    )
  }

  /** Full-jitter exponential back-off for attempt n (0-based). */
  backoffMs(attempt: number): number {
    return Math.round(this.random() * Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** attempt))
  }

  async put(record: BaselineRecord, run: RunResult): Promise<void> {
    const rec = assertStorable(record, run)
    const { resultKey: _ignored, ...stored } = rec
    const key = this.objectKey(rec)
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: JSON.stringify(baselineDocument(stored, run)),
            ContentType: 'application/json',
            IfNoneMatch: '*'
          })
        )
        break
      } catch (e) {
        if (status(e) === 412 || (e as AwsError).name === 'PreconditionFailed')
          throw new BaselineStoreError(
            `baseline-store: baseline ${rec.id} already exists at ${this.where(key)}; baselines are immutable`
          )
        if (status(e) === 409 && attempt + 1 < this.maxAttempts) {
          await this.sleep(this.backoffMs(attempt))
          continue
        }
        throw this.fail('write', key, e)
      }
    }
    await this.addToIndex({ ...stored, resultKey: key })
  }

  private async readIndex(key: string): Promise<{ records: BaselineRecord[]; etag: string | null }> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }))
      const text = (await res.Body?.transformToString()) ?? ''
      let doc: unknown = null
      try {
        doc = JSON.parse(text)
      } catch {
        doc = null
      }
      return { records: parseIndexRecords(doc), etag: res.ETag ?? null }
    } catch (e) {
      if (isNotFound(e)) return { records: [], etag: null }
      throw this.fail('read', key, e)
    }
  }

  private async addToIndex(record: BaselineRecord): Promise<void> {
    const key = this.indexKey(record.repo, record.scenario, record.fingerprint)
    let lastError: unknown = null
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      const cur = await this.readIndex(key)
      if (cur.records.some(r => r.id === record.id)) return
      const body = JSON.stringify(indexDocument([...cur.records, record]))
      try {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: body,
            ContentType: 'application/json',
            ...(cur.etag ? { IfMatch: cur.etag } : { IfNoneMatch: '*' })
          })
        )
        return
      } catch (e) {
        if (!isConditionalConflict(e)) throw this.fail('update', key, e)
        lastError = e
        await this.sleep(this.backoffMs(attempt))
      }
    }
    throw new BaselineStoreError(
      `baseline-store: baseline ${record.id} is stored but ${this.where(key)} could not be updated after ` +
        `${this.maxAttempts} attempts (concurrent writers; last error: ${errorMessage(lastError)}); ` +
        'listing still finds it'
    )
  }

  private async listKeys(dir: string): Promise<string[]> {
    const keys: string[] = []
    let token: string | undefined
    for (let page = 0; page < 1000; page++) {
      let res
      try {
        res = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${dir}/`, ContinuationToken: token })
        )
      } catch (e) {
        throw this.fail('list', `${dir}/`, e)
      }
      for (const o of res.Contents ?? []) if (o.Key) keys.push(o.Key)
      if (!res.IsTruncated || !res.NextContinuationToken) break
      token = res.NextContinuationToken
    }
    return keys
  }

  async list(q: BaselineQuery): Promise<BaselineRecord[]> {
    const dir = this.dirKey(q.repo, q.scenario, q.fingerprint)
    const [index, keys] = await Promise.all([this.readIndex(`${dir}/${INDEX}`), this.listKeys(dir)])
    const byKey = new Map<string, BaselineRecord>()
    for (const r of index.records) byKey.set(`${dir}/${r.id}.json`, r)
    const records: BaselineRecord[] = []
    for (const key of keys) {
      const rest = key.slice(dir.length + 1)
      if (rest.includes('/') || rest === INDEX || !rest.endsWith('.json')) continue
      const hit = byKey.get(key)
      if (hit) {
        records.push({ ...hit, resultKey: key })
        continue
      }
      try {
        const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }))
        const rec = parseBaselineRecordOf(
          this.where(key),
          JSON.parse((await res.Body?.transformToString()) ?? '')
        )
        records.push({ ...rec, resultKey: key })
      } catch {
        // Not a readable baseline object: skipped.
      }
    }
    return selectBaselines(records, q)
  }

  async load(record: BaselineRecord): Promise<RunResult> {
    const key = record.resultKey ?? this.objectKey(record)
    let text: string
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }))
      text = (await res.Body?.transformToString()) ?? ''
    } catch (e) {
      if (isNotFound(e))
        throw new BaselineStoreError(`baseline-store: baseline ${record.id} is missing (${this.where(key)})`)
      throw this.fail('read', key, e)
    }
    let doc: unknown
    try {
      doc = JSON.parse(text)
    } catch (e) {
      throw new BaselineStoreError(`${this.where(key)}: is not valid JSON (${errorMessage(e)})`)
    }
    return parseBaselineDocument(this.where(key), doc).result
  }

  private capacityDir(repo: string, scenario: string): string {
    return [...(this.prefix ? [this.prefix] : []), 'capacity', ...capacitySegments(repo, scenario)].join('/')
  }

  async putCapacity(record: CapacityRecord): Promise<void> {
    const rec = storableCapacityRecord(record)
    const key = `${this.capacityDir(rec.repo, rec.scenario)}/${rec.id}.json`
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: JSON.stringify(rec),
          ContentType: 'application/json',
          IfNoneMatch: '*'
        })
      )
    } catch (e) {
      if (status(e) === 412 || (e as AwsError).name === 'PreconditionFailed')
        throw new BaselineStoreError(
          `baseline-store: capacity record ${rec.id} already exists at ${this.where(key)}; records are immutable`
        )
      throw this.fail('write', key, e)
    }
  }

  async listCapacity(q: CapacityQuery): Promise<CapacityRecord[]> {
    if (!(q.limit > 0)) return []
    const dir = this.capacityDir(q.repo, q.scenario)
    // Ids start with the zero-padded creation time: the newest keys sort last.
    const keys = (await this.listKeys(dir))
      .filter(k => !k.slice(dir.length + 1).includes('/') && k.endsWith('.json'))
      .sort()
    const records: CapacityRecord[] = []
    for (let i = keys.length - 1; i >= 0; i--) {
      try {
        const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: keys[i] }))
        const rec = parseCapacityRecord(
          this.where(keys[i]),
          JSON.parse((await res.Body?.transformToString()) ?? '')
        )
        records.push(rec)
      } catch {
        // Not a readable record: skipped.
      }
      if (selectCapacity(records, q).length >= q.limit) break
    }
    return selectCapacity(records, q)
  }
}

export async function s3BaselineStore(spec: string, opts: S3StoreOptions = {}): Promise<S3BaselineStore> {
  const { bucket, prefix } = parseS3Url(spec)
  let client = opts.client
  if (!client) {
    const { S3Client } = await import('@aws-sdk/client-s3')
    client = new S3Client(withHttpLimits(opts.clientConfig ?? {}))
  }
  return new S3BaselineStore(client, bucket, prefix, opts)
}
