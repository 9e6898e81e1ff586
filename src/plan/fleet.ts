/**
 * Sizing of a Fargate fleet, as pure functions: which regions get how many tasks for the requested
 * load, whether the task size is one Fargate accepts, and what the run will cost at most.
 *
 * - Capacity: a task of `cpu` CPU units carries `vusPerVcpu[engine] × cpu / 1024` VUs. The table
 *   (`VUS_PER_VCPU`) is conservative for HTTP APIs answering in tens of milliseconds; a scenario
 *   with heavy scripts or large payloads should lower it (input `vus-per-vcpu`). When the run must
 *   also offer a throughput (a stress run with `target-rps`), a task offers at most
 *   `RPS_PER_VCPU[engine] × cpu / 1024` requests per second, and the fleet gets enough tasks for
 *   both.
 * - Regions: a list (equal weights), or a map whose values are a weight, `{weight}` or `{tasks}`.
 *   Tasks are spread over the weighted regions by largest remainder, at least one each; a region
 *   with a fixed task count keeps it. Every task then gets an equal share of the load (k6
 *   execution segments are equal), so a region's share of the load is its share of the tasks.
 * - Cost: Fargate bills each task per second with a one-minute minimum, for its vCPUs and its
 *   memory; Spot is priced at a discount; every task also holds a public IPv4 address.
 */
import { parse as parseYaml } from 'yaml'
import type { EngineName } from '../model/index.js'
import { errorMessage } from '../util/index.js'

export class FleetSizeError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'FleetSizeError'
  }
}

export interface RegionRequest {
  region: string
  /** Relative share of the load (default 1). */
  weight?: number
  /** A fixed task count for this region. */
  tasks?: number
}

const REGION_RE = /^[a-z]{2}(-[a-z]+)+-\d$/

function checkRegionName(name: string, field: string): string {
  const r = name.trim()
  if (!REGION_RE.test(r))
    throw new FleetSizeError(`${field}: "${name}" is not an AWS region name like us-east-1`)
  return r
}

function positive(v: unknown, field: string, integer: boolean): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
    throw new FleetSizeError(
      `${field}: expected a ${integer ? 'whole number' : 'number'} above 0, got ${JSON.stringify(v)}`
    )
  return n
}

/**
 * Parses the `regions` input: YAML (or a comma-separated list) of region names, or a map of
 * region → weight | {weight} | {tasks}.
 */
export function parseRegions(text: string, field = 'regions'): RegionRequest[] {
  const src = text.trim()
  if (!src) throw new FleetSizeError(`${field}: list at least one AWS region`)
  let doc: unknown
  try {
    doc = /^[a-z0-9-]+(\s*,\s*[a-z0-9-]+)*$/.test(src) ? src.split(',') : parseYaml(src)
  } catch (e) {
    throw new FleetSizeError(`${field}: invalid YAML: ${errorMessage(e).split('\n')[0]}`)
  }
  if (typeof doc === 'string') doc = [doc]
  const out: RegionRequest[] = []
  if (Array.isArray(doc)) {
    doc.forEach((r, i) => {
      if (typeof r !== 'string') throw new FleetSizeError(`${field}[${i}]: expected a region name`)
      out.push({ region: checkRegionName(r, `${field}[${i}]`) })
    })
  } else if (doc && typeof doc === 'object') {
    for (const [name, v] of Object.entries(doc as Record<string, unknown>)) {
      const f = `${field}.${name}`
      const region = checkRegionName(name, f)
      if (v === null || v === undefined) out.push({ region })
      else if (typeof v === 'number' || typeof v === 'string')
        out.push({ region, weight: positive(v, f, false) })
      else if (typeof v === 'object' && !Array.isArray(v)) {
        const o = v as Record<string, unknown>
        const unknown = Object.keys(o).filter(k => k !== 'weight' && k !== 'tasks')
        if (unknown.length)
          throw new FleetSizeError(`${f}.${unknown[0]}: unknown field (expected weight or tasks)`)
        if (o.weight !== undefined && o.tasks !== undefined)
          throw new FleetSizeError(`${f}: give either weight or tasks, not both`)
        out.push({
          region,
          ...(o.weight !== undefined ? { weight: positive(o.weight, `${f}.weight`, false) } : {}),
          ...(o.tasks !== undefined ? { tasks: positive(o.tasks, `${f}.tasks`, true) } : {})
        })
      } else throw new FleetSizeError(`${f}: expected a weight, {weight: N} or {tasks: N}`)
    }
  } else throw new FleetSizeError(`${field}: expected a list of regions or a map of region to weight`)
  if (!out.length) throw new FleetSizeError(`${field}: list at least one AWS region`)
  const seen = new Set<string>()
  for (const r of out) {
    if (seen.has(r.region)) throw new FleetSizeError(`${field}: region ${r.region} is listed twice`)
    seen.add(r.region)
  }
  return out
}

