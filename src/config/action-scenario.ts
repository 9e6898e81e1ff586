/**
 * The scenario an action run describes: the config file (when there is one) with the scenario
 * inputs on top, validated by loadScenario.
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import type { ActionInputs } from './inputs.js'
import { loadScenario, type Scenario } from './scenario.js'

/** Loads the scenario of the inputs; `defaultProfile` applies when neither names a profile. */
export async function scenarioFromInputs(
  inputs: ActionInputs,
  cwd: string,
  defaultProfile?: string
): Promise<Scenario> {
  const o = inputs.overrides
  const configPath = resolve(cwd, inputs.config)
  return loadScenario({
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
}
