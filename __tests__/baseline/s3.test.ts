/**
 * The S3 store against a real S3-protocol server: @20minutes/s3rver 4.0.4 on 127.0.0.1.
 *
 * What s3rver 4.0.4 does not do like S3: it ignores `If-None-Match` and `If-Match` on PutObject and
 * overwrites (the first test shows it); its file store is not atomic (it rewrites an object's data,
 * `.md5` and metadata files in place: under concurrent writers a reader got an empty ETag `""`); it
 * rejects the SDK's aws-chunked streaming uploads; and its SigV4 check fails on bucket-level paths
 * (`/bucket/`), see `clientFor`.
 *
 * So the concurrency tests put a small loopback proxy in front of it that supplies S3's
 * guarantees and nothing else: per key, requests are serialised; a PutObject with `If-None-Match: *`
 * or `If-Match` is checked against the object's current ETag (an unsigned HEAD to s3rver) and
 * answered 412 PreconditionFailed (404 NoSuchKey for If-Match on a missing key) when the condition
 * fails; a forwarded write holds the key until s3rver serves the new bytes (read-after-write).
 * Signed requests pass through byte for byte, so s3rver still checks every signature, stores the
 * data, computes ETags and answers GET/HEAD/LIST itself.
 */
import { createHash } from 'node:crypto'
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse
} from 'node:http'
import { createRequire } from 'node:module'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client
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

interface S3rverInstance {
  run(): Promise<AddressInfo>
  close(): Promise<void>
}
type S3rverCtor = new (opts: Record<string, unknown>) => S3rverInstance
const S3rver = createRequire(import.meta.url)('@20minutes/s3rver') as S3rverCtor

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

interface ProxyLog {
  method: string
  key: string
  ifMatch?: string
  ifNoneMatch?: string
  status: number
}

