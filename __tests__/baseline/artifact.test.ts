/**
 * The artifact store, offline: the REST lookup runs against the loopback fake GitHub API, and the
 * real `@actions/artifact` client uploads (Twirp CreateArtifact/FinalizeArtifact + block-blob PUTs)
 * and downloads (REST 302 → blob → unzip) against the same fake. `@actions/github` reads
 * GITHUB_API_URL when it is first imported, so it is imported only after the fake has started.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startFakeGitHub, type FakeGitHub } from '../helpers/fake-github.js'
import {
  ArtifactBaselineStore,
  actionsArtifactTransport,
  artifactName,
  baselineRecordFromRun,
  capacityArtifactName,
  createBaselineStore,
  type ArtifactTransport,
  type BaselineRecord,
  type Octokit
} from '../../src/baseline/index.js'
import {
  RESULT_VERSION,
  RUN_RESULT_SCHEMA,
  type RunResult,
  type TaskResult
} from '../../src/results/model.js'
import { synthSamples, taskFromSamples } from '../helpers/synthetic.js'
import { capacityRecord } from '../helpers/capacity-record.js'

const OWNER = 'octo'
const NAME = 'shop'
const REPO = `${OWNER}/${NAME}`
const T0 = 1_800_000_000_000
const HOUR = 3_600_000
const baseTask = taskFromSamples(synthSamples({ seed: 5, samples: 250, startMs: T0, durationMs: 5_000 }))

function makeRun(runId: string, o: { fingerprint?: string; createdMs?: number } = {}): RunResult {
  const fingerprint = o.fingerprint ?? 'fp-a'
  const task: TaskResult = structuredClone(baseTask)
  task.task = { ...task.task, runId, scenario: 'checkout', fingerprint }
  return {
    schema: RUN_RESULT_SCHEMA,
    version: RESULT_VERSION,
    run: {
      runId,
      scenario: 'checkout',
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

let gh: FakeGitHub
let octokit: Octokit
const work = mkdtempSync(join(tmpdir(), 'perf-gate-artifact-'))
const savedEnv = { ...process.env }

async function withEnv<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const keys = Object.keys(env)
  const before = Object.fromEntries(keys.map(k => [k, process.env[k]]))
  Object.assign(process.env, env)
  try {
    return await fn()
  } finally {
    for (const k of keys) {
      if (before[k] === undefined) delete process.env[k]
      else process.env[k] = before[k]
    }
  }
}

interface Stored {
  record: BaselineRecord
  run: RunResult
  workflowRunId: number
}

/** A baseline job: a workflow run on `branch` that uploads its replicates with the real client. */
async function baselineJob(o: {
  sha: string
  createdMs: number
  branch?: string
  conclusion?: string
  headRepo?: string
  fingerprint?: string
  replicates?: number
}): Promise<Stored[]> {
  const wr = gh.addWorkflowRun({
    repo: REPO,
    head_branch: o.branch ?? 'main',
    head_sha: o.sha,
    headRepo: o.headRepo,
    conclusion: o.conclusion ?? 'success'
  })
  const out: Stored[] = []
  await withEnv(gh.actionsEnv(wr.id), async () => {
    const store = await createBaselineStore('artifact', {
      github: { token: 'job-token', octokit, workDir: join(work, `job-${wr.id}`) }
    })
    for (let k = 0; k < (o.replicates ?? 1); k++) {
      const run = makeRun(`wr${wr.id}-r${k}`, {
        fingerprint: o.fingerprint,
        createdMs: o.createdMs + k * 60_000
      })
      const record = baselineRecordFromRun(run, {
        repo: REPO,
        commit: o.sha,
        ref: 'refs/heads/main',
        replicate: k
      })
      await store.put(record, run)
      out.push({ record, run, workflowRunId: wr.id })
    }
  })
  return out
}

let jobs: Record<string, Stored[]>

