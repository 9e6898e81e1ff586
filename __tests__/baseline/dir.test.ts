import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import {
  BaselineRefusedError,
  DEFAULT_BASELINE_STORE,
  DirBaselineStore,
  baselineRecordFromRun,
  createBaselineStore,
  selectBaselines,
  type BaselineRecord
} from '../../src/baseline/index.js'
import { ResultView } from '../../src/results/query.js'
import {
  RESULT_VERSION,
  RUN_RESULT_SCHEMA,
  type RunResult,
  type TaskResult
} from '../../src/results/model.js'
import { synthSamples, taskFromSamples } from '../helpers/synthetic.js'

const REPO = 'octo/shop'
const T0 = 1_800_000_000_000
const baseTask = taskFromSamples(synthSamples({ seed: 7, samples: 400, startMs: T0, durationMs: 8_000 }))

function makeRun(
  runId: string,
  o: { scenario?: string; fingerprint?: string; createdMs?: number } = {}
): RunResult {
  const scenario = o.scenario ?? 'checkout'
  const fingerprint = o.fingerprint ?? 'fp-a'
  const task: TaskResult = structuredClone(baseTask)
  task.task = { ...task.task, runId, scenario, fingerprint }
  return {
    schema: RUN_RESULT_SCHEMA,
    version: RESULT_VERSION,
    run: {
      runId,
      scenario,
      fingerprint,
      backend: 'local',
      createdMs: o.createdMs ?? T0,
      expectedTasks: 1,
      missingTasks: [],
      facts: {}
    },
    tasks: [task]
  }
}

function makeRecord(run: RunResult, commit: string, replicate = 0): BaselineRecord {
  return baselineRecordFromRun(run, { repo: REPO, commit, ref: 'refs/heads/main', replicate })
}

const tmp = mkdtempSync(join(tmpdir(), 'perf-gate-dir-store-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('baseline records', () => {
  it('summarises the steady window of the run', () => {
    const run = makeRun('r1')
    const rec = makeRecord(run, 'c1')
    const s = new ResultView(run.tasks).stats({ window: 'steady' })
    expect(s.requests).toBeGreaterThan(100)
    expect(rec.metrics).toMatchObject({
      p50Ms: s.p50Ms,
      p90Ms: s.p90Ms,
      p95Ms: s.p95Ms,
      p99Ms: s.p99Ms,
      errorRate: s.errorRate,
      rps: s.rps,
      requests: s.requests
    })
    expect(rec.metrics.p99TailSamples).toBe(Math.floor(s.requests / 100))
    expect(rec).toMatchObject({
      id: `${T0}-r1-0`,
      repo: REPO,
      scenario: 'checkout',
      fingerprint: 'fp-a',
      status: 'ok'
    })
  })
})

