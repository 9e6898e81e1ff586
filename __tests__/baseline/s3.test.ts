/**
 * The S3 store against a real S3-protocol server: @20minutes/s3rver 4.0.4 on 127.0.0.1, behind the
 * conditional-write proxy of s3rver.ts (why it is needed: see there; the first test shows it). What
 * every store promises is in contract.ts; these are the S3-specific parts: object layout,
 * conditional writes under concurrent writers, and the index being only a cache.
 */
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client
} from '@aws-sdk/client-s3'
import {
  S3BaselineStore,
  baselineRecordFromRun,
  createBaselineStore,
  type BaselineRecord
} from '../../src/baseline/index.js'
import {
  RESULT_VERSION,
  RUN_RESULT_SCHEMA,
  type RunResult,
  type TaskResult
} from '../../src/results/model.js'
import { rng, synthSamples, taskFromSamples } from '../helpers/synthetic.js'
import { capacityRecord } from '../helpers/capacity-record.js'
import { clientFor, startConditionalProxy, startS3rver } from './s3rver.js'

const BUCKET = 'perf-baselines'
const REPO = 'octo/shop'
const T0 = 1_800_000_000_000
const baseTask = taskFromSamples(synthSamples({ seed: 11, samples: 300, startMs: T0, durationMs: 6_000 }))

function makeRun(runId: string, o: { fingerprint?: string; createdMs?: number } = {}): RunResult {
  const fingerprint = o.fingerprint ?? 'fp-a'
  const task: TaskResult = structuredClone(baseTask)
  task.task = { ...task.task, runId, scenario: 'checkout', fingerprint }
  return {
    schema: RUN_RESULT_SCHEMA,
    version: RESULT_VERSION,
    run: {
      runId,
      scenario: 'checkout',
      fingerprint,
      backend: 'local',
      createdMs: o.createdMs ?? T0,
      expectedTasks: 1,
      missingTasks: [],
      facts: {}
    },
    tasks: [task]
  }
}

const record = (run: RunResult, commit: string): BaselineRecord =>
  baselineRecordFromRun(run, { repo: REPO, commit, ref: 'refs/heads/main' })

let s3rver: Awaited<ReturnType<typeof startS3rver>>
let proxy: Awaited<ReturnType<typeof startConditionalProxy>>
let direct: S3Client
let viaProxy: S3Client

beforeAll(async () => {
  s3rver = await startS3rver(BUCKET)
  proxy = await startConditionalProxy(s3rver.port)
  direct = clientFor(s3rver.port)
  viaProxy = clientFor(proxy.port)
})

afterAll(async () => {
  direct.destroy()
  viaProxy.destroy()
  await proxy.close()
  await s3rver.close()
})

const text = async (c: S3Client, key: string) =>
  (await (await c.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body?.transformToString()) ?? ''

describe('the S3 test server', () => {
  it('s3rver 4.0.4 alone ignores If-None-Match/If-Match on PutObject (why the proxy exists)', async () => {
    await direct.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'probe/a', Body: 'one' }))
    await direct.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'probe/a', Body: 'two', IfNoneMatch: '*' }))
    expect(await text(direct, 'probe/a')).toBe('two')
    await direct.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'probe/a', Body: 'three', IfMatch: '"0000"' })
    )
    expect(await text(direct, 'probe/a')).toBe('three')
  })

  it('through the proxy, conditional writes behave like S3', async () => {
    await viaProxy.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'probe/b', Body: 'one', IfNoneMatch: '*' })
    )
    await expect(
      viaProxy.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'probe/b', Body: 'two', IfNoneMatch: '*' }))
    ).rejects.toMatchObject({ name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } })
    const head = await viaProxy.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'probe/b' }))
    await expect(
      viaProxy.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'probe/b', Body: 'x', IfMatch: '"0000"' }))
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 412 } })
    await viaProxy.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'probe/b', Body: 'three', IfMatch: head.ETag })
    )
    expect(await text(viaProxy, 'probe/b')).toBe('three')
    await expect(
      viaProxy.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: 'probe/missing', Body: 'x', IfMatch: head.ETag })
      )
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } })
  })
})

