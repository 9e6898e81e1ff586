/**
 * P3: fleet percentile accuracy.
 *
 * A heterogeneous synthetic fleet (4 regions, 40 tasks with different latency distributions and
 * request counts) is recorded task by task, merged, and queried. Each percentile is compared with
 * the exact value over every raw sample (nearest rank on the sorted samples), and with the
 * average of the per-task percentiles (how AWS Distributed Load Testing aggregates its tasks).
 */
import { mergeTasks } from '../src/results/merge.js'
import { defaultTaskMeta, type TaskResult } from '../src/results/model.js'
import { ResultView } from '../src/results/query.js'
import { TaskRecorder } from '../src/results/recorder.js'
import { int, logNormalUs, nowMs, num, pct, rng, table, type BenchOptions, type BenchReport } from './util.js'

/** One task of the synthetic fleet: how many requests and how to draw one latency (µs). */
export interface FleetTask {
  region: string
  taskIndex: number
  requests: number
  describe: string
  draw: (r: () => number) => number
}

interface RegionSpec {
  region: string
  tasks: number
  medianUs: number
  sigma: number
  requests: number
}

const REGIONS: RegionSpec[] = [
  { region: 'us-east-1', tasks: 12, medianUs: 18_000, sigma: 0.35, requests: 60_000 },
  { region: 'eu-west-1', tasks: 10, medianUs: 32_000, sigma: 0.5, requests: 45_000 },
  { region: 'ap-southeast-2', tasks: 10, medianUs: 140_000, sigma: 0.45, requests: 15_000 },
  { region: 'sa-east-1', tasks: 8, medianUs: 70_000, sigma: 0.8, requests: 25_000 }
]

/**
 * The fleet: per region a base log-normal, every task with its own median (±25 %), spread and
 * request count (±30 %). One sa-east-1 task is bimodal (10 % of requests hit a 900 ms slow path)
 * and one us-east-1 task has a heavy tail (2 % of requests 20× slower).
 */
export function fleet(scale: number, seed: number): FleetTask[] {
  const r = rng(seed)
  const out: FleetTask[] = []
  for (const spec of REGIONS) {
    for (let i = 0; i < spec.tasks; i++) {
      const medianUs = spec.medianUs * (0.75 + 0.5 * r())
      const sigma = spec.sigma * (0.8 + 0.4 * r())
      const requests = Math.max(50, Math.round(spec.requests * scale * (0.7 + 0.6 * r())))
      let draw = (q: () => number): number => logNormalUs(q, medianUs, sigma)
      let describe = `log-normal median ${num(medianUs / 1000, 1)} ms σ ${num(sigma, 2)}`
      if (spec.region === 'sa-east-1' && i === 0) {
        draw = q => (q() < 0.1 ? logNormalUs(q, 900_000, 0.15) : logNormalUs(q, medianUs, sigma))
        describe = `bimodal: 90 % ${describe}, 10 % around 900 ms`
      } else if (spec.region === 'us-east-1' && i === 0) {
        draw = q => (q() < 0.02 ? logNormalUs(q, medianUs * 20, 0.6) : logNormalUs(q, medianUs, sigma))
        describe = `heavy tail: 98 % ${describe}, 2 % 20× slower`
      }
      out.push({ region: spec.region, taskIndex: out.length, requests, describe, draw })
    }
  }
  return out
}

export const ACCURACY_PERCENTILES = [
  { p: 50, key: 'p50Ms' },
  { p: 95, key: 'p95Ms' },
  { p: 99, key: 'p99Ms' },
  { p: 99.9, key: 'p999Ms' }
] as const

/** Nearest-rank percentile of ascending `sorted` values. */
export function exactPercentile(sorted: Float64Array, p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length))
  return sorted[rank - 1]
}

export interface PercentileAccuracy {
  p: number
  exactMs: number
  oursMs: number
  oursError: number
  averagedMs: number
  averagedError: number
  weightedMs: number
  weightedError: number
}

export interface AccuracyResult {
  tasks: number
  regions: number
  samples: number
  percentiles: PercentileAccuracy[]
  recordMs: number
  mergeQueryMs: number
}

const LABELS = ['GET /api/items', 'GET /api/items/:id', 'POST /api/orders', 'GET /health']

/**
 * Runs the accuracy comparison. `scale` multiplies every task's request count (1 = about 1.5 M
 * samples in total).
 */
