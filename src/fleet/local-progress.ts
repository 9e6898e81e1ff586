/**
 * Progress of local runners: each runner appends JSON lines to its progress file; the fleet reads
 * what was appended since its last read, keeps each task's latest line and the live windows not
 * handed on yet, and sums them into the fleet's progress.
 */
import { existsSync } from 'node:fs'
import { open } from 'node:fs/promises'
import type { FleetProgress, LiveWindow, TaskProgress } from '../model/index.js'
import type { TaskSpec } from '../runner/spec.js'

/** Reads one progress line written by a runner; tolerant of naming variants. */
export function parseProgressLine(
  line: string,
  spec: Pick<TaskSpec, 'region' | 'taskIndex'>
): TaskProgress | null {
  let o: unknown
  try {
    o = JSON.parse(line)
  } catch {
    return null
  }
  if (typeof o !== 'object' || o === null) return null
  const r = o as Record<string, unknown>
  const num = (...keys: string[]): number | undefined => {
    for (const k of keys) if (typeof r[k] === 'number' && Number.isFinite(r[k])) return r[k] as number
    return undefined
  }
  const requests = num('requests', 'reqs')
  if (requests === undefined) return null
  let elapsedS = num('elapsedS', 'elapsed_s', 'elapsed')
  const elapsedMs = num('elapsedMs', 'elapsed_ms')
  if (elapsedS === undefined && elapsedMs !== undefined) elapsedS = elapsedMs / 1000
  const live = liveWindowOf(r.live, elapsedS ?? 0)
  return {
    region: spec.region,
    taskIndex: spec.taskIndex,
    elapsedS: elapsedS ?? 0,
    requests,
    failures: num('failures', 'errors', 'fails') ?? 0,
    rps: num('rps', 'rate') ?? 0,
    ...(live ? { live: [live] } : {})
  }
}

/** The `live` field of a progress line, when it is well-formed. */
function liveWindowOf(v: unknown, elapsedS: number): LiveWindow | null {
  if (typeof v !== 'object' || v === null) return null
  const o = v as Record<string, unknown>
  const n = (k: string) => (typeof o[k] === 'number' && Number.isFinite(o[k]) ? (o[k] as number) : null)
  const requests = n('requests')
  const failures = n('failures')
  const sumUs = n('sumUs')
  if (requests === null || failures === null || sumUs === null || typeof o.hist !== 'string') return null
  return { elapsedS, requests, failures, sumUs, hist: o.hist }
}

/** One runner's progress file, read a piece at a time as the runner appends to it. */
export class ProgressTail {
  private offset = 0
  private rest = ''
  /** The latest progress line read. */
  last: TaskProgress | null = null
  /** Live windows read since the last report. */
  private readonly live: LiveWindow[] = []

  constructor(private readonly spec: Pick<TaskSpec, 'region' | 'taskIndex' | 'progress'>) {}

  /** Reads whatever the runner appended since the last call (up to 1 MiB). */
  async read(): Promise<void> {
    const path = this.spec.progress
    if (!path || !existsSync(path)) return
    let fh
    try {
      fh = await open(path, 'r')
      const { size } = await fh.stat()
      if (size <= this.offset) return
      const len = Math.min(size - this.offset, 1 << 20)
      const buf = Buffer.alloc(len)
      const { bytesRead } = await fh.read(buf, 0, len, this.offset)
      this.offset += bytesRead
      const lines = (this.rest + buf.subarray(0, bytesRead).toString('utf8')).split('\n')
      this.rest = lines.pop() ?? ''
      for (const line of lines) {
        const p = line.trim() ? parseProgressLine(line, this.spec) : null
        if (p) {
          this.last = p
          if (p.live) this.live.push(...p.live)
        }
      }
    } catch {
      // A progress file being rewritten or removed is not an error; the result file counts.
    } finally {
      await fh?.close()
    }
  }

  /** The latest progress with the live windows read since the previous report (each handed on once). */
  report(): TaskProgress | null {
    return this.last ? { ...this.last, live: this.live.splice(0) } : null
  }
}

/** The fleet's progress: every runner's latest report, summed; `finished` counts exited runners. */
export function localProgressOf(
  runners: readonly { progress: ProgressTail; done: boolean }[],
  startAtMs: number
): FleetProgress {
  const tasks = runners.map(r => r.progress.report()).filter((p): p is TaskProgress => p !== null)
  return {
    elapsedS: Math.max(0, (Date.now() - startAtMs) / 1000),
    requests: tasks.reduce((a, p) => a + p.requests, 0),
    failures: tasks.reduce((a, p) => a + p.failures, 0),
    rps: tasks.reduce((a, p) => a + p.rps, 0),
    reporting: tasks.length,
    finished: runners.filter(r => r.done).length,
    total: runners.length,
    tasks
  }
}
