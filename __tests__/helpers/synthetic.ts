/** Deterministic synthetic samples and task results for tests and benchmarks. */
import { TaskRecorder } from '../../src/results/recorder.js'
import { defaultTaskMeta, type TaskResult } from '../../src/results/model.js'
import { FAILURE_KINDS, type Sample } from '../../src/model/index.js'

/** A small seeded PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface SynthOptions {
  seed: number
  samples: number
  labels?: string[]
  startMs?: number
  durationMs?: number
  /** median latency in µs */
  medianUs?: number
  sigma?: number
  failureRate?: number
}

export function synthSamples(o: SynthOptions): Sample[] {
  const r = rng(o.seed)
  const labels = o.labels ?? ['GET /a', 'GET /b', 'POST /c']
  const start = o.startMs ?? 1_800_000_000_000
  const dur = o.durationMs ?? 10_000
  const med = o.medianUs ?? 20_000
  const sigma = o.sigma ?? 0.6
  const out: Sample[] = []
  for (let i = 0; i < o.samples; i++) {
    // Box-Muller normal → log-normal latency
    const u1 = Math.max(r(), 1e-12)
    const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * r())
    const latencyUs = Math.round(med * Math.exp(sigma * z))
    const s: Sample = {
      label: labels[Math.floor(r() * labels.length)],
      endMs: start + (dur * i) / o.samples + r() * 5,
      latencyUs,
      bytesIn: 100 + Math.floor(r() * 1000)
    }
    if (r() < (o.failureRate ?? 0.02)) s.failure = FAILURE_KINDS[Math.floor(r() * FAILURE_KINDS.length)]
    out.push(s)
  }
  return out
}

export function taskFromSamples(
  samples: Sample[],
  meta: { region?: string; taskIndex?: number } = {}
): TaskResult {
  const rec = new TaskRecorder()
  for (const s of samples) rec.sample(s)
  return rec.finish(
    defaultTaskMeta({ engine: 'http', region: meta.region ?? 'local', taskIndex: meta.taskIndex ?? 0 })
  )
}
