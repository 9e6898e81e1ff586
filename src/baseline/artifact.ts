/**
 * `artifact`: baselines as GitHub Actions artifacts, no cloud account needed.
 *
 * Storing (on the base branch): each baseline run is uploaded as an artifact holding one file,
 * `baseline.json` (the record and the full run result). Replicate 0 is named
 * `perf-gate-baseline-<scenario>`; replicate k > 0 of the same workflow run is named
 * `perf-gate-baseline-<scenario>@<k>`, because an artifact name can be used once per run.
 *
 * Looking up (on a pull request), through the REST API:
 * 1. `GET /repos/{o}/{r}/actions/artifacts?name=perf-gate-baseline-<scenario>`, newest first; keep
 *    unexpired artifacts whose `workflow_run.head_branch` is the base branch and whose run belongs to
 *    the repository itself (a fork's pull-request run can also have a branch called `main`);
 * 2. `GET /repos/{o}/{r}/actions/runs/{id}`: keep runs whose conclusion is `success`;
 * 3. `GET /repos/{o}/{r}/actions/runs/{id}/artifacts`: that run's replicates;
 * 4. download each with `@actions/artifact` `downloadArtifact(id, {findBy})` and read its record.
 *
 * Capacity records (stress mode) are uploaded as their own artifact, `perf-gate-capacity-<scenario>`,
 * holding `capacity.json`; listing looks them up the same way (runs on the base branch of the
 * repository itself, newest first), without asking whether the run succeeded.
 *
 * Unlike the dir and S3 stores, this one sees no shared namespace: an artifact name can be used once
 * per workflow run, so a record is immutable within its run (another run could upload the same
 * record id); and listing walks runs newest upload first and stops at `limit`, so `limit` keeps the
 * newest uploads, which are the newest records when jobs upload in the order they ran.
 *
 * Uploading and downloading go through the small `ArtifactTransport` interface; the default one is
 * `@actions/artifact`. Uploads need the job's ACTIONS_RUNTIME_TOKEN and ACTIONS_RESULTS_URL, which
 * GitHub Actions provides only to steps of a running job.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { getOctokit } from '@actions/github'
import type { RunResult } from '../results/model.js'
import {
  parseCapacityRecord,
  selectCapacity,
  storableCapacityRecord,
  type CapacityQuery,
  type CapacityRecord
} from './capacity.js'
import {
  BaselineStoreError,
  assertStorable,
  baselineDocument,
  parseBaselineDocument,
  parseBaselineRecordOf,
  selectBaselines,
  type BaselineDocument,
  type BaselineQuery,
  type BaselineRecord
} from './model.js'
import type { BaselineStore } from './store.js'
import { errorMessage } from '../util/index.js'

export type Octokit = ReturnType<typeof getOctokit>

export const ARTIFACT_PREFIX = 'perf-gate-baseline-'
export const ARTIFACT_FILE = 'baseline.json'
export const CAPACITY_ARTIFACT_PREFIX = 'perf-gate-capacity-'
export const CAPACITY_ARTIFACT_FILE = 'capacity.json'

export interface FindBy {
  token: string
  workflowRunId: number
  repositoryOwner: string
  repositoryName: string
}

/** The two artifact operations the store needs (`@actions/artifact` by default). */
export interface ArtifactTransport {
  upload(
    name: string,
    files: string[],
    rootDirectory: string,
    options?: { retentionDays?: number }
  ): Promise<{ id?: number; size?: number }>
  download(artifactId: number, options: { path: string; findBy: FindBy }): Promise<{ downloadPath?: string }>
}

