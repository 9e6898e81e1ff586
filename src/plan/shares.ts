/**
 * Load shares: how one scenario's load is divided over N tasks. Pure functions, no I/O.
 *
 * - Integer quantities (VUs, threads, connections, stage targets) are split with the largest
 *   remainder method, so the parts always add up to exactly the total.
 * - k6 splits its own load: every k6 task gets the whole load plus an execution segment
 *   (`i/n:(i+1)/n`) and the full segment sequence, and k6 scales VUs, iterations, rates and stage
 *   targets inside each segment.
 * - Locust, JMeter and the built-in http engine get their share of VUs, spawn rate and stage
 *   targets directly.
 */
import type { EngineName, Stage, TaskLoad } from '../model/index.js'

/** A split that cannot give every task some load. */
export class ShareError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ShareError'
  }
}

function checkCount(n: number, what = 'task count'): void {
  if (!Number.isInteger(n) || n < 1) throw new ShareError(`${what} must be a positive integer, got ${n}`)
}

function checkTotal(total: number, what: string): void {
  if (!Number.isInteger(total) || total < 0)
    throw new ShareError(`${what} must be a non-negative integer, got ${total}`)
}

function checkWeights(weights: readonly number[]): number {
  if (weights.length === 0) throw new ShareError('weights must not be empty')
  let sum = 0
  weights.forEach((w, i) => {
    if (!Number.isFinite(w) || w <= 0)
      throw new ShareError(`weights[${i}] must be a positive number, got ${w}`)
    sum += w
  })
  return sum
}

/**
 * Hamilton's largest remainder method with a lower bound per part: each part gets
 * max(min, floor(quota)), then the difference to `total` is settled one unit at a time, adding to
 * the parts with the largest remainder (quota − part) or taking from the parts with the smallest.
 * Ties go to the lower index. With min = 0 (or all quotas ≥ min) this is the plain method.
 */
function largestRemainder(total: number, weights: readonly number[], min: number): number[] {
  const sum = checkWeights(weights)
  const quotas = weights.map(w => (total * w) / sum)
  const parts = quotas.map(q => Math.max(min, Math.floor(q)))
  let diff = total - parts.reduce((a, b) => a + b, 0)
  const order = (sign: 1 | -1) =>
    quotas
      .map((q, i) => ({ i, r: q - parts[i] }))
      .filter(x => sign > 0 || parts[x.i] > min)
      .sort((a, b) => sign * (b.r - a.r) || a.i - b.i)
  while (diff > 0) {
    for (const { i } of order(1)) {
      if (diff === 0) break
      parts[i]++
      diff--
    }
  }
  while (diff < 0) {
    const candidates = order(-1)
    if (!candidates.length)
      throw new ShareError(`cannot split ${total} into ${weights.length} parts of at least ${min}`)
    for (const { i } of candidates) {
      if (diff === 0) break
      parts[i]--
      diff++
    }
  }
  return parts
}

/**
 * Splits an integer total into one integer per weight, proportional to the weights, summing
 * exactly to `total`, with at least 1 for every part. Throws when total < the number of parts,
 * since a task without load would only add noise ("3 tasks need at least 3 VUs").
 */
export function splitInteger(total: number, weights: readonly number[], unit = 'VUs'): number[] {
  checkTotal(total, unit)
  checkWeights(weights)
  const n = weights.length
  if (total < n) throw new ShareError(`${n} tasks need at least ${n} ${unit} (got ${total})`)
  return largestRemainder(total, weights, 1)
}

/** Splits an integer total over n equal parts (the first `total % n` parts get one more). */
export function splitEvenly(total: number, n: number, unit = 'VUs'): number[] {
  checkCount(n)
  return splitInteger(total, new Array<number>(n).fill(1), unit)
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b]
  return a
}

/** The reduced fraction i/n as k6 writes it: `0`, `1`, or `p/q`. */
export function fraction(i: number, n: number): string {
  if (i === 0) return '0'
  if (i === n) return '1'
  const g = gcd(i, n)
  return `${i / g}/${n / g}`
}

export interface K6Segment {
  /** `--execution-segment`, e.g. `1/3:2/3`. */
  segment: string
  /** `--execution-segment-sequence`, e.g. `0,1/3,2/3,1`. */
  sequence: string
}

