/**
 * The runner with real engine processes: Locust (fd 3 samples) and JMeter (a followed JTL file)
 * against the sample target, plus crashing, missing and hanging binaries behind the real adapters.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { locustEngine } from '../../src/engines/locust.js'
import { readResultFile } from '../../src/results/io.js'
import { ResultView } from '../../src/results/query.js'
import type { TaskResult } from '../../src/results/model.js'
import { runTask } from '../../src/runner/runner.js'
import type { TaskSpecInput } from '../../src/runner/spec.js'
import { startTarget, type TargetServer } from '../../src/target/server.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const examplePlan = resolve(root, 'examples', 'jmeter', 'plan.jmx')

let target: TargetServer
let dir: string
let locustfile: string

beforeAll(async () => {
  target = await startTarget({ port: 0, seed: 5, maxSeconds: 300 })
  dir = mkdtempSync(join(tmpdir(), 'perf-gate-runner-proc-'))
  locustfile = join(dir, 'locustfile.py')
  writeFileSync(
    locustfile,
    [
      'from locust import HttpUser, task, constant',
      '',
      'class Visitor(HttpUser):',
      '    wait_time = constant(0.05)',
      '',
      '    @task',
      '    def fast(self):',
      "        self.client.get('/fast', name='fast')",
      '',
      '    @task',
      '    def flaky(self):',
      "        self.client.get('/flaky', name='flaky')",
      ''
    ].join('\n')
  )
})
afterAll(async () => {
  await target.close()
  rmSync(dir, { recursive: true, force: true })
})

let n = 0
function spec(over: Partial<TaskSpecInput> = {}): TaskSpecInput {
  n++
  return {
    version: 1,
    runId: 'run-p',
    scenario: 'proc',
    fingerprint: 'fp',
    backend: 'local',
    region: 'local',
    taskIndex: 0,
    taskCount: 1,
    engine: 'locust',
    script: locustfile,
    load: { vus: 2, durationS: 3, rampUpS: 0, targetUrl: target.url },
    share: { vus: 2 },
    startAtMs: null,
    hardMaxS: 60,
    out: join(dir, `task-${n}.json`),
    ...over
  }
}

function script(name: string, body: string): string {
  const p = join(dir, name)
  writeFileSync(p, `#!/bin/sh\n${body}\n`)
  chmodSync(p, 0o755)
  return p
}

/** A fake engine binary answers the adapter's version probe quickly. */
const versionCase = 'case "$1" in --version|-V|version) echo "fake 0.0.1"; exit 0;; esac'

/**
 * Whether a process still runs: `process.kill(pid, 0)` succeeds and it is not a zombie. (A killed
 * grandchild is reparented to PID 1, which may never reap it; a zombie runs nothing.)
 */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

const stats = (t: TaskResult) => new ResultView([t]).stats({ window: 'all' })

