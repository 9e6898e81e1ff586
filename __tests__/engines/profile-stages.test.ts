/**
 * Every engine runs a profile's stages: k6 `--stage` options, the Locust hook's shape (through
 * PERF_GATE_STAGES), JMeter thread groups written into the plan, and the http engine's connection
 * schedule. The shapes are compared with the profile's own level over time.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { k6Args } from '../../src/engines/k6.js'
import { vuTimeline } from '../../src/engines/http-profile.js'
import { locustEngine } from '../../src/engines/locust.js'
import { jmeterArgs, jmeterEngine } from '../../src/engines/jmeter.js'
import {
  MAX_THREAD_GROUPS,
  rewritePlanForStages,
  stagesToThreadGroups,
  type JmeterThreadGroupSpec
} from '../../src/engines/jmeter-stages.js'
import type { EngineRunContext } from '../../src/engines/types.js'
import { expandProfile } from '../../src/plan/profiles.js'
import { parseProfileSpec } from '../../src/config/profile.js'
import { PROFILE_NAMES, type Stage, type TaskLoad } from '../../src/model/index.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const EXAMPLE_PLAN = join(root, 'examples', 'jmeter', 'plan.jmx')

const stress = expandProfile(
  parseProfileSpec({ name: 'stress', steps: 3, 'step-duration': 20, 'step-ramp': 5 }),
  10
)
const spike = expandProfile(parseProfileSpec({ name: 'spike', duration: 60 }), 4)

function ctx(load: Partial<TaskLoad>, extra: Partial<EngineRunContext> = {}): EngineRunContext {
  return {
    script: '/scripts/test.js',
    load: { vus: 1, durationS: 1, rampUpS: 0, targetUrl: 'http://127.0.0.1:8080', ...load },
    workDir: '/tmp/none',
    tags: {},
    env: {},
    ...extra
  }
}

/** The level at second t of stages that move linearly from the previous target, starting at 0. */
function levelAt(stages: Stage[], t: number): number {
  let from = 0
  let start = 0
  for (const s of stages) {
    if (t <= start + s.durationS) return from + ((s.target - from) * (t - start)) / s.durationS
    from = s.target
    start += s.durationS
  }
  return 0
}

/** Threads alive at second t: JMeter starts a group's threads evenly over its ramp and ends them all at delay + duration. */
function threadsAt(groups: JmeterThreadGroupSpec[], t: number): number {
  let n = 0
  for (const g of groups) {
    if (t < g.delayS || t >= g.delayS + g.durationS) continue
    n += g.rampS > 0 ? Math.min(g.threads, Math.floor(((t - g.delayS) / g.rampS) * g.threads) + 1) : g.threads
  }
  return n
}

describe('k6', () => {
  it('gets one --stage per profile stage', () => {
    const args = k6Args(ctx({ stages: stress.stages }))
    const stages = args.flatMap((a, i) => (a === '--stage' ? [args[i + 1]] : []))
    expect(stages).toEqual(['5s:7', '15s:7', '5s:13', '15s:13', '5s:20', '15s:20'])
    expect(args).not.toContain('--vus')
  })
})

describe('the http engine', () => {
  it('holds every stress step at its level', () => {
    const steps = vuTimeline({
      vus: 1,
      durationS: 1,
      rampUpS: 0,
      targetUrl: 'http://x',
      stages: stress.stages
    })
    const at = (ms: number) => [...steps].reverse().find(s => s.atMs <= ms)!.vus
    for (const st of stress.steps) {
      expect(at(st.holdFromS * 1000 + 1)).toBe(st.vus)
      expect(at(st.endS * 1000 - 1)).toBe(st.vus)
    }
    expect(at(0)).toBeLessThanOrEqual(1)
  })

  it('surges and drops back for a spike', () => {
    const steps = vuTimeline({
      vus: 1,
      durationS: 1,
      rampUpS: 0,
      targetUrl: 'http://x',
      stages: spike.stages
    })
    const at = (s: number) => [...steps].reverse().find(x => x.atMs <= s * 1000)!.vus
    const [baseline, surge, recovery] = spike.steps
    expect(at((baseline.holdFromS + baseline.endS) / 2)).toBe(4)
    expect(at((surge.holdFromS + surge.endS) / 2)).toBe(20)
    expect(at(recovery.holdFromS + 0.5)).toBe(4)
  })
})

describe('Locust', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pg-locust-profile-'))
  const script = join(dir, 'locustfile.py')
  writeFileSync(script, 'from locust import HttpUser\n')
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('gets the profile stages through PERF_GATE_STAGES and no -u/-r/-t', async () => {
    const cmd = await locustEngine.command(ctx({ stages: spike.stages }, { script, workDir: dir }), {})
    expect(JSON.parse(cmd.env.PERF_GATE_STAGES)).toEqual(spike.stages)
    expect(cmd.args).not.toContain('-u')
    expect(cmd.args).not.toContain('-t')
    expect(cmd.args[1].endsWith('perfgate_hook.py')).toBe(true)
  })
})