/** Fargate's CPU units and the memory (MiB) each allows: [min, max, step]. */
export const FARGATE_TASK_SIZES: Readonly<Record<number, readonly [number, number, number]>> = {
  256: [512, 2048, 512],
  512: [1024, 4096, 1024],
  1024: [2048, 8192, 1024],
  2048: [4096, 16384, 1024],
  4096: [8192, 30720, 1024],
  8192: [16384, 61440, 4096],
  16384: [32768, 122880, 8192]
}

/** Checks a Fargate CPU/memory pair; the error names the input and lists what is allowed. */
export function checkTaskSize(cpu: number, memoryMiB: number): void {
  const range = FARGATE_TASK_SIZES[cpu]
  if (!range)
    throw new FleetSizeError(
      `task-cpu: ${cpu} is not a Fargate size (expected one of ${Object.keys(FARGATE_TASK_SIZES).join(', ')})`
    )
  const [min, max, step] = range
  // 256 CPU units allow exactly 512, 1024 and 2048 MiB.
  const ok =
    cpu === 256
      ? [512, 1024, 2048].includes(memoryMiB)
      : memoryMiB >= min && memoryMiB <= max && (memoryMiB - min) % step === 0
  if (!ok)
    throw new FleetSizeError(
      `task-memory: ${memoryMiB} MiB does not go with task-cpu ${cpu} (allowed: ${
        cpu === 256 ? '512, 1024 or 2048 MiB' : `${min}–${max} MiB in steps of ${step}`
      })`
    )
}

/** VUs one vCPU carries, per engine. */
export const VUS_PER_VCPU: Readonly<Record<EngineName, number>> = {
  k6: 250,
  http: 250,
  jmeter: 150,
  locust: 60
}

/**
 * Requests per second one vCPU of load generator offers, per engine: conservative figures for
 * small HTTP requests (an engine's own benchmarks reach several times more on simple scripts).
 */
export const RPS_PER_VCPU: Readonly<Record<EngineName, number>> = {
  k6: 2000,
  http: 4000,
  jmeter: 1500,
  locust: 400
}

export interface FleetSizeInput {
  engine: EngineName
  /** The highest VU count of the profile, fleet-wide. */
  peakVus: number
  regions: readonly RegionRequest[]
  /** CPU units per task (1024 = 1 vCPU). */
  cpu: number
  memoryMiB: number
  maxTasks: number
  /** Overrides the engine's entry of VUS_PER_VCPU. */
  vusPerVcpu?: number
  /** The most requests per second the fleet must be able to offer (fleet-wide), when known. */
  peakRps?: number
}

export interface RegionSize {
  region: string
  tasks: number
  /** Fleet-wide index of this region's first task. */
  firstTask: number
}

export interface FleetSize {
  regions: RegionSize[]
  totalTasks: number
  /** VUs one task can carry at this size. */
  capacityPerTask: number
  /** The most VUs any task gets. */
  vusPerTask: number
  /** Requests per second one task offers at this size. */
  rpsPerTask: number
  /** What set the task count: the VUs, the throughput to offer, or fixed region counts. */
  sizedBy: 'vus' | 'rps' | 'fixed'
}

