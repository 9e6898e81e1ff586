/** The `perf-gate` bin entry (bundled to dist/cli/index.js). */
import { EXIT_FAILED, oneLine } from './errors.js'
import { main } from './main.js'

main(process.argv.slice(2)).then(
  code => {
    process.exitCode = code
  },
  e => {
    process.stderr.write(`perf-gate: ${oneLine(e)}\n`)
    process.exitCode = EXIT_FAILED
  }
)
