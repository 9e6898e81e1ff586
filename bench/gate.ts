/**
 * `npm run bench:gate`: gate quality. Prints one Markdown section with two parts.
 *
 * 1. Simulation (bench/gate-sim.ts): the A/A false-alarm rate and the power against a +10% p95
 *    regression of the two-stage rule and of the naive rule "fail if p95 > 1.10 × last baseline",
 *    at σ(ln p95) = 2, 3, 4 and 5%.
 * 2. A real series: the bundled sample target (src/target/server.ts) on 127.0.0.1, whose /fast route
 *    answers after a server-side delay of DELAY_MS + U[0, JITTER_MS) ms, loaded by the built-in http
 *    engine through the real runner process (a LocalFleet running build/src/runner/index.js). A
 *    fresh `dir:` baseline store receives the baseline runs (runBaselineJob); then A/A runs and
 *    runs with injected latency alternate, each judged by runGateJob (two-stage, with confirmation
 *    runs when stage 1 trips).
 *
 * The injected regression is +10% of p95, not +10% of the server delay: every measured latency also
 * holds the client's and the loopback's share, which a longer server delay does not lengthen. The
 * extra delay is therefore 10% of the baselines' p95 (geometric mean), added to every request, so
 * the p95 (and every other percentile) moves up by that amount. It is rounded to whole
 * milliseconds: the target's timers have 1 ms resolution and truncate the (delay + jitter) sum, so
 * only a whole-millisecond shift moves every request by exactly the same amount (a fractional one
 * reshapes the latency steps and moves p95 by anywhere from the floor to the ceiling of it). With a
 * p95 near 50 ms the shift is 5 ms, +10.1%. The ratio actually achieved is measured and reported.
 *
 *   node build/bench/gate.js [--quick] [--reps N] [--pairs N]
 *
 * --quick  fewer simulation replications and a short real series (a check that everything runs)
 * --reps   simulation replications per cell (default 10,000; --quick 2,000)
 * --pairs  A/A and +10% gate decisions in the real series, each (default 10; --quick 2)
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { dirBaselineStore } from '../src/baseline/dir.js'
import type { BaselineRecord } from '../src/baseline/model.js'
import type { Scenario } from '../src/config/scenario.js'
import { loadScenario } from '../src/plan/scenario.js'
import { LocalFleet } from '../src/fleet/local.js'
import { runScenarioOnce } from '../src/fleet/run.js'
import { mean, sampleSd } from '../src/gate/index.js'
import { runBaselineJob, runGateJob, type GateJobResult, type JobContext } from '../src/jobs/gate.js'
import type { RunResult } from '../src/results/model.js'
import { ResultView } from '../src/results/query.js'
import { startTarget } from '../src/target/server.js'
import { FAMILY, main as simulate, simulateCell, type SimSummary } from './gate-sim.js'
import { loadAverage, machineFacts, makeTempDir, nowMs, num, removeDir, table } from './util.js'

/** Server-side delay of /fast in the baseline and A/A runs, ms. */
const DELAY_MS = 40
/** Uniform extra delay in [0, JITTER_MS), ms: gives the latency distribution a spread. */
const JITTER_MS = 10
/** The regression injected into the PR runs, relative to the baselines' p95. */
const EFFECT = 0.1
const ROUTE = '/fast'
const TARGET = { lowFa: 0.01, highPower: 0.95, maxSigma: 0.04 }

interface Settings {
  quick: boolean
  reps: number
  pairs: number
  baselines: number
  vus: number
  duration: string
  confirmReplicates: number
}

function usage(message: string): never {
  console.error(`bench:gate: ${message} (usage: node build/bench/gate.js [--quick] [--reps N] [--pairs N])`)
  process.exit(2)
}

function intFlag(name: string, raw: string | undefined, min: number, max: number): number {
  const n = Number(raw)
  if (raw === undefined || raw === '' || !Number.isInteger(n) || n < min || n > max)
    usage(`${name} must be an integer from ${min} to ${max}, got ${raw === undefined ? 'nothing' : raw}`)
  return n
}

