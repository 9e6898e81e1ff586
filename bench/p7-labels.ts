/**
 * P7: label scaling.
 *
 * Part 1 records tasks with 1,000 to 20,000 distinct labels (5 intervals, 4 requests per label and
 * interval, the label cap lifted) and times the per-label summary (`buildSummary`, which runs
 * `ResultView.statsByLabel`): linear processing keeps the time per label flat as the count grows.
 * Part 2 streams a k6 NDJSON file with one distinct URL per request (20,000 labels, as dynamic ids
 * in URLs give) through the production ingest path with the default cap, and times the summary.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ingestFiles } from '../src/ingest/ingest.js'
import { defaultTaskMeta, type TaskResult } from '../src/results/model.js'
import { MAX_LABELS, OTHER_LABEL, TaskRecorder } from '../src/results/recorder.js'
import { buildSummary } from '../src/results/summary.js'
import {
  int,
  logNormalUs,
  makeTempDir,
  nowMs,
  num,
  removeDir,
  rng,
  table,
  type BenchOptions,
  type BenchReport
} from './util.js'

const START_MS = 1_800_000_000_000
const INTERVALS = 5
const PER_CELL = 4

function taskWithLabels(labels: number, seed: number): TaskResult {
  const r = rng(seed)
  const rec = new TaskRecorder({ maxLabels: Number.POSITIVE_INFINITY })
  for (let iv = 0; iv < INTERVALS; iv++)
    for (let l = 0; l < labels; l++)
      for (let k = 0; k < PER_CELL; k++)
        rec.sample({
          label: `GET /items/${l}`,
          endMs: START_MS + iv * 1000 + r() * 999,
          latencyUs: logNormalUs(r, 5_000, 0.4)
        })
  return rec.finish(defaultTaskMeta({ engine: 'k6' }))
}

function bestOf<T>(n: number, fn: () => T): { ms: number; value: T } {
  let best = Number.POSITIVE_INFINITY
  let value!: T
  for (let i = 0; i < n; i++) {
    const t = nowMs()
    value = fn()
    best = Math.min(best, nowMs() - t)
  }
  return { ms: best, value }
}

export async function runP7(o: BenchOptions): Promise<BenchReport> {
  const sizes = o.quick ? [500, 1000, 2000] : [1000, 5000, 10000, 20000]
  const rows: string[][] = []
  const perLabel: number[] = []
  for (const n of sizes) {
    const task = taskWithLabels(n, 7)
    const { ms, value } = bestOf(o.quick ? 1 : 3, () => buildSummary([task], { window: 'all' }))
    perLabel.push((ms * 1000) / n)
    rows.push([int(n), int(Object.keys(value.labels).length), num(ms, 0), num((ms * 1000) / n, 1)])
  }

  const fileLabels = o.quick ? 3000 : 20000
  const dir = await makeTempDir('perf-gate-bench-p7-')
  let ingestRow: string[]
  let kept: number
  try {
    const file = join(dir, 'dynamic-urls.json')
    const lines: string[] = []
    for (let i = 0; i < fileLabels; i++) {
      const time = new Date(START_MS + Math.floor((i * 10_000) / fileLabels)).toISOString()
      const url = `http://127.0.0.1:8080/items/${i}`
      lines.push(
        JSON.stringify({
          metric: 'http_req_duration',
          type: 'Point',
          data: { time, value: 3 + (i % 7), tags: { name: url, url, method: 'GET', status: '200' } }
        })
      )
    }
    await writeFile(file, lines.join('\n') + '\n')
    const t0 = nowMs()
    const [f] = await ingestFiles([file])
    const t1 = nowMs()
    const summary = buildSummary(f.tasks, { window: 'all' })
    const t2 = nowMs()
    kept = Object.keys(summary.labels).length
    ingestRow = [
      int(fileLabels),
      int(kept),
      int(summary.labels[OTHER_LABEL]?.requests ?? 0),
      num(t1 - t0, 0),
      num(t2 - t1, 0)
    ]
  } finally {
    await removeDir(dir)
  }
  const growth = perLabel[perLabel.length - 1] / perLabel[0]
  return {
    id: 'P7',
    title: 'Label scaling',
    tables: [
      {
        caption: `Per-label summary (\`buildSummary\` → \`ResultView.statsByLabel\`) of one task with N labels × ${INTERVALS} intervals × ${PER_CELL} requests, label cap lifted; best of ${o.quick ? 1 : 3}.`,
        markdown: table(['labels', 'labels reported', 'summary ms', 'µs per label'], rows)
      },
      {
        caption: `A k6 NDJSON file with one distinct URL per request, through \`ingestFiles\` with the default cap of ${MAX_LABELS} labels.`,
        markdown: table(
          ['distinct URLs', 'labels kept', `requests in "${OTHER_LABEL}"`, 'ingest ms', 'summary ms'],
          [ingestRow]
        )
      }
    ],
    targets: [
      {
        target:
          'per-label processing time is linear in the label count (µs per label at the largest size < 2× the smallest)',
        measured: `${num(perLabel[0], 1)} µs per label at ${int(sizes[0])} labels, ${num(perLabel[perLabel.length - 1], 1)} at ${int(sizes[sizes.length - 1])} (×${num(growth, 2)})`,
        met: growth < 2
      },
      {
        target: `labels kept per task capped at ${MAX_LABELS} (+ "${OTHER_LABEL}")`,
        measured: `${int(kept)} labels kept from ${int(fileLabels)} distinct URLs`,
        met: kept === MAX_LABELS + 1
      }
    ],
    notes: []
  }
}
