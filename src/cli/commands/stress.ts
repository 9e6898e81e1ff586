/**
 * `perf-gate stress`: the action's `mode: stress` in the terminal. It runs a profile (stress by
 * default) once on the local fleet, stops a stress run once a step breaks an SLO, writes the
 * capacity report (markdown) to stdout, keeps a capacity record in the baseline store and shows the
 * scenario's capacity history. It never gates.
 */
import { SCENARIO_OPTIONS, scenarioFlagsOf } from '../scenario-flags.js'
import { spawnSync } from 'node:child_process'
import { createBaselineStore, DEFAULT_BASELINE_STORE } from '../../baseline/index.js'
import { InputError, parseInteger } from '../../config/inputs.js'
import { displayPath } from '../../config/config-file.js'
import { loadScenario } from '../../plan/scenario.js'
import { runScenarioOnce } from '../../fleet/run.js'
import { parseSlos, SloParseError } from '../../gate/slo.js'
import {
  capacityReportInput,
  runStressJob,
  stressHtmlInput,
  type StressReportContext
} from '../../jobs/stress.js'
import { ShareError } from '../../plan/shares.js'
import { writeReportFiles } from '../../report/artifact.js'
import { renderCapacityMarkdown } from '../../report/capacity.js'
import { renderHtml } from '../../report/html.js'
import { writeJsonFile } from '../../results/io.js'
import { parseFlags } from '../args.js'
import { EXIT_FAILED, EXIT_OK, UsageError } from '../errors.js'
import type { CliIO } from '../io.js'
import { onInterrupt } from '../interrupt.js'
import type { Command } from './types.js'
import { join } from 'node:path'

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

function git(cwd: string, args: string[]): string {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : ''
}

/** `--target-rps`: a positive number. */
export function positiveNumber(flag: string, v: string | undefined): number | null {
  if (v === undefined || v.trim() === '') return null
  const n = Number(v.trim())
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag}: expected a number above 0, got "${v}"`)
  return n
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
    const targetRps = positiveNumber('--target-rps', values['target-rps'])
    let instances: number | null = null
    try {
      instances = values.instances ? parseInteger('instances', values.instances, 0, 1, 100_000) : null
    } catch (e) {
      if (e instanceof InputError)
        throw new UsageError(`--instances: ${e.message.replace(/^input '[^']+': /, '')}`)
      throw e
    }
    let slos
    try {
      slos = parseSlos(values.threshold ?? [], '--threshold')
    } catch (e) {
      if (e instanceof SloParseError) throw new UsageError(e.message)
      throw e
    }
    const flags = scenarioFlagsOf(values)
    // Without a profile anywhere, a stress run uses the stress preset.
    const scenario = await loadScenario({
      config: values.config,
      scenario: values.scenario,
      flags,
      cwd: io.cwd,
      defaultProfile: 'stress'
    })
    slos.push(
      ...parseSlos(
        scenario.thresholds.map(t => `${t.metric}: ${t.expr}`),
        `scenario ${scenario.name} thresholds`
      )
    )
    const store = values['no-store']
      ? null
      : await createBaselineStore(values['baseline-store'] ?? `dir:${DEFAULT_BASELINE_STORE}`, {
          cwd: io.cwd,
          env: io.env
        })
    const interrupts = onInterrupt(log)
    const commit = git(io.cwd, ['rev-parse', 'HEAD']) || 'local'
    let job
    try {
      job = await runStressJob(
        {
          repo: values.repo ?? io.env.GITHUB_REPOSITORY ?? 'local',
          commit,
          ref: git(io.cwd, ['rev-parse', '--abbrev-ref', 'HEAD']),
          scenario,
          slos,
          store,
          targetRps,
          instances,
          log
        },
        ({ onProgress, signal }) =>
          runScenarioOnce(scenario, {
            env: io.env,
            log,
            onProgress,
            signal: AbortSignal.any([signal, interrupts.signal])
          })
      )
    } catch (e) {
      if (!(e instanceof ShareError)) throw e
      const where =
        values.tasks !== undefined || !scenario.configFile
          ? '--tasks'
          : `${displayPath(scenario.configFile, io.cwd)}: scenarios.${scenario.name}.tasks`
      throw new UsageError(`${where}: ${e.message}`)
    } finally {
      interrupts.dispose()
    }
    const rctx: StressReportContext = {
      key: scenario.name,
      backend: 'local',
      commit: commit === 'local' ? null : commit,
      fleet: { kind: 'local' },
      stepStartMs: performance.timeOrigin
    }
    const markdown = renderCapacityMarkdown(capacityReportInput(rctx, scenario, slos, job))
    io.stdout.write(markdown)
    if (values['report-dir']) {
      const html = stressHtmlInput(rctx, scenario, job)
      const files = await writeReportFiles(
        values['report-dir'],
        job.run,
        html ? renderHtml(html) : '',
        markdown
      )
      if (job.record) await writeJsonFile(join(files.dir, 'capacity.json'), job.record)
      log(`report: ${displayPath(files.reportMd, io.cwd)}`)
    }
    if (job.outcome !== 'PASS') log(`ERROR: ${job.reasons.join('; ')}`)
    return job.outcome === 'PASS' ? EXIT_OK : EXIT_FAILED
  }
}
