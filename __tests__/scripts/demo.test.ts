/**
 * `npm run demo` after the test command: the demo finds the engines the way the tests do
 * (scripts/engines.mjs), runs every step for real and exits 0. k6, Locust and JMeter must not be
 * skipped: the test command has made sure all three are there.
 */
import { spawn } from 'node:child_process'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

function runDemo(env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, [resolve(root, 'scripts', 'demo.mjs')], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let out = ''
    child.stdout.on('data', b => (out += b.toString('utf8')))
    child.stderr.on('data', b => (out += b.toString('utf8')))
    const limit = setTimeout(() => child.kill('SIGKILL'), 170_000)
    child.on('error', reject)
    child.on('exit', code => {
      clearTimeout(limit)
      done({ code, out })
    })
  })
}

it('npm run demo passes after the tests, with k6, Locust and JMeter run for real', async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' }
  // A user runs the demo without the test command's overrides: JMeter on PATH (Debian's 2.13
  // included) must be found by the demo itself. An explicit JMeter (e.g. 5.x in CI) stays.
  if (env.PERF_GATE_JMETER_BIN?.includes('jmeter-debian')) delete env.PERF_GATE_JMETER_BIN
  delete env.PERF_GATE_LOCUST_BIN
  const { code, out } = await runDemo(env)
  if (code !== 0) console.log(out)
  expect(out).toMatch(/k6: .*: ok$/m)
  expect(out).toMatch(/Locust: .*: ok$/m)
  expect(out).toMatch(/JMeter: .*: ok$/m)
  expect(out).toMatch(/gate: the same scenario .*: ok$/m)
  expect(out).not.toMatch(/: (skipped|failed)/)
  expect(code).toBe(0)
}, 180_000)
