/**
 * The gate and baseline jobs, branch by branch, on an in-memory baseline store (runs from
 * ../helpers/gate-runs.ts).
 */
import { parseSlos } from '../../src/gate/slo.js'
import { runBaselineJob, runGateJob, type JobContext, type RunOnce } from '../../src/jobs/gate.js'
import type { RunResult } from '../../src/results/model.js'
import { FINGERPRINT, REPO, run, SCENARIO, seed, START, STEADY } from '../helpers/gate-runs.js'
import { MemoryBaselineStore } from '../helpers/memory-store.js'

function context(
  store: MemoryBaselineStore | null,
  patch: Partial<JobContext> = {}
): JobContext & { logs: string[] } {
  const logs: string[] = []
  return {
    repo: REPO,
    commit: 'head',
    ref: 'feature',
    scenario: SCENARIO,
    fingerprint: FINGERPRINT,
    gate: { confirmReplicates: 2 },
    slos: [],
    store,
    log: m => logs.push(m),
    ...patch,
    logs
  }
}

/** A RunOnce that hands out the given runs in order and counts its calls. */
function runs(...list: RunResult[]): RunOnce & { calls: number[] } {
  const calls: number[] = []
  const fn = async (replicate: number) => {
    calls.push(replicate)
    const r = list[Math.min(replicate, list.length - 1)]
    return r
  }
  return Object.assign(fn, { calls })
}

describe('runGateJob', () => {
  it('passes a run like its baselines after one screening run', async () => {
    const store = new MemoryBaselineStore()
    await seed(store, STEADY)
    const ctx = context(store)
    const once = runs(run(20))
    const job = await runGateJob(ctx, once, true)
    expect(job.outcome).toBe('PASS')
    expect(job.verdict?.provisional).toBe(false)
    expect(once.calls).toEqual([0])
    expect(job.baselines).toHaveLength(12)
    expect(job.newestBaseline?.run.runId).toBe(store.baselines[11].run.run.runId)
    expect(ctx.logs).toContain('using 12 comparable baseline(s) from memory:baselines')
  })

  it('fails a clear regression after the confirmation runs', async () => {
    const store = new MemoryBaselineStore()
    await seed(store, STEADY)
    const once = runs(run(30), run(30), run(30))
    const job = await runGateJob(context(store), once, true)
    expect(job.outcome).toBe('FAIL')
    expect(once.calls).toEqual([0, 1, 2])
    expect(job.metrics).toHaveLength(3)
    expect(job.reasons.join('\n')).toMatch(/regressed/)
  })

  it('is inconclusive when the confirmation runs neither clear nor confirm the screening run', async () => {
    const store = new MemoryBaselineStore()
    await seed(store, STEADY)
    const once = runs(run(23), run(20.6), run(20.6))
    const job = await runGateJob(context(store), once, true)
    expect(once.calls).toEqual([0, 1, 2])
    expect(job.outcome).toBe('INCONCLUSIVE')
  })

  it('ends ERROR without judging when the run completed no requests, or has no task results', async () => {
    const store = new MemoryBaselineStore()
    await seed(store, STEADY)
    const empty = run(20, { samples: 0 })
    const job = await runGateJob(context(store), runs(empty), true)
    expect(job.outcome).toBe('ERROR')
    expect(job.reasons).toEqual(['the run cannot be judged: the run completed no requests'])
    expect(job.verdict).toBeNull()
    expect(store.queries).toHaveLength(0)

    const none = { ...run(20), tasks: [] }
    const noTasks = await runGateJob(context(store), runs(none), true)
    expect(noTasks.outcome).toBe('ERROR')
    expect(noTasks.reasons).toEqual(['the run cannot be judged: the run has no task results'])
    expect(noTasks.view).toBeNull()
  })

  it('ends ERROR for a failed task, unless min-task-success lets the partial run be judged', async () => {
    const store = new MemoryBaselineStore()
    await seed(store, STEADY)
    const partial = run(20)
    const failed = { ...run(20, { status: 'engine-error' }).tasks[0] }
    failed.task = { ...failed.task, taskIndex: 1 }
    partial.tasks.push(failed)
    partial.run.expectedTasks = 2
    const strict = await runGateJob(context(store), runs(partial), true)
    expect(strict.outcome).toBe('ERROR')
    expect(strict.reasons[0]).toMatch(/^the run cannot be judged: task local\/1 has status 'engine-error'/)

    const lenient = context(store, { minTaskSuccess: 0.5 })
    const judged = await runGateJob(lenient, runs(partial), true)
    expect(judged.outcome).toBe('PASS')
    expect(lenient.logs.some(l => l.startsWith('judging a partial run (min-task-success)'))).toBe(true)
  })

  it('fails at once when the fleet was stopped by abort-on', async () => {
    const once = runs(run(20, { facts: { abortOn: 'http_req_failed: rate<0.5' } }))
    const job = await runGateJob(context(new MemoryBaselineStore()), once, true)
    expect(job.outcome).toBe('FAIL')
    expect(job.reasons).toEqual(['the fleet was stopped early: abort-on http_req_failed: rate<0.5'])
    expect(once.calls).toEqual([0])
  })

  it('is provisional with fewer baselines than min-baselines', async () => {
    const store = new MemoryBaselineStore()
    await seed(store, [19, 20, 21])
    const job = await runGateJob(context(store), runs(run(20)), true)
    expect(job.outcome).toBe('PASS')
    expect(job.verdict?.provisional).toBe(true)
    expect(job.reasons.join('\n')).toMatch(/\(provisional\)/)
  })

  it('passes without a statistical gate when there is no comparable baseline (or no store)', async () => {
    const store = new MemoryBaselineStore()
    await seed(store, STEADY)
    const ctx = context(store, { fingerprint: 'another' })
    const job = await runGateJob(ctx, runs(run(40)), true)
    expect(job.outcome).toBe('PASS')
    expect(job.baselines).toEqual([])
    expect(job.newestBaseline).toBeNull()
    expect(job.reasons.join('\n')).toMatch(/no comparable baseline: the statistical gate was not applied/)
    expect(ctx.logs).toContain('no comparable baseline found')

    const storeless = await runGateJob(context(null), runs(run(40)), true)
    expect(storeless.outcome).toBe('PASS')
    expect(storeless.baselines).toEqual([])
  })

  it('still fails a broken SLO when the baselines see no regression', async () => {
    const store = new MemoryBaselineStore()
    await seed(store, STEADY)
    const ctx = context(store, { slos: parseSlos(['http_req_duration: p(95)<5']) })
    const job = await runGateJob(ctx, runs(run(20)), true)
    expect(job.outcome).toBe('FAIL')
    expect(job.slo.some(r => r.status === 'fail')).toBe(true)
  })

  it('ends ERROR when the baseline store cannot be read', async () => {
    const store = new MemoryBaselineStore()
    store.failList = new Error('S3 is down')
    const job = await runGateJob(context(store), runs(run(20)), true)
    expect(job.outcome).toBe('ERROR')
    expect(job.reasons).toEqual(['could not read baselines: S3 is down'])
    expect(job.runs).toHaveLength(1)
  })

  it('judges the screening run alone when no confirmation run can be made', async () => {
    const store = new MemoryBaselineStore()
    await seed(store, STEADY)
    const ctx = context(store)
    const once = runs(run(30))
    const job = await runGateJob(ctx, once, false)
    expect(once.calls).toEqual([0])
    expect(job.outcome).toBe('FAIL')
    expect(ctx.logs).toContain(
      'stage 1 tripped, but no confirmation runs can be made: judging the single run'
    )
  })

  it('ends ERROR when a confirmation run cannot be judged, keeping the baselines', async () => {
    const store = new MemoryBaselineStore()
    await seed(store, STEADY)
    const once = runs(run(30), run(30, { samples: 0 }))
    const job = await runGateJob(context(store), once, true)
    expect(once.calls).toEqual([0, 1])
    expect(job.outcome).toBe('ERROR')
    expect(job.reasons).toEqual(['confirmation run 1 cannot be judged: the run completed no requests'])
    expect(job.baselines).toHaveLength(12)
  })

  it('keeps its verdict when the newest baseline run cannot be loaded', async () => {
    const store = new MemoryBaselineStore()
    await seed(store, STEADY)
    store.failLoad = new Error('gone')
    const ctx = context(store)
    const job = await runGateJob(ctx, runs(run(20)), true)
    expect(job.outcome).toBe('PASS')
    expect(job.newestBaseline).toBeNull()
    expect(ctx.logs).toContain('could not load the newest baseline for per-label figures: gone')
  })
})

