/**
 * A reverse proxy on 127.0.0.1 in front of an S3-protocol server (s3rver) that injects S3 errors.
 * Requests it does not fault are streamed through unchanged, Host header included (it is part of the
 * SigV4 signature the upstream checks). A faulted request gets S3's XML error with the chosen status
 * and never reaches the upstream.
 *
 *   const proxy = await startS3FaultProxy({ upstream: s3rverUrl, faults: { burst: { count: 3, status: 503, code: 'SlowDown' } } })
 *   new S3Client({ endpoint: proxy.endpoint, forcePathStyle: true, ... })
 *   proxy.faulted   // 3
 */
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http'
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
  log: { method: string; path: string; status: number; fault?: string }[]
  /** Replaces the fault plan (the request index keeps counting). */
  setFaults(faults: S3FaultPlan | undefined): void
  close(): Promise<void>
}

const MESSAGES: Record<S3Fault['code'], string> = {
  SlowDown: 'Please reduce your request rate.',
  InternalError: 'We encountered an internal error. Please try again.'
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
      req.once('end', () => {
        res.writeHead(fault.status, { 'content-type': 'application/xml', 'x-amz-request-id': `fault-${i}` })
        res.end(
          `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${fault.code}</Code>` +
            `<Message>${MESSAGES[fault.code]}</Message><RequestId>fault-${i}</RequestId></Error>`
        )
      })
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
        res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, upRes.rawHeaders)
        upRes.pipe(res)
      }
    )
    up.on('error', e => {
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