describe('S3 baseline store', () => {
  const q = { repo: REPO, scenario: 'checkout', fingerprint: 'fp-a' }

  it('8 concurrent puts into the same index lose nothing (conditional writes + retries)', async () => {
    const delays: number[] = []
    const random = rng(3)
    const sleep = async (ms: number) => {
      delays.push(ms)
      await new Promise(r => setTimeout(r, Math.min(ms, 25)))
    }
    const prefix = 'team-a/concurrent'
    const runs = Array.from({ length: 8 }, (_, i) => makeRun(`c${i}`, { createdMs: T0 + i * 1000 }))
    const logStart = proxy.log.length
    proxy.holdIndexGets(8)
    // One store (and client) per writer, like eight separate nightly jobs.
    const clients = runs.map(() => clientFor(proxy.port))
    try {
      await Promise.all(
        runs.map((run, i) =>
          new S3BaselineStore(clients[i], BUCKET, prefix, {
            sleep,
            random,
            baseDelayMs: 20,
            maxDelayMs: 400
          }).put(record(run, `sha${i}`), run)
        )
      )
    } finally {
      clients.forEach(c => c.destroy())
    }
    const log = proxy.log.slice(logStart)
    const indexKey = `/${BUCKET}/${prefix}/baselines/octo/shop/checkout/fp-a/index.json`
    const indexPuts = log.filter(l => l.method === 'PUT' && l.key === indexKey)
    // Every writer read the missing index, so all raced on If-None-Match: *; only one could win each round.
    expect(indexPuts.filter(l => l.status === 412).length).toBeGreaterThanOrEqual(1)
    expect(indexPuts.filter(l => l.status === 200)).toHaveLength(8)
    expect(indexPuts.every(l => l.ifMatch || l.ifNoneMatch === '*')).toBe(true)
    expect(delays.length).toBe(indexPuts.filter(l => l.status === 412).length)
    expect(delays.every(d => d >= 0 && d <= 400)).toBe(true)
    if (delays.length > 1) expect(new Set(delays).size).toBeGreaterThan(1)

    const index = JSON.parse(await text(direct, indexKey.slice(BUCKET.length + 2)))
    expect(index.records.map((r: BaselineRecord) => r.runId).sort()).toEqual(
      runs.map(r => r.run.runId).sort()
    )
    const store = new S3BaselineStore(viaProxy, BUCKET, prefix)
    const listed = await store.list({ ...q, limit: 100 })
    expect(listed.map(r => r.runId)).toEqual(runs.map(r => r.run.runId))
    // Every run object was written once, with If-None-Match: *.
    const objectPuts = log.filter(l => l.method === 'PUT' && l.key !== indexKey)
    expect(objectPuts).toHaveLength(8)
    expect(objectPuts.every(l => l.ifNoneMatch === '*' && l.status === 200)).toBe(true)
  })

  it('never overwrites a stored run', async () => {
    const store = new S3BaselineStore(viaProxy, BUCKET, 'team-a/immutable')
    const run = makeRun('once')
    const rec = record(run, 'sha-once')
    await store.put(rec, run)
    const key = store.objectKey(rec)
    expect(key).toBe(`team-a/immutable/baselines/octo/shop/checkout/fp-a/${rec.id}.json`)
    const before = await direct.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))
    const tampered = structuredClone(run)
    tampered.run.facts = { note: 'second write' }
    await expect(store.put(rec, tampered)).rejects.toThrow(
      `baseline-store: baseline ${rec.id} already exists at s3://${BUCKET}/${key}; baselines are immutable`
    )
    const after = await direct.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))
    expect(after.ETag).toBe(before.ETag)
    expect(await store.load(rec)).toEqual(run)
  })

  it('finds a run whose index update never happened (the index is only a cache)', async () => {
    const prefix = 'team-c'
    const store = new S3BaselineStore(viaProxy, BUCKET, prefix)
    const a = makeRun('indexed', { createdMs: T0 })
    await store.put(record(a, 'sha-a'), a)
    // A writer that died after its run object but before the index update.
    const b = makeRun('orphan', { createdMs: T0 + 1000 })
    const recB = record(b, 'sha-b')
    await direct.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: store.objectKey(recB),
        Body: JSON.stringify({ schema: 'perf-gate/baseline', version: 1, record: recB, result: b })
      })
    )
    // Unrelated objects under the prefix are ignored.
    await direct.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: `${prefix}/baselines/octo/shop/checkout/fp-a/readme.txt`,
        Body: 'hi'
      })
    )
    const listed = await store.list({ ...q, limit: 10 })
    expect(listed.map(r => r.runId)).toEqual(['indexed', 'orphan'])
    expect(await store.load(listed[1])).toEqual(b)
  })

  it('writes no object for a refused run', async () => {
    const prefix = 'team-d'
    const store = new S3BaselineStore(viaProxy, BUCKET, prefix)
    const partial = makeRun('partial')
    partial.run.expectedTasks = 4
    partial.run.missingTasks = [{ region: 'us-east-1', taskIndex: 3, reason: 'no result file' }]
    await expect(store.put(record(makeRun('partial'), 'x'), partial)).rejects.toThrow(/the run is partial/)
    const listing = await direct.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${prefix}/` }))
    expect(listing.Contents ?? []).toEqual([])
  })

  it('createBaselineStore builds an S3 store from s3://bucket/prefix', async () => {
    const store = await createBaselineStore(`s3://${BUCKET}/from-spec/`, { s3: { client: viaProxy } })
    expect(store.kind).toBe('s3')
    const run = makeRun('spec')
    await store.put(record(run, 'sha-spec'), run)
    const listing = await direct.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'from-spec/' }))
    expect((listing.Contents ?? []).map(o => o.Key).sort()).toEqual([
      `from-spec/baselines/octo/shop/checkout/fp-a/${T0}-spec-0.json`,
      'from-spec/baselines/octo/shop/checkout/fp-a/index.json'
    ])
    await expect(createBaselineStore('s3://Bad_Bucket/x')).rejects.toThrow(/not a valid S3 bucket name/)
  })
})

