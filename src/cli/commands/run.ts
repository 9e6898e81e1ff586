/**
 * `perf-gate run`: builds the scenario (perf-gate.yml + flags), splits the load over the tasks,
 * runs them on the local fleet with progress on stderr, writes the run result and prints the report.
 */
import { SCENARIO_OPTIONS, scenarioFlagsOf } from '../scenario-flags.js'
import { resolve } from 'node:path'
import { type Scenario } from '../../config/scenario.js'
import { displayPath } from '../../config/config-file.js'
import { loadScenario } from '../../plan/scenario.js'
import { profileSeconds } from '../../fleet/plan.js'
import { k6ThresholdsCrossed, runProblems, runScenarioOnce } from '../../fleet/run.js'
import type { FleetProgress } from '../../model/index.js'
import { writeJsonFile } from '../../results/io.js'
import { ResultView } from '../../results/query.js'
import { runReportInput } from '../../jobs/report-input.js'
import { writeHtmlReport } from '../../report/html-file.js'
import type { RunResult } from '../../results/model.js'
import { buildSummary } from '../../results/summary.js'
import { judgeThresholds } from '../run-thresholds.js'
import { fmtRps, renderTerminal } from '../../report/terminal.js'
import { parseFlags, windowFlag } from '../args.js'
import { EXIT_FAILED, EXIT_OK } from '../errors.js'
import { tasksUsageError } from '../job-flags.js'
import { useColor, type CliIO } from '../io.js'
import { onInterrupt } from '../interrupt.js'
import type { Command } from './types.js'

const HELP = `Usage: perf-gate run [options]

Runs a load test on this machine (one runner process per task), merges the tasks' results
exactly, writes the run result JSON and prints the report.

Scenario (perf-gate.yml in the current directory is read when present; flags win):
  --config FILE          scenario file (default: ./perf-gate.yml)
  --scenario NAME        scenario to run (needed when the file has several)
  --engine E             k6, locust, jmeter or http (default: from the script, else http)
  --script FILE          k6 .js, Locust .py or JMeter .jmx script
  --target URL           base URL of the system under test (loopback or allowed-hosts only)
  --request 'M /path'    a request of the http engine, repeatable (e.g. --request 'GET /fast')
  --vus N                virtual users / threads in total (default 1; k6: the script's own
                         options when no load flag, config load or profile is given)
  --duration D           hold duration: 500ms, 30s, 2m, 1h30m or seconds (default 30s; k6: as --vus)
  --ramp-up D            ramp-up before the hold (default 0)
  --tasks N              runner processes to split the load over (default 1)
  --interval D           result interval (default 1s)
  --threshold EXPR       a k6-syntax threshold, judged on the run (exit 1 when crossed), repeatable
  --allow-host HOST      also allow this target host, repeatable
  --profile NAME         a test-type preset: load, stress, spike, soak, scalability or volume
                         (--vus is its expected load, --duration its total length; docs/profiles.md)
  --multiplier N         the stress or spike profile's multiplier
  --profile-param K=V    another profile parameter, repeatable (e.g. steps=6)

Output:
  --out FILE             run result JSON (default .perf-gate/results/<scenario>-<time>.json)
  --window steady|all    window of the report (default: steady)
  --html FILE            also write the HTML report (charts, per-label tables) to FILE
  --json                 print the JSON summary instead of the table
  -h, --help             show this help

Exit codes: 0 the run worked, 1 tasks failed or were missing or a threshold was crossed, 2 bad input.
`

const OPTIONS = {
  ...SCENARIO_OPTIONS,
  out: { type: 'string' },
  window: { type: 'string' },
  html: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false }
} as const

function stamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
}

function progressLine(p: FleetProgress): string {
  return (
    `  ${p.elapsedS.toFixed(0).padStart(4)} s  ${p.requests.toLocaleString('en-US').padStart(9)} requests  ` +
    `${fmtRps(p.rps).padStart(8)} req/s  ${p.failures.toLocaleString('en-US')} failures  ` +
    `(${p.reporting}/${p.total} reporting${p.finished ? `, ${p.finished} done` : ''})`
  )
}

type RunValues = ReturnType<typeof parseFlags<typeof OPTIONS>>['values']

/** Progress on stderr: one line rewritten in place on a TTY, else a line every 5 s. */
function progressPrinter(io: CliIO) {
  const tty = io.stderr.isTTY === true
  let lastPrinted = 0
  let wroteLine = false
  return {
    onProgress(p: FleetProgress) {
      if (tty) {
        io.stderr.write(`\r\u001b[2K${progressLine(p)}`)
        wroteLine = true
      } else if (p.elapsedS - lastPrinted >= 5) {
        lastPrinted = p.elapsedS
        io.stderr.write(progressLine(p) + '\n')
      }
    },
    /** Ends the line being rewritten, before any other output. */
    endLine() {
      if (wroteLine) io.stderr.write('\n')
      wroteLine = false
    }
  }
}

/** A run on this machine, with what the report's title says about its load. */
interface LocalRun {
  result: RunResult
  taskCount: number
  vusText: string
}

