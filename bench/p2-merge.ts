/**
 * P2: merging a large fleet.
 *
 * 1,000 task result files (20 labels × 120 one-second intervals, about 50 requests per label per
 * interval, log-normal latencies) are read and validated with `readResultFile`, merged with
 * `TaskMerger` (file by file, so the fleet is never in memory at once), and queried with `ResultView.stats` (overall and per label). The floor is the
 * least any reader must do with the same bytes: read the files, JSON.parse them, and base64-decode
 * and inflate every histogram blob.
 *
 * The files are generated from a few dozen distinct recorded tasks; each file is one of them with
 * its own task identity and a start shifted by 0–4 intervals, so the merge still combines
 * overlapping but not identical interval ranges. Generation is not timed. Each timed pass runs in
 * its own child process so heap state and peak RSS belong to that pass alone.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { inflateRawSync } from 'node:zlib'
import { readResultFile } from '../src/results/io.js'
import { TaskMerger } from '../src/results/merge.js'
import { defaultTaskMeta, type TaskResult } from '../src/results/model.js'
import { FAILURE_KINDS, type FailureKind } from '../src/model/index.js'
import { ResultView } from '../src/results/query.js'
import { TaskRecorder } from '../src/results/recorder.js'
import {
  int,
  logNormalUs,
  makeTempDir,
  peakRssMiB,
  MiB,
  nowMs,
  num,
  removeDir,
  rng,
  runChild,
  table,
  type BenchOptions,
  type BenchReport
} from './util.js'

const SELF = fileURLToPath(import.meta.url)
const LABEL_COUNT = 20
const INTERVALS = 120
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2', 'sa-east-1']
const START_S = 1_800_000_000
const TARGET_MS = 2000
const TARGET_FILES = 1000
const MERGE_BATCH = 100

export const LABELS = Array.from({ length: LABEL_COUNT }, (_, i) => {
  const methods = ['GET', 'GET', 'GET', 'POST', 'PUT']
  return `${methods[i % methods.length]} /api/v1/resource-${String(i).padStart(2, '0')}`
})

/** One distinct task: 20 labels × 120 intervals, 40–60 requests per label per interval. */
export function synthTask(seed: number): { task: TaskResult; requests: number } {
  const r = rng(seed)
  const medians = LABELS.map((_, i) => 3_000 * Math.pow(1.3, i) * (0.8 + 0.4 * r()))
  const sigma = 0.35 + 0.3 * r()
  const taskFactor = 0.85 + 0.3 * r()
  const rec = new TaskRecorder()
  let requests = 0
  for (let iv = 0; iv < INTERVALS; iv++) {
    const base = (START_S + iv) * 1000
    for (let l = 0; l < LABEL_COUNT; l++) {
      const n = 40 + Math.floor(r() * 21)
      for (let k = 0; k < n; k++) {
        const fail = r() < 0.01
        const failure: FailureKind | undefined = fail
          ? FAILURE_KINDS[Math.floor(r() * FAILURE_KINDS.length)]
          : undefined
        rec.sample({
          label: LABELS[l],
          endMs: base + r() * 1000,
          latencyUs: logNormalUs(r, medians[l] * taskFactor, sigma),
          failure,
          bytesIn: 200 + Math.floor(r() * 1800),
          bytesOut: 120
        })
      }
      requests += n
    }
  }
  return { task: rec.finish(defaultTaskMeta({ engine: 'k6', runId: 'bench-p2' })), requests }
}

/** The i-th file: a distinct task with its own identity and a shifted start. */
function variant(base: TaskResult, i: number, tasks: number): TaskResult {
  const shift = i % 5
  const labels: TaskResult['labels'] = {}
  for (const [name, s] of Object.entries(base.labels)) labels[name] = { ...s, start: s.start + shift }
  const region = REGIONS[i % REGIONS.length]
  return {
    ...base,
    task: {
      ...base.task,
      region,
      taskIndex: i,
      taskCount: tasks,
      startedMs: (START_S + shift) * 1000,
      endedMs: (START_S + shift + INTERVALS) * 1000,
      sources: [`${region}/task-${i}.json`]
    },
    labels
  }
}

