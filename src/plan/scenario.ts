/**
 * Loading a scenario: the config file (if any) and the flags, validated step by step into a
 * `Scenario` whose load shape is planned here (a profile is expanded into its stages). Every
 * problem is a ConfigError naming the flag or field, raised in the order the steps run.
 */
import { planLoadShape } from './load-shape.js'
import { scenarioFingerprint } from '../config/fingerprint.js'
import { checkLoadLimits, readLoadRequest, usesScriptLoad } from '../config/load-request.js'
import type { LoadScenarioOptions, Scenario } from '../config/scenario.js'
import {
  checkEngineInputs,
  resolveEngine,
  resolveRequestsAndEnv,
  resolveRunSettings,
  resolveScript,
  resolveTarget,
  resolveThresholds
} from '../config/scenario-settings.js'
import { openScenarioSource } from '../config/scenario-source.js'

/** Builds the scenario from the config file (if any) and the flags, validating everything. */
export async function loadScenario(opts: LoadScenarioOptions = {}): Promise<Scenario> {
  const src = await openScenarioSource(opts)
  const scriptSetting = resolveScript(src)
  const engine = resolveEngine(src, scriptSetting)
  const { target, allowedHosts } = resolveTarget(src)
  const request = readLoadRequest(src, opts.defaultProfile)
  const shape = planLoadShape(src, request)
  const { tasks, intervalMs } = resolveRunSettings(src)
  const given = resolveRequestsAndEnv(src, engine, shape.profile, request.profile?.where.get('body-bytes'))
  const { requests, scriptHash } = await checkEngineInputs(
    src,
    engine,
    scriptSetting,
    given.requests,
    opts.readScript
  )
  checkLoadLimits(src, request, shape)
  const thresholds = resolveThresholds(src)
  const scriptLoad = usesScriptLoad(src, request, engine)
  const { vus, durationS, rampUpS, stages, profile } = shape
  const fingerprint = scenarioFingerprint({
    ...(scriptLoad ? { scriptLoad } : {}),
    engine,
    scriptHash,
    target,
    vus,
    durationS,
    rampUpS,
    stages,
    requests,
    profile
  })
  return {
    name: src.name,
    engine,
    script: scriptSetting.script,
    scriptHash,
    target,
    requests,
    vus,
    durationS,
    rampUpS,
    stages,
    tasks,
    intervalMs,
    thresholds,
    env: given.env,
    allowedHosts,
    configFile: src.configPath,
    fingerprint,
    ...(profile ? { profile } : {}),
    ...(scriptLoad ? { scriptLoad } : {}),
    ...(src.base['gate-labels'] ? { gateLabels: src.base['gate-labels'] } : {})
  }
}
