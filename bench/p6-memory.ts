/**
 * P6: peak memory of the recorder.
 *
 * A child process generates samples on the fly (20 labels spread over 600 s of sample time,
 * log-normal latencies, 1 % failures; nothing is stored) and streams them into a TaskRecorder, then
 * calls finish(). The floor is the same child running the same generation loop without recording.
 * Peak memory is both the highest `process.memoryUsage.rss()` seen (sampled every 64 Ki samples)
 * and the kernel's high-water mark of the child (`VmHWM`; see `peakRssMiB` for why not `maxRSS`).
 * Running 1 M, 5 M and 10 M samples over the same labels and duration shows whether memory grows
 * with the sample count.
 */
import { fileURLToPath } from 'node:url'
import { defaultTaskMeta } from '../src/results/model.js'
import type { FailureKind } from '../src/model/index.js'
import { TaskRecorder } from '../src/results/recorder.js'
import {
  int,
  logNormalUs,
  peakRssMiB,
  MiB,
  nowMs,
  num,
  rate,
  rng,
  runChild,
  table,
  type BenchOptions,
  type BenchReport
} from './util.js'

const SELF = fileURLToPath(import.meta.url)
const LABEL_COUNT = 20
const DURATION_MS = 600_000
const START_MS = 1_800_000_000_000
const TARGET_MIB = 100

export interface MemoryPass {
  mode: 'record' | 'floor'
  samples: number
  ms: number
  /** Highest sampled RSS while streaming (before finish()). */
  sampledRssMiB: number
  /** Kernel high-water mark before finish(). */
  hwmStreamingMiB: number
  /** Kernel high-water mark at the end (finish() included). */
  hwmMiB: number
  /** Heap in use after a full GC with the recorder still open (only with --expose-gc). */
  liveHeapMiB: number
  /** ArrayBuffer memory (histogram accumulators and encoded payloads) after that GC. */
  liveBuffersMiB: number
  resultBytes: number
  checksum: number
}

/** The child's work: generate `samples` samples and, in 'record' mode, record them. */
export function memoryPass(mode: 'record' | 'floor', samples: number, seed = 6): MemoryPass {
  const r = rng(seed)
  const labels = Array.from({ length: LABEL_COUNT }, (_, i) => `GET /api/endpoint-${i}`)
  const medians = labels.map((_, i) => 2_000 * Math.pow(1.25, i))
  const rec = mode === 'record' ? new TaskRecorder() : null
  const rss = process.memoryUsage.rss
  let peak = rss()
  let checksum = 0
  const step = DURATION_MS / samples
  const t0 = nowMs()
  for (let i = 0; i < samples; i++) {
    const l = Math.floor(r() * LABEL_COUNT)
    const failure: FailureKind | undefined = r() < 0.01 ? 'http_5xx' : undefined
    const s = {
      label: labels[l],
      endMs: START_MS + i * step + r() * 20,
      latencyUs: logNormalUs(r, medians[l], 0.5),
      failure,
      bytesIn: 512
    }
    if (rec) rec.sample(s)
    else checksum += s.latencyUs + (s.failure ? 1 : 0) + s.label.length
    if ((i & 0xffff) === 0) {
      const v = rss()
      if (v > peak) peak = v
    }
  }
  let liveHeapMiB = Number.NaN
  let liveBuffersMiB = Number.NaN
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc) {
    gc()
    const m = process.memoryUsage()
    liveHeapMiB = m.heapUsed / MiB
    liveBuffersMiB = m.arrayBuffers / MiB
  }
  peak = Math.max(peak, rss())
  const hwmStreaming = peakRssMiB()
  const result = rec ? rec.finish(defaultTaskMeta({ engine: 'http' })) : null
  const ms = nowMs() - t0
  const hwm = peakRssMiB()
  // Measured after the peak figures: serialising the result is the writer's cost, not the recorder's.
  const resultBytes = result ? Buffer.byteLength(JSON.stringify(result)) : 0
  if (rec) checksum = rec.samples
  return {
    mode,
    samples,
    ms,
    sampledRssMiB: peak / MiB,
    hwmStreamingMiB: hwmStreaming,
    hwmMiB: hwm,
    liveHeapMiB,
    liveBuffersMiB,
    resultBytes,
    checksum
  }
}