/** `@actions/artifact` behind the transport interface, with a clear error outside a workflow job. */
export function actionsArtifactTransport(env: NodeJS.ProcessEnv = process.env): ArtifactTransport {
  return {
    async upload(name, files, rootDirectory, options) {
      const missing = ['ACTIONS_RUNTIME_TOKEN', 'ACTIONS_RESULTS_URL'].filter(k => !env[k])
      if (missing.length)
        throw new BaselineStoreError(
          `baseline-store "artifact": cannot upload ${name}: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} ` +
            'not set (GitHub Actions sets them only for the steps of a workflow job); outside Actions use ' +
            'dir:<path> or s3://bucket/prefix'
        )
      const { DefaultArtifactClient } = await import('@actions/artifact')
      return new DefaultArtifactClient().uploadArtifact(name, files, rootDirectory, options)
    },
    async download(artifactId, options) {
      const { DefaultArtifactClient } = await import('@actions/artifact')
      return new DefaultArtifactClient().downloadArtifact(artifactId, options)
    }
  }
}

/** The artifact name of a scenario's capacity record. */
export function capacityArtifactName(scenario: string): string {
  return `${CAPACITY_ARTIFACT_PREFIX}${scenario.replace(/[^A-Za-z0-9._-]/g, '_')}`
}

/** The artifact name of a scenario's replicate. */
export function artifactName(scenario: string, replicate = 0): string {
  const s = scenario.replace(/[^A-Za-z0-9._-]/g, '_')
  return replicate > 0 ? `${ARTIFACT_PREFIX}${s}@${replicate}` : `${ARTIFACT_PREFIX}${s}`
}

export interface ArtifactStoreOptions {
  octokit: Octokit
  /** Token for downloads (needs `actions: read`). */
  token: string
  owner: string
  repo: string
  /** The branch whose workflow runs hold the baselines (the PR's base branch). */
  baseBranch: string
  transport?: ArtifactTransport
  /** Staging and download directory (default: a new temporary directory). */
  workDir?: string
  /** Most workflow runs examined by one `list` (default 60). */
  maxRuns?: number
  retentionDays?: number
}

interface Candidate {
  artifactId: number
  runId: number
  headSha: string
  createdMs: number
}

interface HttpError {
  status?: number
  message?: string
}

export class ArtifactBaselineStore implements BaselineStore {
  readonly kind = 'artifact' as const
  readonly location: string
  private readonly transport: ArtifactTransport
  private readonly uploaded = new Set<string>()
  private readonly docs = new Map<string, unknown>()
  private workDir: string | undefined

  constructor(readonly opts: ArtifactStoreOptions) {
    this.location = `artifact (${opts.owner}/${opts.repo}, branch ${opts.baseBranch})`
    this.transport = opts.transport ?? actionsArtifactTransport()
    this.workDir = opts.workDir
  }

  private async dir(): Promise<string> {
    if (this.workDir) await mkdir(this.workDir, { recursive: true })
    else this.workDir = await mkdtemp(join(tmpdir(), 'perf-gate-artifacts-'))
    return this.workDir
  }

  private apiError(action: string, e: unknown): BaselineStoreError {
    const err = e as HttpError
    const hint =
      err.status === 403 || err.status === 404 ? ' (the token needs the "actions: read" permission)' : ''
    return new BaselineStoreError(`baseline-store "artifact": cannot ${action}: ${errorMessage(e)}${hint}`)
  }

  async put(record: BaselineRecord, run: RunResult): Promise<void> {
    const rec = assertStorable(record, run)
    const { resultKey: _ignored, ...stored } = rec
    const name = artifactName(rec.scenario, rec.replicate)
    if (this.uploaded.has(name))
      throw new BaselineStoreError(
        `baseline-store "artifact": ${name} was already uploaded by this run; artifacts are immutable ` +
          '(give each replicate its own replicate number)'
      )
    await this.uploadDocument(name, ARTIFACT_FILE, baselineDocument(stored, run))
  }

