// Placeholder until the adapter lands.
import type { InProcessEngine } from './types.js'
export const httpEngine = undefined as unknown as InProcessEngine
