/**
 * `perf-gate stress`: the action's `mode: stress` in the terminal. It runs a profile (stress by
 * default) once on the local fleet, stops a stress run once a step breaks an SLO, writes the
 * capacity report (markdown) to stdout, keeps a capacity record in the baseline store and shows the
 * scenario's capacity history. It never gates.
 */
import { SCENARIO_OPTIONS, scenarioFlagsOf } from '../scenario-flags.js'
import { DEFAULT_BASELINE_STORE } from '../../baseline/index.js'
import { parseInteger } from '../../config/inputs.js'
import { type Scenario } from '../../config/scenario.js'
import { displayPath } from '../../config/config-file.js'
import { loadScenario } from '../../plan/scenario.js'
import { runScenarioOnce } from '../../fleet/run.js'
import { cliConclusion, exitCodeFor } from '../../jobs/exit.js'
import { publishDocument } from '../../jobs/publish.js'
import { scenarioSlos } from '../../jobs/source.js'
import { runStressJob, type StressJobContext, type StressJobResult } from '../../jobs/stress.js'
import { stressDocument, type StressReportContext } from '../../jobs/stress-report.js'
import { parseFlags } from '../args.js'
import { EXIT_OK, UsageError } from '../errors.js'
import type { CliIO } from '../io.js'
import { onInterrupt } from '../interrupt.js'
import { cliBaselineStore, flagValue, runOrigin, tasksUsageError, thresholdSlos } from '../job-flags.js'
import { TerminalPublisher } from '../publisher.js'
import type { Command } from './types.js'

const HELP = `Usage: perf-gate stress [options]

Runs a test-type profile once (stress unless the scenario or --profile names another), stops a
stress run at the end of the first step that breaks an SLO, and prints the capacity report:
breaking point, knee and error onset (stress), recovery time (spike), first-vs-last window and
trend (soak), scaling efficiency (scalability) or bytes per second (load, volume). A capacity
record is kept in the baseline store. It never gates.

Scenario: the options of perf-gate run (--config, --scenario, --engine, --script, --target,
  --request, --vus, --duration, --ramp-up, --tasks, --interval, --threshold, --allow-host).
  --vus is the expected load the profile is built from; --duration the profile's total length.

Profile:
  --profile NAME         load, stress, spike, soak, scalability or volume (default: stress)
  --multiplier N         stress: the last step's load, spike: the surge, as N × --vus
  --profile-param K=V    any other parameter, repeatable (e.g. steps=6, step-duration=20s)

Capacity:
  --target-rps N         state the headroom over this throughput
  --instances N          instances of the system under test today (for the planning line)
  --baseline-store S     dir:<path>, s3://bucket/prefix (default dir:${DEFAULT_BASELINE_STORE})
  --no-store             do not keep a capacity record
  --repo OWNER/NAME      repository the records belong to (default $GITHUB_REPOSITORY or "local")

Output:
  --report-dir DIR       also write report.md, report.html, result.json and capacity.json there
  -h, --help             show this help

Exit codes: 0 the run was analysed, 1 it could not be (or the record could not be stored), 2 bad input.
`

const OPTIONS = {
  ...SCENARIO_OPTIONS,
  'target-rps': { type: 'string' },
  instances: { type: 'string' },
  'baseline-store': { type: 'string' },
  'no-store': { type: 'boolean', default: false },
  repo: { type: 'string' },
  'report-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false }
} as const

/** `--target-rps`: a positive number. */
export function positiveNumber(flag: string, v: string | undefined): number | null {
  if (v === undefined || v.trim() === '') return null
  const n = Number(v.trim())
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag}: expected a number above 0, got "${v}"`)
  return n
}

type StressValues = ReturnType<typeof parseFlags<typeof OPTIONS>>['values']

/** Runs the stress job on this machine; SIGINT/SIGTERM stop the run like the stop rule does. */
async function runLocalStress(
  ctx: StressJobContext,
  tasksFlag: string | undefined,
  io: CliIO
): Promise<StressJobResult> {
  const { scenario, log } = ctx
  const interrupts = onInterrupt(log)
  try {
    return await runStressJob(ctx, ({ onProgress, signal }) =>
      runScenarioOnce(scenario, {
        env: io.env,
        log,
        onProgress,
        signal: AbortSignal.any([signal, interrupts.signal])
      })
    )
  } catch (e) {
    throw tasksUsageError(e, tasksFlag, scenario, io.cwd)
  } finally {
    interrupts.dispose()
  }
}

/** The stress job's context from the flags: the scenario with its profile, the SLOs and the store. */
async function stressContext(
  values: StressValues,
  io: CliIO,
  log: (m: string) => void
): Promise<StressJobContext> {
  const targetRps = positiveNumber('--target-rps', values['target-rps'])
  const instances = values.instances
    ? flagValue(() => parseInteger('instances', values.instances ?? '', 0, 1, 100_000))
    : null
  const slos = thresholdSlos(values.threshold)
  // Without a profile anywhere, a stress run uses the stress preset.
  const scenario: Scenario = await loadScenario({
    config: values.config,
    scenario: values.scenario,
    flags: scenarioFlagsOf(values),
    cwd: io.cwd,
    defaultProfile: 'stress'
  })
  slos.push(...scenarioSlos(scenario))
  const store = values['no-store'] ? null : await cliBaselineStore(values['baseline-store'], io)
  return { ...runOrigin(io, values.repo), scenario, slos, store, targetRps, instances, log }
}

export const stressCommand: Command = {
  name: 'stress',
  summary: 'run a stress (or other) profile and report the capacity it shows',
  help: HELP,
  async run(argv: string[], io: CliIO): Promise<number> {
    const { values } = parseFlags('stress', argv, OPTIONS, false)
    if (values.help) {
      io.stdout.write(HELP)
      return EXIT_OK
    }
    const log = (m: string) => io.stderr.write(`perf-gate stress: ${m}\n`)
    const ctx = await stressContext(values, io, log)
    const { scenario } = ctx
    const job = await runLocalStress(ctx, values.tasks, io)
    const rctx: StressReportContext = {
      key: scenario.name,
      backend: 'local',
      commit: ctx.commit === 'local' ? null : ctx.commit,
      fleet: { kind: 'local' },
      stepStartMs: performance.timeOrigin
    }
    const publisher = new TerminalPublisher({
      reportDir: values['report-dir'],
      show: markdown => io.stdout.write(markdown)
    })
    const files = await publishDocument(publisher, stressDocument(rctx, scenario, ctx.slos, job), null)
    if (files) log(`report: ${displayPath(files.reportMd, io.cwd)}`)
    const line = cliConclusion({ ...job, subject: scenario.name }, 'stress')
    if (line) log(line)
    return exitCodeFor(job.outcome, 'stress')
  }
}
