export * from './scenario.js'