/** S3's conditional writes and atomicity in front of s3rver (see the file comment). */
async function startConditionalProxy(upstream: number) {
  const log: ProxyLog[] = []
  const locks = new Map<string, Promise<unknown>>()
  let gate: { remaining: number; waiters: (() => void)[] } | null = null

  const withLock = <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const next = (locks.get(key) ?? Promise.resolve()).then(fn, fn)
    locks.set(
      key,
      next.catch(() => undefined)
    )
    return next
  }
  /** One request to s3rver on a fresh connection, fully buffered. */
  const upstreamCall = (method: string, path: string, headers: IncomingMessage['headers'], body?: Buffer) =>
    new Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }>((resolve, reject) => {
      const up = httpRequest(
        { host: '127.0.0.1', port: upstream, method, path, headers, agent: false },
        upRes => {
          const chunks: Buffer[] = []
          upRes.on('data', (c: Buffer) => chunks.push(c))
          upRes.on('end', () =>
            resolve({ status: upRes.statusCode ?? 502, headers: upRes.headers, body: Buffer.concat(chunks) })
          )
          upRes.on('error', reject)
        }
      )
      up.on('error', reject)
      up.end(body)
    })
  const relay = (
    res: ServerResponse,
    r: { status: number; headers: IncomingMessage['headers']; body: Buffer }
  ) => {
    res.writeHead(r.status, r.headers)
    res.end(r.body)
  }
  const s3Error = (
    res: ServerResponse,
    status: number,
    code: string,
    message: string,
    condition?: string
  ) => {
    res.writeHead(status, { 'content-type': 'application/xml' })
    res.end(
      `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message>` +
        `${condition ? `<Condition>${condition}</Condition>` : ''}<RequestId>proxy</RequestId></Error>`
    )
  }
  /** Waits (bounded) until s3rver serves exactly `body` for the object. */
  const settle = async (path: string, body: Buffer) => {
    const want = JSON.stringify(createHash('md5').update(body).digest('hex'))
    for (let i = 0; i < 100; i++) {
      const r = await upstreamCall('GET', path, { host: `127.0.0.1:${upstream}` })
      if (r.status === 200 && r.headers.etag === want && r.body.equals(body)) return
      await new Promise(res => setTimeout(res, 5))
    }
    throw new Error(`s3rver did not settle on ${path}`)
  }

  const server: Server = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = []
      for await (const c of req) chunks.push(c as Buffer)
      const body = Buffer.concat(chunks)
      const url = new URL(req.url ?? '/', 'http://127.0.0.1')
      const key = decodeURIComponent(url.pathname)
      const method = req.method ?? 'GET'
      const isObject = /^\/[^/]+\/.+/.test(url.pathname)
      if (!isObject) {
        const r = await upstreamCall(method, req.url ?? '/', req.headers, body)
        log.push({ method, key, status: r.status })
        return relay(res, r)
      }
      if (method === 'GET' && gate && key.endsWith('/index.json')) {
        const g = gate
        await new Promise<void>(resolve => {
          g.waiters.push(resolve)
          if (--g.remaining <= 0) {
            gate = null
            g.waiters.forEach(w => w())
          }
        })
      }
      const ifMatch = req.headers['if-match'] as string | undefined
      const ifNoneMatch = req.headers['if-none-match'] as string | undefined
      await withLock(key, async () => {
        if (method === 'PUT' && (ifMatch || ifNoneMatch)) {
          const head = await upstreamCall('HEAD', url.pathname, { host: `127.0.0.1:${upstream}` })
          const etag = head.status === 200 ? head.headers.etag : undefined
          let status = 0
          if (ifNoneMatch === '*' && etag) status = 412
          else if (ifMatch && !etag) status = 404
          else if (ifMatch && ifMatch !== etag) status = 412
          if (status) {
            log.push({ method, key, ifMatch, ifNoneMatch, status })
            if (status === 404) return s3Error(res, 404, 'NoSuchKey', 'The specified key does not exist.')
            return s3Error(
              res,
              412,
              'PreconditionFailed',
              'At least one of the pre-conditions you specified did not hold',
              ifMatch ? 'If-Match' : 'If-None-Match'
            )
          }
        }
        const r = await upstreamCall(method, req.url ?? '/', req.headers, body)
        if (method === 'PUT' && r.status === 200) await settle(url.pathname, body)
        log.push({ method, key, ifMatch, ifNoneMatch, status: r.status })
        relay(res, r)
      })
    })().catch(e => {
      if (!res.headersSent) res.writeHead(502)
      res.end(String(e))
    })
  })
  await new Promise<void>(r => server.listen(0, '127.0.0.1', () => r()))
  return {
    port: (server.address() as AddressInfo).port,
    log,
    /** Holds the next `n` index GETs until all have arrived (or `maxMs` passes), so their writers race. */
    holdIndexGets(n: number, maxMs = 3000) {
      const g = { remaining: n, waiters: [] as (() => void)[] }
      gate = g
      setTimeout(() => {
        if (gate === g) {
          gate = null
          g.waiters.forEach(w => w())
        }
      }, maxMs).unref()
    },
    close: () =>
      new Promise<void>(r => {
        server.closeAllConnections()
        server.close(() => r())
      })
  }
}

/**
 * A client for s3rver. Two s3rver 4.0.4 quirks are handled here, in the test client only:
 * - `requestChecksumCalculation: 'WHEN_REQUIRED'`: s3rver rejects the SDK's default aws-chunked
 *   streaming bodies (string bodies, which the store sends, work either way);
 * - s3rver canonicalises a bucket-level path (`/bucket/`, as in ListObjectsV2 or CreateBucket) as
 *   `/bucket`, so the SDK's SigV4 signature never matches; the path is sent without the slash.
 */