/** Runs the scenario on the local fleet with progress on stderr; SIGINT/SIGTERM stop it. */
async function runLocally(
  scenario: Scenario,
  values: RunValues,
  io: CliIO,
  log: (m: string) => void
): Promise<LocalRun> {
  const progress = progressPrinter(io)
  const interrupts = onInterrupt(log, progress.endLine)
  let taskCount = scenario.tasks
  let vusText = `${scenario.vus} VUs`
  try {
    const result = await runScenarioOnce(scenario, {
      env: io.env,
      signal: interrupts.signal,
      onProgress: progress.onProgress,
      onPlan: plan => {
        taskCount = plan.tasks.length
        const own = plan.tasks[0]?.load.scriptLoad === true
        if (own) vusText = `up to ${plan.tasks[0].load.vus} VUs`
        log(
          `${scenario.name}: ${scenario.engine}, ${own ? "the script's own load" : `${scenario.vus} VUs`} over ${taskCount} task${taskCount === 1 ? '' : 's'}, ` +
            `${own ? `at most ${plan.tasks[0].load.durationS}` : profileSeconds(scenario)} s against ${scenario.target}`
        )
      },
      log: m => {
        progress.endLine()
        log(m)
      }
    })
    return { result, taskCount, vusText }
  } catch (e) {
    throw tasksUsageError(e, values.tasks, scenario, io.cwd)
  } finally {
    interrupts.dispose()
    progress.endLine()
  }
}

/** Writes the HTML report of the run to `file`. */
async function writeRunHtml(
  file: string,
  scenario: Scenario,
  view: ResultView,
  result: RunResult
): Promise<void> {
  const input = runReportInput(
    {
      key: scenario.name,
      scenario: scenario.name,
      backend: 'local',
      engine: scenario.engine,
      vus: scenario.vus,
      fleet: { kind: 'local' },
      stepStartMs: performance.timeOrigin
    },
    view,
    { runs: [result], problems: runProblems(result), title: `perf-gate run: ${scenario.name}` }
  )
  await writeHtmlReport(file, input)
}

/** Prints the summary (table, or JSON) and the judged thresholds; returns how many were not met. */
function printReport(
  run: LocalRun,
  scenario: Scenario,
  view: ResultView,
  opts: { window: 'all' | 'steady'; json: boolean },
  io: CliIO
): number {
  const { window } = opts
  const summary = buildSummary(run.result.tasks, { window, view })
  const judged = judgeThresholds(view, scenario.thresholds, window)
  if (opts.json) {
    io.stdout.write(JSON.stringify(summary, null, 2) + '\n')
    if (judged.lines.length)
      io.stderr.write(['perf-gate run: thresholds:', ...judged.lines].join('\n') + '\n')
    return judged.failed
  }
  const own = (t: { metric: string; expr: string }) =>
    scenario.thresholds.some(x => x.metric === t.metric && x.expr === t.expr)
  // The scenario's thresholds are judged below; only the script's own stay "declared".
  summary.thresholds = summary.thresholds.filter(t => !own(t))
  const title =
    `perf-gate run: ${scenario.name} · ${scenario.engine} · ${run.taskCount} task${run.taskCount === 1 ? '' : 's'} · ` +
    `${run.vusText} · ${scenario.target}`
  io.stdout.write(renderTerminal(summary, { color: useColor(io.stdout, io.env), title }))
  if (judged.lines.length) io.stdout.write(['', 'thresholds:', ...judged.lines].join('\n') + '\n')
  return judged.failed
}

export const runCommand: Command = {
  name: 'run',
  summary: 'run a load test locally and report on it',
  help: HELP,
  async run(argv: string[], io: CliIO): Promise<number> {
    const { values } = parseFlags('run', argv, OPTIONS, false)
    if (values.help) {
      io.stdout.write(HELP)
      return EXIT_OK
    }
    const window = windowFlag(values.window, 'steady')
    const flags = { ...scenarioFlagsOf(values), thresholds: values.threshold }
    const scenario = await loadScenario({
      config: values.config,
      scenario: values.scenario,
      flags,
      cwd: io.cwd
    })
    const log = (m: string) => io.stderr.write(`perf-gate run: ${m}\n`)
    const run = await runLocally(scenario, values, io, log)
    const { result } = run
    const out = resolve(
      io.cwd,
      values.out ??
        `.perf-gate/results/${scenario.name.replace(/[^A-Za-z0-9_.-]+/g, '-')}-${stamp(result.run.createdMs)}.json`
    )
    await writeJsonFile(out, result)
    log(`run result: ${displayPath(out, io.cwd)}`)
    if (!result.tasks.some(t => Object.keys(t.labels).length > 0)) {
      log('no task produced any request data; nothing to report')
      return EXIT_FAILED
    }
    const view = new ResultView(result.tasks)
    if (values.html) {
      const file = resolve(io.cwd, values.html)
      await writeRunHtml(file, scenario, view, result)
      log(`HTML report: ${displayPath(file, io.cwd)}`)
    }
    const failed = printReport(run, scenario, view, { window, json: values.json }, io)
    for (const line of k6ThresholdsCrossed(result)) log(line)
    if (failed) log(`${failed} threshold${failed === 1 ? '' : 's'} not met`)
    return runProblems(result) || failed ? EXIT_FAILED : EXIT_OK
  }
}
