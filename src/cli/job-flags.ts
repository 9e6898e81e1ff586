/**
 * What `perf-gate gate` and `perf-gate stress` share around their jobs: flag values checked by the
 * action's own parsers (errors name the flag), the `--threshold` SLOs, the baseline store, where
 * the run's commit comes from, and the wording of a task split that does not fit.
 */
import { spawnSync } from 'node:child_process'
import { createBaselineStore, DEFAULT_BASELINE_STORE } from '../baseline/index.js'
import type { BaselineStore } from '../baseline/store.js'
import { InputError } from '../config/inputs.js'
import { type Scenario } from '../config/scenario.js'
import { displayPath } from '../config/config-file.js'
import { parseSlos, SloParseError, type Slo } from '../gate/slo.js'
import { ShareError } from '../plan/shares.js'
import { UsageError } from './errors.js'
import type { CliIO } from './io.js'

function git(cwd: string, args: string[]): string {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : ''
}

/** Where the run belongs: `--repo` (else $GITHUB_REPOSITORY, else "local") and the checkout's commit and branch. */
export function runOrigin(
  io: CliIO,
  repo: string | undefined
): { repo: string; commit: string; ref: string } {
  return {
    repo: repo ?? io.env.GITHUB_REPOSITORY ?? 'local',
    commit: git(io.cwd, ['rev-parse', 'HEAD']) || 'local',
    ref: git(io.cwd, ['rev-parse', '--abbrev-ref', 'HEAD'])
  }
}

/** A flag value validated by the same parser as the action's input; errors name the flag. */
export function flagValue<T>(fn: () => T): T {
  try {
    return fn()
  } catch (e) {
    if (e instanceof InputError)
      throw new UsageError(`--${e.input}: ${e.message.replace(/^input '[^']+': /, '')}`)
    throw e
  }
}

/** The `--threshold` SLOs. */
export function thresholdSlos(thresholds: readonly string[] | undefined): Slo[] {
  try {
    return parseSlos(thresholds ?? [], '--threshold')
  } catch (e) {
    if (e instanceof SloParseError) throw new UsageError(e.message)
    throw e
  }
}

/** The baseline store of `--baseline-store` (default a folder in the working directory). */
export function cliBaselineStore(
  spec: string | undefined,
  io: CliIO,
  warn?: (message: string) => void
): Promise<BaselineStore> {
  return createBaselineStore(spec ?? `dir:${DEFAULT_BASELINE_STORE}`, { cwd: io.cwd, env: io.env, warn })
}

/** A task split that does not fit, as a usage error naming `--tasks` or the config's `tasks`. */
export function tasksUsageError(
  e: unknown,
  tasksFlag: string | undefined,
  scenario: Scenario,
  cwd: string
): unknown {
  if (!(e instanceof ShareError)) return e
  const where =
    tasksFlag !== undefined || !scenario.configFile
      ? '--tasks'
      : `${displayPath(scenario.configFile, cwd)}: scenarios.${scenario.name}.tasks`
  return new UsageError(`${where}: ${e.message}`)
}
