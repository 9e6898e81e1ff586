/**
 * Runs for gate and baseline job tests: every run has the same samples scaled by its median
 * latency, so a run's percentiles move exactly with the median and the baselines' noise is set by
 * their medians.
 */
import { baselineRecordFromRun } from '../../src/baseline/model.js'
import { RESULT_VERSION, RUN_RESULT_SCHEMA, type RunResult } from '../../src/results/model.js'
import type { MemoryBaselineStore } from './memory-store.js'
import { synthSamples, taskFromSamples } from './synthetic.js'

export const START = 1_800_000_000_000
export const REPO = 'octo/shop'
export const SCENARIO = 'checkout'
export const FINGERPRINT = 'fp-1'

let runNumber = 0

/** A complete one-task run whose latencies are the shared samples scaled to `medianMs`. */
export function run(
  medianMs: number,
  patch: { samples?: number; status?: 'ok' | 'engine-error'; facts?: RunResult['run']['facts'] } = {}
): RunResult {
  const id = `run-${++runNumber}`
  const samples = synthSamples({
    seed: 7,
    samples: patch.samples ?? 3000,
    medianUs: medianMs * 1000,
    failureRate: 0,
    startMs: START
  })
  const task = taskFromSamples(samples)
  task.task = {
    ...task.task,
    status: patch.status ?? 'ok',
    runId: id,
    scenario: SCENARIO,
    fingerprint: FINGERPRINT
  }
  return {
    schema: RUN_RESULT_SCHEMA,
    version: RESULT_VERSION,
    run: {
      runId: id,
      scenario: SCENARIO,
      fingerprint: FINGERPRINT,
      backend: 'local',
      createdMs: START,
      expectedTasks: 1,
      missingTasks: [],
      facts: patch.facts ?? {}
    },
    tasks: [task]
  }
}

/** Stores baselines with these medians, oldest first. */
export async function seed(store: MemoryBaselineStore, mediansMs: number[]): Promise<void> {
  for (const [i, m] of mediansMs.entries()) {
    const r = run(m)
    await store.put(
      baselineRecordFromRun(r, { repo: REPO, commit: `c${i}`, ref: 'main', createdMs: START + i * 1000 }),
      r
    )
  }
}

/** Twelve baselines around 20 ms with about 5 % noise. */
export const STEADY = [19, 21, 20, 19.5, 20.5, 19, 21, 20, 19.5, 20.5, 19.2, 20.8]