const clientFor = (port: number) => {
  const c = new S3Client({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${port}`,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED'
  })
  c.middlewareStack.add(
    next => async args => {
      const req = args.request as { path?: string }
      if (req.path && /^\/[^/]+\/$/.test(req.path)) req.path = req.path.slice(0, -1)
      return next(args)
    },
    { step: 'build', name: 's3rverBucketPath' }
  )
  return c
}

const dir = mkdtempSync(join(tmpdir(), 'perf-gate-s3rver-'))
let s3rver: S3rverInstance
let proxy: Awaited<ReturnType<typeof startConditionalProxy>>
let direct: S3Client
let viaProxy: S3Client

beforeAll(async () => {
  s3rver = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: [{ name: BUCKET, configs: [] }]
  })
  const { port } = await s3rver.run()
  proxy = await startConditionalProxy(port)
  direct = clientFor(port)
  viaProxy = clientFor(proxy.port)
})

afterAll(async () => {
  direct.destroy()
  viaProxy.destroy()
  await proxy.close()
  await s3rver.close()
  rmSync(dir, { recursive: true, force: true })
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

  it('list respects limit, ordering, fingerprint and the merge base; load returns the full run', async () => {
    const prefix = 'team-b'
    const store = new S3BaselineStore(viaProxy, BUCKET, prefix)
    const order = [4, 1, 5, 2, 3]
    for (const i of order) {
      const run = makeRun(`o${i}`, { createdMs: T0 + i * 60_000 })
      await store.put(record(run, `sha${i}`), run)
    }
    const otherFp = makeRun('o-fp', { fingerprint: 'fp-b', createdMs: T0 + 10 * 60_000 })
    await store.put(record(otherFp, 'sha9'), otherFp)

    expect((await store.list({ ...q, limit: 100 })).map(r => r.runId)).toEqual(['o1', 'o2', 'o3', 'o4', 'o5'])
    expect((await store.list({ ...q, limit: 2 })).map(r => r.runId)).toEqual(['o4', 'o5'])
    expect((await store.list({ ...q, fingerprint: 'fp-b', limit: 10 })).map(r => r.runId)).toEqual(['o-fp'])
    expect((await store.list({ ...q, limit: 2, beforeCommit: 'sha3' })).map(r => r.runId)).toEqual([
      'o2',
      'o3'
    ])
    expect((await store.list({ ...q, limit: 10, beforeMs: T0 + 2 * 60_000 })).map(r => r.runId)).toEqual([
      'o1',
      'o2'
    ])
    expect(await store.list({ ...q, scenario: 'search', limit: 10 })).toEqual([])
    const [newest] = await store.list({ ...q, limit: 1 })
    const loaded = await store.load(newest)
    expect(loaded.run.runId).toBe('o5')
    expect(loaded.tasks[0].labels).toEqual(baseTask.labels)
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

  it('refuses a partial or failed run with a clear reason and writes nothing', async () => {
    const prefix = 'team-d'
    const store = new S3BaselineStore(viaProxy, BUCKET, prefix)
    const partial = makeRun('partial')
    partial.run.expectedTasks = 4
    partial.run.missingTasks = [{ region: 'us-east-1', taskIndex: 3, reason: 'no result file' }]
    await expect(store.put(record(makeRun('partial'), 'x'), partial)).rejects.toThrow(
      'baseline refused for run partial: the run is partial: 1 of 4 task(s) missing (us-east-1/3: no result file)'
    )
    const failed = makeRun('failed')
    failed.tasks[0].task.status = 'timeout'
    await expect(store.put(record(makeRun('failed'), 'x'), failed)).rejects.toThrow(
      "baseline refused for run failed: task local/0 has status 'timeout', not 'ok'"
    )
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
  it('are written once under <prefix>/capacity/ and listed newest last, at most limit', async () => {
    const store = new S3BaselineStore(viaProxy, BUCKET, 'team-cap')
    const logStart = proxy.log.length
    for (const i of [2, 1, 3])
      await store.putCapacity(capacityRecord(`cap${i}`, T0 + i * 1000, { capacityRps: 70 + i }))
    await store.putCapacity(capacityRecord('other', T0 + 9000, { scenario: 'search' }))
    const puts = proxy.log.slice(logStart).filter(l => l.method === 'PUT')
    expect(puts.map(l => l.key)).toContain(
      `/${BUCKET}/team-cap/capacity/octo/shop/checkout/${T0 + 1000}-cap1.json`
    )
    expect(puts.every(l => l.ifNoneMatch === '*' && l.status === 200)).toBe(true)
    const q = { repo: REPO, scenario: 'checkout', limit: 10 }
    expect((await store.listCapacity(q)).map(r => r.capacityRps)).toEqual([71, 72, 73])
    expect((await store.listCapacity({ ...q, limit: 2 })).map(r => r.runId)).toEqual(['cap2', 'cap3'])
    expect(await store.listCapacity({ ...q, fingerprint: 'fp-b' })).toEqual([])
    expect((await store.listCapacity({ ...q, scenario: 'search' })).map(r => r.runId)).toEqual(['other'])
    // baselines under the same prefix are not disturbed
    expect(await store.list({ repo: REPO, scenario: 'checkout', fingerprint: 'fp-a', limit: 5 })).toEqual([])
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