export function parseArgs(argv: string[]): Settings {
  let quick = false
  let reps: number | undefined
  let pairs: number | undefined
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--quick') quick = true
    else if (a === '--reps' || a.startsWith('--reps='))
      reps = intFlag('--reps', a.startsWith('--reps=') ? a.slice(7) : argv[++i], 100, 10_000_000)
    else if (a === '--pairs' || a.startsWith('--pairs='))
      pairs = intFlag('--pairs', a.startsWith('--pairs=') ? a.slice(8) : argv[++i], 1, 100)
    else usage(`unknown argument "${a}"`)
  }
  return {
    quick,
    reps: reps ?? (quick ? 2_000 : 10_000),
    pairs: pairs ?? (quick ? 2 : 10),
    baselines: quick ? 10 : 12,
    vus: 4,
    duration: quick ? '3s' : '4s',
    confirmReplicates: 2
  }
}

/** P(X ≤ x) for X ~ Binomial(n, p). */
function binomialCdf(x: number, n: number, p: number): number {
  if (x < 0) return 0
  if (x >= n) return 1
  if (p <= 0) return 1
  if (p >= 1) return 0
  let logC = 0
  let sum = 0
  for (let i = 0; i <= x; i++) {
    if (i > 0) logC += Math.log((n - i + 1) / i)
    sum += Math.exp(logC + i * Math.log(p) + (n - i) * Math.log1p(-p))
  }
  return Math.min(1, sum)
}

/** The p in [0, 1] where the decreasing function f(p) crosses `level`, by bisection. */
function solveDecreasing(f: (p: number) => number, level: number): number {
  let lo = 0
  let hi = 1
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2
    if (f(mid) > level) lo = mid
    else hi = mid
  }
  return (lo + hi) / 2
}

/** One-sided 95% Clopper-Pearson upper bound on a rate after x events in n trials. */
export function upperBound95(x: number, n: number): number {
  if (x >= n) return 1
  return solveDecreasing(p => binomialCdf(x, n, p), 0.05)
}

/** One-sided 95% Clopper-Pearson lower bound on a rate after x events in n trials. */
export function lowerBound95(x: number, n: number): number {
  if (x <= 0) return 0
  return solveDecreasing(p => binomialCdf(x - 1, n, p), 0.95)
}

const pct = (x: number, digits = 1) => (Number.isFinite(x) ? `${(100 * x).toFixed(digits)}%` : 'n/a')
const signedPct = (x: number, digits = 1) => `${x >= 0 ? '+' : '−'}${(100 * Math.abs(x)).toFixed(digits)}%`
const geomean = (xs: number[]) => Math.exp(mean(xs.map(Math.log)))
const sdLn = (xs: number[]) => (xs.length >= 2 ? sampleSd(xs.map(Math.log)) : NaN)
const progress = (message: string) => process.stderr.write(`bench:gate: ${message}\n`)

type Kind = 'A/A' | '+10%'

interface JobRow {
  kind: Kind
  delayMs: number
  outcome: GateJobResult['outcome']
  runs: number
  tripped: string[]
  failing: string[]
  inconclusive: string[]
  screeningP95: number
  p95s: number[]
  /** Naive rule on the screening run: p95 > 1.10 × newest baseline. */
  naive: boolean
  mde: number | null
  familySize: number
  p99Advisory: boolean
  reason: string
  seconds: number
}

function runP95(run: RunResult): number {
  return new ResultView(run.tasks).stats({ window: 'steady' }).p95Ms
}

interface RealSeries {
  settings: Settings
  scenario: Scenario
  baselines: BaselineRecord[]
  baselineSeconds: number
  extraDelayMs: number
  rows: JobRow[]
  seconds: number
}