describe('runner with Locust (samples on fd 3)', () => {
  it('runs real Locust against the target: status ok, every served request counted', async () => {
    const before = target.stats().byRoute
    const s = spec()
    const result = await runTask(s)
    const after = target.stats().byRoute
    expect(result.task.status).toBe('ok')
    expect(result.task.exitCode).toBe(0)
    expect(result.task.engine).toBe('locust')
    const served = (r: string) => (after[r] ?? 0) - (before[r] ?? 0)
    const view = new ResultView([result])
    expect(view.labels()).toEqual(['fast', 'flaky'])
    expect(view.stats({ window: 'all', label: 'fast' }).requests).toBe(served('/fast'))
    expect(stats(result).requests).toBe(served('/fast') + served('/flaky'))
    expect(served('/fast')).toBeGreaterThan(10)
    expect(stats(result).failuresByKind.http_5xx).toBeGreaterThan(0)
    expect(result.task.endedMs! - result.task.startedMs!).toBeGreaterThanOrEqual(3000)
    expect((await readResultFile(s.out))[0].task.status).toBe('ok')
  }, 60_000)

  it('a crashing engine gives engine-error with its exit code and stderr tail', async () => {
    const bin = script(
      'crash.sh',
      `${versionCase}\necho "starting fake locust"\necho "Traceback: ImportError: no module named nowhere" >&2\nexit 3`
    )
    const s = spec()
    const result = await runTask(s, { env: { ...process.env, PERF_GATE_LOCUST_BIN: bin } })
    expect(result.task.status).toBe('engine-error')
    expect(result.task.exitCode).toBe(3)
    expect(result.task.message).toContain('locust exited with code 3')
    expect(result.task.message).toContain('ImportError: no module named nowhere')
    expect(result.task.stderrTail).toContain('Traceback: ImportError: no module named nowhere')
    expect(result.task.stderrTail).toContain('starting fake locust')
    expect((await readResultFile(s.out))[0].task.status).toBe('engine-error')
  })

  it('/bin/false as the engine is an engine-error with exit code 1', async () => {
    const result = await runTask(spec(), { env: { ...process.env, PERF_GATE_LOCUST_BIN: '/bin/false' } })
    expect(result.task.status).toBe('engine-error')
    expect(result.task.exitCode).toBe(1)
  })

  it('a missing binary names it and its override variable', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: join(dir, 'empty-path') }
    delete env.PERF_GATE_LOCUST_BIN
    const a = await runTask(spec(), { env })
    expect(a.task.status).toBe('engine-error')
    expect(a.task.message).toBe(`locust not found (set PERF_GATE_LOCUST_BIN, or ${locustEngine.installHint})`)
    expect(a.task.message).toContain('pip install locust')
    expect(a.task.startedMs).toBeNull()

    const b = await runTask(spec(), {
      env: { ...process.env, PERF_GATE_LOCUST_BIN: join(dir, 'no', 'locust') }
    })
    expect(b.task.message).toBe(
      `${join(dir, 'no', 'locust')} not found (set PERF_GATE_LOCUST_BIN, or ${locustEngine.installHint})`
    )
  })

  it('a missing locustfile is an engine-error naming it', async () => {
    const result = await runTask(spec({ script: join(dir, 'missing.py') }))
    expect(result.task.status).toBe('engine-error')
    expect(result.task.message).toContain('missing.py')
  })

  it('the hard maximum kills the whole process group, also when it ignores SIGTERM', async () => {
    const pidFile = join(dir, 'child.pid')
    const bin = script(
      'hang.sh',
      `${versionCase}\ntrap '' TERM\nsleep 30 &\necho $! > "${pidFile}"\nwait\nwait`
    )
    let enginePid: number | undefined
    const t0 = Date.now()
    const result = await runTask(spec({ hardMaxS: 1 }), {
      env: { ...process.env, PERF_GATE_LOCUST_BIN: bin },
      killGraceMs: 500,
      onEngineStart: ({ pid }) => (enginePid = pid)
    })
    const took = Date.now() - t0
    expect(result.task.status).toBe('timeout')
    expect(result.task.message).toContain('hard maximum of 1 s')
    expect(took).toBeGreaterThanOrEqual(1000)
    expect(took).toBeLessThan(10_000)
    expect(enginePid).toBeDefined()
    const sleeper = Number(readFileSync(pidFile, 'utf8').trim())
    expect(sleeper).toBeGreaterThan(0)
    expect(alive(enginePid!)).toBe(false)
    expect(alive(sleeper)).toBe(false)
  })

  it('an abort stops the engine group and writes an aborted result', async () => {
    const pidFile = join(dir, 'child2.pid')
    const bin = script('hang2.sh', `${versionCase}\nsleep 30 &\necho $! > "${pidFile}"\nwait`)
    const ac = new AbortController()
    let enginePid: number | undefined
    const s = spec()
    const done = runTask(s, {
      env: { ...process.env, PERF_GATE_LOCUST_BIN: bin },
      signal: ac.signal,
      onEngineStart: ({ pid }) => {
        enginePid = pid
        // Abort once the engine has started its child.
        const poll = setInterval(() => {
          if (existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim()) {
            clearInterval(poll)
            ac.abort('SIGINT')
          }
        }, 20)
      }
    })
    const result = await done
    expect(result.task.status).toBe('aborted')
    expect(result.task.message).toContain('SIGINT')
    expect(alive(enginePid!)).toBe(false)
    expect(alive(Number(readFileSync(pidFile, 'utf8').trim()))).toBe(false)
    expect((await readResultFile(s.out))[0].task.status).toBe('aborted')
  })
})

