import type { CliIO } from '../io.js'

/** One CLI command: a module in src/cli/commands registered in the table in ./index.ts. */
export interface Command {
  name: string
  /** One line for the command list in `perf-gate --help`. */
  summary: string
  /** The full `perf-gate <name> --help` text. */
  help: string
  /** Runs the command with its own arguments; resolves with the exit code. */
  run(argv: string[], io: CliIO): Promise<number>
}
