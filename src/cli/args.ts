/**
 * `node:util` parseArgs with one-line errors that name the flag, and typed helpers for the
 * values the commands share.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { UsageError } from './errors.js'

type Options = NonNullable<ParseArgsConfig['options']>

export function parseFlags<O extends Options>(
  command: string,
  argv: string[],
  options: O,
  allowPositionals: boolean
) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true })
  } catch (e) {
    throw new UsageError(flagError(command, e as Error & { code?: string }))
  }
}

function flagError(command: string, e: Error & { code?: string }): string {
  const name = /'(-[^' ]+)/.exec(e.message)?.[1]
  const help = `see perf-gate ${command} --help`
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `${name ?? 'option'}: unknown option (${help})`
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /argument missing|ambiguous/.test(e.message)
        ? `${name ?? 'option'}: expects a value`
        : `${name ?? 'option'}: takes no value (${help})`
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': {
      const arg = /'([^']*)'/.exec(e.message)?.[1]
      return `unexpected argument${arg ? ` "${arg}"` : ''} (${help})`
    }
    default:
      return `${e.message.split('\n')[0]} (${help})`
  }
}

/** A `--window` value. */
export function windowFlag(v: string | undefined, dflt: 'all' | 'steady'): 'all' | 'steady' {
  if (v === undefined) return dflt
  if (v === 'all' || v === 'steady') return v
  throw new UsageError(`--window: expected all or steady, got "${v}"`)
}
