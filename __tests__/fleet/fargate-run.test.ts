/**
 * FargateFleet.run end to end on the in-memory fakes: the production fleet (through its ECS
 * adapter, with a fake ECS client) against simulated tasks, on a fake clock.
 */
import { simulateRun } from './fargate-fakes.js'

describe('FargateFleet.run on simulated tasks', () => {
  it('launches, starts together, collects every result and leaves nothing running', async () => {
    const r = await simulateRun()
    expect(r.outcome).toMatchObject({ missing: [], aborted: false })
    expect(r.outcome.tasks.map(t => `${t.task.region}/${t.task.taskIndex}`)).toEqual([
      'us-east-1/0',
      'us-east-1/1',
      'eu-west-1/2'
    ])
    expect(Object.keys(r.outcome.facts!)).toEqual(['barrierS', 'startSkewMs', 'regions'])
    expect(r.outcome.facts).toMatchObject({ startSkewMs: 0, regions: 'us-east-1,eu-west-1' })
    expect(r.notices[0]).toBe('launched 3 of 3 task(s) in 2 region(s)')
    expect(r.notices).toContain('start barrier passed: 3 task(s) start at 2027-01-15T08:00:02.500Z')
    expect(r.store.doc('runs/sim-run/go.json')).toEqual({
      startAtMs: 1_800_000_002_500,
      tasks: ['us-east-1-0000', 'us-east-1-0001', 'eu-west-1-0002']
    })
    expect(r.ecsLog.filter(c => c.startsWith('RunTask'))).toEqual([
      'RunTask us-east-1 2',
      'RunTask eu-west-1 1'
    ])
    expect(r.ecsLog.some(c => c.startsWith('StopTask'))).toBe(false)
    expect(r.tasks.every(t => t.status === 'STOPPED')).toBe(true)
    expect(r.calls).toMatchObject({ 'ecs:RunTask': 2, 's3:GetObject': 6 })
    expect(r.progress[0]).toMatchObject({ total: 3, reporting: 3 })
    expect(Object.values(r.launched.at(-1)!).flat()).toHaveLength(3)
  })

  it('goes on without a task that crashed before the barrier when min-task-success allows', async () => {
    const r = await simulateRun({
      scripts: n => (n === 1 ? { crashBeforeReady: true, startMs: 3000 } : {}),
      minTaskSuccess: 0.5
    })
    expect(r.outcome.aborted).toBe(false)
    expect(r.outcome.tasks).toHaveLength(2)
    expect(r.outcome.missing).toEqual([
      {
        region: 'us-east-1',
        taskIndex: 1,
        reason: 'stopped before it was ready: Essential container in task exited, exit code 1'
      }
    ])
    expect(r.outcome.facts?.barrierS).toBe(3)
  })

  it('runs no load when too few tasks become ready, and stops the ones still starting', async () => {
    const r = await simulateRun({
      scripts: n => (n === 2 ? { startMs: Infinity } : {}),
      timing: { readyTimeoutMs: 5000 }
    })
    expect(r.outcome.aborted).toBe(true)
    expect(r.outcome.tasks).toEqual([])
    expect(r.store.doc('runs/sim-run/go.json')).toBeUndefined()
    expect(r.notices.at(-1)).toBe(
      'stopping the fleet: only 2 of 3 task(s) became ready (min-task-success needs 3)'
    )
    expect(r.outcome.missing[2].reason).toBe('not ready within 5 s (PROVISIONING)')
    expect(r.ecsLog).toContain(
      'StopTask eu-west-1 only 2 of 3 task(s) became ready (min-task-success needs 3)'
    )
  })

  it('on a stop request, tells the tasks to stop and collects what they wrote', async () => {
    const stop = new AbortController()
    const r = await simulateRun({
      stop,
      onTick: ({ elapsedMs }) => {
        if (elapsedMs > 6000 && !stop.signal.aborted) stop.abort('stop rule')
      }
    })
    expect(r.outcome).toMatchObject({ aborted: true, missing: [] })
    expect(r.outcome.tasks).toHaveLength(3)
    expect(r.store.doc('runs/sim-run/abort.json')).toMatchObject({ reason: 'stop rule' })
    expect(r.clock.ms - 1_800_000_000_000).toBeLessThan(10_000)
  })

  it('on a cancelled job, stops every task at once without waiting for results', async () => {
    const signal = new AbortController()
    const r = await simulateRun({
      signal,
      scripts: () => ({ hang: true }),
      onTick: ({ elapsedMs }) => {
        if (elapsedMs > 6000 && !signal.signal.aborted) signal.abort()
      }
    })
    expect(r.outcome.aborted).toBe(true)
    expect(r.notices.at(-1)).toBe('stopping the fleet: the job was cancelled')
    expect(r.ecsLog.filter(c => c.startsWith('StopTask'))).toEqual([
      'StopTask us-east-1 the job was cancelled',
      'StopTask us-east-1 the job was cancelled',
      'StopTask eu-west-1 the job was cancelled'
    ])
    expect(r.tasks.every(t => t.status === 'STOPPED')).toBe(true)
  })
})
