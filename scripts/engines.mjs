/**
 * Finds the load-test engines for the test command and the demo, the same way for both.
 *
 * Each engine is taken from its override variable (PERF_GATE_K6_BIN, PERF_GATE_LOCUST_BIN,
 * PERF_GATE_JMETER_BIN) when set, else from PATH. Two additions:
 * - JMeter: Debian's packaged JMeter 2.13 cannot load test plans with its own launcher, so when the
 *   `jmeter` found is that package, scripts/jmeter-debian/jmeter starts it instead.
 * - k6 (test command only): when it is missing, the release archive that k6 documents for Linux is
 *   downloaded into .cache/k6 (the version the runner image pins, checked against the release's
 *   checksums); without network that fails and a k6 binary kept beside the checkout
 *   (../shared/tools/k6/k6) is used when present.
 *
 * Every function returns { bin, how } when the engine is usable, or { why } when it is not.
 */
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync
} from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** The one line that installs the Debian engines the tests need. */
export const DEBIAN_INSTALL = 'sudo apt-get update && sudo apt-get install -y python3-locust jmeter'

/** The full path of a command on PATH, or undefined. */
export function which(cmd) {
  const r = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { encoding: 'utf8' })
  const path = r.status === 0 ? r.stdout.trim() : ''
  return path.startsWith('/') ? path : undefined
}

function fromOverride(env, name) {
  const value = env[name]?.trim()
  if (!value) return undefined
  const found = value.includes('/') ? existsSync(value) : which(value) !== undefined
  return found ? { bin: value, how: name } : { why: `${name}=${value} was not found` }
}

export function findLocust(env = process.env) {
  const override = fromOverride(env, 'PERF_GATE_LOCUST_BIN')
  if (override) return override
  const bin = which('locust')
  return bin
    ? { bin, how: 'PATH' }
    : { why: 'locust is not installed (pip install locust, or apt-get install python3-locust)' }
}

/** True when `jmeterPath` is the launcher of Debian's jmeter 2.x package. */
export function isDebianJMeter2(jmeterPath) {
  let real
  try {
    real = realpathSync(jmeterPath)
  } catch {
    return false
  }
  if (!real.startsWith('/usr/share/jmeter/')) return false
  const q = spawnSync('dpkg-query', ['-W', '-f=${Version}', 'jmeter'], { encoding: 'utf8' })
  return q.status === 0 && /^2\./.test(q.stdout.trim())
}

export const DEBIAN_JMETER_LAUNCHER = join(root, 'scripts', 'jmeter-debian', 'jmeter')

export function findJMeter(env = process.env) {
  const override = fromOverride(env, 'PERF_GATE_JMETER_BIN')
  if (override) return override
  const bin = which('jmeter')
  if (!bin) return { why: 'jmeter is not installed (apt-get install jmeter, or Apache JMeter 5.x)' }
  if (isDebianJMeter2(bin))
    return { bin: DEBIAN_JMETER_LAUNCHER, how: "Debian's JMeter 2.13 via scripts/jmeter-debian" }
  return { bin, how: 'PATH' }
}

/** The k6 version the runner image pins (infra-template/runner/Dockerfile): the one the parser was checked with. */
export function pinnedK6() {
  const dockerfile = readFileSync(join(root, 'infra-template', 'runner', 'Dockerfile'), 'utf8')
  const version = /^ARG K6_VERSION=(\S+)$/m.exec(dockerfile)?.[1]
  if (!version) throw new Error('infra-template/runner/Dockerfile pins no K6_VERSION')
  return { version }
}

const K6_CACHE = join(root, '.cache', 'k6')

async function download(url, timeoutMs) {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`)
  return Buffer.from(await res.arrayBuffer())
}

/**
 * Downloads k6's Linux release archive of the pinned version (as k6's installation guide documents),
 * checks its SHA-256 against the release's checksums file and unpacks the binary into .cache/k6.
 * Returns the binary or throws.
 */
export async function downloadK6({ timeoutMs = 30_000 } = {}) {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    throw new Error('only linux-amd64 is downloaded')
  const { version } = pinnedK6()
  const name = `k6-v${version}-linux-amd64`
  const base = `https://github.com/grafana/k6/releases/download/v${version}`
  const sums = (await download(`${base}/k6-v${version}-checksums.txt`, timeoutMs)).toString('utf8')
  const want = new RegExp(`^([0-9a-f]{64})\\s+${name}\\.tar\\.gz$`, 'm').exec(sums)?.[1]
  if (!want) throw new Error(`k6-v${version}-checksums.txt lists no ${name}.tar.gz`)
  const archive = await download(`${base}/${name}.tar.gz`, timeoutMs)
  const got = createHash('sha256').update(archive).digest('hex')
  if (got !== want) throw new Error(`${name}.tar.gz: SHA-256 ${got}, expected ${want}`)
  mkdirSync(K6_CACHE, { recursive: true })
  const tgz = join(K6_CACHE, `${name}.tar.gz`)
  writeFileSync(tgz, archive)
  const tar = spawnSync('tar', ['-xzf', tgz, '-C', K6_CACHE], { encoding: 'utf8' })
  rmSync(tgz, { force: true })
  if (tar.status !== 0) throw new Error(`tar: ${tar.stderr.trim()}`)
  const bin = join(K6_CACHE, 'k6')
  renameSync(join(K6_CACHE, name, 'k6'), bin)
  rmSync(join(K6_CACHE, name), { recursive: true, force: true })
  chmodSync(bin, 0o755)
  return bin
}

/** k6 from the override, PATH or an earlier download; `{ why }` when none of them has it. */
export function findK6(env = process.env) {
  const override = fromOverride(env, 'PERF_GATE_K6_BIN')
  if (override) return override
  const bin = which('k6')
  if (bin) return { bin, how: 'PATH' }
  const cached = join(K6_CACHE, 'k6')
  if (existsSync(cached)) return { bin: cached, how: '.cache/k6' }
  return {
    why: 'k6 is not installed (https://grafana.com/docs/k6/latest/set-up/install-k6/, or set PERF_GATE_K6_BIN)'
  }
}

/** The k6 binary kept beside the checkout in this workplace, if any. */
export function siblingK6() {
  const bin = resolve(root, '..', 'shared', 'tools', 'k6', 'k6')
  return existsSync(bin) ? { bin, how: '../shared/tools/k6' } : undefined
}
