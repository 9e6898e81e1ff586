/**
 * The action's main step, started by ./index.ts (`dist/index.js`): see src/action/run.ts.
 */
export { runAction as run } from './action/run.js'
