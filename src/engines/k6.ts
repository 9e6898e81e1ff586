// Placeholder until the adapter lands.
import type { ProcessEngine } from './types.js'
export const k6Engine = undefined as unknown as ProcessEngine
