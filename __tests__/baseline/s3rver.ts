/**
 * A real S3-protocol server for the S3 store's tests: @20minutes/s3rver 4.0.4 on 127.0.0.1.
 *
 * What s3rver 4.0.4 does not do like S3: it ignores `If-None-Match` and `If-Match` on PutObject and
 * overwrites (s3.test.ts shows it); its file store is not atomic (it rewrites an object's data,
 * `.md5` and metadata files in place: under concurrent writers a reader got an empty ETag `""`); it
 * rejects the SDK's aws-chunked streaming uploads; and its SigV4 check fails on bucket-level paths
 * (`/bucket/`), see `clientFor`.
 *
 * So the tests put a small loopback proxy in front of it (`startConditionalProxy`) that supplies
 * S3's guarantees and nothing else: per key, requests are serialised; a PutObject with
 * `If-None-Match: *` or `If-Match` is checked against the object's current ETag (an unsigned HEAD to
 * s3rver) and answered 412 PreconditionFailed (404 NoSuchKey for If-Match on a missing key) when the
 * condition fails; a forwarded write holds the key until s3rver serves the new bytes
 * (read-after-write). Signed requests pass through byte for byte, so s3rver still checks every
 * signature, stores the data, computes ETags and answers GET/HEAD/LIST itself.
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
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3'

interface S3rverInstance {
  run(): Promise<AddressInfo>
  close(): Promise<void>
}
type S3rverCtor = new (opts: Record<string, unknown>) => S3rverInstance
const S3rver = createRequire(import.meta.url)('@20minutes/s3rver') as S3rverCtor

/** s3rver on 127.0.0.1 (port 0) with `bucket`, storing in a temporary directory removed on close. */
export async function startS3rver(bucket: string): Promise<{ port: number; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'perf-gate-s3rver-'))
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: [{ name: bucket, configs: [] }]
  })
  const { port } = await server.run()
  return {
    port,
    close: async () => {
      await server.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

export interface ProxyLog {
  method: string
  key: string
  ifMatch?: string
  ifNoneMatch?: string
  status: number
}

/** S3's conditional writes and atomicity in front of s3rver (see the file comment). */
export async function startConditionalProxy(upstream: number) {
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
 * A client for s3rver (or the proxy in front of it); `config` adds to or overrides the settings.
 * Two s3rver 4.0.4 quirks are handled here, in the test client only:
 * - `requestChecksumCalculation: 'WHEN_REQUIRED'`: s3rver rejects the SDK's default aws-chunked
 *   streaming bodies (string bodies, which the store sends, work either way);
 * - s3rver canonicalises a bucket-level path (`/bucket/`, as in ListObjectsV2 or CreateBucket) as
 *   `/bucket`, so the SDK's SigV4 signature never matches; the path is sent without the slash.
 */
export const clientFor = (port: number, config: Partial<S3ClientConfig> = {}) => {
  const c = new S3Client({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${port}`,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    ...config
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
