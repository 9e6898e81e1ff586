/**
 * Monte Carlo check of the gate's decision rule (src/gate): the A/A false-alarm rate and the power
 * against a +10% p95 regression, for the two-stage rule and for the naive rule "fail if p95 > 1.10 ×
 * the last baseline", at run-to-run noise σ(ln p95) = 2, 3, 4 and 5%.
 *
 * Every replication draws a fresh history of N = 20 comparable baseline runs and a PR screening run;
 * when stage 1 asks for confirmation, 4 more PR runs are drawn fresh and the final verdict uses all
 * 5. The real decideStage1/decideFinal run with the default options (α = 0.01, 3% minimum effect,
 * c = 1). Two families are simulated: p95 alone (M = 1), and the default primary family of four
 * metrics (p95, p99, error rate, throughput; M = 4, each with the same independent noise) where a
 * false alarm is any metric failing. Noise on ln(metric) is normal, or Student t with 4 df scaled to
 * the same standard deviation (heavy tails). Deterministic: a seeded PRNG per cell.
 *
 *   node build/bench/gate-sim.js [--reps N]
 */
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { decideFinal, decideStage1, type MetricObservation } from '../src/gate/index.js'

const SIGMAS = [0.02, 0.03, 0.04, 0.05]
const HISTORY = 20
const CONFIRM = 4
/** A larger confirmation budget, simulated for comparison (k = 9 at stage 2). */
const CONFIRM_LARGE = 8
const EFFECT = 1.1
const DEFAULT_REPS = 20_000

/** mulberry32: a small seeded PRNG returning floats in [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function gaussian(r: () => number): number {
  const u1 = Math.max(r(), 1e-300)
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * r())
}

export type Noise = 'normal' | 't4'

/** A unit-variance noise draw: standard normal, or Student t(4) divided by √2. */
function draw(r: () => number, noise: Noise): number {
  const z = gaussian(r)
  if (noise === 'normal') return z
  let chi = 0
  for (let i = 0; i < 4; i++) {
    const g = gaussian(r)
    chi += g * g
  }
  return z / Math.sqrt(chi / 4) / Math.SQRT2
}

export interface MetricModel {
  name: string
  level: number
  higherIsWorse: boolean
  extra: Partial<MetricObservation>
}

export const P95: MetricModel = { name: 'p95', level: 100, higherIsWorse: true, extra: { unit: 'ms' } }
export const FAMILY: MetricModel[] = [
  P95,
  { name: 'p99', level: 250, higherIsWorse: true, extra: { unit: 'ms', tailSamples: 1000 } },
  {
    name: 'error_rate',
    level: 0.05,
    higherIsWorse: true,
    extra: { unit: 'fraction', floor: 1e-4, minAbsoluteEffect: 0.001 }
  },
  { name: 'throughput', level: 500, higherIsWorse: false, extra: { unit: 'req/s' } }
]

export interface CellResult {
  fail: number
  inconclusive: number
  /** Mean PR runs per gate decision. */
  runs: number
  /** Naive rule: p95 of the screening run > 1.10 × newest baseline. */
  naiveLast: number
  /** Naive rule against the median of the history instead. */
  naiveMedian: number
}

function medianOf(xs: number[]): number {
  const s = Float64Array.from(xs).sort()
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/**
 * Runs `reps` gate decisions; `shift` multiplies the PR's p95 (1 = A/A). `history` is the number
 * of baselines N, `confirm` the confirmation runs.
 */
export function simulateCell(
  models: MetricModel[],
  sigma: number,
  shift: number,
  noise: Noise,
  reps: number,
  seed: number,
  confirm = CONFIRM,
  history = HISTORY
): CellResult {
  const options = { confirmReplicates: confirm }
  const r = prng(seed)
  const value = (m: MetricModel, s: number) => m.level * s * Math.exp(sigma * draw(r, noise))
  let fail = 0
  let inconclusive = 0
  let runs = 0
  let naiveLast = 0
  let naiveMedian = 0
  for (let i = 0; i < reps; i++) {
    const family: MetricObservation[] = models.map(m => {
      const baseline: number[] = []
      for (let j = 0; j < history; j++) baseline.push(value(m, 1))
      const s = m === P95 ? shift : 1
      return { name: m.name, higherIsWorse: m.higherIsWorse, baseline, values: [value(m, s)], ...m.extra }
    })
    const p95 = family[0]
    if (p95.values[0] > EFFECT * p95.baseline[history - 1]) naiveLast++
    if (p95.values[0] > EFFECT * medianOf(p95.baseline)) naiveMedian++
    const stage1 = decideStage1(family, options)
    if (stage1.outcome === 'confirm') {
      for (let c = 0; c < confirm; c++)
        models.forEach((m, j) => family[j].values.push(value(m, m === P95 ? shift : 1)))
      runs += 1 + confirm
    } else runs += 1
    const v = decideFinal(family, options)
    if (v.outcome === 'FAIL') fail++
    else if (v.outcome === 'INCONCLUSIVE') inconclusive++
  }
  return {
    fail: fail / reps,
    inconclusive: inconclusive / reps,
    runs: runs / reps,
    naiveLast: naiveLast / reps,
    naiveMedian: naiveMedian / reps
  }
}

const pct = (x: number, d = 1) => `${(100 * x).toFixed(d)}%`

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}