  /** Uploads one JSON document as the artifact `name` (artifacts are immutable: once per run). */
  private async uploadDocument(name: string, fileName: string, doc: unknown): Promise<void> {
    const staging = await mkdtemp(join(await this.dir(), 'upload-'))
    const file = join(staging, fileName)
    await writeFile(file, JSON.stringify(doc) + '\n')
    try {
      const opts = this.opts.retentionDays ? { retentionDays: this.opts.retentionDays } : undefined
      await this.transport.upload(name, [file], staging, opts)
      this.uploaded.add(name)
    } catch (e) {
      if (e instanceof BaselineStoreError) throw e
      throw new BaselineStoreError(`baseline-store "artifact": uploading ${name} failed: ${errorMessage(e)}`)
    } finally {
      await rm(staging, { recursive: true, force: true })
    }
  }

  /** Unexpired artifacts named `name` from the repository's own runs on the base branch, newest first. */
  private async candidates(name: string, maxRuns: number): Promise<Candidate[]> {
    const { octokit, owner, repo, baseBranch } = this.opts
    const out: Candidate[] = []
    const seenRuns = new Set<number>()
    try {
      for await (const page of octokit.paginate.iterator(octokit.rest.actions.listArtifactsForRepo, {
        owner,
        repo,
        name,
        per_page: 100
      })) {
        for (const a of page.data) {
          const wr = a.workflow_run
          if (a.expired || a.name !== name || !wr?.id || wr.head_branch !== baseBranch) continue
          if (
            wr.head_repository_id !== undefined &&
            wr.repository_id !== undefined &&
            wr.head_repository_id !== wr.repository_id
          )
            continue
          if (seenRuns.has(wr.id)) continue
          seenRuns.add(wr.id)
          out.push({
            artifactId: a.id,
            runId: wr.id,
            headSha: wr.head_sha ?? '',
            createdMs: a.created_at ? Date.parse(a.created_at) : 0
          })
        }
        if (out.length >= maxRuns * 2) break
      }
    } catch (e) {
      throw this.apiError(`list artifacts named ${name} in ${owner}/${repo}`, e)
    }
    return out.sort((a, b) => b.createdMs - a.createdMs || b.runId - a.runId)
  }

  private async runSucceeded(runId: number): Promise<boolean> {
    const { octokit, owner, repo } = this.opts
    try {
      const { data } = await octokit.rest.actions.getWorkflowRun({ owner, repo, run_id: runId })
      return data.conclusion === 'success'
    } catch (e) {
      if ((e as HttpError).status === 404) return false
      throw this.apiError(`read workflow run ${runId}`, e)
    }
  }

  /** The artifact ids of a run's replicates of `base`. */
  private async replicateArtifacts(runId: number, base: string): Promise<number[]> {
    const { octokit, owner, repo } = this.opts
    const ids: number[] = []
    try {
      for await (const page of octokit.paginate.iterator(octokit.rest.actions.listWorkflowRunArtifacts, {
        owner,
        repo,
        run_id: runId,
        per_page: 100
      })) {
        for (const a of page.data)
          if (
            !a.expired &&
            (a.name === base ||
              (a.name.startsWith(`${base}@`) && /^\d+$/.test(a.name.slice(base.length + 1))))
          )
            ids.push(a.id)
      }
    } catch (e) {
      throw this.apiError(`list the artifacts of workflow run ${runId}`, e)
    }
    return ids
  }

  private async fetchDoc(artifactId: number, runId: number, fileName = ARTIFACT_FILE): Promise<unknown> {
    const { token, owner, repo } = this.opts
    const path = await mkdtemp(join(await this.dir(), `download-${artifactId}-`))
    try {
      await this.transport.download(artifactId, {
        path,
        findBy: { token, workflowRunId: runId, repositoryOwner: owner, repositoryName: repo }
      })
      const file = join(path, fileName)
      try {
        return JSON.parse(await readFile(file, 'utf8'))
      } catch (e) {
        throw new BaselineStoreError(
          `baseline-store "artifact": artifact ${artifactId} (run ${runId}) has no readable ${fileName}: ${errorMessage(e)}`
        )
      }
    } catch (e) {
      if (e instanceof BaselineStoreError) throw e
      throw new BaselineStoreError(
        `baseline-store "artifact": downloading artifact ${artifactId} of run ${runId} failed: ${errorMessage(e)}`
      )
    } finally {
      await rm(path, { recursive: true, force: true })
    }
  }

