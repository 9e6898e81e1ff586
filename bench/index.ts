/**
 * `npm run bench`: runs the benchmarks and prints one Markdown section per benchmark (the same
 * tables BENCHMARKS.md records).
 *
 *   node build/bench/index.js [--quick] [--only P1,P3]
 *
 * --quick  smaller sizes (a fast check that every benchmark runs; figures are less stable)
 * --only   a comma-separated subset of P1, P2, P3, P4, P6, P7
 */
import { runP1 } from './p1-ingest.js'
import { runP2 } from './p2-merge.js'
import { runP3 } from './p3-accuracy.js'
import { runP4 } from './p4-fleet.js'
import { runP6 } from './p6-memory.js'
import { runP7 } from './p7-labels.js'
import { loadAverage, machineFacts, nowMs, num, type BenchOptions, type BenchReport } from './util.js'

const BENCHMARKS: Record<string, (o: BenchOptions) => Promise<BenchReport>> = {
  P1: runP1,
  P2: runP2,
  P3: runP3,
  P4: runP4,
  P6: runP6,
  P7: runP7
}

function usage(message: string): never {
  console.error(`bench: ${message} (usage: node build/bench/index.js [--quick] [--only P1,P2,P3,P4,P6,P7])`)
  process.exit(2)
}

function parseArgs(argv: string[]): { quick: boolean; only: string[] } {
  let quick = false
  let only = Object.keys(BENCHMARKS)
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--quick') quick = true
    else if (a === '--only' || a.startsWith('--only=')) {
      const v = a.startsWith('--only=') ? a.slice(7) : argv[++i]
      if (!v) usage('--only needs a list such as P1,P3')
      only = v.split(',').map(s => s.trim().toUpperCase())
      const unknown = only.filter(id => !BENCHMARKS[id])
      if (unknown.length) usage(`--only: unknown benchmark ${unknown.join(', ')}`)
    } else usage(`unknown argument "${a}"`)
  }
  return { quick, only }
}

function render(r: BenchReport, seconds: number): string {
  const out = [`## ${r.id}: ${r.title}`, '']
  for (const t of r.tables) {
    if (t.caption) out.push(t.caption, '')
    out.push(t.markdown, '')
  }
  for (const t of r.targets)
    out.push(`- Target: ${t.target} → ${t.measured} → **${t.met ? 'met' : 'not met'}**`)
  for (const n of r.notes) out.push(`- ${n}`)
  out.push(`- (${r.id} ran in ${num(seconds, 1)} s)`, '')
  return out.join('\n')
}

async function main(): Promise<void> {
  const { quick, only } = parseArgs(process.argv.slice(2))
  const facts = machineFacts()
  console.log(`# perf-gate benchmarks${quick ? ' (--quick)' : ''}`)
  console.log('')
  console.log(`- date: ${new Date().toISOString()}`)
  for (const [k, v] of Object.entries(facts)) console.log(`- ${k}: ${v}`)
  console.log('')
  const t0 = nowMs()
  const summary: string[] = []
  for (const id of only) {
    const t = nowMs()
    const report = await BENCHMARKS[id]({ quick })
    console.log(render(report, (nowMs() - t) / 1000))
    for (const target of report.targets)
      summary.push(`| ${id} | ${target.target} | ${target.measured} | ${target.met ? 'met' : 'not met'} |`)
  }
  console.log('## Summary')
  console.log('')
  console.log('| benchmark | target | measured | status |')
  console.log('| --- | --- | --- | --- |')
  for (const line of summary) console.log(line)
  console.log('')
  console.log(
    `Total ${num((nowMs() - t0) / 1000, 1)} s; load average at the end (1/5/15 min): ${loadAverage()}.`
  )
}

main().catch((e: unknown) => {
  console.error(`bench: ${(e as Error).message}`)
  process.exit(1)
})
