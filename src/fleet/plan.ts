/**
 * Turns a scenario into a fleet plan: the run id, and one TaskSpec per task with its share of the
 * load (`taskShares`), the steady window of the profile and a hard time limit.
 */
import { randomBytes } from 'node:crypto'
import type { Scenario } from '../config/scenario.js'
import type { Stage, TaskLoad } from '../model/index.js'
import type { FleetPlan } from './types.js'
import { taskShares } from '../plan/shares.js'
import { TASK_SPEC_VERSION, type TaskSpec } from '../runner/spec.js'

/** Environment variable every engine process gets with the target's base URL (k6: `__ENV.PERF_GATE_TARGET`). */
export const TARGET_ENV = 'PERF_GATE_TARGET'

/** Seconds the whole profile runs: the stages, or ramp-up + hold. */
export function profileSeconds(s: Pick<Scenario, 'stages' | 'rampUpS' | 'durationS'>): number {
  return s.stages?.length ? s.stages.reduce((a, st) => a + st.durationS, 0) : s.rampUpS + s.durationS
}

/**
 * The steady window of the profile, seconds from the start: the hold after the ramp-up, or with
 * stages the longest stage that holds a constant, non-zero level. Null when there is none.
 */
export function steadyOf(
  s: Pick<Scenario, 'stages' | 'rampUpS' | 'durationS'>
): { fromS: number; toS: number } | null {
  if (!s.stages?.length) return { fromS: s.rampUpS, toS: s.rampUpS + s.durationS }
  let best: { fromS: number; toS: number } | null = null
  let level = 0
  let t = 0
  for (const st of s.stages as Stage[]) {
    if (st.target === level && level > 0 && (!best || st.durationS > best.toS - best.fromS))
      best = { fromS: t, toS: t + st.durationS }
    level = st.target
    t += st.durationS
  }
  return best
}

/** Time a task may take beyond its profile before it is stopped: engine start-up and drain. */
export function hardMaxSeconds(s: Pick<Scenario, 'stages' | 'rampUpS' | 'durationS' | 'engine'>): number {
  const profile = profileSeconds(s)
  const startup = s.engine === 'jmeter' ? 60 : s.engine === 'http' ? 15 : 30
  return Math.ceil(profile + startup + Math.min(300, profile * 0.25))
}

export function newRunId(scenario: string, now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
  const safe =
    scenario
      .replace(/[^A-Za-z0-9_.-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'run'
  return `${safe}-${stamp}-${randomBytes(3).toString('hex')}`
}

export function planRun(
  scenario: Scenario,
  opts: {
    runId?: string
    backend?: string
    region?: string
    /** Regions and their task counts, in task order (a Fargate fleet); they must add up to scenario.tasks. */
    regions?: readonly { region: string; tasks: number }[]
  } = {}
): FleetPlan {
  const runId = opts.runId ?? newRunId(scenario.name)
  const backend = opts.backend ?? 'local'
  const regionOf = (i: number): string => {
    let first = 0
    for (const r of opts.regions ?? []) {
      if (i < first + r.tasks) return r.region
      first += r.tasks
    }
    return opts.region ?? 'local'
  }
  const load: TaskLoad = {
    vus: scenario.vus,
    durationS: scenario.durationS,
    rampUpS: scenario.rampUpS,
    ...(scenario.stages?.length ? { stages: scenario.stages } : {}),
    ...(scenario.scriptLoad ? { scriptLoad: true } : {}),
    targetUrl: scenario.target
  }
  const shares = taskShares(scenario.engine, load, scenario.tasks)
  const hardMaxS = hardMaxSeconds(scenario)
  // A profile knows its steady phase (e.g. the spike's baseline); otherwise the stages tell.
  // A k6 script's own load has no steady phase perf-gate knows of: the whole run counts.
  const steady = scenario.scriptLoad ? null : (scenario.profile?.steady ?? steadyOf(scenario))
  const tasks: TaskSpec[] = shares.map((share, i) => {
    const region = regionOf(i)
    return {
      version: TASK_SPEC_VERSION,
      runId,
      scenario: scenario.name,
      fingerprint: scenario.fingerprint,
      backend,
      region,
      taskIndex: i,
      taskCount: shares.length,
      engine: scenario.engine,
      ...(scenario.script ? { script: scenario.script } : {}),
      ...(scenario.requests ? { requests: scenario.requests } : {}),
      load: share.load,
      share: share.share,
      startAtMs: null,
      hardMaxS,
      intervalMs: scenario.intervalMs,
      steady,
      tags: {},
      env: { [TARGET_ENV]: scenario.target, ...scenario.env },
      out: `result-${region}-${i}.json`
    }
  })
  return { runId, tasks, expectedTasks: tasks.length }
}
