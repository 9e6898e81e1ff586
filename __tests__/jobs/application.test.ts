/**
 * The application layer the action and the CLI share: the run source, the job on it (judgeRun)
 * and what is published for it, through a recording publisher and an in-memory baseline store.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Scenario } from '../../src/config/scenario.js'
import { parseSlos } from '../../src/gate/slo.js'
import { judgeRun, type JudgeSettings } from '../../src/jobs/judge.js'
import { LOCAL_PLAN, publishReport, type PublishPlan } from '../../src/jobs/publish.js'
import { buildRunSource, type RunSource, type SourceDeps } from '../../src/jobs/source.js'
import { writeJsonFile } from '../../src/results/io.js'
import type { RunResult } from '../../src/results/model.js'
import { FINGERPRINT, REPO, run, SCENARIO, seed, STEADY } from '../helpers/gate-runs.js'
import { MemoryBaselineStore } from '../helpers/memory-store.js'
import { RecordingPublisher } from '../helpers/recording-publisher.js'

/** A source that hands out the given runs and records the replicates asked for. */
function sourceOf(runs: RunResult[], patch: Partial<RunSource> = {}): RunSource & { asked: number[] } {
  const asked: number[] = []
  return {
    backend: 'local',
    scenario: SCENARIO,
    fingerprint: FINGERPRINT,
    engine: 'http',
    vus: 4,
    slos: [],
    canRerun: true,
    fleetCost: { kind: 'local' },
    run: async replicate => {
      asked.push(replicate)
      return runs[Math.min(replicate, runs.length - 1)]
    },
    ...patch,
    asked
  }
}

function settings(store: MemoryBaselineStore, patch: Partial<JudgeSettings> = {}): JudgeSettings {
  return {
    mode: 'gate',
    replicates: 2,
    job: {
      repo: REPO,
      commit: 'head',
      ref: 'feature',
      gate: { confirmReplicates: 2 },
      slos: [],
      store,
      log: () => {}
    },
    report: { key: `${SCENARIO}/perf`, commit: 'head' },
    ...patch
  }
}

const FULL: PublishPlan = {
  artifactName: 'perf-gate-report-checkout',
  comment: true,
  status: true,
  check: true,
  failOnInconclusive: false,
  redact: true
}

describe('judgeRun', () => {
  it('gates the source against the store and makes the report input', async () => {
    const store = new MemoryBaselineStore()
    await seed(store, STEADY)
    const source = sourceOf([run(30), run(30), run(30)])
    const judged = await judgeRun(source, settings(store))
    expect(judged.mode).toBe('gate')
    expect(judged.job.outcome).toBe('FAIL')
    expect(source.asked).toEqual([0, 1, 2])
    expect(judged.input).toMatchObject({ key: 'checkout/perf', scenario: SCENARIO, mode: 'gate' })
    expect(judged.input.facts).toMatchObject({ backend: 'local', engine: 'http', vus: 4, commit: 'head' })
  })

  it("judges the settings' SLOs before the scenario's, with the settings' labels winning", async () => {
    const store = new MemoryBaselineStore()
    const source = sourceOf([run(20)], {
      slos: parseSlos(['http_req_duration: p(95)<1000']),
      gateLabels: { kind: 'all' }
    })
    const s = settings(store, {
      job: {
        ...settings(store).job,
        slos: parseSlos(['http_req_duration: p(99)<5']),
        gateLabels: { kind: 'none' }
      }
    })
    const judged = await judgeRun(source, s)
    expect(judged.job.outcome).toBe('FAIL')
    const slo = judged.mode === 'gate' ? judged.job.slo.map(r => r.status) : []
    expect(slo.slice(0, 2)).toEqual(['fail', 'pass'])
  })

  it('stores one baseline from a source that cannot repeat its run', async () => {
    const store = new MemoryBaselineStore()
    const source = sourceOf([run(20), run(20)], { canRerun: false, backend: 'import', fleetCost: undefined })
    const judged = await judgeRun(source, settings(store, { mode: 'baseline', replicates: 3 }))
    expect(judged.mode).toBe('baseline')
    expect(judged.job.outcome).toBe('PASS')
    expect(source.asked).toEqual([0])
    expect(store.baselines).toHaveLength(1)
    expect(judged.input.facts.backend).toBe('import')
  })
})