export async function runP6(opts: BenchOptions): Promise<BenchReport> {
  const sizes = opts.quick ? [1_000_000, 2_000_000] : [1_000_000, 5_000_000, 10_000_000]
  const largest = sizes[sizes.length - 1]
  const passes: MemoryPass[] = []
  const run = (mode: string, n: number) =>
    runChild<MemoryPass>(SELF, ['--child', mode, String(n)], ['--expose-gc'])
  const baseline = await run('floor', 1000)
  const floor = await run('floor', largest)
  passes.push(baseline, floor)
  for (const n of sizes) {
    const p = await run('record', n)
    if (p.checksum !== n) throw new Error(`P6: recorder counted ${p.checksum} samples, expected ${n}`)
    passes.push(p)
  }
  const rows = passes.map(p => [
    p === baseline
      ? `baseline: process + modules, ${int(p.samples)} samples`
      : p.mode === 'floor'
        ? `floor: generate only, ${int(p.samples)}`
        : `record ${int(p.samples)}`,
    num(p.sampledRssMiB, 1),
    num(p.hwmStreamingMiB, 1),
    `**${num(p.hwmMiB, 1)}**`,
    p.mode === 'floor' ? '' : `+${num(p.hwmMiB - floor.hwmMiB, 1)}`,
    num(p.liveHeapMiB, 1),
    num(p.liveBuffersMiB, 1),
    p.resultBytes ? num(p.resultBytes / MiB, 2) : '',
    `${rate((p.samples / p.ms) * 1000)}/s`
  ])
  const worst = passes.filter(p => p.mode === 'record').reduce((a, b) => (b.hwmMiB > a.hwmMiB ? b : a))
  const smallest = passes.find(p => p.mode === 'record' && p.samples === sizes[0])!
  return {
    id: 'P6',
    title: 'Recorder peak memory',
    tables: [
      {
        caption: `${LABEL_COUNT} labels over ${DURATION_MS / 1000} s of sample time (${(DURATION_MS / 1000) * LABEL_COUNT} label-intervals), samples generated on the fly in a child process. All figures MiB. Sampled RSS = highest \`memoryUsage.rss()\` seen while streaming; peak RSS = the child's kernel high-water mark (\`VmHWM\`) before and after finish(); vs floor = final peak minus the floor's; live heap / live buffers = \`heapUsed\` / \`arrayBuffers\` after a forced GC with the recorder still open (before finish()).`,
        markdown: table(
          [
            'pass',
            'sampled RSS',
            'peak RSS streaming',
            'peak RSS with finish()',
            'vs floor',
            'live heap',
            'live buffers',
            'result JSON',
            'samples/s'
          ],
          rows
        )
      }
    ],
    targets: [
      {
        target: `process peak RSS < ${TARGET_MIB} MB while recording ${int(largest)} samples`,
        measured: `${num(worst.hwmMiB, 1)} MiB peak RSS (process baseline ${num(baseline.hwmMiB, 1)} MiB, generation floor ${num(floor.hwmMiB, 1)} MiB, recorder +${num(worst.hwmMiB - floor.hwmMiB, 1)} MiB)`,
        met: worst.hwmMiB * MiB < TARGET_MIB * 1e6
      },
      {
        target:
          'memory does not grow with the sample count (same labels and duration; < 5 MiB from the smallest to the largest run)',
        measured: `peak RSS ${sizes.map(n => `${num(passes.find(p => p.mode === 'record' && p.samples === n)!.hwmMiB, 0)} MiB at ${rate(n)}`).join(', ')}`,
        met: worst.hwmMiB - smallest.hwmMiB < 5
      }
    ],
    notes: [
      `at ${int(largest)} samples the recorder holds ${num(worst.liveBuffersMiB - floor.liveBuffersMiB, 1)} MiB of ArrayBuffers (open-interval accumulators and sealed histogram payloads) and ${num(worst.liveHeapMiB - floor.liveHeapMiB, 1)} MiB of live heap beyond the floor; the rest of the gap to the floor is heap V8 keeps reserved`,
      `what grows with the count is the sealed histogram data: more samples per label-interval fill more buckets (the result JSON grows from ${num(smallest.resultBytes / MiB, 1)} to ${num(worst.resultBytes / MiB, 1)} MiB), plus the transient copies finish() makes while deflating and base64-encoding it`,
      `for scale: keeping only the raw latencies of ${int(largest)} samples as float64 would take ${num((largest * 8) / MiB, 0)} MiB`
    ]
  }
}

if (process.argv[1] === SELF && process.argv[2] === '--child') {
  const mode = process.argv[3] === 'floor' ? 'floor' : 'record'
  console.log(JSON.stringify(memoryPass(mode, Number(process.argv[4]))))
}
