/**
 * The runner's Fargate mode against a real S3-protocol server (s3rver on 127.0.0.1) and the sample
 * target: the start barrier, the heartbeat that stops an orphaned task, abort.json, and the result
 * written in every case.
 */
import { createRequire } from 'node:module'
import { mkdtemp, rm } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { S3Client } from '@aws-sdk/client-s3'
import { startTarget, type TargetServer } from '../../src/target/server.js'
import { RunObjects, runKeys, type TaskEnvelope } from '../../src/runner/objects.js'
import { runRemoteTask } from '../../src/runner/remote.js'
import { parseTaskResult } from '../../src/results/io.js'
import { TASK_SPEC_VERSION } from '../../src/runner/spec.js'

const S3rver = createRequire(import.meta.url)('@20minutes/s3rver') as new (o: Record<string, unknown>) => {
  run(): Promise<AddressInfo>
  close(): Promise<void>
}
const BUCKET = 'runs-bucket'

describe('the remote runner', () => {
  let dir: string
  let server: InstanceType<typeof S3rver>
  let s3: S3Client
  let objects: RunObjects
  let target: TargetServer
  let n = 0

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pg-remote-'))
    server = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      directory: dir,
      // s3rver canonicalises `/bucket/` (ListObjectsV2) as `/bucket`; signatures stay well-formed.
      allowMismatchedSignatures: true,
      configureBuckets: [{ name: BUCKET, configs: [] }]
    })
    const { port } = await server.run()
    s3 = new S3Client({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${port}`,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED'
    })
    objects = new RunObjects(s3, BUCKET)
    target = await startTarget({ port: 0, maxSeconds: 300 })
  })

  afterAll(async () => {
    s3?.destroy()
    await server?.close()
    await target?.close()
    await rm(dir, { recursive: true, force: true })
  })

  async function setup(durationS: number) {
    const prefix = `runs/r${++n}`
    const keys = runKeys(prefix)
    const key = 'us-east-1-0000'
    const envelope: TaskEnvelope = {
      schema: 'perf-gate/remote-task',
      version: 1,
      bundle: false,
      spec: {
        version: TASK_SPEC_VERSION,
        runId: `r${n}`,
        scenario: 'remote',
        fingerprint: 'f',
        backend: 'fargate',
        region: 'us-east-1',
        taskIndex: 0,
        taskCount: 1,
        engine: 'http',
        requests: [{ path: '/fast' }],
        load: { vus: 2, durationS, rampUpS: 0, targetUrl: target.url },
        share: { vus: 2 },
        startAtMs: null,
        hardMaxS: durationS + 15,
        intervalMs: 1000,
        steady: null,
        tags: {},
        env: {},
        out: 'replaced-by-the-runner.json'
      }
    }
    await objects.putJson(keys.task(key), envelope)
    return { prefix, keys, key }
  }

  const timing = { pollMs: 100, watchMs: 200, progressMs: 300, goTimeoutMs: 3000 }

  it('waits for go.json, runs at the common start, publishes progress and writes its result', async () => {
    const { prefix, keys, key } = await setup(2)
    const startAtMs = Date.now() + 1500
    const pending = runRemoteTask({
      objects,
      prefix,
      key,
      env: process.env,
      signal: new AbortController().signal,
      timing
    })
    // ready/ appears before the start; go.json comes later.
    for (let i = 0; i < 50 && !(await objects.getJson(keys.ready(key))); i++)
      await new Promise(r => setTimeout(r, 100))
    expect(await objects.getJson(keys.ready(key))).toMatchObject({ key })
    await objects.putJson(keys.heartbeat, { atMs: Date.now() })
    await objects.putJson(keys.go, { startAtMs })
    expect(await pending).toBe(0)
    const result = parseTaskResult('result', await objects.getJson(keys.result(key)))
    expect(result.task.status).toBe('ok')
    expect(Math.abs(result.task.startedMs! - startAtMs)).toBeLessThan(300)
    const progress = await objects.getJson<{ requests: number }>(keys.progress(key))
    expect(progress!.requests).toBeGreaterThan(0)
  })

  it('stops itself when the action heartbeat is older than the limit, and still writes its result', async () => {
    const { prefix, keys, key } = await setup(30)
    await objects.putJson(keys.heartbeat, { atMs: Date.now() })
    await objects.putJson(keys.go, { startAtMs: Date.now() })
    const t0 = Date.now()
    const pending = runRemoteTask({
      objects,
      prefix,
      key,
      env: process.env,
      signal: new AbortController().signal,
      timing: { ...timing, heartbeatStaleMs: 1500 }
    })
    expect(await pending).toBe(1)
    expect(Date.now() - t0).toBeLessThan(10_000)
    const result = parseTaskResult('result', await objects.getJson(keys.result(key)))
    expect(result.task.status).toBe('aborted')
    expect(result.task.message).toMatch(/heartbeat is \d+ s old/)
  })

  it('stops when abort.json appears', async () => {
    const { prefix, keys, key } = await setup(30)
    await objects.putJson(keys.heartbeat, { atMs: Date.now() + 60_000 })
    await objects.putJson(keys.go, { startAtMs: Date.now() })
    const pending = runRemoteTask({
      objects,
      prefix,
      key,
      env: process.env,
      signal: new AbortController().signal,
      timing
    })
    await new Promise(r => setTimeout(r, 1500))
    await objects.putJson(keys.abort, { reason: 'abort-on tripped' })
    expect(await pending).toBe(1)
    const result = parseTaskResult('result', await objects.getJson(keys.result(key)))
    expect(result.task.status).toBe('aborted')
    expect(result.task.message).toMatch(/aborted by the action: abort-on tripped/)
  })

  it('gives up when go.json never comes, and says so in its result', async () => {
    const { prefix, keys, key } = await setup(5)
    const code = await runRemoteTask({
      objects,
      prefix,
      key,
      env: process.env,
      signal: new AbortController().signal,
      timing: { ...timing, goTimeoutMs: 800 }
    })
    expect(code).toBe(1)
    const result = parseTaskResult('result', await objects.getJson(keys.result(key)))
    expect(result.task.status).toBe('aborted')
    expect(result.task.message).toMatch(/no start signal within 1 s/)
  })

  it('learns its key from assign/ by its ECS task id', async () => {
    const { prefix, keys, key } = await setup(1)
    await objects.putJson(keys.assign('0123abcd'), { key })
    await objects.putJson(keys.heartbeat, { atMs: Date.now() })
    await objects.putJson(keys.go, { startAtMs: Date.now() + 300 })
    const code = await runRemoteTask({
      objects,
      prefix,
      key: { ecsTaskId: '0123abcd' },
      env: process.env,
      signal: new AbortController().signal,
      timing
    })
    expect(code).toBe(0)
    expect(parseTaskResult('result', await objects.getJson(keys.result(key))).task.status).toBe('ok')
  })
})
