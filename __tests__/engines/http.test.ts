import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createHttpEngine, httpEngine } from '../../src/engines/http.js'
import { profileDurationMs, vuTimeline } from '../../src/engines/http-profile.js'
import type { EngineRunContext } from '../../src/engines/types.js'
import type { TaskLoad } from '../../src/model/index.js'
import type { Sample, SampleSink } from '../../src/model/index.js'
import { startTarget, type TargetServer } from '../../src/target/server.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

class ArraySink implements SampleSink {
  samples: Sample[] = []
  users: { tMs: number; n: number }[] = []
  sample(s: Sample): void {
    this.samples.push(s)
  }
  check(): void {}
  activeUsers(tMs: number, n: number): void {
    this.users.push({ tMs, n })
  }
  threshold(): void {}
  byLabel(): Record<string, Sample[]> {
    const out: Record<string, Sample[]> = {}
    for (const s of this.samples) (out[s.label] ??= []).push(s)
    return out
  }
}

function ctxFor(
  load: Partial<TaskLoad> & { targetUrl: string },
  requests?: EngineRunContext['requests']
): EngineRunContext {
  return {
    load: { vus: 2, durationS: 1, rampUpS: 0, ...load },
    requests,
    workDir: '/nonexistent',
    tags: {},
    env: {}
  }
}

async function freeClosedPort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>(r => srv.listen(0, '127.0.0.1', () => r()))
  const port = (srv.address() as { port: number }).port
  await new Promise<void>(r => srv.close(() => r()))
  return port
}

describe('vuTimeline (active connections over time)', () => {
  it('holds the VUs from the start when there is no ramp', () => {
    const load: TaskLoad = { vus: 3, durationS: 2, rampUpS: 0, targetUrl: 'http://127.0.0.1:1' }
    expect(vuTimeline(load)).toEqual([{ atMs: 0, vus: 3 }])
    expect(profileDurationMs(load)).toBe(2000)
  })

  it('ramps linearly, one connection each time the level passes an integer', () => {
    const load: TaskLoad = { vus: 4, durationS: 1, rampUpS: 2, targetUrl: 'http://127.0.0.1:1' }
    expect(vuTimeline(load)).toEqual([
      { atMs: 0, vus: 1 },
      { atMs: 500, vus: 2 },
      { atMs: 1000, vus: 3 },
      { atMs: 1500, vus: 4 }
    ])
    expect(profileDurationMs(load)).toBe(3000)
  })

  it('follows stages up, flat and down to zero', () => {
    const load: TaskLoad = {
      vus: 2,
      durationS: 1,
      rampUpS: 0,
      stages: [
        { durationS: 2, target: 2 },
        { durationS: 1, target: 2 },
        { durationS: 2, target: 0 }
      ],
      targetUrl: 'http://127.0.0.1:1'
    }
    expect(vuTimeline(load)).toEqual([
      { atMs: 0, vus: 1 },
      { atMs: 1000, vus: 2 },
      { atMs: 4000, vus: 1 },
      { atMs: 5000, vus: 0 }
    ])
    expect(profileDurationMs(load)).toBe(5000)
  })
})