describe('selectBaselines', () => {
  const rec = (id: string, createdMs: number, commit: string, fingerprint = 'fp'): BaselineRecord => ({
    id,
    repo: REPO,
    scenario: 's',
    fingerprint,
    commit,
    ref: 'main',
    createdMs,
    runId: id,
    replicate: 0,
    status: 'ok',
    metrics: { p50Ms: 1, p90Ms: 1, p95Ms: 1, p99Ms: 1, errorRate: 0, rps: 1, requests: 1, p99TailSamples: 0 }
  })
  const all = [
    rec('e', 500, 'c5'),
    rec('a', 100, 'c1'),
    rec('c', 300, 'c3'),
    rec('b', 200, 'c2'),
    rec('d', 400, 'c4'),
    rec('x', 450, 'c4', 'other-fp')
  ]
  const q = { repo: REPO, scenario: 's', fingerprint: 'fp' }

  it('returns the newest `limit` comparable records, oldest first', () => {
    expect(selectBaselines(all, { ...q, limit: 3 }).map(r => r.id)).toEqual(['c', 'd', 'e'])
    expect(selectBaselines(all, { ...q, limit: 100 }).map(r => r.id)).toEqual(['a', 'b', 'c', 'd', 'e'])
    expect(selectBaselines(all, { ...q, limit: 0 })).toEqual([])
    expect(selectBaselines(all, { ...q, fingerprint: 'other-fp', limit: 5 }).map(r => r.id)).toEqual(['x'])
    expect(selectBaselines(all, { ...q, scenario: 'nope', limit: 5 })).toEqual([])
  })

  it('prefers the merge base: its baselines and the ones before it', () => {
    expect(selectBaselines(all, { ...q, limit: 2, beforeCommit: 'c3' }).map(r => r.id)).toEqual(['b', 'c'])
    // beforeMs alone is a time cutoff; with the merge base's own later baseline the cutoff moves to it.
    expect(selectBaselines(all, { ...q, limit: 10, beforeMs: 250 }).map(r => r.id)).toEqual(['a', 'b'])
    expect(
      selectBaselines(all, { ...q, limit: 10, beforeMs: 250, beforeCommit: 'c3' }).map(r => r.id)
    ).toEqual(['a', 'b', 'c'])
    // An unknown merge base without a time bound: the newest ones.
    expect(selectBaselines(all, { ...q, limit: 2, beforeCommit: 'zzz' }).map(r => r.id)).toEqual(['d', 'e'])
  })

  it('uses commit order when it knows the merge base', () => {
    // c4 was measured before c3 (e.g. a re-run of an older commit later): commit order wins over time.
    const shuffled = [rec('p', 100, 'c1'), rec('q', 900, 'c2'), rec('r', 300, 'c4'), rec('s', 200, 'c3')]
    const order = new Map([
      ['c1', 1],
      ['c2', 2],
      ['c3', 3],
      ['c4', 4]
    ])
    const got = selectBaselines(shuffled, { ...q, limit: 10, beforeCommit: 'c3', commitOrder: order })
    expect(got.map(r => r.id)).toEqual(['p', 'q', 's'])
    const two = selectBaselines(shuffled, { ...q, limit: 2, beforeCommit: 'c3', commitOrder: order })
    expect(two.map(r => r.id)).toEqual(['q', 's'])
  })
})

describe('createBaselineStore', () => {
  it('parses dir:, plain paths and the CLI default', async () => {
    const a = await createBaselineStore(`dir:${tmp}/a`)
    expect(a.kind).toBe('dir')
    expect((a as DirBaselineStore).root).toBe(resolve(tmp, 'a'))
    const b = await createBaselineStore('dir:rel/base', { cwd: tmp })
    expect((b as DirBaselineStore).root).toBe(resolve(tmp, 'rel/base'))
    const c = await createBaselineStore(DEFAULT_BASELINE_STORE, { cwd: tmp })
    expect((c as DirBaselineStore).root).toBe(resolve(tmp, '.perf-gate/baselines'))
    const d = await createBaselineStore('', { cwd: tmp })
    expect((d as DirBaselineStore).root).toBe(resolve(tmp, '.perf-gate/baselines'))
  })

  it('parses s3:// and artifact', async () => {
    const s = await createBaselineStore('s3://perf-bucket/team/a/', {
      s3: { clientConfig: { region: 'us-east-1' } }
    })
    expect(s.kind).toBe('s3')
    expect(s.location).toBe('s3://perf-bucket/team/a')
    const art = await createBaselineStore('artifact', {
      env: { GITHUB_REPOSITORY: 'octo/shop', GITHUB_BASE_REF: 'main', GITHUB_API_URL: 'http://127.0.0.1:9' },
      github: { token: 't' }
    })
    expect(art.kind).toBe('artifact')
    expect(art.location).toContain('octo/shop')
  })

  it('rejects unknown schemes and incomplete values with the input named', async () => {
    await expect(createBaselineStore('ftp://x')).rejects.toThrow(
      'baseline-store: unknown scheme "ftp://x" (expected s3://bucket/prefix, artifact or dir:<path>)'
    )
    await expect(createBaselineStore('artifacts')).rejects.toThrow(/unknown scheme "artifacts"/)
    await expect(createBaselineStore('s3://')).rejects.toThrow('baseline-store: "s3://" has no bucket')
    await expect(createBaselineStore('dir:')).rejects.toThrow(/"dir:" has no path/)
    await expect(createBaselineStore('artifact', { env: {} })).rejects.toThrow(/GITHUB_REPOSITORY/)
    await expect(
      createBaselineStore('artifact', { env: { GITHUB_REPOSITORY: 'o/r', GITHUB_REF_NAME: 'main' } })
    ).rejects.toThrow(/github-token/)
  })
})