/** Largest-remainder split of `total` over weights, each part at least `min`. */
function apportion(total: number, weights: readonly number[], min: number): number[] {
  const n = weights.length
  const parts = new Array<number>(n).fill(min)
  let left = total - min * n
  if (left <= 0) return parts
  const sum = weights.reduce((a, b) => a + b, 0)
  const exact = weights.map(w => (w / sum) * left)
  const floors = exact.map(Math.floor)
  floors.forEach((f, i) => (parts[i] += f))
  left -= floors.reduce((a, b) => a + b, 0)
  const order = exact.map((e, i) => ({ i, r: e - Math.floor(e) })).sort((a, b) => b.r - a.r || a.i - b.i)
  for (let k = 0; k < left; k++) parts[order[k % n].i]++
  return parts
}

/** Tasks per region for the requested load. Throws a FleetSizeError naming the input to change. */
export function sizeFleet(input: FleetSizeInput): FleetSize {
  checkTaskSize(input.cpu, input.memoryMiB)
  if (!input.regions.length) throw new FleetSizeError('regions: list at least one AWS region')
  const perVcpu = input.vusPerVcpu ?? VUS_PER_VCPU[input.engine]
  const capacityPerTask = Math.max(1, Math.floor((perVcpu * input.cpu) / 1024))
  const fixed = input.regions.filter(r => r.tasks !== undefined)
  const flexible = input.regions.filter(r => r.tasks === undefined)
  const fixedTasks = fixed.reduce((a, r) => a + (r.tasks ?? 0), 0)
  const rpsPerTask = Math.max(1, Math.floor((RPS_PER_VCPU[input.engine] * input.cpu) / 1024))
  const forVus = Math.ceil(input.peakVus / capacityPerTask)
  // Every task needs at least one VU, so the throughput cannot ask for more tasks than VUs.
  const forRps = input.peakRps ? Math.min(input.peakVus, Math.ceil(input.peakRps / rpsPerTask)) : 0
  const needed = Math.max(forVus, forRps)
  const flexTotal = flexible.length ? Math.max(flexible.length, needed - fixedTasks) : 0
  const flexParts = apportion(
    flexTotal,
    flexible.map(r => r.weight ?? 1),
    flexible.length ? 1 : 0
  )
  let first = 0
  let k = 0
  const regions = input.regions.map(r => {
    const tasks = r.tasks ?? flexParts[k++]
    const size = { region: r.region, tasks, firstTask: first }
    first += tasks
    return size
  })
  const totalTasks = first
  if (totalTasks > input.maxTasks)
    throw new FleetSizeError(
      forRps > forVus
        ? `max-tasks: offering ${Math.round(input.peakRps ?? 0)} req/s needs ${totalTasks} tasks (${rpsPerTask} req/s per task of ` +
            `${input.cpu / 1024} vCPU), above max-tasks ${input.maxTasks}; raise max-tasks or task-cpu, or lower target-rps`
        : `max-tasks: the load needs ${totalTasks} tasks (${input.peakVus} VUs at ${capacityPerTask} VUs per task of ` +
            `${input.cpu / 1024} vCPU), above max-tasks ${input.maxTasks}; raise max-tasks or task-cpu`
    )
  if (totalTasks > input.peakVus)
    throw new FleetSizeError(
      `regions: ${totalTasks} tasks cannot share ${input.peakVus} VUs (every task needs at least one); lower the task counts or raise vus`
    )
  const vusPerTask = Math.ceil(input.peakVus / totalTasks)
  if (vusPerTask > capacityPerTask)
    throw new FleetSizeError(
      `regions: ${totalTasks} fixed task(s) would carry ${vusPerTask} VUs each, above the ${capacityPerTask} a ` +
        `${input.cpu / 1024} vCPU task carries; add tasks or raise task-cpu`
    )
  const sizedBy = !flexible.length ? 'fixed' : forRps > forVus ? 'rps' : 'vus'
  return { regions, totalTasks, capacityPerTask, vusPerTask, rpsPerTask, sizedBy }
}

