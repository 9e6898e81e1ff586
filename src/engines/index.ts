/** The engine registry. */
import { type Engine } from './types.js'
import { ENGINE_NAMES, type EngineName } from '../model/index.js'
import { k6Engine } from './k6.js'
import { locustEngine } from './locust.js'
import { jmeterEngine } from './jmeter.js'
import { httpEngine } from './http.js'

const ENGINES: Record<EngineName, Engine> = {
  k6: k6Engine,
  locust: locustEngine,
  jmeter: jmeterEngine,
  http: httpEngine
}

export function getEngine(name: string): Engine {
  if (!(ENGINE_NAMES as readonly string[]).includes(name))
    throw new Error(`unknown engine "${name}" (expected one of: ${ENGINE_NAMES.join(', ')})`)
  return ENGINES[name as EngineName]
}

export { ENGINE_NAMES }
export type { Engine, EngineName }
