/**
 * The `perf-gate` command line: `perf-gate <command> [options]`; the bin entry is ./index.ts.
 *
 * Exit codes: 0 ok, 1 the run failed (tasks failed or missing), 2 bad input (flag, file, config).
 * Every error is printed as one line naming what was wrong; a stack trace only with
 * PERF_GATE_DEBUG=1.
 */
import { COMMANDS, findCommand } from './commands/index.js'
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, isUsageError, oneLine } from './errors.js'
import { processIO, type CliIO } from './io.js'
import { packageVersion } from './version.js'

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map(c => c.name.length))
  return `Usage: perf-gate <command> [options]

A performance gate for pull requests: runs k6, Locust, JMeter or the built-in http engine, merges
per-task latency histograms exactly and reports.

Commands:
${COMMANDS.map(c => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Options:
  -h, --help     show this help (perf-gate <command> --help for a command's options)
  -v, --version  print the version

Exit codes: 0 ok, 1 the run failed, 2 bad input.
`
}

export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  const [first, ...rest] = argv
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    if (first === 'help' && rest[0]) {
      const c = findCommand(rest[0])
      if (c) {
        io.stdout.write(c.help)
        return EXIT_OK
      }
    }
    io.stdout.write(mainHelp())
    return first === undefined ? EXIT_USAGE : EXIT_OK
  }
  if (first === '-v' || first === '--version') {
    io.stdout.write(`perf-gate ${packageVersion()}\n`)
    return EXIT_OK
  }
  const command = findCommand(first)
  if (!command) {
    const what = first.startsWith('-') ? `unknown option ${first}` : `unknown command "${first}"`
    io.stderr.write(
      `perf-gate: ${what} (commands: ${COMMANDS.map(c => c.name).join(', ')}; see perf-gate --help)\n`
    )
    return EXIT_USAGE
  }
  try {
    return await command.run(rest, io)
  } catch (e) {
    const usage = isUsageError(e)
    io.stderr.write(`perf-gate ${command.name}: ${oneLine(e)}\n`)
    if (io.env.PERF_GATE_DEBUG && e instanceof Error && e.stack) io.stderr.write(e.stack + '\n')
    return usage ? EXIT_USAGE : EXIT_FAILED
  }
}