describe('http engine against the sample target', () => {
  let target: TargetServer
  beforeAll(async () => {
    target = await startTarget({ port: 0, seed: 7, maxSeconds: 120 })
  })
  afterAll(async () => {
    await target.close()
  })

  it('reports its autocannon version', async () => {
    const pkg = JSON.parse(readFileSync(resolve(root, 'node_modules', 'autocannon', 'package.json'), 'utf8'))
    expect(await httpEngine.version()).toBe(`autocannon ${pkg.version}`)
  })

  it('emits one sample per served request, labelled per request, with failures by status', async () => {
    const before = target.stats().byRoute
    const sink = new ArraySink()
    const t0 = Date.now()
    const res = await httpEngine.run(
      ctxFor({ vus: 4, durationS: 2, targetUrl: target.url }, [
        { label: 'fast', path: '/fast' },
        { label: 'flaky', path: '/flaky' },
        {
          label: 'create',
          method: 'POST',
          path: '/items',
          body: '{"a":1}',
          headers: { 'content-type': 'application/json' }
        },
        { path: '/nope' }
      ]),
      sink,
      new AbortController().signal
    )
    const t1 = Date.now()
    expect(res.exitCode).toBe(0)
    const after = target.stats().byRoute
    const served = (route: string) => (after[route] ?? 0) - (before[route] ?? 0)
    const by = sink.byLabel()
    expect(Object.keys(by).sort()).toEqual(['GET /nope', 'create', 'fast', 'flaky'])
    expect(by.fast.length).toBeGreaterThan(20)
    expect(by.fast.length).toBe(served('/fast'))
    expect(by.flaky.length).toBe(served('/flaky'))
    expect(by.create.length).toBe(served('/items'))
    expect(by['GET /nope'].length).toBe(served('/nope'))
    // Round robin over four requests per connection: the counts differ by at most one per connection.
    const counts = Object.values(by).map(v => v.length)
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(4)

    expect(by.fast.every(s => s.failure === undefined)).toBe(true)
    expect(by.create.every(s => s.failure === undefined)).toBe(true)
    expect(by['GET /nope'].every(s => s.failure === 'http_4xx')).toBe(true)
    const flaky5xx = by.flaky.filter(s => s.failure === 'http_5xx').length / by.flaky.length
    expect(flaky5xx).toBeGreaterThan(0.15)
    expect(flaky5xx).toBeLessThan(0.45)
    expect(by.flaky.every(s => s.failure === undefined || s.failure === 'http_5xx')).toBe(true)

    for (const s of sink.samples) {
      expect(s.endMs).toBeGreaterThanOrEqual(t0)
      expect(s.endMs).toBeLessThanOrEqual(t1)
      expect(s.latencyUs).toBeGreaterThan(0)
      expect(s.bytesIn).toBeGreaterThan(0)
      expect(s.bytesOut).toBeGreaterThan(0)
    }
    // /flaky sleeps 5–50 ms before answering.
    expect(Math.min(...by.flaky.map(s => s.latencyUs))).toBeGreaterThanOrEqual(4000)
    // Request bytes as written on the wire: request line, Host, Connection and the blank line.
    const host = new URL(target.url).host
    expect(by.fast[0].bytesOut).toBe(
      Buffer.byteLength(`GET /fast HTTP/1.1\r\nHost: ${host}\r\nConnection: keep-alive\r\n\r\n`)
    )
    // The POST carries its body, so it is larger on the wire than the GETs.
    expect(by.create[0].bytesOut!).toBeGreaterThan(by.fast[0].bytesOut! + 7)
    // The response bytes include the status line and headers.
    expect(by.fast[0].bytesIn!).toBeGreaterThan('{"ok":true}\n'.length + 20)
    expect(Math.max(...sink.users.map(u => u.n))).toBe(4)
    expect(sink.users[sink.users.length - 1].n).toBe(0)
  })

  it('follows a ramp: active users go up and down and every served request is counted', async () => {
    const before = target.stats().byRoute['/fast'] ?? 0
    const sink = new ArraySink()
    const res = await httpEngine.run(
      ctxFor(
        {
          targetUrl: target.url,
          stages: [
            { durationS: 1, target: 3 },
            { durationS: 1, target: 0 }
          ]
        },
        [{ label: 'fast', path: '/fast' }]
      ),
      sink,
      new AbortController().signal
    )
    expect(res.exitCode).toBe(0)
    const levels = sink.users.map(u => u.n)
    expect(levels[0]).toBe(1)
    expect(Math.max(...levels)).toBe(3)
    expect(levels).toContain(2)
    expect(levels[levels.length - 1]).toBe(0)
    expect(sink.samples.length).toBe((target.stats().byRoute['/fast'] ?? 0) - before)
  })

  it('counts requests to a closed port as connection failures', async () => {
    const port = await freeClosedPort()
    const sink = new ArraySink()
    const res = await httpEngine.run(
      ctxFor({ vus: 2, durationS: 1, targetUrl: `http://127.0.0.1:${port}` }, [{ label: 'x', path: '/x' }]),
      sink,
      new AbortController().signal
    )
    expect(res.exitCode).toBe(0)
    expect(sink.samples.length).toBeGreaterThan(10)
    expect(sink.samples.every(s => s.failure === 'connection' && s.label === 'x')).toBe(true)
    expect(sink.samples.every(s => s.bytesIn === undefined && s.bytesOut! > 0)).toBe(true)
  })

  it('counts timeouts as timeout failures', async () => {
    const slow = await startTarget({ port: 0, faults: { '/slow': { delayMs: 1200 } }, maxSeconds: 60 })
    try {
      const sink = new ArraySink()
      const engine = createHttpEngine({ timeoutS: 1 })
      const res = await engine.run(
        ctxFor({ vus: 2, durationS: 1.5, targetUrl: slow.url }, [{ label: 'slow', path: '/slow' }]),
        sink,
        new AbortController().signal
      )
      expect(res.exitCode).toBe(0)
      // Two connections, each times out at ~1 s and ~2 s (the second one drains after the end).
      expect(sink.samples.length).toBeGreaterThanOrEqual(2)
      expect(sink.samples.length).toBeLessThanOrEqual(6)
      expect(sink.samples.every(s => s.failure === 'timeout')).toBe(true)
      expect(Math.min(...sink.samples.map(s => s.latencyUs))).toBeGreaterThanOrEqual(900_000)
    } finally {
      // Let the target finish the requests the engine gave up on, so no timer outlives the test.
      await new Promise(r => setTimeout(r, 1300))
      await slow.close()
    }
  })

  it('stops early when aborted', async () => {
    const sink = new ArraySink()
    const ac = new AbortController()
    const t0 = Date.now()
    setTimeout(() => ac.abort(), 700)
    const res = await httpEngine.run(
      ctxFor({ vus: 2, durationS: 30, targetUrl: target.url }, [{ path: '/fast' }]),
      sink,
      ac.signal
    )
    const took = Date.now() - t0
    expect(took).toBeLessThan(5000)
    expect(res.message).toMatch(/stopped early/)
    expect(sink.samples.length).toBeGreaterThan(0)
    expect(sink.samples.every(s => s.label === 'GET /fast')).toBe(true)
  })

  it('refuses an unsupported method, naming the request', async () => {
    const sink = new ArraySink()
    const res = await httpEngine.run(
      ctxFor({ targetUrl: target.url }, [{ path: '/fast' }, { method: 'BREW', path: '/pot' }]),
      sink,
      new AbortController().signal
    )
    expect(res.exitCode).toBe(2)
    expect(res.message).toContain('requests[1].method')
    expect(sink.samples).toHaveLength(0)
  })
})