async function realSeries(settings: Settings, signal: AbortSignal): Promise<RealSeries> {
  const runnerEntry = fileURLToPath(new URL('../src/runner/index.js', import.meta.url))
  if (!existsSync(runnerEntry))
    throw new Error(`${runnerEntry} is missing; run the benchmark with npm run bench:gate, which compiles it`)
  const t0 = nowMs()
  const dir = await makeTempDir('gate')
  const target = await startTarget({
    port: 0,
    seed: 1,
    maxSeconds: 1800,
    faults: { [ROUTE]: { delayMs: DELAY_MS, jitterMs: JITTER_MS } }
  })
  try {
    const scenario = await loadScenario({
      cwd: dir,
      flags: {
        engine: 'http',
        target: target.url,
        vus: String(settings.vus),
        duration: settings.duration,
        requests: [`GET ${ROUTE}`]
      }
    })
    const fleet = new LocalFleet({ runnerEntry, startDelayMs: 300, tempRoot: dir })
    const store = dirBaselineStore(join(dir, 'baselines'))
    const ctx: JobContext = {
      repo: 'perf-gate/bench',
      commit: 'base',
      ref: 'main',
      scenario: scenario.name,
      fingerprint: scenario.fingerprint,
      gate: { confirmReplicates: settings.confirmReplicates },
      slos: [],
      store,
      log: () => undefined
    }
    const runOnce = async (): Promise<RunResult> => {
      if (signal.aborted) throw new Error('interrupted')
      return runScenarioOnce(scenario, { fleet, signal })
    }

    const tb = nowMs()
    let done = 0
    const baselineJob = await runBaselineJob(
      ctx,
      async () => {
        const run = await runOnce()
        progress(`baseline ${++done}/${settings.baselines}: p95 ${num(runP95(run))} ms`)
        return run
      },
      settings.baselines
    )
    if (baselineJob.stored.length < settings.baselines)
      throw new Error(
        `only ${baselineJob.stored.length} of ${settings.baselines} baseline runs could be stored: ` +
          baselineJob.refused.map(r => r.reason).join('; ')
      )
    const baselines = baselineJob.stored
    const baselineSeconds = (nowMs() - tb) / 1000
    const baseP95 = geomean(baselines.map(b => b.metrics.p95Ms))
    // A whole number of milliseconds: see the module comment.
    const extraDelayMs = Math.max(1, Math.round(EFFECT * baseP95))
    const newest = baselines[baselines.length - 1].metrics.p95Ms

    const rows: JobRow[] = []
    const judge = async (kind: Kind): Promise<void> => {
      const delayMs = kind === 'A/A' ? DELAY_MS : DELAY_MS + extraDelayMs
      target.setFaults({ [ROUTE]: { delayMs, jitterMs: JITTER_MS } })
      const tj = nowMs()
      const job = await runGateJob(ctx, runOnce, true)
      const primary = job.verdict?.metrics.filter(j => !j.advisory) ?? []
      const p95s = job.runs.map(runP95)
      const row: JobRow = {
        kind,
        delayMs,
        outcome: job.outcome,
        runs: job.runs.length,
        tripped: primary.filter(j => j.stage === 2).map(j => j.name),
        failing: primary.filter(j => j.status === 'fail').map(j => j.name),
        inconclusive: primary.filter(j => j.status === 'inconclusive').map(j => j.name),
        screeningP95: p95s[0],
        p95s,
        naive: p95s[0] > (1 + EFFECT) * newest,
        mde: job.verdict?.headline?.mde ?? null,
        familySize: job.verdict?.familySize ?? 0,
        p99Advisory: job.verdict?.metrics.find(j => j.name === 'p99')?.advisory ?? true,
        reason: job.reasons[0] ?? '',
        seconds: (nowMs() - tj) / 1000
      }
      rows.push(row)
      progress(
        `${kind} ${rows.filter(r => r.kind === kind).length}/${settings.pairs}: ${row.outcome} ` +
          `after ${row.runs} run(s), screening p95 ${num(row.screeningP95)} ms`
      )
    }
    // Alternate the order within each pair so that slow drift of the machine hits both kinds alike.
    for (let i = 0; i < settings.pairs; i++) {
      const order: Kind[] = i % 2 === 0 ? ['A/A', '+10%'] : ['+10%', 'A/A']
      for (const kind of order) await judge(kind)
    }
    return {
      settings,
      scenario,
      baselines,
      baselineSeconds,
      extraDelayMs,
      rows,
      seconds: (nowMs() - t0) / 1000
    }
  } finally {
    await target.close()
    await removeDir(dir)
  }
}

