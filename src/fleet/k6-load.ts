/**
 * The k6 script's own load, read before a run with `k6 inspect`.
 *
 * With no load given (`scenario.scriptLoad`), the run takes the script's `maxVUs` and
 * `totalDuration` (graceful stops included) for its VU count and time limit, and every task runs
 * the script's options with only its execution segment, so N tasks together run exactly the
 * script's load: the iterations of a shared-iterations scenario, the total arrival rate, the VUs.
 * With a load given, the log says which of the script's load options it replaces.
 */
import { ConfigError, type Scenario } from '../config/scenario.js'
import { K6_BIN_ENV, K6_INSTALL_HINT, k6Engine } from '../engines/k6.js'
import {
  describeScriptLoad,
  inspectK6Script,
  K6ScriptError,
  type K6ScriptLoad
} from '../engines/k6-script.js'
import { TARGET_ENV } from './plan.js'
import { errorMessage } from '../util/index.js'

/** Reads the script's load (injectable for tests). */
export type K6Inspector = (script: string, env: NodeJS.ProcessEnv) => Promise<K6ScriptLoad>

const defaultInspector: K6Inspector = (script, env) => inspectK6Script(k6Engine.binary(env), script, env)

/** Scenarios already resolved (the Fargate sizing and the run read the same one): inspected once. */
const resolvedOnce = new WeakMap<Scenario, Scenario>()

/**
 * The scenario with a k6 script's own load filled in (vus = its maxVUs, durationS = its
 * totalDuration); other scenarios unchanged. Throws a ConfigError when the script's own load is
 * to run but k6 is missing or cannot read the script.
 */
export async function resolveK6Load(
  scenario: Scenario,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
  inspect: K6Inspector = defaultInspector
): Promise<Scenario> {
  if (scenario.engine !== 'k6' || !scenario.script) return scenario
  const known = resolvedOnce.get(scenario)
  if (known) return known
  const resolved = await resolve(scenario, env, log, inspect)
  resolvedOnce.set(scenario, resolved)
  return resolved
}

async function resolve(
  scenario: Scenario,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
  inspect: K6Inspector
): Promise<Scenario> {
  const script = scenario.script!
  const inspectEnv: NodeJS.ProcessEnv = {
    ...env,
    [TARGET_ENV]: scenario.target,
    ...scenario.env,
    K6_NO_USAGE_REPORT: 'true'
  }
  let load: K6ScriptLoad
  try {
    load = await inspect(script, inspectEnv)
  } catch (e) {
    // With a given load the run goes ahead; its task reports what k6 says.
    if (!scenario.scriptLoad) return scenario
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'EACCES')
      throw new ConfigError(
        `k6 ${code === 'ENOENT' ? 'not found' : 'not executable'}: "${k6Engine.binary(env)}" (set ${K6_BIN_ENV}, or ${K6_INSTALL_HINT})`
      )
    const why = e instanceof K6ScriptError ? e.message : errorMessage(e)
    throw new ConfigError(`${script}: k6 cannot read the script: ${why}`)
  }
  const declared = describeScriptLoad(load)
  if (!scenario.scriptLoad) {
    if (declared)
      log(
        `k6: the given load (${givenLoad(scenario)}) replaces the script's ${declared}; ` +
          'give no vus, duration, ramp-up, stages or profile to run the script as written'
      )
    return scenario
  }
  const vus = Math.max(1, Math.round(load.maxVUs))
  const durationS = Math.max(1, Math.ceil(load.totalDurationS))
  log(
    `k6: running the script's own load: ${declared || "k6's default (1 VU, 1 iteration)"}; ` +
      `up to ${vus} VU${vus === 1 ? '' : 's'}, at most ${durationS} s` +
      (scenario.tasks > 1 ? `, split over ${scenario.tasks} tasks by execution segments` : '')
  )
  return { ...scenario, vus, durationS, rampUpS: 0 }
}

function givenLoad(s: Scenario): string {
  if (s.profile) return `profile ${s.profile.name}`
  if (s.stages?.length) return `${s.stages.length} stage${s.stages.length === 1 ? '' : 's'}`
  return (
    `${s.vus} VU${s.vus === 1 ? '' : 's'} for ${s.durationS} s` +
    (s.rampUpS > 0 ? ` after ${s.rampUpS} s ramp-up` : '')
  )
}