describe('dir store', () => {
  it('keeps one immutable file per run, named <createdMs>-<runId>-<replicate>.json, plus an index', async () => {
    const store = new DirBaselineStore(join(tmp, 'basic'))
    const run = makeRun('run-1', { createdMs: T0 + 10 })
    const rec = makeRecord(run, 'c1')
    await store.put(rec, run)
    const dir = join(tmp, 'basic', 'octo', 'shop', 'checkout', 'fp-a')
    expect(readdirSync(dir).sort()).toEqual([`${T0 + 10}-run-1-0.json`, 'index.json'])
    const before = readFileSync(join(dir, `${T0 + 10}-run-1-0.json`), 'utf8')
    await expect(store.put(rec, run)).rejects.toThrow(/already exists.*immutable/)
    expect(readFileSync(join(dir, `${T0 + 10}-run-1-0.json`), 'utf8')).toBe(before)
    expect(readdirSync(dir).filter(n => n.startsWith('.'))).toEqual([])
    const listed = await store.list({ repo: REPO, scenario: 'checkout', fingerprint: 'fp-a', limit: 10 })
    expect(listed.map(r => r.id)).toEqual([rec.id])
    expect(await store.load(listed[0])).toEqual(run)
  })

  it('loses nothing with 8 concurrent writers to the same index', async () => {
    const store = new DirBaselineStore(join(tmp, 'concurrent'))
    const runs = Array.from({ length: 8 }, (_, i) => makeRun(`n${i}`, { createdMs: T0 + i }))
    // Separate store instances, like separate processes, all writing at once.
    await Promise.all(
      runs.map(r => new DirBaselineStore(join(tmp, 'concurrent')).put(makeRecord(r, `c${r.run.runId}`), r))
    )
    const listed = await store.list({ repo: REPO, scenario: 'checkout', fingerprint: 'fp-a', limit: 100 })
    expect(listed.map(r => r.runId)).toEqual(runs.map(r => r.run.runId))
    // Whatever order the racing index writes landed in, listing repaired the index to all 8.
    const index = JSON.parse(
      readFileSync(join(tmp, 'concurrent', 'octo', 'shop', 'checkout', 'fp-a', 'index.json'), 'utf8')
    )
    expect(index.records.map((r: BaselineRecord) => r.runId).sort()).toEqual(
      runs.map(r => r.run.runId).sort()
    )
  })

  it('lists from the files: a stale, damaged or missing index changes nothing', async () => {
    const root = join(tmp, 'stale')
    const store = new DirBaselineStore(root)
    for (let i = 0; i < 3; i++) {
      const run = makeRun(`s${i}`, { createdMs: T0 + i * 1000 })
      await store.put(makeRecord(run, `c${i}`), run)
    }
    const dir = join(root, 'octo', 'shop', 'checkout', 'fp-a')
    const q = { repo: REPO, scenario: 'checkout', fingerprint: 'fp-a', limit: 10 }
    writeFileSync(join(dir, 'index.json'), '{"schema":"perf-gate/baseline-index","version":1,"records":[]}')
    expect((await store.list(q)).map(r => r.runId)).toEqual(['s0', 's1', 's2'])
    writeFileSync(join(dir, 'index.json'), 'garbage{')
    expect((await store.list(q)).map(r => r.runId)).toEqual(['s0', 's1', 's2'])
    rmSync(join(dir, 'index.json'))
    expect((await store.list(q)).map(r => r.runId)).toEqual(['s0', 's1', 's2'])
    // Listing rewrote the index from the files.
    expect(JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')).records).toHaveLength(3)
    // A removed run file disappears from the listing even though the index still has it.
    rmSync(join(dir, `${T0 + 1000}-s1-0.json`))
    expect((await store.list(q)).map(r => r.runId)).toEqual(['s0', 's2'])
    const repaired = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'))
    expect(repaired.records.map((r: BaselineRecord) => r.runId)).toEqual(['s0', 's2'])
    // A foreign JSON file in the directory is ignored.
    writeFileSync(join(dir, 'notes.json'), '{"hello":1}')
    expect((await store.list(q)).map(r => r.runId)).toEqual(['s0', 's2'])
  })

  it('creates nothing on disk for a refused run', async () => {
    const root = join(tmp, 'refuse')
    const store = new DirBaselineStore(root)
    const failed = makeRun('f1')
    failed.tasks[0].task.status = 'engine-error'
    await expect(store.put(makeRecord(makeRun('f1'), 'c'), failed)).rejects.toThrow(BaselineRefusedError)
    expect(() => makeRecord(failed, 'c')).toThrow(BaselineRefusedError)
    expect(() => statSync(root)).toThrow()
  })
})