describe('runBaselineJob', () => {
  it('stores every healthy replicate and passes', async () => {
    const store = new MemoryBaselineStore()
    const once = runs(run(20), run(21))
    const job = await runBaselineJob(context(store), once, 2, () => START)
    expect(job.outcome).toBe('PASS')
    expect(job.reasons).toEqual(['stored 2 of 2 baseline run(s)'])
    expect(store.baselines.map(b => b.record.replicate)).toEqual([0, 1])
    expect(store.baselines.every(b => b.record.commit === 'head' && b.record.ref === 'feature')).toBe(true)
  })

  it('stores the good replicates and says why the others were refused', async () => {
    const store = new MemoryBaselineStore()
    const job = await runBaselineJob(context(store), runs(run(20, { samples: 0 }), run(20)), 2)
    expect(job.outcome).toBe('PASS')
    expect(job.stored).toHaveLength(1)
    expect(job.refused).toEqual([{ replicate: 0, reason: 'the run completed no requests' }])
  })

  it('ends ERROR when no replicate could be stored', async () => {
    const store = new MemoryBaselineStore()
    store.failPut = new Error('read-only')
    const job = await runBaselineJob(context(store), runs(run(20)), 1)
    expect(job.outcome).toBe('ERROR')
    expect(job.reasons).toEqual(['no baseline was stored', 'replicate 1: read-only'])
  })

  it('ends CANCELLED and stores nothing once the job is cancelled', async () => {
    const store = new MemoryBaselineStore()
    const abort = new AbortController()
    const once: RunOnce = async () => {
      abort.abort()
      return run(20)
    }
    const job = await runBaselineJob(context(store, { signal: abort.signal }), once, 3)
    expect(job.outcome).toBe('CANCELLED')
    expect(job.reasons).toEqual(['cancelled after 1 of 3 replicate run(s) started; no baseline was stored'])
    expect(job.runs).toHaveLength(1)
    expect(store.baselines).toEqual([])
  })

  it('needs a baseline store', async () => {
    await expect(runBaselineJob(context(null), runs(run(20)), 1)).rejects.toThrow(
      'baseline mode needs a baseline store'
    )
  })
})
