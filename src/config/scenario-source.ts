/**
 * The first loading step: which config file and which of its scenarios a run uses, and how fields
 * are named in errors (`perf-gate.yml: scenarios.checkout.vus`, or `--vus` without a file).
 */
import { displayPath, findConfigFile, parseConfigText, readConfigText } from './config-file.js'
import type { ConfigFile, ScenarioConfig } from './schema.js'
import { ConfigError, type LoadScenarioOptions, type ScenarioFlags } from './scenario.js'

/** The config file's scenario (if any) and the flags to merge over it. */
export interface ScenarioSource {
  cwd: string
  flags: ScenarioFlags
  /** Absolute path of the config file, or null when the scenario comes from flags only. */
  configPath: string | null
  file: ConfigFile
  name: string
  /** The scenario's fields in the file (empty without a file). */
  base: ScenarioConfig
  /** Names a field of the scenario in errors: the file's field, or the flag without a file. */
  at: (key: string) => string
}

/** Reads the config file (if any) and picks the scenario. */
export async function openScenarioSource(opts: LoadScenarioOptions): Promise<ScenarioSource> {
  const cwd = opts.cwd ?? process.cwd()
  const flags = opts.flags ?? {}
  const configPath = findConfigFile(opts.config, cwd)
  const fileLabel = configPath ? displayPath(configPath, cwd) : ''
  let file: ConfigFile = {}
  if (configPath)
    file = parseConfigText(await readConfigText(configPath, fileLabel, opts.config !== undefined), fileLabel)
  const { name, base } = selectScenario(file, opts.scenario, configPath, fileLabel)
  const at = (key: string) => (configPath ? `${fileLabel}: scenarios.${name}.${key}` : `--${key}`)
  return { cwd, flags, configPath, file, name, base, at }
}

/**
 * The scenario named by `--scenario`, else the file's only one, else `default` (a file with none,
 * or no file). A file with several scenarios needs `--scenario`.
 */
function selectScenario(
  file: ConfigFile,
  scenario: string | undefined,
  configPath: string | null,
  fileLabel: string
): { name: string; base: ScenarioConfig } {
  const scenarios = file.scenarios ?? {}
  const names = Object.keys(scenarios)
  if (scenario !== undefined) {
    if (scenario.trim() === '') throw new ConfigError('--scenario: expected a scenario name')
    if (!configPath) return { name: scenario, base: {} }
    if (!(scenario in scenarios))
      throw new ConfigError(
        `--scenario: no scenario "${scenario}" in ${fileLabel}` +
          (names.length ? ` (it has: ${names.join(', ')})` : ' (it has none)')
      )
    return { name: scenario, base: scenarios[scenario] }
  }
  if (names.length === 1) return { name: names[0], base: scenarios[names[0]] }
  if (names.length > 1)
    throw new ConfigError(
      `${fileLabel} has several scenarios (${names.join(', ')}); choose one with --scenario`
    )
  return { name: 'default', base: {} }
}
