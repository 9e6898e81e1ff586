/**
 * Each phase of a Fargate run on its own, on a fake clock (its sleep advances it and moves the
 * simulated tasks along), a bucket in memory and a recording ECS stand-in.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { awaitBarrier } from '../../src/fleet/fargate/phases/barrier.js'
import { stopLeftovers } from '../../src/fleet/fargate/phases/cleanup.js'
import { collectResults } from '../../src/fleet/fargate/phases/collect.js'
import { startLoad } from '../../src/fleet/fargate/phases/go.js'
import { startHeartbeat } from '../../src/fleet/fargate/phases/heartbeat.js'
import { clientTokenFor, launchTasks, type LaunchConfig } from '../../src/fleet/fargate/phases/launch.js'
import { publishRun } from '../../src/fleet/fargate/phases/publish.js'
import { watchRun } from '../../src/fleet/fargate/phases/watch.js'
import { RunControl } from '../../src/fleet/fargate/run-control.js'
import { slotsOf, type Slot } from '../../src/fleet/fargate/slots.js'
import type { FleetProgress } from '../../src/model/index.js'
import type { TaskEnvelope } from '../../src/runner/objects.js'
import { fakeContext, specs, T0, target, type TaskScript } from './fargate-fakes.js'

const RUN = 'phase-run'
const REGIONS = ['us-east-1', 'us-east-1', 'eu-west-1']

function setup(scripts?: (n: number) => TaskScript, regions = REGIONS, timing = {}) {
  const f = fakeContext(RUN, scripts, timing)
  const slots = slotsOf(specs(RUN, regions))
  return { ...f, slots, ctrl: new RunControl(f.ctx, {}) }
}

function config(o: Partial<LaunchConfig> = {}): LaunchConfig {
  return {
    runId: RUN,
    target,
    bucketRegion: 'us-east-1',
    spot: false,
    startedBy: 'perf-gate-1',
    ...o
  }
}

/** Launched slots whose tasks are ready (the launch and barrier phases run for real). */
async function readySetup(scripts?: (n: number) => TaskScript, regions = REGIONS, timing = {}) {
  const f = setup(scripts, regions, timing)
  await launchTasks(f.ctx, f.slots, config(), f.ctrl)
  const barrier = await awaitBarrier(f.ctx, f.slots, f.ctrl, 0)
  return { ...f, barrier }
}