describe('runner with JMeter (a followed JTL file)', () => {
  it('runs the real JMeter (PERF_GATE_JMETER_BIN): status ok, every served request counted', async () => {
    expect(existsSync(examplePlan)).toBe(true)
    const before = target.stats().served
    const result = await runTask(
      spec({
        engine: 'jmeter',
        script: examplePlan,
        load: { vus: 2, durationS: 3, rampUpS: 0, targetUrl: target.url }
      })
    )
    const served = target.stats().served - before
    expect(result.task.status).toBe('ok')
    expect(result.task.engineVersion).toMatch(/^\d+\.\d+/)
    const view = new ResultView([result])
    expect(served).toBeGreaterThan(0)
    expect(stats(result).requests).toBe(served)
    expect(view.labels()).toContain('GET /fast')
  }, 60_000)

  it('a JMeter that exits 0 without writing its JTL (Debian 2.13 stock launcher): status no-samples', async () => {
    // What Debian's packaged 2.13 launcher does with any plan: it prints the XStream error and exits 0.
    const stock = script(
      'jmeter-stock',
      [
        'case "$1" in --version) echo "Version 2.13.19691222"; exit 0;; esac',
        'echo "Error in NonGUIDriver com.thoughtworks.xstream.security.ForbiddenClassException: org.apache.jmeter.save.ScriptWrapper" >&2',
        'exit 0'
      ].join('\n')
    )
    const result = await runTask(
      spec({
        engine: 'jmeter',
        script: examplePlan,
        load: { vus: 1, durationS: 1, rampUpS: 0, targetUrl: target.url }
      }),
      { env: { ...process.env, PERF_GATE_JMETER_BIN: stock } }
    )
    expect(result.task.status).toBe('no-samples')
    expect(result.task.exitCode).toBe(0)
    expect(result.task.message).toContain('jmeter exited with code 0 but produced no samples')
    expect(result.task.message).toContain('results.jtl was never written')
    expect(result.task.stderrTail).toMatch(/ForbiddenClassException|Error in NonGUIDriver/)
  }, 60_000)

  it('with stages, JMeter runs the stepped plan written next to the script, which is gone after the run', async () => {
    const planDir = mkdtempSync(join(tmpdir(), 'perf-gate-runner-plan-'))
    const seen = join(dir, 'stepped-plan.txt')
    try {
      const plan = join(planDir, 'plan.jmx')
      writeFileSync(plan, readFileSync(examplePlan, 'utf8'))
      // Notes the plan it was given (when it exists and is stepped), then exits 0 without samples.
      const bin = script(
        'jmeter-stepped',
        [
          versionCase,
          'while [ $# -gt 0 ]; do if [ "$1" = -t ]; then p="$2"; fi; shift; done',
          'grep -q "perf-gate 2/2" "$p" && echo "$p" > "' + seen + '"',
          'exit 0'
        ].join('\n')
      )
      const stages = [
        { durationS: 1, target: 1 },
        { durationS: 1, target: 2 }
      ]
      const result = await runTask(
        spec({
          engine: 'jmeter',
          script: plan,
          load: { vus: 2, durationS: 2, rampUpS: 0, stages, targetUrl: target.url }
        }),
        { env: { ...process.env, PERF_GATE_JMETER_BIN: bin } }
      )
      expect(result.task.status).toBe('no-samples')
      const stepped = readFileSync(seen, 'utf8').trim()
      expect(dirname(stepped)).toBe(planDir)
      expect(stepped).not.toBe(plan)
      expect(existsSync(stepped)).toBe(false)
      expect(existsSync(plan)).toBe(true)
    } finally {
      rmSync(planDir, { recursive: true, force: true })
    }
  })
})
