export * from './profiles.js'
export * from './scenario.js'
export * from './shares.js'
