/**
 * `perf-gate gate`: the action's decision rule and report in the terminal. It runs the scenario
 * (or reads `--results`), compares it with the baselines in a store, and prints the same report a
 * pull request gets. `--baseline` stores runs as baselines instead (the nightly job).
 */
import { SCENARIO_OPTIONS, scenarioFlagsOf } from '../scenario-flags.js'
import { spawnSync } from 'node:child_process'
import { createBaselineStore, DEFAULT_BASELINE_STORE } from '../../baseline/index.js'
import { InputError, parseFraction, parseInteger } from '../../config/inputs.js'
import { loadScenario } from '../../plan/scenario.js'
import { runScenarioOnce } from '../../fleet/run.js'
import { GateLabelsError, parseGateLabels, type GateLabels } from '../../config/gate-labels.js'
import { parseSlos, SloParseError } from '../../gate/slo.js'
import { importRunResult } from '../../jobs/import.js'
import { runBaselineJob, runGateJob, type JobContext, type RunOnce } from '../../jobs/gate.js'
import { baselineReportInput, gateReportInput, type ReportContext } from '../../jobs/report-input.js'
import { writeReportFiles } from '../../report/artifact.js'
import { renderHtml } from '../../report/html.js'
import { renderJobSummary } from '../../report/markdown.js'
import { redactText } from '../../report/redact.js'
import { parseFlags } from '../args.js'
import { EXIT_FAILED, EXIT_OK, UsageError } from '../errors.js'
import type { CliIO } from '../io.js'
import { onInterrupt } from '../interrupt.js'
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

function git(cwd: string, args: string[]): string {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : ''
}

/** Flag values are validated by the same parsers as the action's inputs; errors name the flag. */
function flag<T>(fn: () => T): T {
  try {
    return fn()
  } catch (e) {
    if (e instanceof InputError)
      throw new UsageError(`--${e.input}: ${e.message.replace(/^input '[^']+': /, '')}`)
    throw e
  }
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
    const gate = {
      confirmReplicates: flag(() =>
        parseInteger('confirm-replicates', values['confirm-replicates'] ?? '', 4, 0, 20)
      ),
      maxBaselines: flag(() => parseInteger('max-baselines', values['max-baselines'] ?? '', 30, 2, 1000)),
      minBaselines: flag(() => parseInteger('min-baselines', values['min-baselines'] ?? '', 10, 2, 1000)),
      minEffect: flag(() => parseFraction('min-effect', values['min-effect'] ?? '', 0.03)),
      alpha: flag(() => parseFraction('alpha', values.alpha ?? '', 0.01, 0.5)),
      provisionalThreshold: flag(() =>
        parseFraction('provisional-threshold', values['provisional-threshold'] ?? '', 0.1, 10)
      )
    }
    let gateLabels: GateLabels | undefined
    if (values['gate-labels']?.length) {
      try {
        gateLabels = parseGateLabels(values['gate-labels'])
      } catch (e) {
        if (e instanceof GateLabelsError) throw new UsageError(`--gate-labels: ${e.message}`)
        throw e
      }
    }
    const replicates = flag(() => parseInteger('replicates', values.replicates ?? '', 2, 1, 20))
    let slos
    try {
      slos = parseSlos(values.threshold ?? [], '--threshold')
    } catch (e) {
      if (e instanceof SloParseError) throw new UsageError(e.message)
      throw e
    }

    let runOnce: RunOnce
    let scenarioName: string
    let fingerprint: string
    let engine: string
    let vus: number | null = null
    let canRerun = true
    if (values.results?.length) {
      const imported = await importRunResult(values.results, {
        cwd: io.cwd,
        scenario: values.scenario ?? 'default',
        warn: m => io.stderr.write(`perf-gate gate: ${m}\n`)
      })
      scenarioName = imported.run.scenario
      fingerprint = imported.run.fingerprint
      engine = String(imported.run.facts.engine ?? '')
      runOnce = async () => imported
      canRerun = false
    } else {
      const flags = scenarioFlagsOf(values)
      const scenario = await loadScenario({
        config: values.config,
        scenario: values.scenario,
        flags,
        cwd: io.cwd
      })
      scenarioName = scenario.name
      fingerprint = scenario.fingerprint
      engine = scenario.engine
      vus = scenario.vus
      gateLabels ??= scenario.gateLabels
      slos.push(
        ...parseSlos(
          scenario.thresholds.map(t => `${t.metric}: ${t.expr}`),
          `scenario ${scenario.name} thresholds`
        )
      )
      runOnce = async replicate => {
        log(`run ${replicate + 1}: ${scenario.engine}, ${scenario.vus} VUs against ${scenario.target}`)
        return runScenarioOnce(scenario, { env: io.env, log, signal: interrupts.signal })
      }
    }

    const store = await createBaselineStore(values['baseline-store'] ?? `dir:${DEFAULT_BASELINE_STORE}`, {
      cwd: io.cwd,
      env: io.env,
      warn: log
    })
    // SIGINT/SIGTERM stop the runners; a baseline job then stores nothing.
    const interrupts = onInterrupt(log)
    const ctx: JobContext = {
      repo: values.repo ?? io.env.GITHUB_REPOSITORY ?? 'local',
      commit: git(io.cwd, ['rev-parse', 'HEAD']) || 'local',
      ref: git(io.cwd, ['rev-parse', '--abbrev-ref', 'HEAD']),
      scenario: scenarioName,
      fingerprint,
      gate,
      gateLabels,
      slos,
      store,
      signal: interrupts.signal,
      log
    }
    const rctx: ReportContext = {
      key: scenarioName,
      scenario: scenarioName,
      backend: canRerun ? 'local' : 'import',
      engine,
      vus,
      ...(canRerun ? { fleet: { kind: 'local' as const }, stepStartMs: performance.timeOrigin } : {})
    }

    if (values.baseline) {
      const job = await runBaselineJob(ctx, runOnce, canRerun ? replicates : 1).finally(() =>
        interrupts.dispose()
      )
      const input = baselineReportInput(rctx, job)
      io.stdout.write(redactText(renderJobSummary(input)) + '\n')
      if (values['report-dir'])
        await writeReportFiles(
          values['report-dir'],
          job.runs[0] ?? null,
          renderHtml(input),
          renderJobSummary(input)
        )
      return job.outcome === 'PASS' ? EXIT_OK : EXIT_FAILED
    }

    const job = await runGateJob(ctx, runOnce, canRerun).finally(() => interrupts.dispose())
    const input = gateReportInput(rctx, job)
    io.stdout.write(redactText(renderJobSummary(input)) + '\n')
    if (values['report-dir'])
      await writeReportFiles(
        values['report-dir'],
        job.runs[0] ?? null,
        renderHtml(input),
        renderJobSummary(input)
      )
    log(`${job.outcome}${job.reasons.length ? `: ${job.reasons[0]}` : ''}`)
    if (job.outcome === 'FAIL' || job.outcome === 'ERROR') return EXIT_FAILED
    if (job.outcome === 'INCONCLUSIVE' && values['fail-on-inconclusive']) return EXIT_FAILED
    return EXIT_OK
  }
}
