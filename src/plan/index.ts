export * from './shares.js'