describe('S3 capacity records', () => {
  it('are written once, with If-None-Match, under <prefix>/capacity/', async () => {
    const store = new S3BaselineStore(viaProxy, BUCKET, 'team-cap')
    const logStart = proxy.log.length
    for (const i of [2, 1, 3])
      await store.putCapacity(capacityRecord(`cap${i}`, T0 + i * 1000, { capacityRps: 70 + i }))
    await store.putCapacity(capacityRecord('other', T0 + 9000, { scenario: 'search' }))
    const puts = proxy.log.slice(logStart).filter(l => l.method === 'PUT')
    expect(puts.map(l => l.key)).toEqual([
      ...[2, 1, 3].map(i => `/${BUCKET}/team-cap/capacity/octo/shop/checkout/${T0 + i * 1000}-cap${i}.json`),
      `/${BUCKET}/team-cap/capacity/octo/shop/search/${T0 + 9000}-other.json`
    ])
    expect(puts.every(l => l.ifNoneMatch === '*' && l.status === 200)).toBe(true)
  })

  it('are never overwritten', async () => {
    const store = new S3BaselineStore(viaProxy, BUCKET, 'team-cap2')
    const rec = capacityRecord('once', T0)
    await store.putCapacity(rec)
    await expect(store.putCapacity({ ...rec, capacityRps: 1 })).rejects.toThrow(
      `baseline-store: capacity record ${rec.id} already exists at s3://${BUCKET}/team-cap2/capacity/octo/shop/checkout/${rec.id}.json; records are immutable`
    )
    expect((await store.listCapacity({ repo: REPO, scenario: 'checkout', limit: 5 }))[0].capacityRps).toBe(80)
  })
})
