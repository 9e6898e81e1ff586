/**
 * The pure decisions of a Fargate run (src/fleet/fargate/policy.ts): the start barrier, the
 * min-task-success verdict, the watch, poll pacing, missing reasons, start skew and the outcome.
 */
import type { Task } from '@aws-sdk/client-ecs'
import {
  barrierVerdict,
  fleetOutcome,
  judgeBarrier,
  judgeWatch,
  missingReason,
  pollPauseMs,
  startSkew,
  stoppedReason,
  watchWindow,
  type WatchState
} from '../../src/fleet/fargate/policy.js'
import { slotsOf, type Slot } from '../../src/fleet/fargate/slots.js'
import { DEFAULT_FARGATE_TIMING } from '../../src/fleet/fargate/timing.js'
import type { TaskResult } from '../../src/results/model.js'
import { resultDoc, specs } from './fargate-fakes.js'

const timing = { ...DEFAULT_FARGATE_TIMING, pollMs: 2000, readyTimeoutMs: 60_000, abortGraceMs: 30_000 }

/** Three launched slots (us-east-1 ×2, eu-west-1), each with the given ECS task state. */
function slots(...tasks: (Partial<Task> | undefined)[]): Slot[] {
  return slotsOf(specs('r', ['us-east-1', 'us-east-1', 'eu-west-1'])).map((s, i) => ({
    ...s,
    arn: `arn:${i}`,
    ...(tasks[i] ? { task: tasks[i] as Task } : {})
  }))
}

describe('judgeBarrier', () => {
  it('starts the load once every task is ready', () => {
    const s = slots({ lastStatus: 'RUNNING' }, { lastStatus: 'RUNNING' }, { lastStatus: 'RUNNING' })
    for (const x of s) x.ready = true
    expect(judgeBarrier(s, 5000, timing)).toEqual({ next: 'start', lost: [] })
  })

  it('keeps waiting for tasks still starting, with a notice and a short pause', () => {
    const s = slots({ lastStatus: 'RUNNING' }, { lastStatus: 'PROVISIONING' }, undefined)
    s[0].ready = true
    expect(judgeBarrier(s, 12_400, timing)).toEqual({
      next: 'wait',
      lost: [],
      notice: 'start barrier: 1/3 ready after 12 s',
      pauseMs: 500
    })
    expect(judgeBarrier(s, 0, { ...timing, pollMs: 200 })).toMatchObject({ next: 'wait', pauseMs: 200 })
  })

  it('loses a task that stopped before it was ready, and starts when the rest are ready', () => {
    const s = slots(
      { lastStatus: 'RUNNING' },
      { lastStatus: 'STOPPED', stoppedReason: 'Essential container exited', containers: [{ exitCode: 2 }] },
      { lastStatus: 'RUNNING' }
    )
    s[0].ready = s[2].ready = true
    const d = judgeBarrier(s, 1000, timing)
    expect(d.next).toBe('start')
    expect(d.lost).toEqual([
      { slot: s[1], reason: 'stopped before it was ready: Essential container exited, exit code 2' }
    ])
  })

  it('gives up on pending tasks past the ready timeout, naming a task that never started', () => {
    const s = slots({ lastStatus: 'RUNNING' }, { lastStatus: 'PENDING' }, undefined)
    s[0].ready = true
    expect(judgeBarrier(s, 60_000, timing).next).toBe('wait')
    const d = judgeBarrier(s, 60_001, timing)
    expect(d.next).toBe('give-up')
    expect(d.lost.map(l => [l.slot.key, l.reason])).toEqual([
      [s[1].key, 'not ready within 60 s (PENDING)'],
      [s[2].key, 'not ready within 60 s (never started)']
    ])
  })

  it('leaves tasks already missing (not launched) alone', () => {
    const s = slots({ lastStatus: 'RUNNING' }, undefined, undefined)
    s[0].ready = true
    s[1].missing = s[2].missing = 'not launched: RESOURCE:MEMORY'
    expect(judgeBarrier(s, 999_999, timing)).toEqual({ next: 'start', lost: [] })
  })
})

describe('barrierVerdict', () => {
  const readyOf = (n: number) => {
    const s = slots()
    for (let i = 0; i < n; i++) s[i].ready = true
    return s
  }

  it('needs every task by default, and min-task-success of them when set', () => {
    expect(barrierVerdict(readyOf(3), undefined, false)).toMatchObject({ abortReason: null })
    expect(barrierVerdict(readyOf(2), undefined, false).abortReason).toBe(
      'only 2 of 3 task(s) became ready (min-task-success needs 3)'
    )
    expect(barrierVerdict(readyOf(2), 0.6, false).abortReason).toBeNull()
    expect(barrierVerdict(readyOf(1), 0.6, false).abortReason).toBe(
      'only 1 of 3 task(s) became ready (min-task-success needs 2)'
    )
  })

  it('counts only ready tasks not lost, and adds no reason to a run already stopping', () => {
    const s = readyOf(3)
    s[2].missing = 'unreadable'
    const v = barrierVerdict(s, undefined, true)
    expect(v.ready.map(x => x.key)).toEqual([s[0].key, s[1].key])
    expect(v.abortReason).toBeNull()
  })
})

