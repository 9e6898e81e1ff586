/**
 * P4: what a Fargate run costs beyond its load. A FargateFleet (the production code, default
 * timing) runs 100, 400 and 1,000 tasks in 4 regions against the loopback ECS fake
 * (__tests__/helpers/fake-aws.ts, zero provisioning delay) and an in-memory S3 server speaking the
 * REST calls the fleet uses. Tasks are simulated — no runner processes — so the figure is the
 * orchestration itself: uploads, RunTask batches, task-key assignment, the start barrier, the start
 * lead, polling, collection and StopTask.
 *
 * A simulated task does what a runner does on S3: it reads its key from assign/, writes ready/,
 * waits for go.json, holds its load until startAtMs + duration, and writes a (small, real) task
 * result. One coordinator polls S3 for all simulated tasks every 100 ms, standing in for each
 * runner's own 1 s poll.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { S3Client } from '@aws-sdk/client-s3'
import { ECSClient } from '@aws-sdk/client-ecs'
import { startFakeAws, type FakeTaskLaunch, type SimulatedTask } from '../__tests__/helpers/fake-aws.js'
import { FargateFleet } from '../src/fleet/fargate.js'
import { DEFAULT_FARGATE_TIMING } from '../src/fleet/fargate/timing.js'
import type { RegionTarget } from '../src/fleet/aws/discovery.js'
import type { FleetPlan } from '../src/fleet/types.js'
import { defaultTaskMeta } from '../src/results/model.js'
import { TaskRecorder } from '../src/results/recorder.js'
import { RunObjects, ecsTaskId, runKeys, keyOf } from '../src/runner/objects.js'
import { TASK_SPEC_VERSION, type TaskSpec } from '../src/runner/spec.js'
import { int, num, table, type BenchOptions, type BenchReport } from './util.js'

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2', 'us-west-2']
const BUCKET = 'bench-bucket'
const LOAD_S = 5

/** A bucket in memory: PutObject, GetObject and ListObjectsV2 (path style), counted. */
async function startMemoryS3() {
  const objects = new Map<string, Buffer>()
  const counts: Record<string, number> = {}
  const count = (op: string) => (counts[op] = (counts[op] ?? 0) + 1)
  const xml = (s: string) => s.replace(/[<>&]/g, c => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]!)
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const [, bucket, ...rest] = url.pathname.split('/')
    const key = decodeURIComponent(rest.join('/'))
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      if (bucket !== BUCKET) {
        res.writeHead(404).end()
        return
      }
      if (req.method === 'PUT') {
        count('PutObject')
        objects.set(key, Buffer.concat(chunks))
        res.writeHead(200, { etag: '"x"' }).end()
      } else if (req.method === 'GET' && !key && url.searchParams.get('list-type') === '2') {
        count('ListObjectsV2')
        const prefix = url.searchParams.get('prefix') ?? ''
        const after = url.searchParams.get('continuation-token') ?? ''
        const all = [...objects.keys()].filter(k => k.startsWith(prefix) && k > after).sort()
        const page = all.slice(0, 1000)
        const more = all.length > page.length
        res.writeHead(200, { 'content-type': 'application/xml' })
        res.end(
          `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${BUCKET}</Name><Prefix>${xml(prefix)}</Prefix>` +
            `<KeyCount>${page.length}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>${more}</IsTruncated>` +
            (more ? `<NextContinuationToken>${xml(page[page.length - 1])}</NextContinuationToken>` : '') +
            page
              .map(k => `<Contents><Key>${xml(k)}</Key><Size>${objects.get(k)!.length}</Size></Contents>`)
              .join('') +
            '</ListBucketResult>'
        )
      } else if (req.method === 'GET') {
        count('GetObject')
        const body = objects.get(key)
        if (!body) {
          res.writeHead(404, { 'content-type': 'application/xml' })
          res.end('<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>')
        } else res.writeHead(200, { 'content-length': body.length }).end(body)
      } else res.writeHead(405).end()
    })
  })
  server.keepAliveTimeout = 30_000
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    objects,
    counts,
    close: () => new Promise<void>(r => server.close(() => r()))
  }
}