beforeAll(async () => {
  gh = await startFakeGitHub()
  process.env.GITHUB_API_URL = gh.url
  delete process.env.GITHUB_SERVER_URL
  const { getOctokit } = await import('@actions/github')
  octokit = getOctokit('pr-token', { baseUrl: gh.url })
  jobs = {
    a: await baselineJob({ sha: 'a1', createdMs: T0 + 1 * HOUR, replicates: 2 }),
    b: await baselineJob({ sha: 'b1', createdMs: T0 + 2 * HOUR }),
    failedRun: await baselineJob({ sha: 'c1', createdMs: T0 + 3 * HOUR, conclusion: 'failure' }),
    fork: await baselineJob({ sha: 'f1', createdMs: T0 + 4 * HOUR, headRepo: 'mallory/shop' }),
    feature: await baselineJob({ sha: 'e1', createdMs: T0 + 5 * HOUR, branch: 'feature/x' }),
    otherFp: await baselineJob({ sha: 'g1', createdMs: T0 + 6 * HOUR, fingerprint: 'fp-b' }),
    h: await baselineJob({ sha: 'h1', createdMs: T0 + 7 * HOUR })
  }
  // An expired artifact of a good run: must not even be downloaded.
  const old = gh.addWorkflowRun({ repo: REPO, head_branch: 'main', head_sha: 'x1' })
  const oldRun = makeRun('expired', { createdMs: T0 + 8 * HOUR })
  const oldRec = baselineRecordFromRun(oldRun, { repo: REPO, commit: 'x1', ref: 'refs/heads/main' })
  gh.addArtifact({
    repo: REPO,
    workflowRunId: old.id,
    name: artifactName('checkout'),
    files: {
      'baseline.json': JSON.stringify({
        schema: 'perf-gate/baseline',
        version: 1,
        record: oldRec,
        result: oldRun
      })
    },
    expired: true
  })
})

afterAll(async () => {
  process.env = savedEnv
  await gh.close()
  rmSync(work, { recursive: true, force: true })
})

const prStore = (transport?: ArtifactTransport) =>
  new ArtifactBaselineStore({
    octokit,
    token: 'pr-token',
    owner: OWNER,
    repo: NAME,
    baseBranch: 'main',
    workDir: join(work, 'pr'),
    transport
  })
const q = { repo: REPO, scenario: 'checkout', fingerprint: 'fp-a' }