interface Observed {
  n: number
  fail: number
  inconclusive: number
  pass: number
  error: number
  tripped: number
  meanRuns: number
  naive: number
}

function observe(rows: JobRow[]): Observed {
  return {
    n: rows.length,
    fail: rows.filter(r => r.outcome === 'FAIL').length,
    inconclusive: rows.filter(r => r.outcome === 'INCONCLUSIVE').length,
    pass: rows.filter(r => r.outcome === 'PASS').length,
    error: rows.filter(r => r.outcome === 'ERROR').length,
    tripped: rows.filter(r => r.runs > 1).length,
    meanRuns: mean(rows.map(r => r.runs)),
    naive: rows.filter(r => r.naive).length
  }
}

function reportReal(
  s: RealSeries,
  reps: number
): { fa: Observed; det: Observed; sigma: number; lines: string[] } {
  const { settings, baselines, rows } = s
  const aa = rows.filter(r => r.kind === 'A/A')
  const up = rows.filter(r => r.kind === '+10%')
  const baseP95s = baselines.map(b => b.metrics.p95Ms)
  const baseRps = baselines.map(b => b.metrics.rps)
  const baseRef = geomean(baseP95s)
  const sigma = sdLn(baseP95s)
  const first = rows.find(r => r.mde !== null)
  const fa = observe(aa)
  const det = observe(up)
  const aaP95 = geomean(aa.flatMap(r => r.p95s))
  const upP95 = geomean(up.flatMap(r => r.p95s))
  const M = first?.familySize ?? 0
  const out: string[] = []
  const say = (line = '') => out.push(line)

  say('### Real series: built-in http engine against the sample target')
  say()
  say(
    `The sample target on 127.0.0.1 answers \`GET ${ROUTE}\` after a server-side delay of ${DELAY_MS} ms + ` +
      `U[0, ${JITTER_MS}) ms. Each run is \`perf-gate\`'s own path: a ${settings.vus}-VU, ${settings.duration} ` +
      'closed-loop run of the built-in http engine in a runner process (LocalFleet → build/src/runner/index.js), ' +
      'judged on its steady window. ' +
      `${settings.baselines} baseline runs were stored in a fresh \`dir:\` store with runBaselineJob; then ` +
      `${settings.pairs} A/A gate decisions and ${settings.pairs} decisions with +10% p95 alternated ` +
      '(order swapped every pair), each by runGateJob with the default rule (α = 0.01, 3% minimum effect) and ' +
      `confirm-replicates = ${settings.confirmReplicates} (k = ${settings.confirmReplicates + 1}). ` +
      `The +10% runs add ${s.extraDelayMs} ms to every request: 10% of the baselines' geometric-mean p95 ` +
      `(${num(baseRef)} ms), rounded to whole milliseconds, so that the p95 itself moves up by ` +
      `${signedPct((baseRef + s.extraDelayMs) / baseRef - 1)} (the latency the client measures includes the ` +
      'loopback and HTTP overhead, which a 10% longer server delay would not lengthen). The target truncates ' +
      '(delay + jitter) to its 1 ms timer resolution, so only a whole-millisecond shift moves every request by ' +
      'exactly the same amount.'
  )
  say()
  say(
    table(
      ['baseline phase', 'value'],
      [
        ['baseline runs stored (N)', String(baselines.length)],
        [
          'requests per run in the steady window (median)',
          num(median(baselines.map(b => b.metrics.requests)), 0)
        ],
        [
          'p95, geometric mean (min – max)',
          `${num(baseRef)} ms (${num(Math.min(...baseP95s))} – ${num(Math.max(...baseP95s))})`
        ],
        ['**σ(ln p95)** over the baselines', pct(sigma, 2)],
        [
          'σ(ln throughput) over the baselines',
          `${pct(sdLn(baseRps), 2)} (${num(geomean(baseRps), 1)} req/s)`
        ],
        [
          'primary family M',
          `${M}${first?.p99Advisory ? ' (p95, error rate, throughput; p99 is advisory: its tail holds < 100 samples)' : ''}`
        ],
        [
          `MDE of p95 at k = ${settings.confirmReplicates + 1}, N = ${baselines.length}`,
          first?.mde !== null && first?.mde !== undefined ? pct(first.mde, 1) : 'n/a'
        ],
        ['baseline phase wall time', `${num(s.baselineSeconds, 0)} s`]
      ]
    )
  )
  say()
  say('Every gate decision, in the order run:')
  say()
  say(
    table(
      [
        '#',
        'kind',
        'server delay',
        'screening p95',
        'vs baselines',
        'stage 1 tripped',
        'PR runs',
        'verdict',
        'naive'
      ],
      rows.map((r, i) => [
        String(i + 1),
        r.kind,
        `${r.delayMs} ms`,
        `${num(r.screeningP95)} ms`,
        signedPct(r.screeningP95 / baseRef - 1),
        r.tripped.join(', ') || '–',
        String(r.runs),
        r.outcome +
          (r.failing.length ? ` (${r.failing.join(', ')})` : '') +
          (r.inconclusive.length ? ` (${r.inconclusive.join(', ')})` : ''),
        r.naive ? 'FAIL' : 'pass'
      ])
    )
  )
  say()
  say(
    table(
      ['observed', 'A/A', '+10% p95'],
      [
        ['gate decisions', String(fa.n), String(det.n)],
        ['**FAIL**', `**${fa.fail}** (false alarms)`, `**${det.fail}** (detections)`],
        ['INCONCLUSIVE', String(fa.inconclusive), String(det.inconclusive)],
        ['PASS', String(fa.pass), String(det.pass)],
        ['ERROR', String(fa.error), String(det.error)],
        [
          'one-sided 95% Clopper–Pearson bound',
          `false-alarm rate ≤ ${pct(upperBound95(fa.fail, fa.n), 0)}`,
          `detection rate ≥ ${pct(lowerBound95(det.fail, det.n), 0)}`
        ],
        ['stage 1 tripped (confirmation runs made)', String(fa.tripped), String(det.tripped)],
        ['mean PR runs per verdict', num(fa.meanRuns, 2), num(det.meanRuns, 2)],
        [
          'p95 of all PR runs, geometric mean vs baselines',
          `${num(aaP95)} ms (${signedPct(aaP95 / baseRef - 1)})`,
          `${num(upP95)} ms (${signedPct(upP95 / baseRef - 1)})`
        ],
        [
          'σ(ln p95) of the screening runs',
          pct(sdLn(aa.map(r => r.screeningP95)), 2),
          pct(sdLn(up.map(r => r.screeningP95)), 2)
        ],
        ['naive rule (p95 > 1.10 × last baseline) FAIL', String(fa.naive), String(det.naive)]
      ]
    )
  )
  say()
  say(
    `- Achieved regression: the +10% runs' p95 was ${signedPct(upP95 / aaP95 - 1)} over the A/A runs' and ` +
      `${signedPct(upP95 / baseRef - 1)} over the baselines' (geometric means over every PR run, confirmations ` +
      `included; designed: ${signedPct((baseRef + s.extraDelayMs) / baseRef - 1)}).`
  )
  if (Number.isFinite(sigma)) {
    const models = FAMILY.filter(m => m.name !== 'p99' || !first?.p99Advisory)
    const cell = (shift: number, seed: number) =>
      simulateCell(models, sigma, shift, 'normal', reps, seed, settings.confirmReplicates, baselines.length)
    const simAa = cell(1, 9001)
    const simUp = cell(1 + EFFECT, 9002)
    say(
      `- The simulation model for this exact setup (N = ${baselines.length}, k = ${settings.confirmReplicates + 1}, ` +
        `M = ${models.length}, normal noise at the measured σ = ${pct(sigma, 2)}, ${reps.toLocaleString('en-US')} ` +
        `replications) expects ${pct(simAa.fail, 2)} false alarms and ${pct(simUp.fail, 1)} detection; ` +
        `${fa.n} and ${det.n} real decisions are far too few to measure rates of that size, so the counts above ` +
        'are a check of the whole pipeline and of the noise model, and bound the rates only as shown.'
    )
  }
  say(
    `- Real series wall time: ${num(s.seconds, 0)} s (${num(s.baselineSeconds, 0)} s of it for the baselines).`
  )
  return { fa, det, sigma, lines: out }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

async function main(): Promise<void> {
  const settings = parseArgs(process.argv.slice(2))
  const controller = new AbortController()
  const onSigint = () => controller.abort()
  process.once('SIGINT', onSigint)
  const t0 = nowMs()
  console.log(`## Gate quality (npm run bench:gate)${settings.quick ? ' (--quick)' : ''}`)
  console.log('')
  console.log(`- date: ${new Date().toISOString()}`)
  for (const [k, v] of Object.entries(machineFacts())) console.log(`- ${k}: ${v}`)
  console.log('')
  progress(`simulation, ${settings.reps.toLocaleString('en-US')} replications per cell`)
  const sim: SimSummary[] = await simulate(['--reps', String(settings.reps)], { headingLevel: 3 })
  console.log('')
  progress(
    `real series: ${settings.baselines} baselines, then ${settings.pairs} A/A and ${settings.pairs} +10% decisions`
  )
  const series = await realSeries(settings, controller.signal)
  const real = reportReal(series, settings.reps)
  console.log(real.lines.join('\n'))
  console.log('')
  console.log('### Targets: ≤ 1% false alarms and ≥ 95% detection of +10% p95 at σ(ln p95) ≤ 4%')
  console.log('')
  const rows = sim
    .filter(s => s.sigma <= TARGET.maxSigma + 1e-9)
    .map(s => [
      `simulation, ${s.noise === 'normal' ? 'normal' : 'Student t(4)'} noise, σ = ${pct(s.sigma, 0)}, M = 4`,
      pct(s.fa, 2),
      pct(s.power, 1),
      s.fa <= TARGET.lowFa && s.power >= TARGET.highPower ? 'met' : 'not met'
    ])
  const faBound = upperBound95(real.fa.fail, real.fa.n)
  const detBound = lowerBound95(real.det.fail, real.det.n)
  rows.push([
    `real series, σ = ${pct(real.sigma, 2)}, ${real.fa.n} + ${real.det.n} decisions`,
    `${real.fa.fail}/${real.fa.n} (95% bound ≤ ${pct(faBound, 0)})`,
    `${real.det.fail}/${real.det.n} (95% bound ≥ ${pct(detBound, 0)})`,
    faBound <= TARGET.lowFa && detBound >= TARGET.highPower
      ? 'met'
      : real.fa.fail === 0 && real.det.fail === real.det.n
        ? 'consistent (too few runs to prove)'
        : 'not met'
  ])
  console.log(table(['setting', 'false alarms', 'detection', 'target'], rows))
  console.log('')
  console.log(`- load average at the end (1/5/15 min): ${loadAverage()}`)
  console.log(`- total wall time: ${num((nowMs() - t0) / 1000, 0)} s`)
  process.removeListener('SIGINT', onSigint)
}

main().catch((e: unknown) => {
  console.error(`bench:gate: ${(e as Error).message}`)
  process.exit(1)
})
