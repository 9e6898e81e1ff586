/**
 * The promises of the `BaselineStore` interface, stated once and kept by every store: dir, S3 on
 * s3rver, artifact on the fake GitHub API (store-harnesses.ts).
 *
 * A harness gives each test fresh, empty storage for a repository (a `StoreSpace`), and opens store
 * instances over it. Every `open()` is a new instance, as a separate job would make it: baselines
 * are put by one job each (for the artifact store: a workflow run on the base branch at the
 * record's commit), and read back by other instances. Where `limit` decides which records come
 * back, jobs put their runs in the order they ran, as base-branch jobs do: the artifact store keeps
 * the newest uploads (see artifact.ts).
 */
import {
  BaselineRefusedError,
  BaselineStoreError,
  baselineRecordFromRun,
  capacityId,
  type BaselineQuery,
  type BaselineRecord,
  type CapacityRecord
} from '../../src/baseline/index.js'
import {
  RESULT_VERSION,
  RUN_RESULT_SCHEMA,
  type RunResult,
  type TaskResult
} from '../../src/results/model.js'
import { capacityRecord } from '../helpers/capacity-record.js'
import { synthSamples, taskFromSamples } from '../helpers/synthetic.js'
import { STORE_HARNESSES, type StoreHarness, type StoreSpace } from './store-harnesses.js'

const T0 = 1_800_000_000_000
const MIN = 60_000
const baseTask = taskFromSamples(synthSamples({ seed: 13, samples: 240, startMs: T0, durationMs: 5_000 }))

interface RunOptions {
  scenario?: string
  fingerprint?: string
  createdMs?: number
}

function makeRun(runId: string, o: RunOptions = {}): RunResult {
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

interface Baseline {
  record: BaselineRecord
  run: RunResult
}

/** A good run and its baseline record, at `commit`. */
function baseline(repo: string, runId: string, commit: string, o: RunOptions & { replicate?: number } = {}) {
  const run = makeRun(runId, o)
  const record = baselineRecordFromRun(run, { repo, commit, ref: 'refs/heads/main', replicate: o.replicate })
  return { record, run }
}

/** Puts each baseline from its own job (a fresh store instance), in the order given. */
async function putEach(space: StoreSpace, baselines: Baseline[]): Promise<void> {
  for (const b of baselines) await (await space.open()).put(b.record, b.run)
}

async function putCapacityEach(space: StoreSpace, records: CapacityRecord[]): Promise<void> {
  for (const r of records) await (await space.open()).putCapacity(r)
}

/** A record as listed, without the store's own `resultKey`. */
function stored(r: BaselineRecord): BaselineRecord {
  const { resultKey: _key, ...rest } = r
  return rest
}

/** The rejection of `p`, which must be a BaselineStoreError. */
async function storeError(p: Promise<unknown>): Promise<BaselineStoreError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err
  )
  expect(e).toBeInstanceOf(BaselineStoreError)
  return e as BaselineStoreError
}

/** A store error that is not a refusal, one line, beginning with `baseline-store`. */
async function backendError(p: Promise<unknown>): Promise<BaselineStoreError> {
  const e = await storeError(p)
  expect(e).not.toBeInstanceOf(BaselineRefusedError)
  expect(e.message).toMatch(/^baseline-store\b/)
  expect(e.message).not.toContain('\n')
  return e
}

describe.each(STORE_HARNESSES)('$name store: the BaselineStore contract', harness => {
  beforeAll(() => harness.start())
  afterAll(() => harness.stop())
  contract(harness)
})

