// Placeholder until the adapter lands.
import type { ProcessEngine } from './types.js'
export const locustEngine = undefined as unknown as ProcessEngine
