/**
 * `perf-gate summarize [--engine k6|locust|jmeter] [--json] [--window all|steady] FILES…`:
 * reads existing engine output or perf-gate result files, merges them exactly and reports.
 */
import { resolve } from 'node:path'
import { parseFlags, windowFlag } from '../args.js'
import { EXIT_OK, UsageError } from '../errors.js'
import { useColor, type CliIO } from '../io.js'
import { formatName, INGEST_ENGINES, type IngestEngine } from '../../ingest/formats.js'
import { ingestFiles } from '../../ingest/ingest.js'
import { buildSummary } from '../../results/summary.js'
import { renderTerminal } from '../../report/terminal.js'
import { writeHtmlReport } from '../../report/html-file.js'
import { runReportInput } from '../../jobs/report-input.js'
import { ResultView } from '../../results/query.js'
import type { Command } from './types.js'
import { errorMessage } from '../../util/index.js'

const HELP = `Usage: perf-gate summarize [options] FILE...

Reads load-test output files, merges them exactly and prints the report.

Files (the format of each is told from its first bytes):
  k6 --out json=FILE (NDJSON, also .gz)     k6 --out csv=FILE
  JMeter JTL (CSV, with or without header)  Locust request NDJSON (perf-gate's Locust hook)
  perf-gate task or run result JSON

Options:
  --engine k6|locust|jmeter   read every engine file with this engine's parser
  --window all|steady         time window to report (default: all)
  --html FILE                 also write the HTML report (charts, per-label tables) to FILE
  --json                      print the JSON summary instead of the table
  -h, --help                  show this help

Exit codes: 0 ok, 2 bad flag or unreadable/unknown file.
`

export const summarizeCommand: Command = {
  name: 'summarize',
  summary: 'report on existing k6/Locust/JMeter output or perf-gate result files',
  help: HELP,
  async run(argv: string[], io: CliIO): Promise<number> {
    const { values, positionals } = parseFlags(
      'summarize',
      argv,
      {
        engine: { type: 'string' },
        window: { type: 'string' },
        html: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false }
      },
      true
    )
    if (values.help) {
      io.stdout.write(HELP)
      return EXIT_OK
    }
    let engine: IngestEngine | undefined
    if (values.engine !== undefined) {
      if (!(INGEST_ENGINES as readonly string[]).includes(values.engine))
        throw new UsageError(`--engine: expected one of ${INGEST_ENGINES.join(', ')}, got "${values.engine}"`)
      engine = values.engine as IngestEngine
    }
    const window = windowFlag(values.window, 'all')
    if (positionals.length === 0) throw new UsageError('no files given (see perf-gate summarize --help)')

    // Paths stay as the user wrote them, so messages name the files the same way.
    const files = positionals.map(f => ({ shown: f, abs: io.cwd === process.cwd() ? f : resolve(io.cwd, f) }))
    const ingested = await ingestFiles(
      files.map(f => f.abs),
      { engine }
    )
    const shown = new Map(files.map(f => [f.abs, f.shown]))
    const names: string[] = []
    for (const f of ingested) {
      if (f.skipped > 0)
        io.stderr.write(
          `perf-gate summarize: ${shown.get(f.file)}: skipped ${f.skipped} record${f.skipped === 1 ? '' : 's'} that were not ${formatName(f.format)} requests\n`
        )
      for (const w of f.warnings) io.stderr.write(`perf-gate summarize: ${shown.get(f.file)}: ${w}\n`)
      for (let i = 0; i < f.tasks.length; i++)
        names.push(f.tasks.length > 1 ? `${shown.get(f.file)} task ${i}` : shown.get(f.file)!)
    }
    const tasks = ingested.flatMap(f => f.tasks)
    for (const t of tasks) t.task.sources = t.task.sources.map(s => shown.get(s) ?? s)
    let summary
    try {
      summary = buildSummary(tasks, { window, names })
    } catch (e) {
      // Results recorded at different intervals cannot be merged: that is the input's fault.
      throw new UsageError(errorMessage(e))
    }
    if (values.html) {
      const file = resolve(io.cwd, values.html)
      const formats = [...new Set(ingested.map(f => formatName(f.format)))].join(', ')
      await writeHtmlReport(
        file,
        runReportInput(
          { key: 'summarize', scenario: 'summarize', backend: 'import', engine: engine ?? '' },
          new ResultView(tasks, names),
          {
            title: `perf-gate summarize: ${ingested.length} file${ingested.length === 1 ? '' : 's'} (${formats})`,
            reasons: [
              `${ingested.length} file${ingested.length === 1 ? '' : 's'} merged: ${files.map(f => f.shown).join(', ')}`
            ]
          }
        )
      )
      io.stderr.write(`perf-gate summarize: HTML report: ${values.html}\n`)
    }
    if (values.json) io.stdout.write(JSON.stringify(summary, null, 2) + '\n')
    else {
      const formats = [...new Set(ingested.map(f => formatName(f.format)))].join(', ')
      const title = `perf-gate summarize: ${ingested.length} file${ingested.length === 1 ? '' : 's'} (${formats})`
      io.stdout.write(renderTerminal(summary, { color: useColor(io.stdout, io.env), title }))
    }
    return EXIT_OK
  }
}
