/**
 * `node dist/target/index.js [--port N] [--max-seconds S] [--concurrency C] [--service-ms M]
 *  [--recovery-ms R] [--recovery-penalty-ms P] [--fault /route:delayMs[:errorRate]]...` starts the
 * sample target and prints its URL.
 */
import { parseArgs } from 'node:util'
import { startTarget, type RouteFault } from './server.js'
import { errorMessage } from '../util/index.js'

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      'max-seconds': { type: 'string', default: '900' },
      concurrency: { type: 'string', default: '0' },
      'service-ms': { type: 'string', default: '0' },
      'recovery-ms': { type: 'string', default: '0' },
      'recovery-penalty-ms': { type: 'string', default: '0' },
      fault: { type: 'string', multiple: true, default: [] }
    }
  })
  const faults: Record<string, RouteFault> = {}
  for (const f of values.fault ?? []) {
    const [route, delay, rate] = f.split(':')
    if (!route?.startsWith('/')) throw new Error(`--fault: expected /route:delayMs[:errorRate], got ${f}`)
    faults[route] = { delayMs: Number(delay ?? 0), errorRate: rate === undefined ? undefined : Number(rate) }
  }
  const t = await startTarget({
    port: Number(values.port),
    maxSeconds: Number(values['max-seconds']),
    concurrency: Number(values.concurrency),
    serviceMs: Number(values['service-ms']),
    recoveryMs: Number(values['recovery-ms']),
    recoveryPenaltyMs: Number(values['recovery-penalty-ms']),
    faults
  })
  console.log(t.url)
  const stop = () => void t.close().then(() => process.exit(0))
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

main().catch(e => {
  console.error(`perf-gate target: ${errorMessage(e)}`)
  process.exit(1)
})