/** The k6 execution segment of each of n equal tasks, with the shared full sequence. */
export function k6Segments(n: number): K6Segment[] {
  checkCount(n)
  const points = Array.from({ length: n + 1 }, (_, i) => fraction(i, n))
  const sequence = points.join(',')
  return Array.from({ length: n }, (_, i) => ({ segment: `${points[i]}:${points[i + 1]}`, sequence }))
}

function weightsOf(tasks: number | readonly number[]): number[] {
  if (typeof tasks === 'number') {
    checkCount(tasks)
    return new Array<number>(tasks).fill(1)
  }
  checkWeights(tasks)
  return [...tasks]
}

/**
 * Splits every stage target over the tasks (by count, or by weights), each stage independently
 * and exactly: the per-task targets of a stage add up to the stage's target. Durations are kept.
 * A stage whose target is smaller than the task count leaves some tasks at 0 VUs for that stage
 * (a ramp-down to 0 is the common case); `taskShares` refuses a profile whose largest stage leaves
 * a task with no load at all.
 */
export function scaleStages(stages: readonly Stage[], tasks: number | readonly number[]): Stage[][] {
  const weights = weightsOf(tasks)
  const perTask: Stage[][] = weights.map(() => [])
  stages.forEach((st, s) => {
    checkTotal(st.target, `stages[${s}].target`)
    const parts = largestRemainder(st.target, weights, 0)
    parts.forEach((target, i) => perTask[i].push({ durationS: st.durationS, target }))
  })
  return perTask
}

export interface TaskShare {
  /** The load this task runs (what goes into its TaskSpec). */
  load: TaskLoad
  /**
   * Facts recorded in the task result: vus (this task's VUs, or its peak stage target; for k6 the
   * whole load, which k6 scales by the segment), totalVus, weight (0–1), segment (k6 only).
   */
  share: Record<string, string | number>
}

/**
 * Each task's load for a scenario run on n tasks (optionally weighted). k6 tasks get the whole
 * load plus their execution segment; other engines get their share of VUs, spawn rate and stage
 * targets. Throws a ShareError when a task would get no load.
 */
export function taskShares(
  engine: EngineName,
  load: TaskLoad,
  n: number,
  weights?: readonly number[]
): TaskShare[] {
  checkCount(n)
  const w = weights ? weightsOf(weights) : weightsOf(n)
  if (w.length !== n) throw new ShareError(`expected ${n} weights (one per task), got ${w.length}`)
  const wSum = w.reduce((a, b) => a + b, 0)
  const weightOf = (i: number) => w[i] / wSum
  const stages = load.stages?.length ? load.stages : undefined
  const peak = stages ? Math.max(...stages.map(s => s.target)) : load.vus

  if (engine === 'k6') {
    if (peak < n) throw new ShareError(`${n} tasks need at least ${n} VUs (got ${peak})`)
    if (weights && weights.some(x => x !== weights[0]))
      throw new ShareError('k6 tasks are split by equal execution segments; weights are not supported')
    return k6Segments(n).map((segment, i) => ({
      load: { ...load, segment },
      share: { vus: peak, totalVus: peak, weight: weightOf(i), segment: segment.segment }
    }))
  }

  if (stages) {
    const perTask = scaleStages(stages, w)
    perTask.forEach(st => {
      if (!st.some(s => s.target > 0))
        throw new ShareError(`${n} tasks need at least ${n} VUs at the largest stage (got ${peak})`)
    })
    return perTask.map((st, i) => {
      const vus = Math.max(...st.map(s => s.target))
      return {
        load: { ...load, vus, stages: st, ...spawnRateShare(load, weightOf(i)) },
        share: { vus, totalVus: peak, weight: weightOf(i) }
      }
    })
  }

  const vus = splitInteger(load.vus, w)
  return vus.map((v, i) => ({
    load: { ...load, vus: v, ...spawnRateShare(load, weightOf(i)) },
    share: { vus: v, totalVus: load.vus, weight: weightOf(i) }
  }))
}

function spawnRateShare(load: TaskLoad, weight: number): Pick<TaskLoad, 'spawnRate'> {
  return load.spawnRate === undefined ? {} : { spawnRate: load.spawnRate * weight }
}
