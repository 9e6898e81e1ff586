/**
 * The built-in http engine: autocannon, used as a library inside the runner process.
 *
 * Load shape. Autocannon has no ramp, so every virtual user is its own autocannon instance with
 * one connection, and a small scheduler starts and stops instances to follow the profile: the
 * number of active connections at time t is ceil(level(t)), where level is the piecewise linear
 * profile (ramp 0 → vus over rampUpS then hold for durationS, or the stages, each a linear move
 * from the previous target to its own, starting from 0). Connections are never restarted
 * mid-run, so a ramp does not cost the in-flight requests of the others.
 *
 * Stopping is graceful: a connection that must go finishes its in-flight request (response, error
 * or timeout) and sends no more, so every request the target served is also counted here. If it
 * is still waiting after the request timeout plus a second, it is dropped. An abort stops every
 * connection at once (in-flight requests are then not counted).
 *
 * Samples. Each connection sends the requests of the list in order, round robin, one at a time
 * (no pipelining), so the k-th request sent on a connection is requests[k mod n]. Latency is
 * measured with the monotonic clock from the moment the request is sent to its completion;
 * failures are classified from the status (4xx, 5xx), from a timeout, or from a connection error
 * or a connection closed before the response (connection).
 */
import { performance } from 'node:perf_hooks'
import autocannon from 'autocannon'
import autocannonPackage from 'autocannon/package.json' with { type: 'json' }
import { failureFromStatus } from './common.js'
import { profileDurationMs, vuTimeline } from './http-profile.js'
import { prepareRequests, type PreparedRequest } from './http-requests.js'
import type { EngineRunContext, InProcessEngine } from './types.js'
import type { FailureKind, SampleSink } from '../model/index.js'
import { sleep, errorMessage } from '../util/index.js'

export interface HttpEngineOptions {
  /** Request timeout, whole seconds ≥ 1 (autocannon's unit and minimum). Default 10. */
  timeoutS?: number
  /** How often autocannon checks whether it must stop, ms. Default 200. */
  tickMs?: number
}

function autocannonVersion(): string {
  return typeof autocannonPackage.version === 'string' ? autocannonPackage.version : ''
}

/**
 * The parts of autocannon's Client this engine uses besides `response`: its `request`, `timeout`
 * and `connError` events, the request counters (for the graceful stop) and the response queue.
 */
interface ClientInternals extends NodeJS.EventEmitter {
  getRequestBuffer?: () => Buffer | undefined
  reqsMade?: number
  responseMax?: number
  pipelinedRequests?: { clear?: () => void }
}

interface Pending {
  index: number
  startNs: bigint
}

/**
 * A histogram that records nothing, for autocannon's own statistics (`histograms` option, the same
 * mechanism its worker mode uses). Samples are recorded here instead; autocannon's default
 * latency histogram alone takes about 2 MB per instance, i.e. per connection.
 */
const NO_HISTOGRAM = {
  __custom: true,
  recordValue: () => undefined,
  recordValueWithExpectedInterval: () => undefined,
  reset: () => undefined,
  destroy: () => undefined
}
const NO_HISTOGRAMS = { latencies: NO_HISTOGRAM, requests: NO_HISTOGRAM, throughput: NO_HISTOGRAM }

/** Epoch ms with sub-millisecond precision, from the monotonic clock. */
const epochMs = () => performance.timeOrigin + performance.now()

class Connection {
  client: ClientInternals | undefined
  stopping = false
  done = false
  private pending: Pending | undefined
  private orphan: Pending | undefined
  private sent = 0
  /** Bytes on the wire of each request of the list (they are static), learnt from the client. */
  private readonly sizes: (number | undefined)[] = []
  private hardStop: NodeJS.Timeout | undefined
  readonly finished: Promise<Error | undefined>
  private instance!: autocannon.Instance

  constructor(
    private readonly url: string,
    private readonly prepared: PreparedRequest[],
    private readonly sink: SampleSink,
    private readonly opts: Required<HttpEngineOptions>,
    backstopS: number
  ) {
    this.finished = new Promise(resolve => {
      const options: autocannon.Options & { histograms: typeof NO_HISTOGRAMS } = {
        url: this.url,
        connections: 1,
        pipelining: 1,
        duration: backstopS,
        timeout: this.opts.timeoutS,
        sampleInt: this.opts.tickMs,
        requests: this.prepared.map(p => p.request),
        skipAggregateResult: true,
        histograms: NO_HISTOGRAMS,
        setupClient: client => this.attach(client as unknown as ClientInternals)
      }
      this.instance = autocannon(options, (err: Error | null) => {
        this.done = true
        if (this.hardStop) clearTimeout(this.hardStop)
        resolve(err ?? undefined)
      })
    })
  }

  private emit(p: Pending, failure: FailureKind | undefined, bytesIn?: number): void {
    const prepared = this.prepared[p.index]
    this.sink.sample({
      label: prepared.label,
      endMs: epochMs(),
      latencyUs: Number(process.hrtime.bigint() - p.startNs) / 1000,
      ...(failure ? { failure } : {}),
      ...(bytesIn !== undefined ? { bytesIn } : {}),
      ...(this.sizes[p.index] !== undefined ? { bytesOut: this.sizes[p.index] } : {})
    })
  }

  /** Notes the size of request `index`, which must be the client's current request. */
  private learnSize(client: ClientInternals, index: number): void {
    if (this.sizes[index] !== undefined) return
    try {
      this.sizes[index] = client.getRequestBuffer?.()?.length
    } catch {
      // unknown; the samples carry no bytesOut
    }
  }

