/**
 * Stepped profiles on the real process engines: a short Locust run (the hook's load shape, on the
 * installed Locust) and a short JMeter run (the plan rewritten into one thread group per step, on
 * the installed JMeter) against the sample target; the active users they report rise in steps.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadScenario } from '../../src/plan/scenario.js'
import { LocalFleet } from '../../src/fleet/local.js'
import { runScenarioOnce } from '../../src/fleet/run.js'
import { measureSteps } from '../../src/gate/capacity/steps.js'
import { ResultView } from '../../src/results/query.js'
import { startTarget } from '../../src/target/server.js'
import { root } from '../cli/spawn-cli.js'

const runnerEntry = join(root, 'dist', 'runner', 'index.js')
const fleet = () => new LocalFleet({ env: process.env, runnerEntry })

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pg-stepped-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/**
 * Median active users in each step's hold of a stepped run, and how many intervals of the whole
 * run had each user count.
 */
async function steppedUsers(
  engine: 'locust' | 'jmeter',
  script: string,
  vus: number
): Promise<{ steps: (number | null)[]; intervalsAt: Map<number, number> }> {
  const target = await startTarget({ port: 0, maxSeconds: 120 })
  try {
    const scenario = await loadScenario({
      cwd: dir,
      flags: {
        engine,
        script,
        target: target.url,
        vus: String(vus),
        profile: 'stress',
        multiplier: '3',
        profileParams: ['steps=3', 'step-duration=5s', 'step-ramp=1s']
      }
    })
    const run = await runScenarioOnce(scenario, { fleet: fleet() })
    expect(run.tasks.map(t => `${t.task.status} ${t.task.message}`)).toEqual([expect.stringMatching(/^ok/)])
    const view = new ResultView(run.tasks)
    const intervalsAt = new Map<number, number>()
    for (const p of view.series({ window: 'all' }, 1000))
      if (p.users !== null) intervalsAt.set(p.users, (intervalsAt.get(p.users) ?? 0) + 1)
    return { steps: measureSteps(view, scenario.profile!.steps, []).map(s => s.users), intervalsAt }
  } finally {
    await target.close()
  }
}

it('Locust follows the stepped shape: users per interval rise 2 → 4 → 6', async () => {
  const users = await steppedUsers('locust', join(root, 'examples', 'locust', 'locustfile.py'), 2)
  expect(users.steps).toEqual([2, 4, 6])
  // each level was held for several intervals
  for (const level of [2, 4, 6]) expect(users.intervalsAt.get(level) ?? 0).toBeGreaterThanOrEqual(3)
}, 60_000)

it('JMeter runs the rewritten plan in steps: threads rise 1 → 2 → 3', async () => {
  const users = await steppedUsers('jmeter', join(root, 'examples', 'jmeter', 'plan.jmx'), 1)
  // JMeter starts its thread groups up to an interval late (JVM start-up), so a hold's median may
  // fall half-way between two levels; each step is still within half a user of its level, rising.
  expect(users.steps).toHaveLength(3)
  users.steps.forEach((u, i) => expect(Math.abs((u ?? Number.NaN) - (i + 1))).toBeLessThanOrEqual(0.5))
  expect(users.steps[0]!).toBeLessThan(users.steps[1]!)
  expect(users.steps[1]!).toBeLessThan(users.steps[2]!)
  for (const level of [1, 2, 3]) expect(users.intervalsAt.get(level) ?? 0).toBeGreaterThanOrEqual(3)
  // the stepped plan written beside the example was removed after the run
  const left = readdirSync(join(root, 'examples', 'jmeter'))
  expect(left.filter(f => f.includes('perf-gate'))).toEqual([])
}, 90_000)
