/**
 * The bundled sample target: a small HTTP server on 127.0.0.1 for the demo and the tests.
 *
 * Routes: /fast (tiny JSON), /slow (20–200 ms), /flaky (5–50 ms, 30% HTTP 500), /big (16 KiB),
 * POST /items (echo size), /health; anything else 404.
 *
 * Faults can be injected per route, at start or at run time through `POST /__perf-gate/faults`:
 * `{ "/fast": { "delayMs": 30, "errorRate": 0.1 } }` adds latency and failures to chosen routes.
 * `concurrency` caps how many requests are served at once (the rest queue), each taking
 * `serviceMs`, which gives the server a known capacity of concurrency / serviceMs requests per
 * second for stress tests. With `recoveryMs`, an overload (a request had to queue) also leaves the
 * server slower for that long after the last queued request got its turn: every request then takes
 * `recoveryPenaltyMs` more service time, as a cache or a pool that needs time to recover would.
 * That gives spike tests a known recovery time. The server refuses to bind anything but loopback
 * and stops by itself after `maxSeconds`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { sleep } from '../util/index.js'

export interface RouteFault {
  /** Extra latency added before answering, ms. */
  delayMs?: number
  /** Extra random latency, uniform in [0, jitterMs). */
  jitterMs?: number
  /** Share of requests answered with HTTP 500, 0–1. */
  errorRate?: number
}

export interface TargetOptions {
  port?: number
  host?: string
  faults?: Record<string, RouteFault>
  /** Requests served at once; the rest wait in a queue. 0 = unlimited. */
  concurrency?: number
  /** Fixed service time of every request when `concurrency` is set, ms. */
  serviceMs?: number
  /** With `concurrency`: how long the server stays slow after the last queued request, ms. */
  recoveryMs?: number
  /** Extra service time of every request while the server recovers, ms. */
  recoveryPenaltyMs?: number
  /** The server closes itself after this many seconds. */
  maxSeconds?: number
  /** Seeded randomness for reproducible runs. */
  seed?: number
}