describe('artifact store: upload with @actions/artifact', () => {
  it('uploads each replicate as its own artifact holding baseline.json', () => {
    const [r0, r1] = jobs.a
    const arts = gh.state.artifacts.filter(a => a.workflowRunId === r0.workflowRunId)
    expect(arts.map(a => a.name).sort()).toEqual([
      'perf-gate-baseline-checkout',
      'perf-gate-baseline-checkout@1'
    ])
    const files = gh.artifactFiles(arts.find(a => a.name === 'perf-gate-baseline-checkout')!.id)
    expect(Object.keys(files)).toEqual(['baseline.json'])
    const doc = JSON.parse(files['baseline.json'].toString('utf8'))
    expect(doc.record).toEqual(r0.record)
    expect(doc.result).toEqual(r0.run)
    const doc1 = JSON.parse(
      gh.artifactFiles(arts.find(a => a.name.endsWith('@1'))!.id)['baseline.json'].toString('utf8')
    )
    expect(doc1.record).toEqual(r1.record)
    // The upload went through the Actions results service and blob storage, not the REST API.
    const creates = gh.find('POST', /CreateArtifact$/)
    expect(creates.length).toBeGreaterThanOrEqual(8)
    expect(creates[0].body).toMatchObject({ name: 'perf-gate-baseline-checkout', version: 7 })
    expect(gh.find('PUT', /^\/_blob\/upload\//).length).toBeGreaterThanOrEqual(8)
  })

  it('refuses a second upload of the same replicate, locally and at the service', async () => {
    const wr = gh.addWorkflowRun({ repo: REPO, head_branch: 'main', head_sha: 'd1' })
    await withEnv(gh.actionsEnv(wr.id), async () => {
      const run = makeRun('dup', { createdMs: T0 })
      const record = baselineRecordFromRun(run, { repo: REPO, commit: 'd1', ref: 'main' })
      const store = await createBaselineStore('artifact', { github: { token: 't', octokit } })
      await store.put(record, run)
      await expect(store.put(record, run)).rejects.toThrow(
        /perf-gate-baseline-checkout was already uploaded by this run/
      )
      // Another process in the same workflow run hits the service's one-name-per-run rule.
      const again = await createBaselineStore('artifact', { github: { token: 't', octokit } })
      await expect(again.put(record, run)).rejects.toThrow(
        /uploading perf-gate-baseline-checkout failed: .*409.*already exists/
      )
    })
    gh.state.artifacts = gh.state.artifacts.filter(a => a.workflowRunId !== wr.id)
  })

  it('outside a workflow job, uploading fails with a clear error', async () => {
    const env: NodeJS.ProcessEnv = { GITHUB_REPOSITORY: REPO }
    const store = new ArtifactBaselineStore({
      octokit,
      token: 't',
      owner: OWNER,
      repo: NAME,
      baseBranch: 'main',
      transport: actionsArtifactTransport(env)
    })
    const run = makeRun('local')
    const record = baselineRecordFromRun(run, { repo: REPO, commit: 'z', ref: 'main' })
    await expect(store.put(record, run)).rejects.toThrow(
      'baseline-store "artifact": cannot upload perf-gate-baseline-checkout: ACTIONS_RUNTIME_TOKEN and ACTIONS_RESULTS_URL are not set'
    )
    // The library itself, without our check, fails on the same missing variable.
    await withEnv({ ACTIONS_RUNTIME_TOKEN: '', ACTIONS_RESULTS_URL: '' }, async () => {
      const { DefaultArtifactClient } = await import('@actions/artifact')
      const file = join(work, 'probe.txt')
      writeFileSync(file, 'x')
      await expect(new DefaultArtifactClient().uploadArtifact('probe', [file], work)).rejects.toThrow(
        'Unable to get the ACTIONS_RUNTIME_TOKEN env variable'
      )
    })
  })
})

describe('artifact store: lookup on a pull request', () => {
  it('lists the newest successful base-branch runs of this repository, downloading with the real client', async () => {
    const store = prStore()
    const before = gh.requests.length
    const listed = await store.list({ ...q, limit: 10 })
    expect(listed.map(r => r.id)).toEqual([...jobs.a, ...jobs.b, ...jobs.h].map(s => s.record.id))
    const reqs = gh.requests.slice(before)
    const search = reqs.find(r => r.path === `/repos/${REPO}/actions/artifacts`)
    expect(search?.query).toMatchObject({ name: 'perf-gate-baseline-checkout' })
    // The failed run and the fork's "main" run were looked at or filtered, never downloaded.
    const downloaded = reqs
      .filter(r => /\/actions\/artifacts\/\d+\/zip$/.test(r.path))
      .map(r => Number(r.path.split('/')[6]))
    const runOfArtifact = (id: number) => gh.state.artifacts.find(a => a.id === id)!.workflowRunId
    const downloadedRuns = new Set(downloaded.map(runOfArtifact))
    for (const excluded of [jobs.failedRun, jobs.fork, jobs.feature])
      expect(downloadedRuns.has(excluded[0].workflowRunId)).toBe(false)
    const expired = gh.state.artifacts.find(a => a.expired)!
    expect(downloaded).not.toContain(expired.id)
    // The other fingerprint had to be downloaded to be known, and was then left out.
    expect(downloadedRuns.has(jobs.otherFp[0].workflowRunId)).toBe(true)
    expect(reqs.filter(r => r.path.startsWith('/_blob/artifact/')).length).toBe(downloaded.length)
    // The run's conclusion was checked for the failed run.
    expect(reqs.some(r => r.path === `/repos/${REPO}/actions/runs/${jobs.failedRun[0].workflowRunId}`)).toBe(
      true
    )
  })

  it('does not download the runs after the merge base', async () => {
    const store = prStore()
    const before = gh.requests.length
    const upToB = await store.list({ ...q, limit: 10, beforeCommit: 'b1' })
    expect(upToB.map(r => r.id)).toEqual([...jobs.a, ...jobs.b].map(s => s.record.id))
    // Runs after the merge base were not downloaded.
    const reqs = gh.requests.slice(before)
    const hArtifact = gh.state.artifacts.find(a => a.workflowRunId === jobs.h[0].workflowRunId)!
    expect(reqs.some(r => r.path.endsWith(`/actions/artifacts/${hArtifact.id}/zip`))).toBe(false)
  })

  it('loads the full run of a listed record, also from a fresh store', async () => {
    const listed = await prStore().list({ ...q, limit: 1 })
    expect(listed[0].resultKey).toMatch(/^artifact:\d+@run:\d+$/)
    const fresh = prStore()
    expect(await fresh.load(listed[0])).toEqual(jobs.h[0].run)
  })

  it('skips an artifact that cannot be downloaded and keeps the others', async () => {
    const real = actionsArtifactTransport()
    const broken = gh.state.artifacts.find(a => a.workflowRunId === jobs.b[0].workflowRunId)!.id
    const transport: ArtifactTransport = {
      upload: real.upload,
      download: (id, opts) =>
        id === broken ? Promise.reject(new Error('blob storage unavailable')) : real.download(id, opts)
    }
    const listed = await prStore(transport).list({ ...q, limit: 10 })
    expect(listed.map(r => r.id)).toEqual([...jobs.a, ...jobs.h].map(s => s.record.id))
  })

  it('a token without actions: read gets a clear error', async () => {
    gh.setPermission('actions', 'none')
    try {
      await expect(prStore().list({ ...q, limit: 5 })).rejects.toThrow(
        /cannot list artifacts named perf-gate-baseline-checkout.*"actions: read"/
      )
    } finally {
      gh.setPermission('actions', 'write')
    }
  })
})

describe('artifact store: capacity records', () => {
  /** A stress job: a workflow run on `branch` that uploads its capacity record with the real client. */
  async function stressJob(runId: string, createdMs: number, branch = 'main') {
    const wr = gh.addWorkflowRun({
      repo: REPO,
      head_branch: branch,
      head_sha: runId,
      event: 'workflow_dispatch'
    })
    const rec = capacityRecord(runId, createdMs, { repo: REPO, capacityRps: createdMs % 1000 })
    await withEnv(gh.actionsEnv(wr.id), async () => {
      const store = await createBaselineStore('artifact', {
        github: { token: 'job-token', octokit, workDir: join(work, `cap-${wr.id}`) }
      })
      await store.putCapacity(rec)
      await expect(store.putCapacity(rec)).rejects.toThrow(
        /perf-gate-capacity-checkout was already uploaded by this run/
      )
    })
    return { rec, workflowRunId: wr.id }
  }

  it('uploads perf-gate-capacity-<scenario> holding capacity.json, and lists the base branch’s newest records', async () => {
    const first = await stressJob('s1', T0 + 11)
    const second = await stressJob('s2', T0 + 22)
    await stressJob('s3', T0 + 33, 'feature/y')
    const art = gh.state.artifacts.find(a => a.workflowRunId === first.workflowRunId)!
    expect(art.name).toBe(capacityArtifactName('checkout'))
    const files = gh.artifactFiles(art.id)
    expect(Object.keys(files)).toEqual(['capacity.json'])
    expect(JSON.parse(files['capacity.json'].toString('utf8'))).toEqual(first.rec)

    const store = prStore()
    const q2 = { repo: REPO, scenario: 'checkout', limit: 10 }
    expect((await store.listCapacity(q2)).map(r => r.capacityRps)).toEqual([11, 22])
    expect((await store.listCapacity({ ...q2, limit: 1 })).map(r => r.runId)).toEqual([second.rec.runId])
    expect(await store.listCapacity({ ...q2, scenario: 'search' })).toEqual([])
    // baseline lookups do not see capacity artifacts
    expect((await store.list({ ...q, limit: 20 })).every(r => r.id.includes('wr'))).toBe(true)
  })
})
