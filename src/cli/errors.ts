/**
 * CLI errors. A `UsageError` is bad input (a flag, a file, the config): one line, exit code 2.
 * Errors of the config, ingest, result and share modules are bad input too.
 */
import { ConfigError } from '../config/scenario.js'
import { ShareError } from '../plan/shares.js'
import { BaselineStoreError } from '../baseline/model.js'
import { SloParseError } from '../gate/slo.js'
import { InputError } from '../config/inputs.js'
import { IngestError } from '../ingest/formats.js'
import { ResultFileError } from '../results/io.js'
import { errorMessage } from '../util/index.js'

export const EXIT_OK = 0
export const EXIT_FAILED = 1
export const EXIT_USAGE = 2

export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

/** Whether an error is the user's input being wrong (exit 2) rather than the run failing. */
export function isUsageError(e: unknown): e is Error {
  return (
    e instanceof UsageError ||
    e instanceof ConfigError ||
    e instanceof IngestError ||
    e instanceof ResultFileError ||
    e instanceof ShareError ||
    e instanceof BaselineStoreError ||
    e instanceof SloParseError ||
    e instanceof InputError
  )
}

/** The first line of an error message, without a stack. */
export function oneLine(e: unknown): string {
  const msg = errorMessage(e)
  return msg.split('\n')[0].trim() || (e instanceof Error ? e.name : 'unknown error')
}