/** Writes `files` task result files into `dir`, cycling through `distinct` recorded tasks. */
export async function generate(
  dir: string,
  files: number,
  distinct: number
): Promise<{ requests: number; bytes: number }> {
  const bases: { task: TaskResult; requests: number }[] = []
  for (let d = 0; d < distinct; d++) bases.push(synthTask(1000 + d))
  let requests = 0
  let bytes = 0
  for (let i = 0; i < files; i++) {
    const base = bases[i % distinct]
    const text = JSON.stringify(variant(base.task, i, files)) + '\n'
    await writeFile(join(dir, `task-${String(i).padStart(4, '0')}.json`), text)
    requests += base.requests
    bytes += Buffer.byteLength(text)
  }
  return { requests, bytes }
}

async function listFiles(dir: string): Promise<string[]> {
  return (await readdir(dir))
    .filter(f => f.endsWith('.json'))
    .sort()
    .map(f => join(dir, f))
}

/** Maps `fn` over `items` with at most `limit` in flight; results keep the input order. */
async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i])
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}

const READ_CONCURRENCY = 8

export interface FloorPass {
  ms: number
  bytes: number
  inflatedBytes: number
  peakMiB: number
}

export interface MergePass {
  readMs: number
  mergeMs: number
  statsMs: number
  labelStatsMs: number
  requests: number
  labels: number
  p99Ms: number
  peakMiB: number
}

async function floorPass(dir: string): Promise<FloorPass> {
  const files = await listFiles(dir)
  const t0 = nowMs()
  let bytes = 0
  let inflatedBytes = 0
  await pool(files, READ_CONCURRENCY, async f => {
    const text = await readFile(f, 'utf8')
    bytes += text.length
    const doc = JSON.parse(text) as { labels: Record<string, { hist: string }> }
    for (const s of Object.values(doc.labels))
      inflatedBytes += inflateRawSync(Buffer.from(s.hist, 'base64')).length
  })
  return { ms: nowMs() - t0, bytes, inflatedBytes, peakMiB: peakRssMiB() }
}

async function mergePass(dir: string): Promise<MergePass> {
  const files = await listFiles(dir)
  const t0 = nowMs()
  // Streaming in batches: files are read and validated, then each batch is folded into the merger
  // interval by interval and dropped, so the fleet is never in memory at once.
  const merger = new TaskMerger()
  for (let i = 0; i < files.length; i += MERGE_BATCH) {
    const batch = files.slice(i, i + MERGE_BATCH)
    const read = await pool(batch, READ_CONCURRENCY, f => readResultFile(f))
    merger.addAll(read.flat(), batch)
  }
  const t1 = nowMs()
  const merged = merger.finish()
  const t2 = nowMs()
  const view = new ResultView([merged])
  const overall = view.stats({ window: 'all' })
  const t3 = nowMs()
  const byLabel = view.statsByLabel({ window: 'all' })
  const t4 = nowMs()
  const labelRequests = Object.values(byLabel).reduce((a, s) => a + s.requests, 0)
  if (labelRequests !== overall.requests)
    throw new Error(`per-label requests ${labelRequests} do not add up to ${overall.requests}`)
  return {
    readMs: t1 - t0,
    mergeMs: t2 - t1,
    statsMs: t3 - t2,
    labelStatsMs: t4 - t3,
    requests: overall.requests,
    labels: Object.keys(byLabel).length,
    p99Ms: overall.p99Ms,
    peakMiB: peakRssMiB()
  }
}

