/**
 * `perf-gate gate`: the action's decision rule and report in the terminal. It runs the scenario
 * (or reads `--results`), compares it with the baselines in a store, and prints the same report a
 * pull request gets. `--baseline` stores runs as baselines instead (the nightly job).
 */
import { SCENARIO_OPTIONS, scenarioFlagsOf } from '../scenario-flags.js'
import { DEFAULT_BASELINE_STORE } from '../../baseline/index.js'
import { parseFraction, parseInteger } from '../../config/inputs.js'
import { GateLabelsError, parseGateLabels, type GateLabels } from '../../config/gate-labels.js'
import { loadScenario } from '../../plan/scenario.js'
import { cliConclusion, exitCodeFor } from '../../jobs/exit.js'
import type { GateOptions } from '../../gate/options.js'
import { judgeRun, type JudgeSettings } from '../../jobs/judge.js'
import { LOCAL_PLAN, publishReport } from '../../jobs/publish.js'
import { buildRunSource, type RunSource } from '../../jobs/source.js'
import { redactText } from '../../report/redact.js'
import { parseFlags } from '../args.js'
import { EXIT_OK, UsageError } from '../errors.js'
import type { CliIO } from '../io.js'
import { onInterrupt } from '../interrupt.js'
import { cliBaselineStore, flagValue, runOrigin, thresholdSlos } from '../job-flags.js'
import { TerminalPublisher } from '../publisher.js'
import type { Command } from './types.js'

const HELP = `Usage: perf-gate gate [options]

Runs the scenario (or reads --results), compares it with the stored baselines using the same rule
as the GitHub Action, and prints the same report. With --baseline it stores the runs as baselines.

Scenario: the options of perf-gate run (--config, --scenario, --engine, --script, --target,
  --request, --vus, --duration, --ramp-up, --tasks, --threshold, --allow-host, --profile,
  --multiplier, --profile-param).
  --results FILE         gate existing result files instead of running (repeatable; globs allowed)

Baselines:
  --baseline-store S     dir:<path>, s3://bucket/prefix (default dir:${DEFAULT_BASELINE_STORE})
  --baseline             store this run's replicates as baselines instead of gating
  --replicates N         runs per baseline job (default 2)
  --repo OWNER/NAME      repository the baselines belong to (default $GITHUB_REPOSITORY or "local")

Rule:
  --confirm-replicates N extra runs when the first one trips (default 4)
  --max-baselines N      baselines used (default 30)
  --min-baselines N      fewer means a provisional verdict (default 10)
  --min-effect P         smallest change that can fail (default 3%)
  --alpha A              family-wise false-alarm rate (default 0.01)
  --provisional-threshold P  threshold while provisional (default 10%)
  --gate-labels L        gate labels' p95 and error rate too: all, a share such as 5%, or a label
                         name (repeatable); default: the scenario's gate-labels, else none
  --fail-on-inconclusive exit 1 on INCONCLUSIVE too

Output:
  --report-dir DIR       also write result.json, report.html and report.md there
  -h, --help             show this help

Exit codes: 0 PASS or INCONCLUSIVE (baseline: stored), 1 FAIL or ERROR, 2 bad input.
`

const OPTIONS = {
  ...SCENARIO_OPTIONS,
  results: { type: 'string', multiple: true },
  'baseline-store': { type: 'string' },
  baseline: { type: 'boolean', default: false },
  replicates: { type: 'string' },
  repo: { type: 'string' },
  'confirm-replicates': { type: 'string' },
  'max-baselines': { type: 'string' },
  'min-baselines': { type: 'string' },
  'min-effect': { type: 'string' },
  alpha: { type: 'string' },
  'provisional-threshold': { type: 'string' },
  'gate-labels': { type: 'string', multiple: true },
  'fail-on-inconclusive': { type: 'boolean', default: false },
  'report-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false }
} as const

type GateValues = ReturnType<typeof parseFlags<typeof OPTIONS>>['values']

