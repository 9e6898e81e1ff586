/**
 * The scenario an action run describes: the config file (when there is one) with the scenario
 * inputs on top, validated by loadScenario.
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import type { ActionInputs } from '../config/inputs.js'
import { Inputs } from '../constants.js'
import { ShareError, taskShares } from '../plan/shares.js'
import { displayPath } from '../config/config-file.js'
import { ConfigError, type Scenario } from '../config/scenario.js'
import { loadScenario } from '../plan/scenario.js'

/** The action input behind each command-line flag the scenario loader names in its errors. */
const FLAG_INPUTS: Record<string, string> = {
  '--config': 'config',
  '--scenario': 'scenario',
  '--engine': 'engine',
  '--script': 'script',
  '--target': 'target',
  '--request': 'requests',
  '--vus': 'vus',
  '--duration': 'duration',
  '--ramp-up': 'ramp-up',
  '--tasks': 'tasks',
  '--threshold': 'thresholds',
  '--allow-host': 'allowed-hosts',
  '--profile-param': 'profile-params',
  '--profile': 'profile',
  '--multiplier': 'multiplier'
}

/** A scenario error worded for the action: `--target: …` becomes `input 'target': …`. */
export function inputWording(message: string): string {
  return message.replace(/--(?:profile-param|allow-host|ramp-up|[a-z]+)(?![a-z-])/g, flag =>
    flag in FLAG_INPUTS ? `input '${FLAG_INPUTS[flag]}'` : flag
  )
}

/** Loads the scenario of the inputs; `defaultProfile` applies when neither names a profile. */
export async function scenarioFromInputs(
  inputs: ActionInputs,
  cwd: string,
  defaultProfile?: string
): Promise<Scenario> {
  const o = inputs.overrides
  const configPath = resolve(cwd, inputs.config)
  let scenario: Scenario
  try {
    scenario = await loadScenario({
      cwd,
      ...(defaultProfile ? { defaultProfile } : {}),
      // The default config file is optional; a named one must exist.
      config: existsSync(configPath) || inputs.config !== 'perf-gate.yml' ? inputs.config : undefined,
      scenario: inputs.scenario || undefined,
      flags: {
        engine: o.engine || undefined,
        script: o.script || undefined,
        target: o.target || undefined,
        vus: o.vus || undefined,
        duration: o.duration || undefined,
        rampUp: o.rampUp || undefined,
        tasks: o.tasks || undefined,
        requests: o.requests.length ? o.requests : undefined,
        allowHosts: o.allowedHosts.length ? o.allowedHosts : undefined,
        profile: inputs.profile.name || undefined,
        multiplier: inputs.profile.multiplier || undefined,
        profileParams: inputs.profile.params.length ? inputs.profile.params : undefined
      }
    })
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(inputWording(e.message))
    throw e
  }
  // The local backend splits the load over `tasks`; a split that leaves a task without load is an
  // input error (the Fargate backend sizes its own fleet).
  if (inputs.backend === 'local') {
    try {
      taskShares(
        scenario.engine,
        {
          vus: scenario.vus,
          durationS: scenario.durationS,
          rampUpS: scenario.rampUpS,
          ...(scenario.stages?.length ? { stages: scenario.stages } : {}),
          targetUrl: scenario.target
        },
        scenario.tasks
      )
    } catch (e) {
      if (!(e instanceof ShareError)) throw e
      const where =
        o.tasks || !scenario.configFile
          ? `input '${Inputs.Tasks}'`
          : `${displayPath(scenario.configFile, cwd)}: scenarios.${scenario.name}.tasks`
      throw new ConfigError(`${where}: ${e.message}`)
    }
  }
  return scenario
}