export async function runP2(opts: BenchOptions): Promise<BenchReport> {
  const files = opts.quick ? 100 : TARGET_FILES
  const distinct = opts.quick ? 10 : 40
  const dir = await makeTempDir('p2')
  try {
    const g0 = nowMs()
    const gen = await generate(dir, files, distinct)
    const genS = (nowMs() - g0) / 1000
    const floors: FloorPass[] = []
    const merges: MergePass[] = []
    for (let rep = 0; rep < 2; rep++) {
      floors.push(await runChild<FloorPass>(SELF, ['--child', 'floor', dir]))
      merges.push(await runChild<MergePass>(SELF, ['--child', 'merge', dir]))
    }
    for (const m of merges)
      if (m.requests !== gen.requests)
        throw new Error(`P2: merged ${m.requests} requests, generated ${gen.requests}`)
    const floor = floors.reduce((a, b) => (b.ms < a.ms ? b : a))
    const best = merges.reduce((a, b) => (b.readMs + b.mergeMs < a.readMs + a.mergeMs ? b : a))
    const readMerge = best.readMs + best.mergeMs
    const withStats = readMerge + best.statsMs + best.labelStatsMs
    const scaled = (readMerge * TARGET_FILES) / files
    const ratio = (ms: number): string => `${num(ms / floor.ms, 2)}×`
    const rows = [
      ['floor: read + JSON.parse + base64 + inflate', int(floor.ms), '1.00×', num(floor.peakMiB, 0)],
      [
        'read + validate + fold in (`readResultFile` → `TaskMerger.add`)',
        int(best.readMs),
        ratio(best.readMs),
        ''
      ],
      ['encode the merged result (`TaskMerger.finish`)', int(best.mergeMs), ratio(best.mergeMs), ''],
      [
        '**read + validate + merge**',
        `**${int(readMerge)}**`,
        `**${ratio(readMerge)}**`,
        num(best.peakMiB, 0)
      ],
      ['`ResultView.stats` overall (merged)', num(best.statsMs, 1), '', ''],
      [`\`ResultView.statsByLabel\` (${best.labels} labels, merged)`, num(best.labelStatsMs, 1), '', ''],
      ['read + validate + merge + stats', int(withStats), ratio(withStats), '']
    ]
    return {
      id: 'P2',
      title: `Merge ${int(files)} task results`,
      tables: [
        {
          caption: `${int(files)} files × ${LABEL_COUNT} labels × ${INTERVALS} intervals, ${int(gen.requests)} requests, ${num(gen.bytes / MiB, 0)} MiB of JSON (${num(floor.inflatedBytes / MiB, 0)} MiB of histogram payload after inflating). Best of 2 passes, each in a fresh child process; peak RSS is that child’s kernel high-water mark (VmHWM).`,
          markdown: table(['step', 'ms', 'vs floor', 'peak RSS MiB'], rows)
        }
      ],
      targets: [
        {
          target: `read + validate + merge of ${int(TARGET_FILES)} results ≤ ${TARGET_MS / 1000} s`,
          measured:
            files === TARGET_FILES
              ? `${num(readMerge / 1000, 2)} s (${ratio(readMerge)} the floor)`
              : `${num(readMerge / 1000, 2)} s for ${int(files)} (quick size; ≈ ${num(scaled / 1000, 1)} s for ${int(TARGET_FILES)} if linear)`,
          met: scaled <= TARGET_MS
        }
      ],
      notes: [
        `passes (read+merge ms): ${merges.map(m => int(m.readMs + m.mergeMs)).join(', ')}; floor passes: ${floors.map(f => int(f.ms)).join(', ')}`,
        `generating the ${int(files)} files from ${distinct} distinct recorded tasks took ${num(genS, 1)} s (not timed above)`,
        `merged p99 over all labels: ${num(best.p99Ms, 2)} ms`
      ]
    }
  } finally {
    await removeDir(dir)
  }
}

async function child(mode: string, dir: string): Promise<void> {
  const result = mode === 'floor' ? await floorPass(dir) : await mergePass(dir)
  console.log(JSON.stringify(result))
}

if (process.argv[1] === SELF && process.argv[2] === '--child') {
  child(process.argv[3], process.argv[4]).catch((e: unknown) => {
    console.error((e as Error).stack ?? String(e))
    process.exit(1)
  })
}