/** A small real task result (one label, LOAD_S intervals). */
function resultTemplate(): string {
  const rec = new TaskRecorder({ intervalMs: 1000 })
  const t0 = 1_800_000_000_000
  for (let i = 0; i < 200; i++)
    rec.sample({ label: 'GET /', endMs: t0 + i * 25, latencyUs: 2000 + (i % 50) * 100 })
  return JSON.stringify(
    rec.finish(defaultTaskMeta({ engine: 'http', status: 'ok', startedMs: t0, endedMs: t0 + LOAD_S * 1000 }))
  )
}

interface Sim {
  launch: FakeTaskLaunch
  key?: string
  ready?: boolean
  finishAt?: number
  done: (code: number) => void
  stopped: boolean
}

/** Drives every simulated task from one loop. */
function simulator(objects: RunObjects, prefix: string, template: string) {
  const sims = new Map<string, Sim>()
  const keys = runKeys(prefix)
  let startAtMs: number | null = null
  let busy = false
  const timer = setInterval(() => {
    if (busy) return
    busy = true
    void (async () => {
      try {
        const live = [...sims.values()].filter(s => !s.stopped)
        if (live.some(s => !s.key)) {
          const assigned = new Set((await objects.list(`${prefix}/assign/`)).map(keyOf))
          await Promise.all(
            live
              .filter(s => !s.key && assigned.has(ecsTaskId(s.launch.taskArn)))
              .map(async s => {
                const a = await objects.getJson<{ key: string }>(keys.assign(ecsTaskId(s.launch.taskArn)))
                s.key = a!.key
                await objects.putJson(keys.ready(s.key), { atMs: Date.now() })
                s.ready = true
              })
          )
        }
        if (startAtMs === null && live.some(s => s.ready)) {
          const go = await objects.getJson<{ startAtMs: number }>(keys.go)
          if (go) startAtMs = go.startAtMs
        }
        if (startAtMs !== null) {
          const now = Date.now()
          await Promise.all(
            live
              .filter(s => s.ready && now >= startAtMs! + LOAD_S * 1000)
              .map(async s => {
                s.stopped = true
                await objects.put(
                  keys.result(s.key!),
                  template.replace('"region":"local"', `"region":"${s.launch.region}"`)
                )
                s.done(0)
              })
          )
        }
      } finally {
        busy = false
      }
    })()
  }, 100)
  return {
    launch(l: FakeTaskLaunch): SimulatedTask {
      let done!: (code: number) => void
      const p = new Promise<number>(r => (done = r))
      const sim: Sim = { launch: l, done, stopped: false }
      sims.set(l.taskArn, sim)
      return {
        done: p,
        stop: () => {
          if (!sim.stopped) {
            sim.stopped = true
            done(143)
          }
        }
      }
    },
    close: () => clearInterval(timer)
  }
}

interface P4Row {
  tasks: number
  wallS: number
  overheadS: number
  toGoS: number
  afterLoadS: number
  ecs: Record<string, number>
  s3: Record<string, number>
  polls: number
  /** The floor: the start lead plus the per-task S3 round trips the run needs, done back to back. */
  floorS: number
  /** Σ ⌈tasks in a region / 100⌉: DescribeTasks calls one poll needs. */
  describePerPoll: number
  /** Σ ⌈tasks in a region / 10⌉: the RunTask calls the launch needs. */
  runTaskNeeded: number
  collected: number
}

/** Runs `fn` over `n` items, `limit` at a time. */
async function pool(n: number, limit: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(limit, n) }, async () => {
      for (let i = next++; i < n; i = next++) await fn(i)
    })
  )
}

/**
 * The floor of a run's overhead: the start lead, plus the S3 round trips every task needs from the
 * action — its envelope and its assignment written, its result read — done back to back against
 * a fresh in-memory S3, at the fleet's concurrency.
 */
async function floorSeconds(tasks: number, template: string): Promise<number> {
  const srv = await startMemoryS3()
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: srv.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED'
  })
  const o = new RunObjects(client, BUCKET)
  // The results are written by the tasks, not the action: they are put in place untimed.
  await pool(tasks, 16, i => o.put(`f/results/${i}.json`, template))
  const t0 = Date.now()
  await pool(tasks, 32, i => o.putJson(`f/tasks/${i}.json`, { spec: { i } }))
  await pool(tasks, 10, i => o.putJson(`f/assign/${i}.json`, { key: String(i) }))
  await pool(tasks, 16, i => o.getJson(`f/results/${i}.json`))
  const ms = Date.now() - t0
  client.destroy()
  await srv.close()
  return (DEFAULT_FARGATE_TIMING.startLeadMs + ms) / 1000
}

