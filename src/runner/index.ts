/** The runner process entry: `node dist/runner/index.js [spec.json]` (or PERF_GATE_TASK_SPEC). */
import { runnerMain } from './runner.js'

void runnerMain(process.argv.slice(2), process.env).then(code => {
  process.exitCode = code
  // Leave time to flush output; then do not wait for stray handles.
  setTimeout(() => process.exit(code), 2000).unref()
})
