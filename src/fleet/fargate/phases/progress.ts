/**
 * Live progress of a Fargate run: each task's latest progress object (progress/<key>.json) is read,
 * its new live windows are handed on once, and the fleet's totals are summed; one line per region
 * tells the task states, requests per second and errors.
 */
import type { Task } from '@aws-sdk/client-ecs'
import type { FleetProgress, TaskProgress } from '../../../model/index.js'
import type { PublishedProgress } from '../../../runner/objects.js'
import type { PhaseContext } from '../context.js'
import { eachLimit, type Slot } from '../slots.js'

/** Takes in a task's published progress: its totals, and the live windows not handed on before. */
export function absorbProgress(s: Slot, doc: PublishedProgress | null): void {
  if (!doc || typeof doc.requests !== 'number') return
  const seen = s.liveUpToS ?? Number.NEGATIVE_INFINITY
  const fresh = (Array.isArray(doc.windows) ? doc.windows : []).filter(w => w.elapsedS > seen)
  if (fresh.length) s.liveUpToS = fresh[fresh.length - 1].elapsedS
  s.progress = {
    region: s.region,
    taskIndex: s.spec.taskIndex,
    elapsedS: doc.elapsedS,
    requests: doc.requests,
    failures: doc.failures,
    rps: doc.rps,
    live: fresh
  }
}

/** The fleet's progress from its slots' latest progress, `elapsedS` after the common start. */
export function fleetProgressOf(
  slots: readonly Slot[],
  results: ReadonlySet<string>,
  elapsedS: number
): FleetProgress {
  const tasks = slots.map(s => s.progress).filter((p): p is TaskProgress => !!p)
  return {
    elapsedS: Math.max(0, elapsedS),
    requests: tasks.reduce((a, p) => a + p.requests, 0),
    failures: tasks.reduce((a, p) => a + p.failures, 0),
    rps: tasks.reduce((a, p) => a + p.rps, 0),
    reporting: tasks.length,
    finished: slots.filter(s => results.has(s.key) || s.task?.lastStatus === 'STOPPED').length,
    total: slots.length,
    tasks
  }
}

/**
 * Reads the progress of every task still running (and once more after a task's result, for its
 * last windows) and returns the fleet's progress.
 */
export async function readProgress(
  ctx: PhaseContext,
  slots: readonly Slot[],
  startAtMs: number,
  results: ReadonlySet<string>
): Promise<FleetProgress> {
  // Each live window is handed on once: a task whose document is not read again adds none.
  for (const s of slots) if (s.progress) s.progress = { ...s.progress, live: [] }
  await eachLimit(
    slots.filter(s => !results.has(s.key) || !s.finalRead),
    16,
    async s => {
      if (results.has(s.key)) s.finalRead = true
      ctx.count('s3:GetObject')
      absorbProgress(
        s,
        await ctx.store.getJson<PublishedProgress>(ctx.keys.progress(s.key)).catch(() => null)
      )
    }
  )
  return fleetProgressOf(slots, results, (ctx.clock.now() - startAtMs) / 1000)
}

/** One line per region: task states, live requests per second and errors. */
export function regionLines(p: FleetProgress, slots: readonly { region: string; task?: Task }[]): string[] {
  const regions = [...new Set(slots.map(s => s.region))]
  return regions.map(region => {
    const states: Record<string, number> = {}
    for (const s of slots)
      if (s.region === region) {
        const st = (s.task?.lastStatus ?? 'PENDING').toLowerCase()
        states[st] = (states[st] ?? 0) + 1
      }
    const mine = p.tasks.filter(t => t.region === region)
    const rps = mine.reduce((a, t) => a + t.rps, 0)
    const req = mine.reduce((a, t) => a + t.requests, 0)
    const fail = mine.reduce((a, t) => a + t.failures, 0)
    const st = Object.entries(states)
      .map(([k, n]) => `${n} ${k}`)
      .join(', ')
    return `${region}: ${st}; ${Math.round(rps)} req/s, ${req} requests, ${fail} errors (${req ? ((100 * fail) / req).toFixed(2) : '0.00'}%) at ${Math.round(p.elapsedS)} s`
  })
}