describe('JMeter thread groups', () => {
  it('a stress profile is one group per step, each starting at its step and running to the end', () => {
    expect(stagesToThreadGroups(stress.stages)).toEqual([
      { threads: 7, delayS: 0, rampS: 5, durationS: 60 },
      { threads: 6, delayS: 20, rampS: 5, durationS: 40 },
      { threads: 7, delayS: 40, rampS: 5, durationS: 20 }
    ])
  })

  it('a spike adds the surge as its own group and ends it when the load drops', () => {
    const groups = stagesToThreadGroups(spike.stages)
    expect(groups.reduce((a, g) => a + g.threads, 0)).toBe(20)
    const [baseline, surge, recovery] = spike.steps
    expect(threadsAt(groups, (baseline.holdFromS + baseline.endS) / 2)).toBe(4)
    expect(threadsAt(groups, (surge.holdFromS + surge.endS) / 2)).toBe(20)
    expect(threadsAt(groups, recovery.holdFromS + 1)).toBe(4)
  })

  it('a ramp-down ends groups at up to four moments within it', () => {
    const groups = stagesToThreadGroups([
      { durationS: 10, target: 8 },
      { durationS: 20, target: 8 },
      { durationS: 8, target: 0 }
    ])
    expect(groups.map(g => g.delayS + g.durationS).sort((a, b) => a - b)).toEqual([31, 33, 35, 37])
    expect(groups.every(g => g.delayS === 0 && g.rampS === 10)).toBe(true)
    expect(groups.reduce((a, g) => a + g.threads, 0)).toBe(8)
  })

  it.each(PROFILE_NAMES)('%s: the groups hold every step at its level', name => {
    const p = expandProfile(parseProfileSpec(name === 'soak' ? { name, duration: 600 } : name), 12)
    const groups = stagesToThreadGroups(p.stages)
    expect(groups.length).toBeLessThanOrEqual(MAX_THREAD_GROUPS)
    for (const st of p.steps) {
      for (const t of [st.holdFromS + 1, (st.holdFromS + st.endS) / 2, st.endS - 1])
        if (t > st.holdFromS && t < st.endS) expect(threadsAt(groups, t)).toBe(levelAt(p.stages, t))
    }
  })
})

