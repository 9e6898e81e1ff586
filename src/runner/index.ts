/**
 * The runner process entry: `node dist/runner/index.js [spec.json]` (or PERF_GATE_TASK_SPEC) runs
 * one local task; with no argument and the Fargate task environment (PERF_GATE_BUCKET,
 * PERF_GATE_TASK_KEY, …) it runs one remote task coordinated through S3.
 */
import { isRemoteTask, remoteMain } from './remote.js'
import { runnerMain } from './runner.js'

function remote(): Promise<number> {
  const ac = new AbortController()
  const onSignal = (sig: NodeJS.Signals) => {
    if (!ac.signal.aborted) console.error(`perf-gate runner: ${sig} received; stopping the engine`)
    ac.abort(sig)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return remoteMain(process.env, ac.signal, l => console.error(l))
}

const args = process.argv.slice(2)
const main = !args.length && isRemoteTask(process.env) ? remote() : runnerMain(args, process.env)
void main.then(code => {
  process.exitCode = code
  // Leave time to flush output; then do not wait for stray handles.
  setTimeout(() => process.exit(code), 2000).unref()
})
