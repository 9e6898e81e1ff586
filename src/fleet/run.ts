/**
 * One run of a scenario on a fleet, start to finish: plan the tasks, run them, and assemble the
 * run result (every task result, the missing tasks, the scenario's thresholds). Used by
 * `perf-gate run` and by the action.
 */
import type { Scenario } from '../config/scenario.js'
import { RESULT_VERSION, RUN_RESULT_SCHEMA, type RunResult, type TaskResult } from '../results/model.js'
import { resolveK6Load } from './k6-load.js'
import { planRun } from './plan.js'
import { LocalFleet } from './local.js'
import type { Fleet, FleetOutcome, FleetPlan } from './types.js'
import type { FleetProgress } from '../model/index.js'

export interface RunScenarioOptions {
  /** Environment for the runners (engine binary overrides, PERF_GATE_RUNNER). */
  env?: NodeJS.ProcessEnv
  /** One-line notices: the plan, stopped or failed tasks, missing tasks. */
  log?: (message: string) => void
  onProgress?: (p: FleetProgress) => void
  /** Cancellation (see FleetHooks.signal). */
  signal?: AbortSignal
  /** An orderly early end, e.g. a stop rule (see FleetHooks.stop). */
  stop?: AbortSignal
  /** The fleet to run on; default a LocalFleet. */
  fleet?: Fleet
  /** Called with the plan before the tasks start. */
  onPlan?: (plan: FleetPlan) => void
  /** Regions and their task counts, in task order (a Fargate fleet). */
  regions?: readonly { region: string; tasks: number }[]
}

/** Adds the scenario's thresholds to every task's metadata, so the result carries them. */
function withThresholds(tasks: TaskResult[], scenario: Scenario): TaskResult[] {
  if (!scenario.thresholds.length) return tasks
  return tasks.map(t => {
    const thresholds = [...t.task.thresholds]
    for (const th of scenario.thresholds)
      if (!thresholds.some(x => x.metric === th.metric && x.expr === th.expr)) thresholds.push(th)
    return { ...t, task: { ...t.task, thresholds } }
  })
}

/** The run result document of a fleet outcome. */
export function runResultOf(
  scenario: Scenario,
  plan: FleetPlan,
  backend: string,
  createdMs: number,
  outcome: FleetOutcome
): RunResult {
  return {
    schema: RUN_RESULT_SCHEMA,
    version: RESULT_VERSION,
    run: {
      runId: plan.runId,
      scenario: scenario.name,
      fingerprint: scenario.fingerprint,
      backend,
      createdMs,
      expectedTasks: plan.expectedTasks,
      missingTasks: outcome.missing,
      facts: {
        engine: scenario.engine,
        target: scenario.target,
        vus: scenario.vus,
        durationS: scenario.durationS,
        rampUpS: scenario.rampUpS,
        stages: scenario.stages?.length ?? 0,
        tasks: plan.tasks.length,
        aborted: outcome.aborted,
        ...outcome.facts,
        ...(scenario.profile ? { profile: scenario.profile.name } : {})
      }
    },
    tasks: withThresholds(outcome.tasks, scenario)
  }
}

/** Tasks whose k6 ended with exit code 99: the script's thresholds crossed on that task's data. */
export function k6ThresholdsCrossed(result: RunResult): string[] {
  return result.tasks
    .filter(t => t.task.engine === 'k6' && t.task.exitCode === 99)
    .map(
      t =>
        `task ${t.task.region}/${t.task.taskIndex}: the k6 script's thresholds were crossed (k6 exit code 99)` +
        (t.task.message ? `: ${t.task.message}` : '')
    )
}

/** Why a run result is not a complete, successful run; null when it is. */
export function runProblems(result: RunResult): string | null {
  const problems: string[] = [...k6ThresholdsCrossed(result)]
  if (result.run.facts.aborted === true) problems.push('the run was interrupted')
  for (const m of result.run.missingTasks)
    problems.push(`task ${m.region}/${m.taskIndex} missing: ${m.reason}`)
  for (const t of result.tasks)
    if (t.task.status !== 'ok')
      problems.push(
        `task ${t.task.region}/${t.task.taskIndex} ${t.task.status}${t.task.message ? `: ${t.task.message}` : ''}`
      )
  return problems.length ? problems.join('; ') : null
}

/** Plans and runs the scenario once and returns its run result (failed tasks included). */
export async function runScenarioOnce(scenario: Scenario, opts: RunScenarioOptions = {}): Promise<RunResult> {
  const log = opts.log ?? (() => undefined)
  scenario = await resolveK6Load(scenario, opts.env ?? process.env, log)
  const createdMs = Date.now()
  const plan = planRun(scenario, { backend: opts.fleet?.backend, regions: opts.regions })
  opts.onPlan?.(plan)
  const fleet = opts.fleet ?? new LocalFleet({ env: opts.env })
  const outcome = await fleet.run(plan, {
    signal: opts.signal,
    stop: opts.stop,
    onProgress: opts.onProgress,
    onNotice: log
  })
  for (const m of outcome.missing) log(`task ${m.region}/${m.taskIndex} missing: ${m.reason}`)
  for (const t of outcome.tasks)
    if (t.task.status !== 'ok')
      log(
        `task ${t.task.region}/${t.task.taskIndex} ${t.task.status}${t.task.message ? `: ${t.task.message}` : ''}`
      )
  return runResultOf(scenario, plan, fleet.backend, createdMs, outcome)
}