async function runOnce(tasks: number): Promise<P4Row> {
  const s3srv = await startMemoryS3()
  const runId = `bench-${tasks}-${Date.now()}`
  const prefix = `runs/${runId}`
  const template = resultTemplate()
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint: s3srv.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED'
  })
  const objects = new RunObjects(s3, BUCKET)
  const sim = simulator(new RunObjects(s3, BUCKET), prefix, template)
  const fake = await startFakeAws({
    regions: Object.fromEntries(REGIONS.map(r => [r, { provisioningDelayMs: 0 }])),
    launch: l => sim.launch(l),
    stopGraceMs: 100
  })
  const ecsClients = new Map<string, ECSClient>()
  const ecs = (region: string) => {
    let c = ecsClients.get(region)
    if (!c)
      ecsClients.set(
        region,
        (c = new ECSClient({
          region,
          endpoint: fake.endpoint,
          credentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench' }
        }))
      )
    return c
  }
  const targets: RegionTarget[] = REGIONS.map(region => ({
    region,
    cluster: 'perf-gate',
    taskDefinition: `arn:aws:ecs:${region}:123456789012:task-definition/perf-gate-runner:1`,
    container: 'runner',
    subnets: ['subnet-1'],
    securityGroups: ['sg-1'],
    assignPublicIp: 'ENABLED',
    bucket: BUCKET
  }))
  const per = Math.floor(tasks / REGIONS.length)
  const specs: TaskSpec[] = Array.from({ length: tasks }, (_, i) => ({
    version: TASK_SPEC_VERSION,
    runId,
    scenario: 'bench',
    fingerprint: 'f',
    backend: 'fargate',
    region: REGIONS[Math.min(REGIONS.length - 1, Math.floor(i / per))],
    taskIndex: i,
    taskCount: tasks,
    engine: 'http',
    requests: [{ path: '/' }],
    load: { vus: 1, durationS: LOAD_S, rampUpS: 0, targetUrl: 'http://127.0.0.1:1' },
    share: { vus: 1 },
    startAtMs: null,
    hardMaxS: LOAD_S + 15,
    intervalMs: 1000,
    steady: null,
    tags: {},
    env: {},
    out: 'unused'
  }))
  const plan: FleetPlan = { runId, tasks: specs, expectedTasks: tasks }
  const fleet = new FargateFleet({
    targets,
    ecs,
    objects,
    bucketRegion: 'us-east-1',
    spot: false,
    startedBy: `bench-${tasks}`
  })
  let goAt = 0
  const t0 = Date.now()
  const outcome = await fleet.run(plan, {
    onNotice: m => {
      if (m.startsWith('start barrier passed')) goAt = Date.now()
      if (process.env.P4_TRACE) console.error(`${Date.now() - t0} ms: ${m}`)
    }
  })
  const t1 = Date.now()
  const go = JSON.parse(s3srv.objects.get(`${prefix}/go.json`)?.toString() ?? '{}') as { startAtMs?: number }
  sim.close()
  const left = fake.running().length
  await fake.close()
  for (const c of ecsClients.values()) c.destroy()
  s3.destroy()
  await s3srv.close()
  if (left) throw new Error(`P4: ${left} task(s) still running after the run`)
  if (outcome.missing.length)
    throw new Error(`P4: ${outcome.missing.length} task(s) missing: ${outcome.missing[0].reason}`)
  const loadEnd = (go.startAtMs ?? goAt) + LOAD_S * 1000
  const ecsCalls: Record<string, number> = {}
  for (const [op, n] of Object.entries(fleet.calls)) if (op.startsWith('ecs:')) ecsCalls[op.slice(4)] = n
  return {
    tasks,
    wallS: (t1 - t0) / 1000,
    overheadS: (t1 - t0) / 1000 - LOAD_S,
    toGoS: ((go.startAtMs ?? goAt) - t0) / 1000,
    afterLoadS: (t1 - loadEnd) / 1000,
    ecs: ecsCalls,
    s3: { ...s3srv.counts },
    polls: fleet.calls.polls ?? 0,
    floorS: await floorSeconds(tasks, template),
    runTaskNeeded: REGIONS.reduce((a, r) => a + Math.ceil(specs.filter(x => x.region === r).length / 10), 0),
    describePerPoll: REGIONS.reduce(
      (a, r) => a + Math.ceil(specs.filter(x => x.region === r).length / 100),
      0
    ),
    collected: outcome.tasks.length
  }
}