function contract(harness: StoreHarness): void {
  let n = 0
  /** A repository and fresh storage for it, per test. */
  async function setup() {
    const repo = `octo/contract-${++n}`
    const space = await harness.space(repo)
    const q = { repo, scenario: 'checkout', fingerprint: 'fp-a' }
    const ids = async (query: Partial<BaselineQuery> & { limit: number }) =>
      (await (await space.open()).list({ ...q, ...query })).map(r => r.runId)
    return { repo, space, q, ids }
  }
  /** Five baselines one minute apart, run `r<i>` at commit `sha<i>`, put in `order`. */
  async function fiveRuns(order = [1, 2, 3, 4, 5]) {
    const s = await setup()
    const runs = order.map(i => baseline(s.repo, `r${i}`, `sha${i}`, { createdMs: T0 + i * MIN }))
    await putEach(s.space, runs)
    return s
  }

  describeBaselines()
  describeRefusals()
  describeCapacity()
  describeErrors()

  function describeBaselines() {
    it('an empty store lists nothing', async () => {
      const { space, q, repo } = await setup()
      const store = await space.open()
      expect(await store.list({ ...q, limit: 10 })).toEqual([])
      expect(await store.list({ ...q, limit: 10, beforeCommit: 'sha1', beforeMs: T0 })).toEqual([])
      expect(await store.listCapacity({ repo, scenario: 'checkout', limit: 10 })).toEqual([])
    })

    it('put then list returns the record, to the writer and to any other instance', async () => {
      const { space, q, repo } = await setup()
      const b = baseline(repo, 'only', 'sha1', { createdMs: T0 })
      const writer = await space.open()
      await writer.put(b.record, b.run)
      expect((await writer.list({ ...q, limit: 10 })).map(stored)).toEqual([b.record])
      expect((await (await space.open()).list({ ...q, limit: 10 })).map(stored)).toEqual([b.record])
    })

    it('list keeps to the repository, scenario and fingerprint asked for', async () => {
      const { space, q, repo, ids } = await setup()
      await putEach(space, [
        baseline(repo, 'a', 'sha1', { createdMs: T0 + MIN }),
        baseline(repo, 'b', 'sha2', { createdMs: T0 + 2 * MIN, fingerprint: 'fp-b' }),
        baseline(repo, 'c', 'sha3', { createdMs: T0 + 3 * MIN, scenario: 'search' })
      ])
      expect(await ids({ limit: 10 })).toEqual(['a'])
      expect(await ids({ limit: 10, fingerprint: 'fp-b' })).toEqual(['b'])
      expect(await ids({ limit: 10, scenario: 'search' })).toEqual(['c'])
      expect(await ids({ limit: 10, fingerprint: 'fp-z' })).toEqual([])
      expect(await ids({ limit: 10, repo: `${q.repo}-other` })).toEqual([])
    })

    it('list returns oldest → newest, whatever order the runs were put in', async () => {
      const { ids } = await fiveRuns([4, 1, 5, 2, 3])
      expect(await ids({ limit: 100 })).toEqual(['r1', 'r2', 'r3', 'r4', 'r5'])
    })

    it('list returns at most `limit` records, the newest', async () => {
      const { ids } = await fiveRuns()
      expect(await ids({ limit: 2 })).toEqual(['r4', 'r5'])
      expect(await ids({ limit: 1 })).toEqual(['r5'])
      expect(await ids({ limit: 0 })).toEqual([])
    })

    it('beforeMs keeps the records created at or before it', async () => {
      const { ids } = await fiveRuns()
      expect(await ids({ limit: 10, beforeMs: T0 + 2 * MIN })).toEqual(['r1', 'r2'])
      expect(await ids({ limit: 10, beforeMs: T0 + 2 * MIN - 1 })).toEqual(['r1'])
      expect(await ids({ limit: 1, beforeMs: T0 + 4 * MIN })).toEqual(['r4'])
      expect(await ids({ limit: 10, beforeMs: T0 })).toEqual([])
    })

    it('beforeCommit keeps the merge base’s baselines and the ones before it', async () => {
      const { ids } = await fiveRuns()
      expect(await ids({ limit: 2, beforeCommit: 'sha3' })).toEqual(['r2', 'r3'])
      expect(await ids({ limit: 10, beforeCommit: 'sha3' })).toEqual(['r1', 'r2', 'r3'])
      // With a time bound too, the later of the two cutoffs counts.
      expect(await ids({ limit: 10, beforeCommit: 'sha3', beforeMs: T0 + MIN })).toEqual(['r1', 'r2', 'r3'])
      expect(await ids({ limit: 10, beforeCommit: 'sha3', beforeMs: T0 + 4 * MIN })).toEqual([
        'r1',
        'r2',
        'r3',
        'r4'
      ])
      // A merge base without baselines and no time bound: the newest.
      expect(await ids({ limit: 2, beforeCommit: 'zzz' })).toEqual(['r4', 'r5'])
    })

    it('commitOrder ranks by commit, not time, when it knows the merge base', async () => {
      const { space, repo, ids } = await setup()
      // c4 was measured before c2 (a re-run of an older commit later): commit order wins over time.
      await putEach(space, [
        baseline(repo, 'unknown', 'cX', { createdMs: T0 + 50 }),
        baseline(repo, 'p', 'c1', { createdMs: T0 + 100 }),
        baseline(repo, 's', 'c3', { createdMs: T0 + 200 }),
        baseline(repo, 'r', 'c4', { createdMs: T0 + 300 }),
        baseline(repo, 'q', 'c2', { createdMs: T0 + 900 })
      ])
      const commitOrder = new Map([
        ['c1', 1],
        ['c2', 2],
        ['c3', 3],
        ['c4', 4]
      ])
      expect(await ids({ limit: 10, beforeCommit: 'c3', commitOrder })).toEqual(['p', 'q', 's'])
      expect(await ids({ limit: 2, beforeCommit: 'c3', commitOrder })).toEqual(['q', 's'])
      // An order that does not know the merge base: by time, as without one.
      expect(await ids({ limit: 2, beforeCommit: 'c9', commitOrder })).toEqual(['r', 'q'])
    })

    it('replicates of one run are each a record', async () => {
      const { space, repo, ids } = await setup()
      const job = await space.open()
      for (const k of [0, 1]) {
        const b = baseline(repo, `rep-${k}`, 'sha1', { createdMs: T0 + k * MIN, replicate: k })
        await job.put(b.record, b.run)
      }
      expect(await ids({ limit: 10 })).toEqual(['rep-0', 'rep-1'])
    })

    it('load returns the stored run exactly, from any instance', async () => {
      const { space, q, repo } = await setup()
      const a = baseline(repo, 'a', 'sha1', { createdMs: T0 + MIN })
      const b = baseline(repo, 'b', 'sha2', { createdMs: T0 + 2 * MIN })
      b.run.run.facts = { note: 'second' }
      await putEach(space, [a, b])
      const listed = await (await space.open()).list({ ...q, limit: 10 })
      expect(await (await space.open()).load(listed[0])).toEqual(a.run)
      const reader = await space.open()
      expect(await reader.load(listed[1])).toEqual(b.run)
      expect(await reader.load(listed[0])).toEqual(a.run)
    })

    it('load of a record that was never stored is a one-line BaselineStoreError naming it', async () => {
      const { space, repo } = await setup()
      const stray = baseline(repo, 'stray', 'sha1')
      const e = await backendError((await space.open()).load(stray.record))
      expect(e.message).toContain(stray.record.id)
    })

    it('baselines are immutable: putting the same id again is refused and the first one stays', async () => {
      const { space, q, repo } = await setup()
      const b = baseline(repo, 'once', 'sha1', { createdMs: T0 })
      const again = structuredClone(b.run)
      again.run.facts = { note: 'second write' }
      const store = await space.open()
      await store.put(b.record, b.run)
      const e = await backendError(store.put(b.record, again))
      expect(e.message).toMatch(/immutable/)
      const reader = await space.open()
      const listed = await reader.list({ ...q, limit: 10 })
      expect(listed.map(stored)).toEqual([b.record])
      expect(await reader.load(listed[0])).toEqual(b.run)
    })
  }

  function describeRefusals() {
    /** Runs that must never become baselines, each with the exact reason. */
    function badRuns(repo: string): { what: string; b: Baseline; message: string }[] {
      const partial = baseline(repo, 'p1', 'sha1')
      partial.run.run.expectedTasks = 2
      partial.run.run.missingTasks = [{ region: 'eu-west-1', taskIndex: 1, reason: 'task stopped: OOM' }]
      const failed = baseline(repo, 'f1', 'sha1')
      failed.run.tasks[0].task.status = 'engine-error'
      failed.run.tasks[0].task.message = 'k6 exited with code 107'
      const short = baseline(repo, 's1', 'sha1')
      short.run.run.expectedTasks = 3
      const other = baseline(repo, 'm1', 'sha1')
      other.run.run.fingerprint = 'fp-z'
      return [
        {
          what: 'a partial run',
          b: partial,
          message:
            'baseline refused for run p1: the run is partial: 1 of 2 task(s) missing (eu-west-1/1: task stopped: OOM)'
        },
        {
          what: 'a failed task',
          b: failed,
          message:
            "baseline refused for run f1: task local/0 has status 'engine-error' (k6 exited with code 107), not 'ok'"
        },
        {
          what: 'missing task results',
          b: short,
          message: 'baseline refused for run s1: the run is partial: 1 of 3 task results present'
        },
        {
          what: 'a record of another fingerprint',
          b: other,
          message:
            'baseline refused for run m1: the record\'s fingerprint "fp-a" differs from the run\'s "fp-z"'
        }
      ]
    }

    it('refuses partial and failed runs with BaselineRefusedError and stores nothing', async () => {
      const { space, q, repo } = await setup()
      const store = await space.open()
      for (const { what, b, message } of badRuns(repo)) {
        const e = await storeError(store.put(b.record, b.run))
        expect({ what, refused: e instanceof BaselineRefusedError, message: e.message }).toEqual({
          what,
          refused: true,
          message
        })
      }
      expect(await (await space.open()).list({ ...q, limit: 10 })).toEqual([])
    })

    it('a bad run never replaces a good baseline of the same id', async () => {
      const { space, q, repo } = await setup()
      const good = baseline(repo, 'g1', 'sha1', { createdMs: T0 })
      await putEach(space, [good])
      const bad = structuredClone(good.run)
      bad.tasks[0].task.status = 'timeout'
      const e = await storeError((await space.open()).put(good.record, bad))
      expect(e).toBeInstanceOf(BaselineRefusedError)
      const reader = await space.open()
      const listed = await reader.list({ ...q, limit: 10 })
      expect(listed.map(stored)).toEqual([good.record])
      expect(await reader.load(listed[0])).toEqual(good.run)
    })
  }

  function describeCapacity() {
    const cap = (repo: string, runId: string, createdMs: number, o: Partial<CapacityRecord> = {}) =>
      capacityRecord(runId, createdMs, { repo, commit: `sha-${runId}`, ...o })

    it('capacity records: listed oldest → newest, whatever order they were put in', async () => {
      const { space, repo } = await setup()
      const recs = [3, 1, 2].map(i => cap(repo, `c${i}`, T0 + i * MIN, { capacityRps: 70 + i }))
      await putCapacityEach(space, recs)
      const listed = await (await space.open()).listCapacity({ repo, scenario: 'checkout', limit: 10 })
      expect(listed).toEqual([recs[1], recs[2], recs[0]])
    })

    it('capacity records: at most `limit`, the newest', async () => {
      const { space, repo } = await setup()
      await putCapacityEach(
        space,
        [1, 2, 3].map(i => cap(repo, `c${i}`, T0 + i * MIN))
      )
      const list = async (limit: number) =>
        (await (await space.open()).listCapacity({ repo, scenario: 'checkout', limit })).map(r => r.runId)
      expect(await list(2)).toEqual(['c2', 'c3'])
      expect(await list(1)).toEqual(['c3'])
      expect(await list(0)).toEqual([])
    })

    it('capacity records keep to their scenario and fingerprint, apart from baselines', async () => {
      const { space, q, repo } = await setup()
      await putCapacityEach(space, [
        cap(repo, 'a', T0 + MIN),
        cap(repo, 'b', T0 + 2 * MIN, { fingerprint: 'fp-b' }),
        cap(repo, 'c', T0 + 3 * MIN, { scenario: 'search' })
      ])
      const store = await space.open()
      const list = async (o: { scenario?: string; fingerprint?: string; repo?: string }) =>
        (await store.listCapacity({ repo, scenario: 'checkout', limit: 10, ...o })).map(r => r.runId)
      expect(await list({})).toEqual(['a', 'b'])
      expect(await list({ fingerprint: 'fp-a' })).toEqual(['a'])
      expect(await list({ fingerprint: 'fp-b' })).toEqual(['b'])
      expect(await list({ scenario: 'search' })).toEqual(['c'])
      expect(await list({ repo: `${repo}-other` })).toEqual([])
      expect(await store.list({ ...q, limit: 10 })).toEqual([])
      // and baselines are not capacity records
      await putEach(space, [baseline(repo, 'base', 'sha9', { createdMs: T0 + 9 * MIN })])
      expect(await list({ fingerprint: 'fp-a' })).toEqual(['a'])
    })

    it('capacity records are immutable: the same id again is refused and the first one stays', async () => {
      const { space, repo } = await setup()
      const rec = cap(repo, 'once', T0, { capacityRps: 80 })
      const store = await space.open()
      await store.putCapacity(rec)
      const e = await backendError(store.putCapacity({ ...rec, capacityRps: 1 }))
      expect(e.message).toMatch(/immutable/)
      expect(await (await space.open()).listCapacity({ repo, scenario: 'checkout', limit: 10 })).toEqual([
        rec
      ])
    })

    it('putCapacity refuses an invalid record, naming what is wrong, and stores nothing', async () => {
      const { space, repo } = await setup()
      const rec = cap(repo, 'x', T0)
      const bad = await storeError((await space.open()).putCapacity({ ...rec, capacityRps: 'lots' as never }))
      expect(bad.message).toMatch(/^capacity record: field 'capacityRps' of the capacity record /)
      const otherId = { ...rec, id: capacityId(T0 + 1, 'x') }
      const wrongId = await storeError((await space.open()).putCapacity(otherId))
      expect(wrongId.message).toBe(`capacity record ${otherId.id}: the id must be <createdMs>-<runId>`)
      expect(await (await space.open()).listCapacity({ repo, scenario: 'checkout', limit: 10 })).toEqual([])
    })
  }

  function describeErrors() {
    it('an unavailable backend fails every call with a one-line BaselineStoreError', async () => {
      const repo = `octo/contract-${++n}`
      const store = await harness.unavailable(repo)
      const q = { repo, scenario: 'checkout', fingerprint: 'fp-a', limit: 10 }
      const b = baseline(repo, 'u1', 'sha1')
      const errors = [
        await backendError(store.list(q)),
        await backendError(store.put(b.record, b.run)),
        await backendError(store.load(b.record)),
        await backendError(store.putCapacity(capacityRecord('u1', T0, { repo }))),
        await backendError(store.listCapacity(q))
      ]
      expect(errors.map(e => e.name)).toEqual(Array(5).fill('BaselineStoreError'))
    })
  }
}
