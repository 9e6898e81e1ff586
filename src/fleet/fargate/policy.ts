/**
 * The decisions of a Fargate run, as pure functions of what has been observed and the clock's time:
 * whether the start barrier keeps waiting, starts the load or gives up on tasks; whether the watch
 * keeps polling, reads progress, collects or stops waiting; why a task has no result; and the
 * outcome. The phases (./phases) observe, ask these, and act.
 */
import type { Task } from '@aws-sdk/client-ecs'
import type { TaskSpec } from '../../runner/spec.js'
import { profileSeconds } from '../plan.js'
import type { FleetOutcome, MissingTask } from '../types.js'
import type { Slot } from './slots.js'
import type { FargateTiming } from './timing.js'

/** A task the run gives up on, and why. */
export interface Loss {
  slot: Slot
  reason: string
}

/** Why an ECS task stopped, from what DescribeTasks says about it. */
export function stoppedReason(t: Task | undefined): string {
  if (!t) return 'the task never started'
  const exit = t.containers?.[0]?.exitCode
  const why = [t.stoppedReason, t.stopCode, exit !== undefined ? `exit code ${exit}` : '']
    .filter(Boolean)
    .join(', ')
  return why || `task ${t.lastStatus?.toLowerCase() ?? 'unknown'}`
}

export type BarrierDecision =
  /** Every task is ready or lost: the load can start. */
  | { next: 'start'; lost: Loss[] }
  /** The barrier timed out: the tasks still pending are lost. */
  | { next: 'give-up'; lost: Loss[] }
  /** Some tasks are still starting up: poll again after `pauseMs`. */
  | { next: 'wait'; lost: Loss[]; notice: string; pauseMs: number }

/**
 * The start barrier after a poll: tasks that stopped before they were ready are lost; when none is
 * pending the load starts; past `readyTimeoutMs` the pending ones are lost too; else wait.
 */
export function judgeBarrier(
  slots: readonly Slot[],
  elapsedMs: number,
  timing: FargateTiming
): BarrierDecision {
  const open = slots.filter(s => !s.ready && !s.missing)
  const stopped = open.filter(s => s.task?.lastStatus === 'STOPPED')
  const lost: Loss[] = stopped.map(slot => ({
    slot,
    reason: `stopped before it was ready: ${stoppedReason(slot.task)}`
  }))
  const pending = open.filter(s => !stopped.includes(s))
  if (!pending.length) return { next: 'start', lost }
  if (elapsedMs > timing.readyTimeoutMs) {
    const limitS = Math.round(timing.readyTimeoutMs / 1000)
    for (const slot of pending)
      lost.push({
        slot,
        reason: `not ready within ${limitS} s (${slot.task?.lastStatus ?? 'never started'})`
      })
    return { next: 'give-up', lost }
  }
  const ready = slots.filter(s => s.ready).length
  return {
    next: 'wait',
    lost,
    notice: `start barrier: ${ready}/${slots.length} ready after ${Math.round(elapsedMs / 1000)} s`,
    pauseMs: Math.min(timing.pollMs, 500)
  }
}

/**
 * After the barrier: the tasks that start the load, and why the run must stop instead when fewer
 * than `minTaskSuccess` of them are ready (null when it may go on, or is already stopping).
 */
export function barrierVerdict(
  slots: readonly Slot[],
  minTaskSuccess: number | undefined,
  alreadyStopping: boolean
): { ready: Slot[]; abortReason: string | null } {
  const ready = slots.filter(s => s.ready && !s.missing)
  const minReady = Math.ceil(slots.length * (minTaskSuccess ?? 1))
  const tooFew = !alreadyStopping && ready.length < minReady
  return {
    ready,
    abortReason: tooFew
      ? `only ${ready.length} of ${slots.length} task(s) became ready (min-task-success needs ${minReady})`
      : null
  }
}

