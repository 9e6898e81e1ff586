#!/usr/bin/env node
/**
 * `npm run demo`: a short tour of perf-gate on this machine, using the committed bundles in dist/.
 *
 * 1. Starts the sample target (dist/target) on 127.0.0.1, on a free port, with a time limit.
 * 2. Runs `perf-gate run` with the built-in http engine: 2 tasks, 10 VUs, 8 s, requests to /fast,
 *    /slow and /flaky, and prints the report.
 * 3. Stores two baseline runs of a small scenario in a fresh local baseline store, then slows the
 *    target's /fast route by 20 ms and gates the same scenario against them: the gate fails, with
 *    the deltas in the report.
 * 4. When k6, Locust and JMeter are installed, runs each for 5–10 s against the same target with
 *    the scripts in examples/ (k6 with the script's own load); otherwise says which engine was
 *    skipped and why. Engines are found as
 *    the test command finds them (scripts/engines.mjs), so Debian's JMeter 2.13 works here too.
 *
 * Every step is an entry in STEPS and gets the same context (target URL, output folder, earlier
 * results). The target is always stopped by its PID. All traffic stays on 127.0.0.1.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { findJMeter, findK6, findLocust } from './engines.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const dist = {
  cli: join(root, 'dist', 'cli', 'index.js'),
  runner: join(root, 'dist', 'runner', 'index.js'),
  target: join(root, 'dist', 'target', 'index.js')
}
const outDir = join(root, '.perf-gate', 'demo')
const TARGET_MAX_SECONDS = 180

const bold = s => (process.stdout.isTTY && !process.env.NO_COLOR ? `\u001b[1m${s}\u001b[0m` : s)
const say = msg => console.log(`\n${bold(`== ${msg}`)}`)
const note = msg => console.log(`demo: ${msg}`)

/** Starts the sample target and resolves with its URL and process once it prints the URL. */
function startTarget() {
  return new Promise((resolveStart, reject) => {
    const child = spawn(
      process.execPath,
      [dist.target, '--port', '0', '--max-seconds', String(TARGET_MAX_SECONDS)],
      {
        stdio: ['ignore', 'pipe', 'inherit']
      }
    )
    let buf = ''
    const timer = setTimeout(() => {
      stopProcess(child)
      reject(new Error('the sample target did not print its URL within 10 s'))
    }, 10_000)
    child.stdout.on('data', b => {
      buf += b.toString('utf8')
      const m = /^(http:\/\/127\.0\.0\.1:\d+)\s*$/m.exec(buf)
      if (m) {
        clearTimeout(timer)
        resolveStart({ url: m[1], child })
      }
    })
    child.on('error', e => {
      clearTimeout(timer)
      reject(e)
    })
    child.on('exit', code => {
      clearTimeout(timer)
      reject(new Error(`the sample target exited early (code ${code})`))
    })
  })
}

/** Stops a child by its PID: SIGTERM, then SIGKILL after 3 s. */
function stopProcess(child) {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve()
  return new Promise(resolveStop => {
    const kill = setTimeout(() => {
      try {
        process.kill(child.pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }, 3000)
    child.once('exit', () => {
      clearTimeout(kill)
      resolveStop()
    })
    try {
      process.kill(child.pid, 'SIGTERM')
    } catch {
      clearTimeout(kill)
      resolveStop()
    }
  })
}

/** Runs the perf-gate CLI with the terminal attached; resolves with its exit code. */
function perfGate(args, env = {}) {
  console.log(`$ perf-gate ${args.map(a => (/[\s'"]/.test(a) ? `'${a}'` : a)).join(' ')}`)
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [dist.cli, ...args], {
      stdio: 'inherit',
      env: { ...process.env, PERF_GATE_RUNNER: dist.runner, ...env }
    })
    child.on('error', reject)
    child.on('exit', (code, signal) => resolveRun(code ?? (signal ? 128 : 1)))
  })
}

/** The scenario the baseline and gate steps share (same flags, so the same fingerprint). */
function gateScenario(ctx) {
  return [
    '--engine',
    'http',
    '--target',
    ctx.url,
    '--vus',
    '4',
    '--duration',
    '3s',
    '--request',
    'GET /fast',
    '--scenario',
    'demo-gate',
    '--baseline-store',
    `dir:${ctx.baselines}`,
    '--repo',
    'demo/perf-gate'
  ]
}

/** Injects latency or failures into the sample target's routes. */
async function setFaults(url, faults) {
  const res = await fetch(`${url}/__perf-gate/faults`, { method: 'POST', body: JSON.stringify(faults) })
  if (!res.ok) throw new Error(`the target refused the fault settings (HTTP ${res.status})`)
}

