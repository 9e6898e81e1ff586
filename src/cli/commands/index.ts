/** The command table: each command is one module; `perf-gate <name>` runs it. */
import { gateCommand } from './gate.js'
import { runCommand } from './run.js'
import { stressCommand } from './stress.js'
import { summarizeCommand } from './summarize.js'
import type { Command } from './types.js'

export const COMMANDS: readonly Command[] = [runCommand, gateCommand, stressCommand, summarizeCommand]

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find(c => c.name === name)
}

export type { Command }