/** The decision rule's flags. */
function ruleFlags(values: GateValues): Partial<GateOptions> {
  return {
    confirmReplicates: flagValue(() =>
      parseInteger('confirm-replicates', values['confirm-replicates'] ?? '', 4, 0, 20)
    ),
    maxBaselines: flagValue(() => parseInteger('max-baselines', values['max-baselines'] ?? '', 30, 2, 1000)),
    minBaselines: flagValue(() => parseInteger('min-baselines', values['min-baselines'] ?? '', 10, 2, 1000)),
    minEffect: flagValue(() => parseFraction('min-effect', values['min-effect'] ?? '', 0.03)),
    alpha: flagValue(() => parseFraction('alpha', values.alpha ?? '', 0.01, 0.5)),
    provisionalThreshold: flagValue(() =>
      parseFraction('provisional-threshold', values['provisional-threshold'] ?? '', 0.1, 10)
    )
  }
}

/** `--gate-labels`, when given. */
function gateLabelsFlag(values: GateValues): GateLabels | undefined {
  if (!values['gate-labels']?.length) return undefined
  try {
    return parseGateLabels(values['gate-labels'])
  } catch (e) {
    if (e instanceof GateLabelsError) throw new UsageError(`--gate-labels: ${e.message}`)
    throw e
  }
}

/** The run source: the `--results` files, or the scenario run on this machine. */
async function cliRunSource(values: GateValues, io: CliIO, log: (m: string) => void): Promise<RunSource> {
  const source = await buildRunSource(
    values.results?.length
      ? { kind: 'import', results: values.results, scenario: values.scenario ?? 'default' }
      : {
          kind: 'fleet',
          backend: 'local',
          load: () =>
            loadScenario({
              config: values.config,
              scenario: values.scenario,
              flags: scenarioFlagsOf(values),
              cwd: io.cwd
            })
        },
    {
      cwd: io.cwd,
      env: io.env,
      log,
      warn: m => io.stderr.write(`perf-gate gate: ${m}\n`),
      fleet: async scenario => ({ scenario, fleetCost: { kind: 'local' } }),
      announce: (scenario, replicate) =>
        log(`run ${replicate + 1}: ${scenario.engine}, ${scenario.vus} VUs against ${scenario.target}`)
    }
  )
  // Without a skip rule a source is always built.
  return source!
}

export const gateCommand: Command = {
  name: 'gate',
  summary: 'judge a run against stored baselines (or store baselines), as the action does',
  help: HELP,
  async run(argv: string[], io: CliIO): Promise<number> {
    const { values } = parseFlags('gate', argv, OPTIONS, false)
    if (values.help) {
      io.stdout.write(HELP)
      return EXIT_OK
    }
    const log = (m: string) => io.stderr.write(`perf-gate gate: ${redactText(m)}\n`)
    const gate = ruleFlags(values)
    const gateLabels = gateLabelsFlag(values)
    const replicates = flagValue(() => parseInteger('replicates', values.replicates ?? '', 2, 1, 20))
    const slos = thresholdSlos(values.threshold)
    const source = await cliRunSource(values, io, log)
    const store = await cliBaselineStore(values['baseline-store'], io, log)
    // SIGINT/SIGTERM stop the runners; a baseline job then stores nothing.
    const interrupts = onInterrupt(log)
    const settings: JudgeSettings = {
      mode: values.baseline ? 'baseline' : 'gate',
      replicates,
      job: { ...runOrigin(io, values.repo), gate, gateLabels, slos, store, signal: interrupts.signal, log },
      report: { key: source.scenario }
    }
    const judged = await judgeRun(source, settings).finally(() => interrupts.dispose())
    const publisher = new TerminalPublisher({
      reportDir: values['report-dir'],
      show: markdown => io.stdout.write(redactText(markdown) + '\n')
    })
    await publishReport(publisher, judged.input, judged.job.runs[0] ?? null, LOCAL_PLAN)
    const { outcome, reasons } = judged.job
    const line = cliConclusion({ outcome, reasons, subject: source.scenario }, judged.mode)
    if (line) log(line)
    return exitCodeFor(outcome, judged.mode, { failOnInconclusive: values['fail-on-inconclusive'] })
  }
}