export async function runP4(o: BenchOptions): Promise<BenchReport> {
  const sizes = o.quick ? [100] : [100, 400, 1000]
  const rows: P4Row[] = []
  for (const n of sizes) rows.push(await runOnce(n))
  const ecsOps = ['RunTask', 'DescribeTasks', 'StopTask']
  const at400 = rows.find(r => r.tasks === 400) ?? rows[rows.length - 1]
  const control = (r: P4Row) => ecsOps.reduce((a, op) => a + (r.ecs[op] ?? 0), 0)
  return {
    id: 'P4',
    title: 'Fargate fleet overhead beyond the load',
    tables: [
      {
        caption: `${LOAD_S} s of (simulated) load per task, 4 regions, zero provisioning delay, default timing (poll 2 s, barrier poll 1 s, start lead 2 s; tasks poll go.json every 0.5 s). "Overhead" = wall time of FargateFleet.run − load time; "floor" = the 2 s start lead + the action's own per-task S3 round trips (envelope and assignment written, result read) done back to back at the same concurrency against a fresh in-memory S3 in the same run; "to go" = from the call to the common start; "after load" = from the load's end to the return (polling, collection, StopTask).`,
        markdown: table(
          [
            'tasks',
            'wall s',
            'overhead s',
            'floor s',
            'overhead / floor',
            'to go s',
            'after load s',
            'polls',
            'RunTask',
            'DescribeTasks',
            'StopTask',
            'ECS calls / task',
            'S3 Put',
            'S3 Get',
            'S3 List'
          ],
          rows.map(r => [
            int(r.tasks),
            num(r.wallS, 2),
            num(r.overheadS, 2),
            num(r.floorS, 2),
            `${num(r.overheadS / r.floorS, 2)}×`,
            num(r.toGoS, 2),
            num(r.afterLoadS, 2),
            int(r.polls),
            int(r.ecs.RunTask ?? 0),
            int(r.ecs.DescribeTasks ?? 0),
            int(r.ecs.StopTask ?? 0),
            num(control(r) / r.tasks, 3),
            int(r.s3.PutObject ?? 0),
            int(r.s3.GetObject ?? 0),
            int(r.s3.ListObjectsV2 ?? 0)
          ])
        )
      }
    ],
    targets: [
      {
        target: 'overhead ≤ 5 s at 400 tasks',
        measured: `${num(at400.overheadS, 2)} s at ${at400.tasks} tasks`,
        met: at400.tasks === 400 && at400.overheadS <= 5
      },
      {
        target:
          'ECS calls O(tasks/10): RunTask = Σ⌈tasks per region/10⌉, DescribeTasks per poll ≤ Σ⌈tasks per region/100⌉',
        measured: rows
          .map(
            r =>
              `${int(r.tasks)} tasks: ${int(r.ecs.RunTask ?? 0)} RunTask, ${int(r.ecs.DescribeTasks ?? 0)} DescribeTasks over ${int(r.polls)} polls`
          )
          .join('; '),
        met: rows.every(
          r =>
            (r.ecs.RunTask ?? 0) === r.runTaskNeeded &&
            (r.ecs.DescribeTasks ?? 0) <= (r.polls + 1) * r.describePerPoll
        )
      }
    ],
    notes: [
      "S3 object calls are O(tasks): each task has an envelope, an assignment, a ready marker and a result (the simulated tasks' own S3 calls are in the S3 columns too); GETs include the collection of every result and the progress reads.",
      'StopTask is 0 when every task has stopped by itself; the fleet calls it only for tasks still running at the end.',
      `all ${rows.map(r => r.collected).join(' / ')} results were collected and no task was left running`
    ]
  }
}