  async list(q: BaselineQuery): Promise<BaselineRecord[]> {
    if (!(q.limit > 0)) return []
    const maxRuns = this.opts.maxRuns ?? 60
    const base = artifactName(q.scenario, 0)
    const candidates = await this.candidates(base, maxRuns)
    const order = q.commitOrder
    const mergeBasePos = q.beforeCommit !== undefined ? order?.get(q.beforeCommit) : undefined
    const exactIdx =
      q.beforeCommit !== undefined ? candidates.findIndex(c => c.headSha === q.beforeCommit) : -1
    // Without a commit order or time bound, runs newer than the merge base's own run are after it.
    const start = mergeBasePos === undefined && q.beforeMs === undefined && exactIdx > 0 ? exactIdx : 0
    const collected: BaselineRecord[] = []
    let examined = 0
    for (let i = start; i < candidates.length && examined < maxRuns; i++) {
      const c = candidates[i]
      if (order && mergeBasePos !== undefined) {
        const pos = order.get(c.headSha)
        if (pos !== undefined && pos > mergeBasePos) continue
      }
      examined++
      if (!(await this.runSucceeded(c.runId))) continue
      for (const artifactId of await this.replicateArtifacts(c.runId, base)) {
        let doc: unknown
        try {
          doc = await this.fetchDoc(artifactId, c.runId)
        } catch {
          // An artifact that cannot be read is not a baseline; the others still count.
          continue
        }
        let rec: BaselineRecord
        try {
          rec = parseBaselineRecordOf(`artifact ${artifactId}`, doc)
        } catch {
          continue
        }
        const keyed = { ...rec, resultKey: `artifact:${artifactId}@run:${c.runId}` }
        this.docs.set(rec.id, doc)
        collected.push(keyed)
      }
      if (i >= exactIdx && selectBaselines(collected, q).length >= q.limit) break
    }
    return selectBaselines(collected, q)
  }

  async load(record: BaselineRecord): Promise<RunResult> {
    let doc = this.docs.get(record.id)
    const where = `artifact baseline ${record.id}`
    if (doc === undefined) {
      const m = /^artifact:(\d+)@run:(\d+)$/.exec(record.resultKey ?? '')
      if (!m)
        throw new BaselineStoreError(
          `baseline-store "artifact": baseline ${record.id} has no artifact reference (resultKey "${record.resultKey ?? ''}")`
        )
      doc = await this.fetchDoc(Number(m[1]), Number(m[2]))
      this.docs.set(record.id, doc)
    }
    const parsed: BaselineDocument = parseBaselineDocument(where, doc)
    return parsed.result
  }

  async putCapacity(record: CapacityRecord): Promise<void> {
    const rec = storableCapacityRecord(record)
    const name = capacityArtifactName(rec.scenario)
    if (this.uploaded.has(name))
      throw new BaselineStoreError(
        `baseline-store "artifact": ${name} was already uploaded by this run; artifacts are immutable`
      )
    await this.uploadDocument(name, CAPACITY_ARTIFACT_FILE, rec)
  }

  async listCapacity(q: CapacityQuery): Promise<CapacityRecord[]> {
    if (!(q.limit > 0)) return []
    const maxRuns = this.opts.maxRuns ?? 60
    const candidates = await this.candidates(capacityArtifactName(q.scenario), maxRuns)
    const records: CapacityRecord[] = []
    for (const c of candidates.slice(0, maxRuns)) {
      try {
        records.push(
          parseCapacityRecord(
            `artifact ${c.artifactId}`,
            await this.fetchDoc(c.artifactId, c.runId, CAPACITY_ARTIFACT_FILE)
          )
        )
      } catch {
        // An artifact that cannot be read is not a record; the others still count.
        continue
      }
      if (selectCapacity(records, q).length >= q.limit) break
    }
    return selectCapacity(records, q)
  }
}