export interface TargetServer {
  url: string
  port: number
  server: Server
  setFaults(f: Record<string, RouteFault>): void
  stats(): { served: number; byRoute: Record<string, number> }
  close(): Promise<void>
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1'])

function mulberry(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const BIG = Buffer.alloc(16384, 'x')

/**
 * The server's capacity: at most `concurrency` requests are served at once, the rest wait in a
 * queue. A request that has to queue is an overload; with `recoveryMs` the server then stays slow
 * (`recoveryPenaltyMs` more per request) until `recoveryMs` after the last queued request got its turn.
 */
class Capacity {
  private active = 0
  private readonly queue: (() => void)[] = []
  /** Until when (epoch ms) the server is recovering from an overload. */
  private recoveringUntil = 0

  constructor(private readonly opts: TargetOptions) {}

  /** Whether the number of requests served at once is capped. */
  get limited(): boolean {
    return !!this.limit
  }

  private get limit(): number {
    return this.opts.concurrency ?? 0
  }

  async acquire(): Promise<void> {
    if (!this.limit || this.active < this.limit) {
      this.active++
      return
    }
    this.overloaded()
    await new Promise<void>(resolve => this.queue.push(resolve))
  }

  release(): void {
    const next = this.queue.shift()
    if (next) {
      this.overloaded()
      next()
    } else this.active--
  }

  /** The extra service time of a request starting now. */
  penaltyMs(): number {
    return Date.now() < this.recoveringUntil ? (this.opts.recoveryPenaltyMs ?? 0) : 0
  }

  private overloaded(): void {
    if (this.opts.recoveryMs)
      this.recoveringUntil = Math.max(this.recoveringUntil, Date.now() + this.opts.recoveryMs)
  }
}

function send(res: ServerResponse, code: number, body: Buffer | string, type = 'application/json'): void {
  const buf = typeof body === 'string' ? Buffer.from(body) : body
  res.writeHead(code, { 'content-type': type, 'content-length': buf.length })
  res.end(buf)
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

/** Answers one request of the sample routes (after service time and faults). */
async function serveRoute(
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer | undefined,
  random: () => number
): Promise<void> {
  switch (path) {
    case '/fast':
    case '/health':
      send(res, 200, '{"ok":true}\n')
      return
    case '/slow':
      await sleep(20 + random() * 180)
      send(res, 200, '{"ok":true,"slow":true}\n')
      return
    case '/flaky':
      await sleep(5 + random() * 45)
      if (random() < 0.3) send(res, 500, '{"error":"flaky"}\n')
      else send(res, 200, '{"ok":true}\n')
      return
    case '/big':
      send(res, 200, BIG, 'application/octet-stream')
      return
    case '/items':
      send(
        res,
        req.method === 'POST' ? 201 : 200,
        JSON.stringify({ ok: true, received: body?.length ?? 0 }) + '\n'
      )
      return
    default:
      send(res, 404, 'not found\n', 'text/plain')
  }
}

/** The state of a running target: its faults, its capacity and what it served. */
class Target {
  faults: Record<string, RouteFault>
  served = 0
  readonly byRoute: Record<string, number> = {}
  private readonly capacity: Capacity
  private readonly random: () => number

  constructor(private readonly opts: TargetOptions) {
    this.faults = { ...(opts.faults ?? {}) }
    this.capacity = new Capacity(opts)
    this.random = opts.seed === undefined ? Math.random : mulberry(opts.seed)
  }

  readonly handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0]
    if (path === '/__perf-gate/faults' && req.method === 'POST') return this.setFaultsFrom(req, res)
    const body = req.method === 'POST' ? await readBody(req) : undefined
    await this.capacity.acquire()
    try {
      this.served++
      this.byRoute[path] = (this.byRoute[path] ?? 0) + 1
      if (await this.serveFault(path, res)) return
      await serveRoute(path, req, res, body, this.random)
    } finally {
      this.capacity.release()
    }
  }

  /** `POST /__perf-gate/faults`: replaces the faults with the posted JSON object. */
  private async setFaultsFrom(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      this.faults = JSON.parse((await readBody(req)).toString('utf8') || '{}')
      send(res, 200, JSON.stringify({ ok: true, faults: this.faults }))
    } catch {
      send(res, 400, JSON.stringify({ error: 'faults must be a JSON object' }))
    }
  }

  /** Waits the service time and the route's injected delay; true when it answered an injected failure. */
  private async serveFault(path: string, res: ServerResponse): Promise<boolean> {
    const penalty = this.capacity.penaltyMs()
    if (this.capacity.limited && (this.opts.serviceMs || penalty))
      await sleep((this.opts.serviceMs ?? 0) + penalty)
    const f = this.faults[path]
    if (f?.delayMs || f?.jitterMs) await sleep((f.delayMs ?? 0) + this.random() * (f.jitterMs ?? 0))
    if (f?.errorRate && this.random() < f.errorRate) {
      send(res, 500, '{"error":"injected failure"}\n')
      return true
    }
    return false
  }
}

/** Listens on `host`:`port` (0 = any free port); returns the port. */
async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  return (server.address() as AddressInfo).port
}

export async function startTarget(opts: TargetOptions = {}): Promise<TargetServer> {
  const host = opts.host ?? '127.0.0.1'
  if (!LOOPBACK.has(host)) throw new Error(`target host must be a loopback address, got ${host}`)
  const target = new Target(opts)
  const server = createServer((req, res) => {
    target.handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, '{"error":"internal"}\n')
      else res.destroy()
    })
  })
  server.keepAliveTimeout = 5000
  const port = await listen(server, opts.port ?? 0, host)
  const stopTimer = setTimeout(() => void close(), (opts.maxSeconds ?? 900) * 1000)
  stopTimer.unref()

  let closing: Promise<void> | undefined
  function close(): Promise<void> {
    if (!closing) {
      clearTimeout(stopTimer)
      closing = new Promise<void>(resolve => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    }
    return closing
  }

  return {
    url: `http://${host === '::1' ? '[::1]' : host}:${port}`,
    port,
    server,
    setFaults(f) {
      target.faults = { ...f }
    },
    stats: () => ({ served: target.served, byRoute: { ...target.byRoute } }),
    close
  }
}