describe('publishReport', () => {
  async function judged(medianMs: number) {
    const store = new MemoryBaselineStore()
    await seed(store, STEADY)
    return judgeRun(sourceOf([run(medianMs)]), settings(store))
  }

  it('publishes files, artifact, summary, comment, status and check run, in that order', async () => {
    const { input, job } = await judged(30)
    const publisher = new RecordingPublisher()
    const files = await publishReport(publisher, input, job.runs[0], FULL)
    expect(files?.dir).toBe('/memory/checkout/perf')
    expect(publisher.kinds()).toEqual(['files', 'artifact', 'summary', 'comment', 'status', 'check'])
    const [doc, artifact, summary, comment, status, check] = publisher.calls
    expect(doc.kind === 'files' && doc.doc.result?.run.runId).toBe(job.runs[0].run.runId)
    expect(artifact).toMatchObject({ name: 'perf-gate-report-checkout' })
    expect(summary.kind === 'summary' && summary.markdown).toContain('FAIL')
    expect(comment).toMatchObject({ marker: expect.stringContaining('checkout/perf') })
    expect(status).toMatchObject({ context: 'perf-gate/checkout', state: 'failure' })
    expect(check).toMatchObject({ name: 'perf-gate/checkout', conclusion: 'failure' })
  })

  it('fails the status and check run of an INCONCLUSIVE gate only with fail-on-inconclusive', async () => {
    const store = new MemoryBaselineStore()
    await seed(store, STEADY)
    const { input, job } = await judgeRun(sourceOf([run(23), run(20.6), run(20.6)]), settings(store))
    expect(job.outcome).toBe('INCONCLUSIVE')
    const lenient = new RecordingPublisher()
    await publishReport(lenient, input, null, FULL)
    expect(lenient.calls.filter(c => c.kind === 'status' || c.kind === 'check')).toMatchObject([
      { state: 'success' },
      { conclusion: 'neutral' }
    ])
    const strict = new RecordingPublisher()
    await publishReport(strict, input, null, { ...FULL, failOnInconclusive: true })
    expect(strict.calls.filter(c => c.kind === 'status' || c.kind === 'check')).toMatchObject([
      { state: 'failure' },
      { conclusion: 'failure' }
    ])
  })

  it('publishes only what the plan and the publisher allow', async () => {
    const { input, job } = await judged(20)
    const readOnly = new RecordingPublisher(false)
    await publishReport(readOnly, input, job.runs[0], FULL)
    expect(readOnly.kinds()).toEqual(['files', 'artifact', 'summary'])

    const noFiles = new RecordingPublisher(true, false)
    await publishReport(noFiles, input, job.runs[0], { ...FULL, comment: false, check: false })
    expect(noFiles.kinds()).toEqual(['files', 'summary', 'status'])

    const local = new RecordingPublisher()
    await publishReport(local, input, job.runs[0], LOCAL_PLAN)
    expect(local.kinds()).toEqual(['files', 'summary'])
  })

  it('redacts the input and the run before rendering when the plan says so', async () => {
    const { input, job } = await judged(20)
    const secret = 'ghp_abcdefghijklmnopqrstuvwxyz012345'
    const leaky = {
      ...input,
      verdict: { ...input.verdict, reasons: [`token ${secret}`, ...input.verdict.reasons] }
    }
    const result = { ...job.runs[0], run: { ...job.runs[0].run, facts: { note: secret } } }
    const redacted = new RecordingPublisher()
    await publishReport(redacted, leaky, result, FULL)
    expect(JSON.stringify(redacted.calls)).not.toContain(secret)
    const raw = new RecordingPublisher()
    await publishReport(raw, leaky, result, { ...FULL, redact: false })
    expect(JSON.stringify(raw.calls[0])).toContain(secret)
  })
})

describe('buildRunSource', () => {
  const scenario = {
    name: SCENARIO,
    fingerprint: FINGERPRINT,
    engine: 'http',
    vus: 3,
    thresholds: []
  } as unknown as Scenario

  function deps(patch: Partial<SourceDeps> = {}): SourceDeps & { fleets: string[] } {
    const fleets: string[] = []
    return {
      cwd: process.cwd(),
      env: {},
      log: () => {},
      warn: () => {},
      fleet: async s => {
        fleets.push(s.name)
        return { scenario: s, fleetCost: { kind: 'local' } }
      },
      announce: () => {},
      ...patch,
      fleets
    }
  }

  it('makes no source and sets up no fleet when the scenario is skipped', async () => {
    const d = deps({ skip: async () => true })
    const source = await buildRunSource({ kind: 'fleet', backend: 'fargate', load: async () => scenario }, d)
    expect(source).toBeNull()
    expect(d.fleets).toEqual([])
  })

  it('runs a scenario on the fleet set up for it, with its thresholds as SLOs', async () => {
    const d = deps()
    const withThresholds = { ...scenario, thresholds: [{ metric: 'http_req_duration', expr: 'p(95)<100' }] }
    const source = await buildRunSource(
      { kind: 'fleet', backend: 'local', load: async () => withThresholds },
      d
    )
    expect(d.fleets).toEqual([SCENARIO])
    expect(source).toMatchObject({ backend: 'local', scenario: SCENARIO, vus: 3, canRerun: true })
    expect(source?.slos.map(s => s.text)).toEqual(['http_req_duration: p(95)<100'])
  })

  it('imports result files as one run that cannot be repeated', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'perf-gate-source-'))
    try {
      await writeJsonFile(join(dir, 'result.json'), run(20))
      const source = await buildRunSource(
        { kind: 'import', results: ['*.json'], scenario: 'brought' },
        deps({ cwd: dir })
      )
      expect(source).toMatchObject({
        backend: 'import',
        scenario: 'brought',
        engine: 'http',
        vus: null,
        canRerun: false
      })
      const first = await source!.run(0)
      expect(await source!.run(1)).toBe(first)
      expect(first.tasks).toHaveLength(1)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