export function fleetAccuracy(scale = 1, seed = 20_260_301): AccuracyResult {
  const tasks = fleet(scale, seed)
  const total = tasks.reduce((a, t) => a + t.requests, 0)
  const all = new Float64Array(total)
  const perTask: Float64Array[] = []
  const results: TaskResult[] = []
  const startMs = 1_800_000_000_000
  const durationMs = 120_000
  let filled = 0
  let recordMs = 0
  for (const t of tasks) {
    const r = rng(seed + 7919 * (t.taskIndex + 1))
    const mine = new Float64Array(t.requests)
    const rec = new TaskRecorder()
    const t0 = nowMs()
    for (let i = 0; i < t.requests; i++) {
      const latencyUs = t.draw(r)
      mine[i] = latencyUs
      rec.sample({
        label: LABELS[Math.floor(r() * LABELS.length)],
        endMs: startMs + (durationMs * i) / t.requests + r() * 10,
        latencyUs
      })
    }
    results.push(rec.finish(defaultTaskMeta({ engine: 'http', region: t.region, taskIndex: t.taskIndex })))
    recordMs += nowMs() - t0
    all.set(mine, filled)
    filled += mine.length
    perTask.push(mine.sort())
  }
  all.sort()

  const t1 = nowMs()
  const merged = mergeTasks(results)
  const ours = new ResultView([merged]).stats({ window: 'all' })
  const mergeQueryMs = nowMs() - t1
  if (ours.requests !== total)
    throw new Error(`merged result holds ${ours.requests} requests, expected ${total}`)

  const percentiles = ACCURACY_PERCENTILES.map(({ p, key }) => {
    const exactMs = exactPercentile(all, p) / 1000
    const oursMs = ours[key]
    const taskValues = perTask.map(s => exactPercentile(s, p) / 1000)
    const averagedMs = taskValues.reduce((a, v) => a + v, 0) / taskValues.length
    const weightedMs = taskValues.reduce((a, v, i) => a + v * perTask[i].length, 0) / total
    const err = (v: number): number => Math.abs(v - exactMs) / exactMs
    return {
      p,
      exactMs,
      oursMs,
      oursError: err(oursMs),
      averagedMs,
      averagedError: err(averagedMs),
      weightedMs,
      weightedError: err(weightedMs)
    }
  })
  return {
    tasks: tasks.length,
    regions: new Set(tasks.map(t => t.region)).size,
    samples: total,
    percentiles,
    recordMs,
    mergeQueryMs
  }
}

export const ACCURACY_TARGET = 0.001

export async function runP3(opts: BenchOptions): Promise<BenchReport> {
  const scale = opts.quick ? 0.2 : 1
  const res = fleetAccuracy(scale)
  const rows = res.percentiles.map(x => [
    x.p === 99.9 ? 'p99.9' : `p${x.p}`,
    num(x.exactMs, 3),
    num(x.oursMs, 3),
    pct(x.oursError),
    num(x.averagedMs, 3),
    pct(x.averagedError),
    num(x.weightedMs, 3),
    pct(x.weightedError)
  ])
  const worst = Math.max(...res.percentiles.map(x => x.oursError))
  const p99 = res.percentiles.find(x => x.p === 99)!
  const regionRows = REGIONS.map(s => [
    s.region,
    String(s.tasks),
    `${num(s.medianUs / 1000, 0)} ms`,
    num(s.sigma, 2),
    int(s.requests * scale)
  ])
  return {
    id: 'P3',
    title: 'Fleet percentile accuracy',
    tables: [
      {
        caption: `${res.tasks} tasks in ${res.regions} regions, ${int(res.samples)} samples. Exact = nearest rank over all raw samples; ours = merged HDR histograms; averaged = mean of the 40 per-task exact percentiles (AWS DLT); weighted = the same mean weighted by request count.`,
        markdown: table(
          [
            'percentile',
            'exact ms',
            'ours ms',
            'ours error',
            'averaged ms',
            'averaged error',
            'weighted ms',
            'weighted error'
          ],
          rows
        )
      },
      {
        caption:
          'Fleet (per region: base median, base σ, typical requests per task; each task varies the median ±25 %, σ ±20 %, requests ±30 %; one us-east-1 task has a 2 % tail 20× slower, one sa-east-1 task is bimodal with 10 % near 900 ms):',
        markdown: table(['region', 'tasks', 'base median', 'base σ', 'requests/task'], regionRows)
      }
    ],
    targets: [
      {
        target: 'merged-histogram error ≤ 0.1 % at p50/p95/p99/p99.9',
        measured: `worst ${pct(worst)} (p99: ${pct(p99.oursError)} vs averaged ${pct(p99.averagedError)})`,
        met: worst <= ACCURACY_TARGET
      }
    ],
    notes: [
      `recording ${int(res.samples)} samples into 40 task results took ${num(res.recordMs / 1000, 2)} s; merge + query ${num(res.mergeQueryMs, 0)} ms`
    ]
  }
}