describe('judgeWatch', () => {
  const window = watchWindow(specs('r', ['a', 'b'], 10), 100_000, timing)
  const state = (o: Partial<WatchState> = {}): WatchState => ({
    nowMs: 105_000,
    startAtMs: 100_000,
    deadlineMs: window.deadlineMs,
    abortedAtMs: null,
    lastProgressMs: 0,
    ...o
  })

  it('places the load end and the deadline (hard limit + collect grace) after the start', () => {
    expect(window).toEqual({ loadEndMs: 110_000, deadlineMs: 100_000 + 25_000 + timing.collectGraceMs })
  })

  it('collects once every task has a result or has stopped', () => {
    const s = slots({ lastStatus: 'RUNNING' }, { lastStatus: 'STOPPED' }, { lastStatus: 'RUNNING' })
    expect(judgeWatch(s, new Set([s[0].key]), state(), timing)).toMatchObject({ next: 'wait' })
    expect(judgeWatch(s, new Set([s[0].key, s[2].key]), state(), timing)).toEqual({ next: 'collect' })
  })

  it('reads progress every progressMs once the load has started', () => {
    const s = slots({ lastStatus: 'RUNNING' })
    expect(judgeWatch(s, new Set(), state({ nowMs: 99_000 }), timing)).toEqual({
      next: 'wait',
      progressDue: false
    })
    expect(judgeWatch(s, new Set(), state(), timing)).toEqual({ next: 'wait', progressDue: true })
    const recent = state({ lastProgressMs: 105_000 - timing.progressMs + 1 })
    expect(judgeWatch(s, new Set(), recent, timing)).toEqual({ next: 'wait', progressDue: false })
    expect(judgeWatch(s, new Set(), state({ startAtMs: null }), timing)).toEqual({
      next: 'wait',
      progressDue: false
    })
  })

  it('gives up past the hard limit', () => {
    const s = slots({ lastStatus: 'RUNNING' }, { lastStatus: 'RUNNING' })
    expect(judgeWatch(s, new Set(), state({ nowMs: window.deadlineMs }), timing).next).toBe('wait')
    expect(judgeWatch(s, new Set(), state({ nowMs: window.deadlineMs + 1 }), timing)).toEqual({
      next: 'give-up',
      notice: '3 task(s) still running past the hard limit; stopping them'
    })
  })

  it('after a stop request, gives the tasks abortGraceMs to stop by themselves', () => {
    const s = slots({ lastStatus: 'RUNNING' })
    const stopped = (nowMs: number) => state({ nowMs, abortedAtMs: 100_000 })
    expect(judgeWatch(s, new Set(), stopped(130_000), timing).next).toBe('wait')
    expect(judgeWatch(s, new Set(), stopped(130_001), timing)).toEqual({
      next: 'give-up',
      notice: '3 task(s) did not stop within 30 s of the abort; stopping them'
    })
  })
})

describe('pollPauseMs', () => {
  it('polls slowly while the load runs, and quickly once it should be over', () => {
    expect(pollPauseMs(10_000, 0, 2000)).toBe(2000)
    expect(pollPauseMs(10_000, 9000, 2000)).toBe(1250)
    expect(pollPauseMs(10_000, 10_000, 2000)).toBe(500)
    expect(pollPauseMs(10_000, 20_000, 300)).toBe(300)
  })
})

describe('missing tasks and the outcome', () => {
  it('says why a task has no result', () => {
    const [running, stopped, never] = slots(
      { lastStatus: 'RUNNING' },
      { lastStatus: 'STOPPED', stopCode: 'SpotInterruption' },
      undefined
    )
    expect(missingReason(running, 'k6: not found')).toBe('failed to start: k6: not found')
    expect(missingReason(running, undefined)).toBe('no result (running)')
    expect(missingReason(stopped, undefined)).toBe('no result (SpotInterruption)')
    expect(missingReason(never, undefined)).toBe('no result (never started)')
    expect(stoppedReason(undefined)).toBe('the task never started')
    expect(stoppedReason({ lastStatus: 'DEPROVISIONING' })).toBe('task deprovisioning')
  })

  it('measures the start skew of two or more results, and returns partial results with the missing', () => {
    const s = slots()
    s[0].result = resultDoc('us-east-1', 0, 1000, 9000) as TaskResult
    expect(startSkew(s)).toBeNull()
    s[2].result = resultDoc('eu-west-1', 2, 1350, 9000) as TaskResult
    expect(startSkew(s)).toEqual({ ms: 350, tasks: 2 })
    s[1].missing = 'no result (running)'
    const facts = { barrierS: 1.5 }
    expect(fleetOutcome(s, true, facts)).toEqual({
      tasks: [s[0].result, s[2].result],
      missing: [{ region: 'us-east-1', taskIndex: 1, reason: 'no result (running)' }],
      aborted: true,
      facts
    })
    expect(fleetOutcome(slots(), false, {}).missing.map(m => m.reason)).toEqual([
      'no result',
      'no result',
      'no result'
    ])
  })
})
