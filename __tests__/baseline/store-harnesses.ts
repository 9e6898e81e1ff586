/**
 * The baseline stores as the store contract (store-contract.test.ts) runs them:
 * - dir: a temporary directory per space;
 * - S3: @20minutes/s3rver on 127.0.0.1 behind the conditional-write proxy (s3rver.ts), a prefix per space;
 * - artifact: the loopback fake GitHub API, a repository per space; each store instance is a job in
 *   its own workflow run on `main` (at the commit of the first document it uploads), uploading and
 *   downloading with the real `@actions/artifact` client.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { S3Client } from '@aws-sdk/client-s3'
import {
  ArtifactBaselineStore,
  DirBaselineStore,
  S3BaselineStore,
  actionsArtifactTransport,
  type ArtifactTransport,
  type BaselineStore,
  type Octokit
} from '../../src/baseline/index.js'
import { startFakeGitHub, type FakeGitHub, type FakeWorkflowRun } from '../helpers/fake-github.js'
import { clientFor, startConditionalProxy, startS3rver } from './s3rver.js'

/** Fresh storage for one repository. */
export interface StoreSpace {
  /** A new store instance over this storage, as a separate job or process opens it. */
  open(): Promise<BaselineStore>
}

export interface StoreHarness {
  name: string
  /** Starts what the store needs (servers, directories); `stop` ends it. */
  start(): Promise<void>
  stop(): Promise<void>
  /** Empty storage for `repo` (`owner/name`), shared with no other space. */
  space(repo: string): Promise<StoreSpace>
  /** A store for `repo` whose backend cannot be reached or written. */
  unavailable(repo: string): Promise<BaselineStore>
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>(r => server.listen(0, '127.0.0.1', () => r()))
  const { port } = server.address() as { port: number }
  await new Promise<void>(r => server.close(() => r()))
  return port
}

/** Temporary directories, each name used once. */
function scratchDirs(prefix: string) {
  let root = ''
  let n = 0
  return {
    start: () => {
      root = mkdtempSync(join(tmpdir(), prefix))
    },
    stop: () => rmSync(root, { recursive: true, force: true }),
    next: (what: string) => join(root, `${what}-${++n}`)
  }
}

function dirHarness(): StoreHarness {
  const scratch = scratchDirs('perf-gate-contract-dir-')
  return {
    name: 'dir',
    start: async () => scratch.start(),
    stop: async () => scratch.stop(),
    async space() {
      const root = scratch.next('store')
      return { open: async () => new DirBaselineStore(root) }
    },
    async unavailable() {
      // The store's root lies under a regular file: nothing can be created or read there.
      const file = scratch.next('file')
      writeFileSync(file, 'not a directory')
      return new DirBaselineStore(join(file, 'baselines'))
    }
  }
}

function s3Harness(): StoreHarness {
  const bucket = 'perf-contract'
  let s3rver: Awaited<ReturnType<typeof startS3rver>>
  let proxy: Awaited<ReturnType<typeof startConditionalProxy>>
  let client: S3Client
  let down: S3Client
  let n = 0
  return {
    name: 'S3',
    async start() {
      s3rver = await startS3rver(bucket)
      proxy = await startConditionalProxy(s3rver.port)
      client = clientFor(proxy.port)
      down = clientFor(await closedPort(), { maxAttempts: 1 })
    },
    async stop() {
      client.destroy()
      down.destroy()
      await proxy.close()
      await s3rver.close()
    },
    async space() {
      const prefix = `contract-${++n}`
      return { open: async () => new S3BaselineStore(client, bucket, prefix) }
    },
    unavailable: async () => new S3BaselineStore(down, bucket, 'down', { maxAttempts: 1 })
  }
}

/** Runs `fn` with `env` added to process.env (where `@actions/artifact` reads its settings). */
async function withEnv<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(env).map(k => [k, process.env[k]]))
  Object.assign(process.env, env)
  try {
    return await fn()
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}

function artifactHarness(): StoreHarness {
  const scratch = scratchDirs('perf-gate-contract-artifact-')
  const savedEnv = { ...process.env }
  let gh: FakeGitHub
  let octokit: Octokit
  let down: Octokit

  /**
   * The transport of one job: its first upload starts the job's workflow run on `main`, at the
   * commit of the uploaded document (a baseline's record or a capacity record).
   */
  function jobTransport(repo: string): ArtifactTransport {
    const real = actionsArtifactTransport()
    let run: FakeWorkflowRun | undefined
    return {
      async upload(name, files, rootDirectory, options) {
        if (!run) {
          const doc = JSON.parse(await readFile(files[0], 'utf8'))
          const commit = String(doc.record?.commit ?? doc.commit)
          run = gh.addWorkflowRun({ repo, head_branch: 'main', head_sha: commit })
        }
        return withEnv(gh.actionsEnv(run.id), () => real.upload(name, files, rootDirectory, options))
      },
      download: (artifactId, options) => real.download(artifactId, options)
    }
  }
  const store = (repo: string, client: Octokit, transport: ArtifactTransport) => {
    const [owner, name] = repo.split('/')
    return new ArtifactBaselineStore({
      octokit: client,
      token: 'reader-token',
      owner,
      repo: name,
      baseBranch: 'main',
      transport,
      workDir: scratch.next('work')
    })
  }
  return {
    name: 'artifact',
    async start() {
      scratch.start()
      gh = await startFakeGitHub()
      // `@actions/github` reads GITHUB_API_URL when it is first imported: the fake starts first.
      process.env.GITHUB_API_URL = gh.url
      delete process.env.GITHUB_SERVER_URL
      const { getOctokit } = await import('@actions/github')
      octokit = getOctokit('reader-token', { baseUrl: gh.url })
      down = getOctokit('reader-token', { baseUrl: `http://127.0.0.1:${await closedPort()}` })
    },
    async stop() {
      process.env = savedEnv
      await gh.close()
      scratch.stop()
    },
    space: async repo => ({ open: async () => store(repo, octokit, jobTransport(repo)) }),
    // The API cannot be reached, and outside a workflow job nothing can be uploaded.
    unavailable: async repo => store(repo, down, actionsArtifactTransport({}))
  }
}

/** Every baseline store. */
export const STORE_HARNESSES: StoreHarness[] = [dirHarness(), s3Harness(), artifactHarness()]
