/** The gate's decision rule: statistics over runs, absolute SLOs, and the metrics they use. */
export * from './options.js'
export * from './stats.js'
export * from './format.js'
export * from './rule.js'
export * from './slo.js'
export * from './metrics.js'
export * from './labels.js'
