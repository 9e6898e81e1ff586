/**
 * Baseline stores behind one interface, chosen by the `baseline-store` value:
 * `s3://bucket/prefix`, `artifact`, `dir:<path>`, or a plain relative/absolute path (the CLI default
 * `.perf-gate/baselines`).
 */
import { ArtifactBaselineStore, type ArtifactTransport, type Octokit } from './artifact.js'
import { dirBaselineStore } from './dir.js'
import { BaselineStoreError } from './model.js'
import type { BaselineStore } from './store.js'
import { s3BaselineStore, type S3StoreOptions } from './s3.js'

export * from './model.js'
export * from './capacity.js'
export * from './store.js'
export { DirBaselineStore, dirBaselineStore } from './dir.js'
export {
  S3BaselineStore,
  s3BaselineStore,
  parseS3Url,
  isConditionalConflict,
  type S3StoreOptions
} from './s3.js'
export {
  ArtifactBaselineStore,
  actionsArtifactTransport,
  artifactName,
  capacityArtifactName,
  type ArtifactStoreOptions,
  type ArtifactTransport,
  type FindBy,
  type Octokit
} from './artifact.js'

/** The CLI's default store. */
export const DEFAULT_BASELINE_STORE = '.perf-gate/baselines'

export interface BaselineStoreContext {
  /** Base for relative `dir:` paths (default: the working directory). */
  cwd?: string
  /** Warnings, e.g. a `dir:` run file that does not parse and is skipped. */
  warn?: (message: string) => void
  /** Environment for defaults (GITHUB_REPOSITORY, GITHUB_BASE_REF, GITHUB_REF_NAME, GITHUB_API_URL). */
  env?: NodeJS.ProcessEnv
  s3?: S3StoreOptions
  github?: {
    token?: string
    octokit?: Octokit
    /** `owner/name`; default GITHUB_REPOSITORY. */
    repository?: string
    /** Branch holding baselines; default GITHUB_BASE_REF (pull requests), else GITHUB_REF_NAME. */
    baseBranch?: string
    transport?: ArtifactTransport
    workDir?: string
    maxRuns?: number
    retentionDays?: number
  }
}

function unknownScheme(spec: string): BaselineStoreError {
  return new BaselineStoreError(
    `baseline-store: unknown scheme "${spec}" (expected s3://bucket/prefix, artifact or dir:<path>)`
  )
}

/** Parses a `baseline-store` value into a store. */
export async function createBaselineStore(
  spec: string,
  ctx: BaselineStoreContext = {}
): Promise<BaselineStore> {
  const value = spec.trim() || DEFAULT_BASELINE_STORE
  const env = ctx.env ?? process.env
  if (value.startsWith('s3://')) return s3BaselineStore(value, ctx.s3)
  if (value.startsWith('dir:')) {
    const path = value.slice(4).trim()
    if (!path) throw new BaselineStoreError(`baseline-store: "${spec}" has no path (expected dir:<path>)`)
    return dirBaselineStore(path, ctx.cwd, ctx.warn)
  }
  if (value === 'artifact') {
    const gh = ctx.github ?? {}
    const repository = gh.repository ?? env.GITHUB_REPOSITORY ?? ''
    const [owner, repo, ...rest] = repository.split('/')
    if (!owner || !repo || rest.length)
      throw new BaselineStoreError(
        `baseline-store "artifact": the repository is unknown (GITHUB_REPOSITORY is "${repository}", expected owner/name)`
      )
    const baseBranch = gh.baseBranch || env.GITHUB_BASE_REF || env.GITHUB_REF_NAME || ''
    if (!baseBranch)
      throw new BaselineStoreError(
        'baseline-store "artifact": the base branch is unknown (neither GITHUB_BASE_REF nor GITHUB_REF_NAME is set)'
      )
    const token = gh.token ?? ''
    if (!token && !gh.octokit)
      throw new BaselineStoreError('baseline-store "artifact": a GitHub token is needed (input github-token)')
    let octokit = gh.octokit
    if (!octokit) {
      const { getOctokit } = await import('@actions/github')
      octokit = getOctokit(token, env.GITHUB_API_URL ? { baseUrl: env.GITHUB_API_URL } : {})
    }
    return new ArtifactBaselineStore({
      octokit,
      token,
      owner,
      repo,
      baseBranch,
      transport: gh.transport,
      workDir: gh.workDir,
      maxRuns: gh.maxRuns,
      retentionDays: gh.retentionDays
    })
  }
  // A plain path (the CLI default and `./x`, `../x`, `/x`) is a directory store.
  if (/^(\.{1,2}(\/|$)|\/|\.[A-Za-z0-9_-])/.test(value) && !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(value))
    return dirBaselineStore(value, ctx.cwd, ctx.warn)
  throw unknownScheme(value)
}
