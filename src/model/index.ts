/**
 * The shared model: the types every layer may import (engine names, stages, task load, samples,
 * thresholds, profile names, steps and expansions, progress and outcomes). It imports nothing from
 * the rest of `src`.
 */
export * from './engine.js'
export * from './outcome.js'
export * from './profile.js'
export * from './progress.js'
export * from './sample.js'
export * from './secrets.js'