/** On-demand Linux/x86 Fargate list prices, USD per vCPU-hour and per GB-hour. */
export const FARGATE_PRICES: Readonly<Record<string, { vcpuHour: number; gbHour: number }>> = {
  'us-east-1': { vcpuHour: 0.04048, gbHour: 0.004445 },
  'us-east-2': { vcpuHour: 0.04048, gbHour: 0.004445 },
  'us-west-2': { vcpuHour: 0.04048, gbHour: 0.004445 },
  'us-west-1': { vcpuHour: 0.04656, gbHour: 0.00511 },
  'ca-central-1': { vcpuHour: 0.04456, gbHour: 0.00489 },
  'eu-west-1': { vcpuHour: 0.04048, gbHour: 0.004445 },
  'eu-west-2': { vcpuHour: 0.04656, gbHour: 0.00511 },
  'eu-west-3': { vcpuHour: 0.04656, gbHour: 0.00511 },
  'eu-central-1': { vcpuHour: 0.04656, gbHour: 0.00511 },
  'eu-north-1': { vcpuHour: 0.04456, gbHour: 0.00489 },
  'ap-south-1': { vcpuHour: 0.04256, gbHour: 0.00467 },
  'ap-southeast-1': { vcpuHour: 0.05056, gbHour: 0.00553 },
  'ap-southeast-2': { vcpuHour: 0.04856, gbHour: 0.00532 },
  'ap-northeast-1': { vcpuHour: 0.05056, gbHour: 0.00553 },
  'sa-east-1': { vcpuHour: 0.0696, gbHour: 0.0076 }
}
/** Spot tasks cost this fraction of on-demand (a typical discount; Spot prices move). */
export const SPOT_PRICE_FACTOR = 0.3
/** USD per hour for each task's public IPv4 address. */
export const PUBLIC_IPV4_HOUR = 0.005
/** Seconds a task is billed before its load starts: image pull, start-up, the start barrier. */
export const STARTUP_BILLED_S = 120

export interface CostInput {
  regions: readonly { region: string; tasks: number }[]
  cpu: number
  memoryMiB: number
  /** Seconds of load per run, up to the hard limit. */
  loadSeconds: number
  spot: boolean
  /** Runs this job makes at most (screening + confirmation, or baseline replicates). */
  runs?: number
}

export interface CostEstimate {
  /** The most the job can cost, USD. */
  maxUsd: number
  perRegion: { region: string; tasks: number; usd: number; priceKnown: boolean }[]
  /** Billed seconds per task and run. */
  billedS: number
  runs: number
}

/** The most a job can cost: every task billed for start-up plus its hard limit, for every run. */
export function estimateCost(input: CostInput): CostEstimate {
  const fallback = Object.values(FARGATE_PRICES).reduce((a, p) => (p.vcpuHour > a.vcpuHour ? p : a))
  const runs = input.runs ?? 1
  const billedS = Math.max(60, STARTUP_BILLED_S + input.loadSeconds)
  const factor = input.spot ? SPOT_PRICE_FACTOR : 1
  const perRegion = input.regions.map(r => {
    const price = FARGATE_PRICES[r.region]
    const p = price ?? fallback
    const hourly =
      ((input.cpu / 1024) * p.vcpuHour + (input.memoryMiB / 1024) * p.gbHour) * factor + PUBLIC_IPV4_HOUR
    return {
      region: r.region,
      tasks: r.tasks,
      usd: (hourly * billedS * r.tasks * runs) / 3600,
      priceKnown: !!price
    }
  })
  return { maxUsd: perRegion.reduce((a, r) => a + r.usd, 0), perRegion, billedS, runs }
}

/** "$0.42" / "$12.30" */
export function formatUsd(usd: number): string {
  return `$${usd < 10 ? usd.toFixed(usd < 0.1 ? 3 : 2) : usd.toFixed(2)}`
}