describe('JMeter plan rewrite', () => {
  const example = readFileSync(EXAMPLE_PLAN, 'utf8')
  const groups = stagesToThreadGroups(stress.stages)

  it('copies the example plan’s thread group once per group, with its subtree', () => {
    const out = rewritePlanForStages(example, groups)
    const tgs = [...out.matchAll(/<ThreadGroup [^>]*testname="([^"]*)"[^>]*>([\s\S]*?)<\/ThreadGroup>/g)]
    expect(tgs.map(m => m[1])).toEqual([
      'users [perf-gate 1/3]',
      'users [perf-gate 2/3]',
      'users [perf-gate 3/3]'
    ])
    const prop = (body: string, name: string) => new RegExp(`name="${name}">([^<]*)<`).exec(body)?.[1]
    expect(
      tgs.map(m => [
        prop(m[2], 'ThreadGroup.num_threads'),
        prop(m[2], 'ThreadGroup.ramp_time'),
        prop(m[2], 'ThreadGroup.scheduler'),
        prop(m[2], 'ThreadGroup.duration'),
        prop(m[2], 'ThreadGroup.delay'),
        prop(m[2], 'LoopController.loops')
      ])
    ).toEqual([
      ['7', '5', 'true', '60', '0', '-1'],
      ['6', '5', 'true', '40', '20', '-1'],
      ['7', '5', 'true', '20', '40', '-1']
    ])
    // every sampler is copied with its group; the hash trees stay balanced
    expect(out.match(/testname="GET \/fast"/g)).toHaveLength(3)
    const opens = (out.match(/<hashTree>/g) ?? []).length
    const closes = (out.match(/<\/hashTree>/g) ?? []).length
    expect(opens).toBe(closes)
    expect(out.startsWith('<?xml')).toBe(true)
    expect(out.trimEnd().endsWith('</jmeterTestPlan>')).toBe(true)
  })

  it('handles JMeter 5.6-style int/long properties and adds missing ones', () => {
    const plan56 = `<jmeterTestPlan><hashTree><TestPlan testname="t"/><hashTree>
      <ThreadGroup guiclass="ThreadGroupGui" testclass="ThreadGroup" testname="Thread Group">
        <intProp name="ThreadGroup.num_threads">1</intProp>
        <intProp name="ThreadGroup.ramp_time">1</intProp>
        <elementProp name="ThreadGroup.main_controller" elementType="LoopController">
          <stringProp name="LoopController.loops">1</stringProp>
          <boolProp name="LoopController.continue_forever">false</boolProp>
        </elementProp>
      </ThreadGroup>
      <hashTree><HTTPSamplerProxy testname="s"/><hashTree/></hashTree>
      <SetupThreadGroup testname="setup"/><hashTree/>
    </hashTree></hashTree></jmeterTestPlan>`
    const out = rewritePlanForStages(plan56, [{ threads: 3, delayS: 2, rampS: 1, durationS: 9 }])
    expect(out).toContain('<intProp name="ThreadGroup.num_threads">3</intProp>')
    expect(out).toContain('<intProp name="ThreadGroup.ramp_time">1</intProp>')
    expect(out).toContain('<stringProp name="LoopController.loops">-1</stringProp>')
    expect(out).toContain('<boolProp name="ThreadGroup.scheduler">true</boolProp>')
    expect(out).toContain('<stringProp name="ThreadGroup.duration">9</stringProp>')
    expect(out).toContain('<stringProp name="ThreadGroup.delay">2</stringProp>')
    expect(out).toContain('<SetupThreadGroup testname="setup"/>')
  })

  it('refuses plans it cannot rewrite, saying why', () => {
    const two = example.replace(
      /(<ThreadGroup [\s\S]*?<\/ThreadGroup>\s*<hashTree>[\s\S]*?<\/hashTree>)/,
      '$1\n$1'
    )
    expect(() => rewritePlanForStages(two, groups)).toThrow(
      'engine jmeter: stages need a plan with exactly one enabled Thread Group, found 2'
    )
    const disabled = two.replace(
      'enabled="true">\n        <stringProp name="ThreadGroup.on_sample_error">',
      'enabled="false">\n        <stringProp name="ThreadGroup.on_sample_error">'
    )
    expect(rewritePlanForStages(disabled, groups).match(/perf-gate \d\/3/g)).toHaveLength(3)
    const plugin = example
      .replace(/<ThreadGroup /g, '<kg.apc.jmeter.threads.UltimateThreadGroup ')
      .replace(/<\/ThreadGroup>/g, '</kg.apc.jmeter.threads.UltimateThreadGroup>')
    expect(() => rewritePlanForStages(plugin, groups)).toThrow(
      /stages need a standard Thread Group.*none is enabled/
    )
  })

  it('the adapter writes the stepped plan next to the script, runs it, and removes it after the run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-jmeter-profile-'))
    const script = join(dir, 'plan.jmx')
    writeFileSync(script, example)
    const work = mkdtempSync(join(tmpdir(), 'pg-jmeter-work-'))
    try {
      const c = ctx(
        { stages: stress.stages },
        { script, workDir: work, env: { PERF_GATE_BODY_BYTES: '4096' } }
      )
      const cmd = await jmeterEngine.command(c, {})
      const plan = cmd.args[cmd.args.indexOf('-t') + 1]
      expect(dirname(plan)).toBe(dir)
      expect(plan).toMatch(/\/\.plan\.perf-gate-\d+-[0-9a-f]+\.jmx$/)
      expect(readFileSync(plan, 'utf8')).toContain('users [perf-gate 3/3]')
      expect(cmd.args).toContain('-Jbody_bytes=4096')
      await cmd.cleanup!()
      expect(existsSync(plan)).toBe(false)
      // without stages the script runs as it is
      expect(jmeterArgs(ctx({}, { script }))).toContain(script)
    } finally {
      rmSync(dir, { recursive: true, force: true })
      rmSync(work, { recursive: true, force: true })
    }
  })

  it('each stepped plan is its own: two tasks of one script, and removing one keeps the other', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-jmeter-profile-'))
    const script = join(dir, 'plan.jmx')
    writeFileSync(script, example)
    const works = [0, 1].map(() => mkdtempSync(join(tmpdir(), 'pg-jmeter-work-')))
    try {
      const [a, b] = await Promise.all(
        works.map(workDir => jmeterEngine.command(ctx({ stages: stress.stages }, { script, workDir }), {}))
      )
      const planOf = (args: string[]) => args[args.indexOf('-t') + 1]
      expect(planOf(a.args)).not.toBe(planOf(b.args))
      await a.cleanup!()
      expect(existsSync(planOf(a.args))).toBe(false)
      expect(existsSync(planOf(b.args))).toBe(true)
      await b.cleanup!()
      expect(existsSync(planOf(b.args))).toBe(false)
      // a run without stages writes no plan, so there is nothing to remove
      expect((await jmeterEngine.command(ctx({}, { script, workDir: works[0] }), {})).cleanup).toBeUndefined()
    } finally {
      rmSync(dir, { recursive: true, force: true })
      for (const w of works) rmSync(w, { recursive: true, force: true })
    }
  })
})