/** When the load should be over, and when the watch stops waiting for results (hard limit + grace). */
export function watchWindow(
  tasks: readonly TaskSpec[],
  fromMs: number,
  timing: FargateTiming
): { loadEndMs: number; deadlineMs: number } {
  const hardMaxMs = Math.max(...tasks.map(t => t.hardMaxS)) * 1000
  return {
    loadEndMs: fromMs + Math.max(...tasks.map(t => profileSeconds(t.load))) * 1000,
    deadlineMs: fromMs + hardMaxMs + timing.collectGraceMs
  }
}

/** What the watch knows besides the tasks: the clock, the start, the deadline, an abort. */
export interface WatchState {
  nowMs: number
  /** The common start; null when no load was started. */
  startAtMs: number | null
  deadlineMs: number
  /** When the run was told to stop (abort.json); null if it was not. */
  abortedAtMs: number | null
  /** When progress was last read (0: never). */
  lastProgressMs: number
}

export type WatchDecision =
  /** Every started task has a result or has stopped. */
  | { next: 'collect' }
  /** Tasks are still running past the hard limit, or past the grace after an abort. */
  | { next: 'give-up'; notice: string }
  /** Keep watching; read the tasks' progress first when `progressDue`. */
  | { next: 'wait'; progressDue: boolean }

/** The watch after a poll of the results and of the tasks' states. */
export function judgeWatch(
  watched: readonly Slot[],
  results: ReadonlySet<string>,
  s: WatchState,
  timing: FargateTiming
): WatchDecision {
  const open = watched.filter(w => !results.has(w.key) && w.task?.lastStatus !== 'STOPPED').length
  if (!open) return { next: 'collect' }
  if (s.nowMs > s.deadlineMs)
    return { next: 'give-up', notice: `${open} task(s) still running past the hard limit; stopping them` }
  if (s.abortedAtMs !== null && s.nowMs - s.abortedAtMs > timing.abortGraceMs)
    return {
      next: 'give-up',
      notice: `${open} task(s) did not stop within ${Math.round(timing.abortGraceMs / 1000)} s of the abort; stopping them`
    }
  const progressDue =
    s.startAtMs !== null && s.nowMs >= s.startAtMs && s.nowMs - s.lastProgressMs >= timing.progressMs
  return { next: 'wait', progressDue }
}

/** The pause before the next poll: slow while the load runs, quick once it should be over. */
export function pollPauseMs(loadEndMs: number, nowMs: number, pollMs: number): number {
  const left = loadEndMs - nowMs
  return left > 0 ? Math.min(pollMs, left + 250) : Math.min(pollMs, 500)
}

/** Why a task without a result has none, given the message of its failed/ object, if any. */
export function missingReason(slot: Slot, failureMessage: string | undefined): string {
  if (failureMessage) return `failed to start: ${failureMessage}`
  if (slot.task?.lastStatus === 'STOPPED') return `no result (${stoppedReason(slot.task)})`
  return `no result (${slot.task?.lastStatus?.toLowerCase() ?? 'never started'})`
}

/** The spread of the tasks' actual start times, when more than one task reports one. */
export function startSkew(slots: readonly Slot[]): { ms: number; tasks: number } | null {
  const starts = slots.map(s => s.result?.task.startedMs).filter((x): x is number => typeof x === 'number')
  return starts.length > 1 ? { ms: Math.max(...starts) - Math.min(...starts), tasks: starts.length } : null
}

/** The fleet outcome: every result read, and every other task with the reason it has none. */
export function fleetOutcome(
  slots: readonly Slot[],
  aborted: boolean,
  facts: Record<string, string | number | boolean>
): FleetOutcome {
  const missing: MissingTask[] = slots
    .filter(s => !s.result)
    .map(s => ({ region: s.region, taskIndex: s.spec.taskIndex, reason: s.missing ?? 'no result' }))
  return {
    tasks: slots.filter(s => s.result).map(s => s.result!),
    missing,
    aborted,
    facts
  }
}
