/**
 * The task's progress lines: one JSON line per interval with the running totals of the task, and
 * in `live` the requests, failures and latency histogram since the previous line (for stop rules).
 * They go to the spec's progress file and to a listener; both are optional.
 */
import { appendFile, mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { TaskStatus } from '../results/model.js'
import type { LiveWindow, TaskRecorder } from '../results/recorder.js'
import type { TaskSpec } from './spec.js'

/** One progress line: what the task has done so far. */
export interface ProgressLine {
  t: number
  taskIndex: number
  region: string
  elapsedS: number
  requests: number
  failures: number
  rps: number
  enginePid?: number
  status?: TaskStatus
  /** Requests and latency since the previous line (for live SLO checks). */
  live?: LiveWindow | null
}

/** Writes the progress lines of one task every `everyMs` from `start()` to `stop()`. */
export class Progress {
  enginePid: number | undefined
  private timer: NodeJS.Timeout | undefined
  private chain: Promise<void> = Promise.resolve()
  private lastT = 0
  private lastRequests = 0
  private startMs = 0
  private dirReady = false

  constructor(
    private readonly path: string | undefined,
    private readonly spec: TaskSpec,
    private readonly recorder: TaskRecorder,
    private readonly now: () => number,
    private readonly everyMs: number,
    private readonly onLine?: (line: ProgressLine) => void
  ) {}

  start(startMs: number): void {
    if (!this.path && !this.onLine) return
    this.startMs = startMs
    this.lastT = startMs
    this.write()
    this.timer = setInterval(() => this.write(), this.everyMs)
  }

  /** The line for now; it also moves the start of the next rate and live window here. */
  private nextLine(extra: { status?: TaskStatus }): ProgressLine {
    const t = this.now()
    const requests = this.recorder.samples
    const dt = (t - this.lastT) / 1000
    const line: ProgressLine = {
      t,
      taskIndex: this.spec.taskIndex,
      region: this.spec.region,
      elapsedS: Math.max(0, (t - this.startMs) / 1000),
      requests,
      failures: this.recorder.failures,
      rps: dt > 0 ? (requests - this.lastRequests) / dt : 0,
      ...(this.enginePid !== undefined ? { enginePid: this.enginePid } : {}),
      live: this.recorder.takeLive(),
      ...extra
    }
    this.lastT = t
    this.lastRequests = requests
    return line
  }

  private write(extra: { status?: TaskStatus } = {}): void {
    const path = this.path
    if (!path && !this.onLine) return
    const line = this.nextLine(extra)
    this.onLine?.(line)
    if (!path) return
    this.chain = this.chain.then(async () => {
      try {
        if (!this.dirReady) {
          await mkdir(dirname(path), { recursive: true })
          this.dirReady = true
        }
        await appendFile(path, JSON.stringify(line) + '\n')
      } catch {
        // Progress is advisory; the task result is what counts.
      }
    })
  }

  async stop(status?: TaskStatus): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    if ((this.path || this.onLine) && this.startMs) this.write(status ? { status } : {})
    await this.chain
  }
}
