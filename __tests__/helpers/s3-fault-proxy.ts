/**
 * A reverse proxy on 127.0.0.1 in front of an S3-protocol server (s3rver) that injects S3 errors.
 * Requests it does not fault are streamed through unchanged, Host header included (it is part of the
 * SigV4 signature the upstream checks). A faulted request gets S3's XML error with the chosen status
 * and never reaches the upstream.
 *
 * s3rver rewrites an object's file in place, so a GET racing a PUT of the same key can stream fewer
 * bytes than its Content-Length says, and the client then waits for the rest forever. Real S3
 * replaces objects atomically, so the proxy buffers each GET's body and answers such a torn read
 * with 503 SlowDown instead (counted in `torn`), which S3 clients retry.
 *
 *   const proxy = await startS3FaultProxy({ upstream: s3rverUrl, faults: { burst: { count: 3, status: 503, code: 'SlowDown' } } })
 *   new S3Client({ endpoint: proxy.endpoint, forcePathStyle: true, ... })
 *   proxy.faulted   // 3
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface S3Fault {
  status: 500 | 503
  code: 'SlowDown' | 'InternalError'
}

/**
 * `burst`: the first `count` requests fail; `every`: then every n-th request fails (SlowDown 503).
 * A function decides per request (`index` counts every request the proxy received, from 0).
 */
export type S3FaultPlan =
  | { every?: number; burst?: { count: number } & S3Fault }
  | ((req: IncomingMessage, index: number) => S3Fault | undefined)

export interface S3FaultProxy {
  endpoint: string
  /** Requests passed to the upstream. */
  readonly forwarded: number
  /** Requests answered with an injected error. */
  readonly faulted: number
  /** GETs whose upstream body was shorter than its Content-Length, answered with 503 SlowDown. */
  readonly torn: number
  log: { method: string; path: string; status: number; fault?: string }[]
  /** Replaces the fault plan (the request index keeps counting). */
  setFaults(faults: S3FaultPlan | undefined): void
  close(): Promise<void>
}

const MESSAGES: Record<S3Fault['code'], string> = {
  SlowDown: 'Please reduce your request rate.',
  InternalError: 'We encountered an internal error. Please try again.'
}

function sendError(res: ServerResponse, fault: S3Fault, requestId: string): void {
  res.writeHead(fault.status, { 'content-type': 'application/xml', 'x-amz-request-id': requestId })
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${fault.code}</Code>` +
      `<Message>${MESSAGES[fault.code]}</Message><RequestId>${requestId}</RequestId></Error>`
  )
}

export async function startS3FaultProxy(opts: {
  upstream: string
  faults?: S3FaultPlan
}): Promise<S3FaultProxy> {
  const upstream = new URL(opts.upstream)
  let faults = opts.faults
  let index = 0
  let forwarded = 0
  let faulted = 0
  let torn = 0
  const log: S3FaultProxy['log'] = []

  const decide = (req: IncomingMessage, i: number): S3Fault | undefined => {
    if (!faults) return undefined
    if (typeof faults === 'function') return faults(req, i)
    const burst = faults.burst
    if (burst && i < burst.count) return { status: burst.status, code: burst.code }
    const every = faults.every
    if (every && every > 0 && (i - (burst?.count ?? 0) + 1) % every === 0)
      return { status: 503, code: 'SlowDown' }
    return undefined
  }

  const server = createServer((req, res) => {
    const path = req.url ?? '/'
    const method = req.method ?? 'GET'
    const i = index++
    const fault = decide(req, i)
    if (fault) {
      faulted++
      log.push({ method, path, status: fault.status, fault: fault.code })
      // Drain the upload before answering so the client is not cut off mid-body.
      req.resume()
      req.once('end', () => sendError(res, fault, `fault-${i}`))
      return
    }
    forwarded++
    const up = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method,
        path,
        headers: req.rawHeaders,
        agent: false
      },
      upRes => {
        log.push({ method, path, status: upRes.statusCode ?? 0 })
        const declared = upRes.headers['content-length']
        if (method !== 'GET' || upRes.statusCode !== 200 || declared === undefined) {
          res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, upRes.rawHeaders)
          upRes.pipe(res)
          return
        }
        // The whole body, or what arrived before the upstream went quiet for a second.
        const expected = Number(declared)
        const chunks: Buffer[] = []
        let received = 0
        let done = false
        const finish = () => {
          if (done) return
          done = true
          clearTimeout(quiet)
          if (received === expected) {
            res.writeHead(200, upRes.statusMessage, upRes.rawHeaders)
            res.end(Buffer.concat(chunks))
          } else {
            torn++
            up.destroy()
            sendError(res, { status: 503, code: 'SlowDown' }, `torn-${i}`)
          }
        }
        const quiet = setTimeout(finish, 1000)
        upRes.on('data', (c: Buffer) => {
          chunks.push(c)
          received += c.length
          if (received >= expected) finish()
          else quiet.refresh()
        })
        upRes.once('end', finish)
        upRes.once('aborted', finish)
        upRes.once('error', finish)
      }
    )
    up.on('error', e => {
      if (res.writableEnded) return
      log.push({ method, path, status: 502 })
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' })
      res.end(`proxy: ${e.message}`)
    })
    req.pipe(up)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })

  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get forwarded() {
      return forwarded
    },
    get faulted() {
      return faulted
    },
    get torn() {
      return torn
    },
    log,
    setFaults: f => {
      faults = f
    },
    close: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
