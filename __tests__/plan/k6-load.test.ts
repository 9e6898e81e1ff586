/**
 * The k6 script's own load: when the scenario gives none, which load runs, how it is split, what
 * the log says, and the errors when k6 cannot read the script. The inspector is injected here;
 * __tests__/runner/k6-real.test.ts and __tests__/cli/run-k6.test.ts run the real k6.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, type Scenario } from '../../src/config/scenario.js'
import { loadScenario } from '../../src/plan/scenario.js'
import { K6ScriptError, type K6ScriptLoad } from '../../src/engines/k6-script.js'
import { planRun } from '../../src/fleet/plan.js'
import { resolveK6Load, type K6Inspector } from '../../src/fleet/k6-load.js'
import { taskSpecSchema } from '../../src/runner/spec.js'

let dir: string
let script: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'perf-gate-k6-load-'))
  script = join(dir, 'load.js')
  writeFileSync(script, 'export default function () {}\n')
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const TARGET = 'http://127.0.0.1:8080'
const facts = (over: Partial<K6ScriptLoad> = {}): K6ScriptLoad => ({
  vus: null,
  duration: null,
  iterations: null,
  stages: null,
  scenarios: { browse: 'ramping-arrival-rate', fixed: 'shared-iterations' },
  maxVUs: 12,
  totalDurationS: 95.5,
  thresholds: {},
  ...over
})

async function k6Scenario(flags: Record<string, string> = {}): Promise<Scenario> {
  return loadScenario({ cwd: dir, flags: { script, target: TARGET, ...flags } })
}

describe('config: which k6 scenarios run the script load', () => {
  it('a k6 script with no load given runs its own; any load flag or profile turns that off', async () => {
    expect((await k6Scenario()).scriptLoad).toBe(true)
    const loads: Record<string, string>[] = [
      { vus: '3' },
      { duration: '10s' },
      { rampUp: '5s' },
      { profile: 'load' }
    ]
    for (const f of loads) expect((await k6Scenario(f)).scriptLoad).toBeUndefined()
    const http = await loadScenario({ cwd: dir, flags: { target: TARGET, requests: ['GET /'] } })
    expect(http.scriptLoad).toBeUndefined()
  })

  it('the fingerprint tells the script load from an explicit 1 VU for 30 s', async () => {
    const own = await k6Scenario()
    const given = await k6Scenario({ vus: '1', duration: '30s' })
    expect(own.vus).toBe(given.vus)
    expect(own.durationS).toBe(given.durationS)
    expect(own.fingerprint).not.toBe(given.fingerprint)
  })
})

describe('resolveK6Load', () => {
  it('takes the VUs and the longest duration of the script and logs its scenarios', async () => {
    const lines: string[] = []
    const seen: { script?: string; env?: NodeJS.ProcessEnv } = {}
    const inspect: K6Inspector = async (s, env) => {
      seen.script = s
      seen.env = env
      return facts()
    }
    const s = await resolveK6Load(
      { ...(await k6Scenario({ tasks: '3' })) },
      { PATH: '/bin' },
      l => lines.push(l),
      inspect
    )
    expect(s.vus).toBe(12)
    expect(s.durationS).toBe(96)
    expect(seen.script).toBe(script)
    expect(seen.env?.PERF_GATE_TARGET).toBe(TARGET)
    expect(seen.env?.K6_NO_USAGE_REPORT).toBe('true')
    expect(lines).toEqual([
      "k6: running the script's own load: options.scenarios (browse: ramping-arrival-rate, fixed: shared-iterations); up to 12 VUs, at most 96 s, split over 3 tasks by execution segments"
    ])

    const plan = planRun(s)
    for (const t of plan.tasks) expect(() => taskSpecSchema.parse(t)).not.toThrow()
    expect(plan.tasks.map(t => t.load.segment?.segment)).toEqual(['0:1/3', '1/3:2/3', '2/3:1'])
    expect(plan.tasks.every(t => t.load.scriptLoad === true && t.steady === null)).toBe(true)
    expect(plan.tasks[0].hardMaxS).toBeGreaterThan(96)
  })

  it('the same scenario is inspected once (Fargate sizing and the run share the reading)', async () => {
    const own = await k6Scenario()
    let calls = 0
    const lines: string[] = []
    const inspect: K6Inspector = async () => {
      calls++
      return facts()
    }
    const a = await resolveK6Load(own, {}, l => lines.push(l), inspect)
    const b = await resolveK6Load(own, {}, l => lines.push(l), inspect)
    expect(b).toBe(a)
    expect(calls).toBe(1)
    expect(lines).toHaveLength(1)
  })

  it('a given load stays, and the log names the script options it replaces', async () => {
    const lines: string[] = []
    const given = await k6Scenario({ vus: '5', duration: '20s' })
    const s = await resolveK6Load(
      given,
      {},
      l => lines.push(l),
      async () => facts({ scenarios: null, stages: [{ duration: '5s', target: 3 }] })
    )
    expect(s).toBe(given)
    expect(lines).toEqual([
      "k6: the given load (5 VUs for 20 s) replaces the script's options.stages (1 stage); give no vus, duration, ramp-up, stages or profile to run the script as written"
    ])
    expect(planRun(s).tasks[0].load.scriptLoad).toBeUndefined()
  })

  it('k6 missing or a script k6 cannot read: one-line ConfigErrors', async () => {
    const own = await k6Scenario()
    const missing: K6Inspector = async () => {
      throw Object.assign(new Error('spawn k6 ENOENT'), { code: 'ENOENT' })
    }
    const e1 = await resolveK6Load(own, {}, () => undefined, missing).catch((e: unknown) => e)
    expect(e1).toBeInstanceOf(ConfigError)
    expect((e1 as Error).message).toBe(
      'k6 not found: "k6" (set PERF_GATE_K6_BIN, or install k6: in a GitHub workflow add the step `uses: grafana/setup-k6-action@v1` before perf-gate; elsewhere see https://grafana.com/docs/k6/latest/set-up/install-k6/)'
    )
    const broken: K6Inspector = async () => {
      throw new K6ScriptError('SyntaxError: file:///x.js: Unexpected token (2:39)')
    }
    const e2 = await resolveK6Load(own, {}, () => undefined, broken).catch((e: unknown) => e)
    expect((e2 as Error).message).toBe(
      `${script}: k6 cannot read the script: SyntaxError: file:///x.js: Unexpected token (2:39)`
    )
    // With a given load the run goes ahead and its task reports what k6 says.
    const given = await k6Scenario({ vus: '2' })
    await expect(resolveK6Load(given, {}, () => undefined, broken)).resolves.toBe(given)
  })
})
