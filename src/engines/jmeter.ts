// Placeholder until the adapter lands.
import type { ProcessEngine } from './types.js'
export const jmeterEngine = undefined as unknown as ProcessEngine