/** A step reports 'ok', 'failed' or `skipped: <why>`. */
const STEPS = [
  {
    name: 'http engine: 2 tasks, 10 VUs, 8 s',
    async run(ctx) {
      const out = join(ctx.outDir, 'http.json')
      const code = await perfGate([
        'run',
        '--engine',
        'http',
        '--target',
        ctx.url,
        '--tasks',
        '2',
        '--vus',
        '10',
        '--duration',
        '8s',
        '--request',
        'GET /fast',
        '--request',
        'GET /slow',
        '--request',
        'GET /flaky',
        '--out',
        out
      ])
      ctx.results.http = out
      return code === 0 ? 'ok' : 'failed'
    }
  },
  {
    name: 'baseline: store 2 replicate runs of main (A/A pair) in a local baseline store',
    async run(ctx) {
      const code = await perfGate(['gate', '--baseline', '--replicates', '2', ...gateScenario(ctx)])
      return code === 0 ? 'ok' : 'failed'
    }
  },
  {
    name: 'gate: the same scenario with /fast slowed by 20 ms, judged against the baselines',
    async run(ctx) {
      await setFaults(ctx.url, { '/fast': { delayMs: 20 } })
      try {
        const code = await perfGate(['gate', '--confirm-replicates', '1', ...gateScenario(ctx)])
        // The slowed run must fail the gate: exit code 1 is the expected outcome here.
        if (code === 1) {
          note('the gate failed the slowed run, as it should')
          return 'ok'
        }
        return `failed: the gate exited ${code}, expected 1 (FAIL)`
      } finally {
        await setFaults(ctx.url, {})
      }
    }
  },
  {
    name: "k6: 2 tasks, the script's own load (examples/k6/script.js: 2 VUs, 10 s)",
    async run(ctx) {
      const { bin, why } = findK6()
      if (!bin) return `skipped: ${why}`
      const out = join(ctx.outDir, 'k6.json')
      const code = await perfGate(
        [
          'run',
          '--script',
          join(root, 'examples', 'k6', 'script.js'),
          '--target',
          ctx.url,
          '--tasks',
          '2',
          '--out',
          out
        ],
        { PERF_GATE_K6_BIN: bin, K6_NO_USAGE_REPORT: 'true' }
      )
      ctx.results.k6 = out
      return code === 0 ? 'ok' : 'failed'
    }
  },
  {
    name: 'Locust: 1 task, 5 users, 5 s (examples/locust/locustfile.py)',
    async run(ctx) {
      const { bin, why } = findLocust()
      if (!bin) return `skipped: ${why}`
      const out = join(ctx.outDir, 'locust.json')
      const code = await perfGate(
        [
          'run',
          '--script',
          join(root, 'examples', 'locust', 'locustfile.py'),
          '--target',
          ctx.url,
          '--vus',
          '5',
          '--duration',
          '5s',
          '--out',
          out
        ],
        { PERF_GATE_LOCUST_BIN: bin }
      )
      ctx.results.locust = out
      return code === 0 ? 'ok' : 'failed'
    }
  },
  {
    name: 'JMeter: 1 task, 4 threads, 5 s (examples/jmeter/plan.jmx)',
    async run(ctx) {
      const { bin, why } = findJMeter()
      if (!bin) return `skipped: ${why}`
      const out = join(ctx.outDir, 'jmeter.json')
      const code = await perfGate(
        [
          'run',
          '--script',
          join(root, 'examples', 'jmeter', 'plan.jmx'),
          '--target',
          ctx.url,
          '--vus',
          '4',
          '--duration',
          '5s',
          '--out',
          out
        ],
        { PERF_GATE_JMETER_BIN: bin }
      )
      ctx.results.jmeter = out
      return code === 0 ? 'ok' : 'failed'
    }
  }
]

// Ctrl-C reaches the CLI too (same process group), which stops its runners and still reports; the
// demo then skips the remaining steps and stops the target.
let interrupted = false
process.on('SIGINT', () => {
  interrupted = true
})

async function main() {
  const missing = Object.entries(dist).filter(([, p]) => !existsSync(p))
  if (missing.length) {
    console.error(
      `demo: missing bundle(s) ${missing.map(([, p]) => relative(root, p)).join(', ')}; run "npm run package" first`
    )
    return 1
  }
  mkdirSync(outDir, { recursive: true })
  say('starting the sample target on 127.0.0.1')
  const { url, child } = await startTarget()
  note(`target ${url} (pid ${child.pid}, stops by itself after ${TARGET_MAX_SECONDS} s)`)
  const baselines = join(outDir, 'baselines')
  rmSync(baselines, { recursive: true, force: true })
  const ctx = { url, outDir, baselines, results: {} }
  const outcomes = []
  try {
    for (const step of STEPS) {
      if (interrupted) {
        outcomes.push([step.name, 'skipped: interrupted'])
        continue
      }
      say(step.name)
      let outcome
      try {
        outcome = await step.run(ctx)
      } catch (e) {
        outcome = `failed: ${e.message}`
      }
      if (outcome.startsWith('skipped')) note(outcome)
      outcomes.push([step.name, outcome])
    }
  } finally {
    await stopProcess(child)
    note(`target stopped (pid ${child.pid})`)
  }
  say('summary')
  for (const [name, outcome] of outcomes) console.log(`  ${name}: ${outcome}`)
  const files = Object.values(ctx.results).filter(p => existsSync(p))
  if (files.length) note(`run results: ${files.map(p => relative(process.cwd(), p)).join(', ')}`)
  return outcomes.some(([, o]) => o.startsWith('failed')) ? 1 : 0
}

main().then(
  code => {
    process.exitCode = code
  },
  e => {
    console.error(`demo: ${e.message}`)
    process.exitCode = 1
  }
)
