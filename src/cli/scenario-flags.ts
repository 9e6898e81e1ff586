/**
 * The flags that describe a scenario, shared by `run`, `gate` and `stress`: their parseArgs
 * options and their mapping onto the scenario loader's flags.
 */
import type { ScenarioFlags } from '../config/scenario.js'

export const SCENARIO_OPTIONS = {
  config: { type: 'string' },
  scenario: { type: 'string' },
  engine: { type: 'string' },
  script: { type: 'string' },
  target: { type: 'string' },
  request: { type: 'string', multiple: true },
  vus: { type: 'string' },
  duration: { type: 'string' },
  'ramp-up': { type: 'string' },
  tasks: { type: 'string' },
  interval: { type: 'string' },
  threshold: { type: 'string', multiple: true },
  'allow-host': { type: 'string', multiple: true },
  profile: { type: 'string' },
  multiplier: { type: 'string' },
  'profile-param': { type: 'string', multiple: true }
} as const

export interface ScenarioFlagValues {
  engine?: string
  script?: string
  target?: string
  vus?: string
  duration?: string
  'ramp-up'?: string
  tasks?: string
  interval?: string
  request?: string[]
  'allow-host'?: string[]
  profile?: string
  multiplier?: string
  'profile-param'?: string[]
}

/** The scenario loader's flags from parsed command-line values. */
export function scenarioFlagsOf(values: ScenarioFlagValues): ScenarioFlags {
  return {
    engine: values.engine,
    script: values.script,
    target: values.target,
    vus: values.vus,
    duration: values.duration,
    rampUp: values['ramp-up'],
    tasks: values.tasks,
    interval: values.interval,
    requests: values.request,
    allowHosts: values['allow-host'],
    profile: values.profile,
    multiplier: values.multiplier,
    profileParams: values['profile-param']
  }
}