  private attach(client: ClientInternals): void {
    this.client = client
    const n = this.prepared.length
    client.on('request', () => {
      // The client moves to the next request only after this event: its current request is the
      // one sent last (or the first one, before anything was sent).
      this.learnSize(client, this.sent === 0 ? 0 : (this.sent - 1) % n)
      if (this.pending) {
        // A request is still open while a new one goes out: the connection was replaced. After a
        // timeout autocannon reports the timeout right after this event; otherwise the connection
        // was closed before the response.
        if (this.orphan) this.emit(this.orphan, 'connection')
        this.orphan = this.pending
        client.pipelinedRequests?.clear?.()
        const orphan = this.orphan
        queueMicrotask(() => {
          if (this.orphan === orphan) {
            this.orphan = undefined
            this.emit(orphan, 'connection')
          }
        })
      }
      this.pending = { index: this.sent++ % n, startNs: process.hrtime.bigint() }
    })
    client.on('response', (status: number, resBytes: number) => {
      const p = this.pending
      this.pending = undefined
      if (!p) return
      this.learnSize(client, p.index)
      this.emit(p, failureFromStatus(status), resBytes)
    })
    client.on('timeout', () => {
      const p = this.orphan ?? this.pending
      if (p === this.orphan) this.orphan = undefined
      else this.pending = undefined
      if (p) this.emit(p, 'timeout')
    })
    client.on('connError', () => {
      const p = this.pending
      this.pending = undefined
      if (p) {
        this.learnSize(client, p.index)
        this.emit(p, 'connection')
      }
      // autocannon keeps the failed request queued after a connection error; drop it so the queue
      // does not grow while a target refuses connections.
      client.pipelinedRequests?.clear?.()
    })
  }

  /** Lets the in-flight request finish, then stops; drops it after the request timeout. */
  stopGracefully(): void {
    if (this.stopping || this.done) return
    this.stopping = true
    const c = this.client
    if (c && typeof c.reqsMade === 'number' && c.reqsMade > 0) c.responseMax = c.reqsMade
    else this.instance.stop()
    this.hardStop = setTimeout(() => this.stopNow(), this.opts.timeoutS * 1000 + 1000)
  }

  /** Stops at once; an in-flight request is not counted. */
  stopNow(): void {
    this.stopping = true
    if (!this.done) this.instance.stop()
  }
}

async function runProfile(
  ctx: EngineRunContext,
  sink: SampleSink,
  signal: AbortSignal,
  opts: Required<HttpEngineOptions>
): Promise<{ exitCode: number; message: string }> {
  let prepared: PreparedRequest[]
  try {
    prepared = prepareRequests(ctx.requests, ctx.load.targetUrl)
  } catch (e) {
    return { exitCode: 2, message: `http engine: ${errorMessage(e)}` }
  }
  const steps = vuTimeline(ctx.load)
  const totalMs = profileDurationMs(ctx.load)
  const active: Connection[] = []
  const all: Connection[] = []
  const start = performance.now()
  const elapsed = () => performance.now() - start
  const backstopS = Math.ceil((totalMs + 1000) / 1000) + opts.timeoutS + 2
  let peak = 0

  const reportUsers = () => sink.activeUsers(Date.now(), active.length)
  const setVus = (n: number) => {
    while (active.length < n) {
      const remainingS = Math.max(1, backstopS - Math.floor(elapsed() / 1000))
      const c = new Connection(ctx.load.targetUrl, prepared, sink, opts, remainingS)
      active.push(c)
      all.push(c)
    }
    while (active.length > n) active.pop()!.stopGracefully()
    peak = Math.max(peak, n)
    reportUsers()
  }

  const usersTimer = setInterval(reportUsers, 1000)
  try {
    for (const step of steps) {
      await sleep(step.atMs - elapsed(), signal)
      if (signal.aborted) break
      setVus(step.vus)
    }
    if (!signal.aborted) await sleep(totalMs - elapsed(), signal)
  } finally {
    clearInterval(usersTimer)
  }
  const aborted = signal.aborted
  for (const c of active) {
    if (aborted) c.stopNow()
    else c.stopGracefully()
  }
  // An abort while the connections drain stops them at once.
  const stopAll = () => all.forEach(c => c.stopNow())
  if (aborted) stopAll()
  else signal.addEventListener('abort', stopAll, { once: true })
  active.length = 0
  const errors = (await Promise.all(all.map(c => c.finished))).filter((e): e is Error => e !== undefined)
  signal.removeEventListener('abort', stopAll)
  sink.activeUsers(Date.now(), 0)
  const tookS = (elapsed() / 1000).toFixed(1)
  if (errors.length) return { exitCode: 1, message: `autocannon failed: ${errors[0].message}` }
  if (aborted) return { exitCode: 0, message: `stopped early after ${tookS} s` }
  return { exitCode: 0, message: `ran ${tookS} s with up to ${peak} connections` }
}

/** An http engine with its own options (the default one is `httpEngine`). */
export function createHttpEngine(options: HttpEngineOptions = {}): InProcessEngine {
  const timeoutS = Math.max(1, Math.ceil(options.timeoutS ?? 10))
  const opts: Required<HttpEngineOptions> = { timeoutS, tickMs: options.tickMs ?? 200 }
  return {
    name: 'http',
    kind: 'in-process',
    async version() {
      const v = autocannonVersion()
      return v ? `autocannon ${v}` : 'autocannon'
    },
    run: (ctx, sink, signal) => runProfile(ctx, sink, signal, opts)
  }
}

export const httpEngine: InProcessEngine = createHttpEngine()