describe('publish', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pg-publish-'))
    writeFileSync(join(dir, 'load.js'), 'export default function () {}\n')
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('writes one envelope per task, without a start time and without a bundle', async () => {
    const { ctx, store, slots, counts } = setup()
    await publishRun(ctx, slots)
    const env = store.doc<TaskEnvelope>(`runs/${RUN}/tasks/us-east-1-0001.json`)!
    expect(env).toMatchObject({ schema: 'perf-gate/remote-task', version: 1, bundle: false })
    expect(env.spec).toMatchObject({ region: 'us-east-1', taskIndex: 1, startAtMs: null })
    expect(store.writes.filter(k => k.includes('/tasks/'))).toHaveLength(3)
    expect(counts['s3:PutObject']).toBe(3)
  })

  it('uploads the script folder as the bundle and points each envelope at the script inside it', async () => {
    const { ctx, store, slots, notices } = setup()
    for (const s of slots) s.spec = { ...s.spec, script: join(dir, 'load.js') }
    await publishRun(ctx, slots)
    expect(store.writes[0]).toBe(`runs/${RUN}/bundle.tgz`)
    const tgz = store.objects.get(`runs/${RUN}/bundle.tgz`) as Buffer
    expect(Buffer.isBuffer(tgz)).toBe(true)
    const listing = execFileSync('tar', ['-tzf', '-'], { input: tgz }).toString().split('\n')
    expect(listing.map(l => l.replace(/^\.\//, ''))).toContain('load.js')
    expect(store.doc<TaskEnvelope>(`runs/${RUN}/tasks/eu-west-1-0002.json`)).toMatchObject({
      bundle: true,
      spec: { script: 'load.js' }
    })
    expect(notices).toEqual([expect.stringMatching(/^script bundle: \d+ KiB$/)])
  })
})

describe('heartbeat', () => {
  it('beats at once and every heartbeatMs until stopped', async () => {
    const { ctx, store } = setup(undefined, REGIONS, { heartbeatMs: 5 })
    const stop = await startHeartbeat(ctx)
    await new Promise(r => setTimeout(r, 60))
    stop()
    const beats = store.writes.filter(k => k.endsWith('heartbeat.json')).length
    expect(beats).toBeGreaterThan(2)
    await new Promise(r => setTimeout(r, 30))
    expect(store.writes.filter(k => k.endsWith('heartbeat.json'))).toHaveLength(beats)
    expect(store.doc(`runs/${RUN}/heartbeat.json`)).toEqual({ atMs: T0 })
  })
})

describe('launch', () => {
  it('starts each region in batches of 10, tells every task its key and reports the ARNs', async () => {
    const regions = [...Array(23).fill('us-east-1'), 'eu-west-1']
    const { ctx, store, slots, ctrl, ecs, notices } = setup(undefined, regions)
    const launched: Record<string, string[]>[] = []
    await launchTasks(ctx, slots, config({ onLaunched: l => launched.push(structuredClone(l)) }), ctrl)
    expect(ecs.calls.sort()).toEqual([
      'launch eu-west-1 1',
      'launch us-east-1 10',
      'launch us-east-1 10',
      'launch us-east-1 3'
    ])
    expect(slots.every(s => s.arn)).toBe(true)
    const first = ecs.requests.find(r => r.target.region === 'eu-west-1')!
    expect(first).toMatchObject({
      startedBy: 'perf-gate-1',
      clientToken: clientTokenFor(RUN, 'eu-west-1', 0),
      env: { PERF_GATE_RUN_PREFIX: `runs/${RUN}`, PERF_GATE_RUN_ID: RUN, PERF_GATE_BUCKET: 'fake-bucket' },
      tags: { 'perf-gate:run': RUN }
    })
    const taskId = slots[23].arn!.split('/').pop()
    expect(store.doc(`runs/${RUN}/assign/${taskId}.json`)).toEqual({ key: 'eu-west-1-0023' })
    expect(Object.values(launched.at(-1)!).flat()).toHaveLength(24)
    expect(notices).toEqual(['launched 24 of 24 task(s) in 2 region(s)'])
  })

  it('names the tasks RunTask would not start, and launches nothing once the run is stopping', async () => {
    const a = setup()
    a.tasks.refuse['eu-west-1'] = 'RESOURCE:MEMORY'
    await launchTasks(a.ctx, a.slots, config(), a.ctrl)
    expect(a.slots[2]).toMatchObject({ missing: 'not launched: RESOURCE:MEMORY' })
    expect(a.notices).toEqual(['launched 2 of 3 task(s) in 2 region(s)'])

    const b = setup()
    await b.ctrl.abort('stopped early')
    await launchTasks(b.ctx, b.slots, config(), b.ctrl)
    expect(b.ecs.calls).toEqual([])
    expect(b.notices.at(-1)).toBe('launched 0 of 3 task(s) in 2 region(s)')
  })

  it('fails for a region without a runner stack', async () => {
    const { ctx, slots, ctrl } = setup()
    const only = (region: string) => {
      if (region !== 'us-east-1') throw new Error(`no runner stack found for region ${region}`)
      return target(region)
    }
    await expect(launchTasks(ctx, slots, config({ target: only }), ctrl)).rejects.toThrow(
      'no runner stack found for region eu-west-1'
    )
  })
})

describe('start barrier', () => {
  it('waits on the clock until every task is ready', async () => {
    const f = setup(n => ({ startMs: 1000 * n }))
    await launchTasks(f.ctx, f.slots, config(), f.ctrl)
    const { ready, seconds } = await awaitBarrier(f.ctx, f.slots, f.ctrl, undefined)
    expect(ready).toHaveLength(3)
    expect(seconds).toBe(2)
    expect(f.clock.sleeps).toEqual([500, 500, 500, 500])
    expect(f.notices.slice(1)).toEqual([
      'start barrier: 0/3 ready after 0 s',
      'start barrier: 1/3 ready after 1 s',
      'start barrier: 2/3 ready after 1 s',
      'start barrier: 2/3 ready after 2 s'
    ])
    expect(f.ctrl.reason).toBeNull()
  })

  it('times out on a task that never starts, stops the run and the tasks still starting', async () => {
    const f = setup(n => (n === 2 ? { startMs: Infinity } : {}), REGIONS, { readyTimeoutMs: 3000 })
    await launchTasks(f.ctx, f.slots, config(), f.ctrl)
    const { ready, seconds } = await awaitBarrier(f.ctx, f.slots, f.ctrl, undefined)
    expect(ready).toHaveLength(2)
    expect(seconds).toBe(3.5)
    expect(f.slots[2].missing).toBe('not ready within 3 s (PROVISIONING)')
    expect(f.ctrl.reason).toBe('only 2 of 3 task(s) became ready (min-task-success needs 3)')
    expect(f.store.doc(`runs/${RUN}/abort.json`)).toMatchObject({ reason: f.ctrl.reason })
    expect(f.ecs.calls.filter(c => c.startsWith('stop'))).toEqual([`stop eu-west-1 1 ${f.ctrl.reason}`])
  })

  it('loses a task that crashes before it is ready and goes on with min-task-success', async () => {
    const f = setup(n => (n === 0 ? { startMs: 1000, crashBeforeReady: true } : {}))
    await launchTasks(f.ctx, f.slots, config(), f.ctrl)
    const { ready } = await awaitBarrier(f.ctx, f.slots, f.ctrl, 0.5)
    expect(ready.map(s => s.key)).toEqual(['us-east-1-0001', 'eu-west-1-0002'])
    expect(f.slots[0].missing).toBe(
      'stopped before it was ready: Essential container in task exited, exit code 1'
    )
    expect(f.ctrl.reason).toBeNull()
  })

  it('does not wait when the run is already stopping', async () => {
    const f = setup()
    await launchTasks(f.ctx, f.slots, config(), f.ctrl)
    await f.ctrl.abort('the job was cancelled')
    const { ready, seconds } = await awaitBarrier(f.ctx, f.slots, f.ctrl, undefined)
    expect([ready, seconds, f.counts.polls]).toEqual([[], 0, undefined])
    expect(f.ecs.calls.filter(c => c.startsWith('stop'))).toEqual([
      'stop us-east-1 2 the job was cancelled',
      'stop eu-west-1 1 the job was cancelled'
    ])
  })
})

describe('go', () => {
  it('stops the late tasks and writes the common start for the ready ones', async () => {
    const f = setup()
    await launchTasks(f.ctx, f.slots, config(), f.ctrl)
    f.slots[0].ready = f.slots[2].ready = true
    const startAtMs = await startLoad(f.ctx, f.slots, [f.slots[0], f.slots[2]])
    expect(startAtMs).toBe(T0 + f.ctx.timing.startLeadMs)
    expect(f.store.doc(`runs/${RUN}/go.json`)).toEqual({
      startAtMs,
      tasks: ['us-east-1-0000', 'eu-west-1-0002']
    })
    expect(f.ecs.calls.at(-1)).toBe('stop us-east-1 1 not ready at the start barrier')
    expect(f.notices.at(-1)).toBe(
      `start barrier passed: 2 task(s) start at ${new Date(startAtMs).toISOString()}`
    )
  })
})

describe('watch', () => {
  async function started(scripts?: (n: number) => TaskScript, timing = {}) {
    const f = await readySetup(scripts, REGIONS, timing)
    const startAtMs = await startLoad(f.ctx, f.slots, f.barrier.ready)
    return { ...f, startAtMs, facts: {} as Record<string, string | number | boolean> }
  }

  it('polls until every task has written its result, reading progress every progressMs', async () => {
    const f = await started(undefined, { progressMs: 4000 })
    const progress: FleetProgress[] = []
    await watchRun(
      f.ctx,
      f.slots,
      f.slots.map(s => s.spec),
      f.ctrl,
      {
        startAtMs: f.startAtMs,
        onProgress: p => progress.push(p),
        facts: f.facts
      }
    )
    expect(f.clock.ms).toBeGreaterThanOrEqual(f.startAtMs + 10_000)
    expect(f.tasks.tasks.every(t => t.status === 'STOPPED' && !t.stoppedByFleet)).toBe(true)
    expect(progress.map(p => p.elapsedS)).toEqual([0, 4, 8])
    expect(progress[2]).toMatchObject({ requests: 240, reporting: 3, total: 3 })
    expect(f.notices).toContain('us-east-1: 2 running; 20 req/s, 80 requests, 0 errors (0.00%) at 4 s')
  })

  it('stops the fleet when abort-on trips and waits for the tasks to write their results', async () => {
    const f = await started(undefined, { progressMs: 2000 })
    await watchRun(
      f.ctx,
      f.slots,
      f.slots.map(s => s.spec),
      f.ctrl,
      {
        startAtMs: f.startAtMs,
        abortOn: p => (p.requests >= 100 ? `${p.requests} requests` : null),
        facts: f.facts
      }
    )
    expect(f.facts).toEqual({ abortOn: '120 requests' })
    expect(f.ctrl.reason).toBe('abort-on: 120 requests')
    expect(f.notices).toContain('stopping the fleet: abort-on: 120 requests')
    expect(f.store.doc(`runs/${RUN}/abort.json`)).toMatchObject({ reason: 'abort-on: 120 requests' })
    expect(f.tasks.tasks.every(t => t.status === 'STOPPED' && !t.stoppedByFleet)).toBe(true)
    expect(f.clock.ms).toBeLessThan(f.startAtMs + 10_000)
  })

  it('gives up on a task that hangs past the hard limit', async () => {
    const f = await started(n => ({ hang: n === 1 }), { collectGraceMs: 1000 })
    await watchRun(
      f.ctx,
      f.slots,
      f.slots.map(s => s.spec),
      f.ctrl,
      { startAtMs: f.startAtMs, facts: f.facts }
    )
    expect(f.notices.at(-1)).toBe('1 task(s) still running past the hard limit; stopping them')
    expect(f.clock.ms).toBeGreaterThan(f.startAtMs + 25_000 + 1000)
    expect(f.tasks.tasks[1].status).toBe('RUNNING')
  })

  it('gives the tasks abortGraceMs after a stop request, then gives up', async () => {
    const f = await started(() => ({ hang: true }), { abortGraceMs: 3000 })
    await f.ctrl.abort('stop rule')
    const at = f.clock.ms
    await watchRun(
      f.ctx,
      f.slots,
      f.slots.map(s => s.spec),
      f.ctrl,
      { startAtMs: f.startAtMs, facts: f.facts }
    )
    expect(f.notices.at(-1)).toBe('3 task(s) did not stop within 3 s of the abort; stopping them')
    expect(f.clock.ms - at).toBeGreaterThan(3000)
    expect(f.clock.ms - at).toBeLessThanOrEqual(3000 + f.ctx.timing.pollMs)
  })

  it('stops watching at once when the job is cancelled', async () => {
    const f = await started(() => ({ hang: true }))
    const cancel = new AbortController()
    const ctrl = new RunControl(f.ctx, { signal: cancel.signal })
    cancel.abort()
    await watchRun(
      f.ctx,
      f.slots,
      f.slots.map(s => s.spec),
      ctrl,
      { startAtMs: f.startAtMs, facts: f.facts }
    )
    expect(f.counts.polls).toBe(f.barrier.seconds * 2 + 1)
    expect(ctrl.reason).toBe('the job was cancelled')
    ctrl.dispose()
  })
})

describe('collect', () => {
  async function finished(scripts?: (n: number) => TaskScript) {
    const f = await readySetup(scripts)
    const startAtMs = await startLoad(f.ctx, f.slots, f.barrier.ready)
    const facts: Record<string, string | number | boolean> = {}
    await watchRun(
      f.ctx,
      f.slots,
      f.slots.map(s => s.spec),
      f.ctrl,
      { startAtMs, facts }
    )
    return { ...f, facts }
  }

  it('reads every result and records the start skew', async () => {
    const f = await finished()
    const reads = f.counts['s3:GetObject'] ?? 0
    await collectResults(f.ctx, f.slots, f.facts)
    expect(f.counts['s3:GetObject'] - reads).toBe(3)
    expect(f.slots.map(s => s.result?.task.region)).toEqual(REGIONS)
    expect(f.facts).toEqual({ startSkewMs: 0 })
    expect(f.notices.at(-1)).toBe('start skew across 3 task(s): 0 ms')
  })

  it('names unreadable results, failures to start and tasks without a result', async () => {
    const f = await finished(n => ({ hang: n === 2 }))
    f.store.broken.add(`runs/${RUN}/results/us-east-1-0001.json`)
    await f.store.putJson(`runs/${RUN}/failed/eu-west-1-0002.json`, { message: 'locust: not found' })
    const facts: Record<string, string | number | boolean> = {}
    await collectResults(f.ctx, f.slots, facts)
    expect(f.slots.map(s => s.missing)).toEqual([
      undefined,
      `unreadable result: runs/${RUN}/results/us-east-1-0001.json: access denied`,
      'failed to start: locust: not found'
    ])
    expect(facts).toEqual({})
  })
})

describe('cleanup', () => {
  it('stops every started task that is not stopped, with the run’s stop reason or that it finished', async () => {
    const f = await readySetup(n => ({ hang: n !== 1 }))
    f.tasks.stop(f.slots[1].arn!, 'exited')
    const unlaunched: Slot = slotsOf(specs(RUN, ['eu-west-1']))[0]
    await stopLeftovers(f.ctx, [...f.slots, unlaunched], null)
    expect(f.ecs.calls.filter(c => c.startsWith('stop'))).toEqual([
      'stop us-east-1 1 perf-gate run finished',
      'stop eu-west-1 1 perf-gate run finished'
    ])
    expect(f.tasks.tasks.every(t => t.status === 'STOPPED')).toBe(true)

    const g = await readySetup(() => ({ hang: true }))
    g.ecs.stopErrors.set(g.slots[0].arn!, 'AccessDenied')
    await stopLeftovers(g.ctx, g.slots, 'stop rule')
    expect(g.ecs.calls.filter(c => c.startsWith('stop'))).toEqual([
      'stop us-east-1 2 stop rule',
      'stop eu-west-1 1 stop rule'
    ])
    expect(g.notices.at(-1)).toBe(`could not stop ${g.slots[0].arn}: AccessDenied`)
  })
})

describe('RunControl', () => {
  it('takes the first stop reason, from an Error, a string or neither, and wakes a pause on cancel', async () => {
    const { ctx, notices, store } = fakeContext(RUN)
    const stop = new AbortController()
    const ctrl = new RunControl(ctx, { stop: stop.signal })
    stop.abort(new Error('p(95) held for 3 steps'))
    await Promise.resolve()
    await ctrl.abort('later reason')
    expect(ctrl.reason).toBe('p(95) held for 3 steps')
    expect(notices).toEqual(['stopping the fleet: p(95) held for 3 steps'])
    expect(store.doc(`runs/${RUN}/abort.json`)).toEqual({ reason: 'p(95) held for 3 steps', atMs: T0 })

    const pre = new AbortController()
    pre.abort(42)
    expect(new RunControl(ctx, { stop: pre.signal }).reason).toBe('stopped early')

    const cancel = new AbortController()
    const c = new RunControl(
      { ...ctx, clock: { now: ctx.clock.now, sleep: () => new Promise(() => undefined) } },
      {
        signal: cancel.signal
      }
    )
    const paused = c.pause(60_000)
    cancel.abort()
    await paused
    expect(c.jobCancelled).toBe(true)
    c.dispose()
  })
})