function parseReps(argv: string[]): number {
  const i = argv.findIndex(a => a === '--reps' || a.startsWith('--reps='))
  if (i < 0) return DEFAULT_REPS
  const raw = argv[i].startsWith('--reps=') ? argv[i].slice(7) : argv[i + 1]
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 100) {
    console.error(`gate-sim: --reps must be an integer ≥ 100, got ${String(raw)}`)
    process.exit(2)
  }
  return n
}

/** One row of the target summary: the default family under normal or heavy-tailed noise. */
export interface SimSummary {
  noise: Noise
  sigma: number
  fa: number
  power: number
}

export interface SimOptions {
  /** Markdown level of the section heading (default 2); sub-headings are one level deeper. */
  headingLevel?: number
}

/** Prints the simulation as a Markdown section and returns the default family's figures. */
export async function main(
  argv: string[] = process.argv.slice(2),
  opts: SimOptions = {}
): Promise<SimSummary[]> {
  const reps = parseReps(argv)
  const h = '#'.repeat(opts.headingLevel ?? 2)
  const t0 = performance.now()
  console.log(`${h} Gate decision rule: simulated false alarms and power`)
  console.log('')
  console.log(
    `History N = ${HISTORY} baselines, screening run then ${CONFIRM} fresh confirmation runs when stage 1 trips, ` +
      `α = 0.01 (Bonferroni over M), 3% minimum effect, c = 1; ${reps.toLocaleString('en-US')} replications per cell. ` +
      'FA = false alarms on A/A (any FAIL); power = FAIL rate against a true +10% p95; ' +
      'naive = "fail if p95 > 1.10 × last baseline" on one run (median-of-history variant in brackets).'
  )
  const summary: SimSummary[] = []
  const large: string[][] = []
  for (const noise of ['normal', 't4'] as Noise[]) {
    console.log('')
    console.log(
      noise === 'normal'
        ? `${h}# Normal noise on ln(metric)`
        : `${h}# Heavy-tailed noise: Student t(4) on ln(metric), same standard deviation`
    )
    console.log('')
    const rows: string[][] = []
    SIGMAS.forEach((sigma, si) => {
      const seed = (noise === 'normal' ? 1 : 2) * 1000 + si * 10
      const aa4 = simulateCell(FAMILY, sigma, 1, noise, reps, seed + 3)
      const up4 = simulateCell(FAMILY, sigma, EFFECT, noise, reps, seed + 4)
      summary.push({ noise, sigma, fa: aa4.fail, power: up4.fail })
      const family = [
        pct(aa4.fail, 2),
        pct(up4.fail),
        `${pct(aa4.inconclusive)} / ${pct(up4.inconclusive)}`,
        `${aa4.runs.toFixed(2)} / ${up4.runs.toFixed(2)}`
      ]
      const naive = [
        `${pct(aa4.naiveLast)} (${pct(aa4.naiveMedian)})`,
        `${pct(up4.naiveLast)} (${pct(up4.naiveMedian)})`
      ]
      if (noise === 'normal') {
        const aa1 = simulateCell([P95], sigma, 1, noise, reps, seed + 1)
        const up1 = simulateCell([P95], sigma, EFFECT, noise, reps, seed + 2)
        const aa9 = simulateCell(FAMILY, sigma, 1, noise, reps, seed + 5, CONFIRM_LARGE)
        const up9 = simulateCell(FAMILY, sigma, EFFECT, noise, reps, seed + 6, CONFIRM_LARGE)
        rows.push([pct(sigma, 0), pct(aa1.fail, 2), pct(up1.fail), ...family, ...naive])
        large.push([
          pct(sigma, 0),
          pct(aa9.fail, 2),
          pct(up9.fail),
          `${pct(aa9.inconclusive)} / ${pct(up9.inconclusive)}`,
          `${aa9.runs.toFixed(2)} / ${up9.runs.toFixed(2)}`
        ])
      } else rows.push([pct(sigma, 0), ...family, ...naive])
    })
    const familyHeader = [
      'two-stage FA, family (M=4)',
      'two-stage power, M=4',
      'inconclusive A/A / +10% (M=4)',
      'mean PR runs A/A / +10% (M=4)'
    ]
    const header =
      noise === 'normal'
        ? ['σ(ln p95)', 'two-stage FA, p95 only (M=1)', 'two-stage power, M=1', ...familyHeader]
        : ['σ(ln p95)', ...familyHeader]
    console.log(table([...header, 'naive FA', 'naive power'], rows))
  }
  console.log('')
  console.log(
    `${h}# Normal noise, default family (M=4), confirm-replicates = ${CONFIRM_LARGE} (k = ${CONFIRM_LARGE + 1})`
  )
  console.log('')
  console.log(
    table(
      ['σ(ln p95)', 'two-stage FA', 'two-stage power', 'inconclusive A/A / +10%', 'mean PR runs A/A / +10%'],
      large
    )
  )
  console.log('')
  for (const s of summary.filter(x => x.noise === 'normal')) {
    const met = s.fa <= 0.01 && s.power >= 0.95
    console.log(
      `- Target (σ = ${pct(s.sigma, 0)}, default family, normal noise): ≤1% false alarms and ≥95% detection of +10% p95 → ` +
        `${pct(s.fa, 2)} / ${pct(s.power)} → **${met ? 'met' : 'not met'}**`
    )
  }
  console.log(`- (gate simulation ran in ${((performance.now() - t0) / 1000).toFixed(1)} s)`)
  return summary
}

function invokedDirectly(): boolean {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))
  } catch {
    return false
  }
}

if (invokedDirectly())
  main().catch((e: unknown) => {
    console.error(`gate-sim: ${(e as Error).message}`)
    process.exit(1)
  })
