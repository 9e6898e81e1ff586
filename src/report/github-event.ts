/**
 * What the triggering GitHub event means for reporting, read from its name, payload and the
 * environment: the repository, whether it is a pull request (and from a fork), which commit to
 * report on, where baselines come from and whether the token can write. Pure: no API calls.
 */
/** What the triggering event means for reporting. */
export interface EventInfo {
  eventName: string
  owner: string
  repo: string
  isPullRequest: boolean
  prNumber: number | null
  /** The commit to report on: the PR head for pull requests (not GITHUB_SHA, the merge commit). */
  headSha: string
  /** The branch under test (PR head branch, or the pushed/dispatched branch). */
  headRef: string | null
  /** Where baselines come from: the PR's base branch, else the branch of the run itself. */
  baseRef: string | null
  /** The base branch's tip when the PR was last synchronised (payload `pull_request.base.sha`). */
  baseSha: string | null
  /** GitHub's test merge commit for the PR (GITHUB_SHA on `pull_request`), when known. */
  mergeCommitSha: string | null
  /** The commits whose merge base is the PR's baseline point (`git merge-base <base> <head>`). */
  mergeBase: { base: string; head: string } | null
  /** A PR from another repository (head repo ≠ base repo, or a deleted fork). */
  isFork: boolean
  /** Whether the token can write comments/statuses/checks (false for fork and Dependabot PRs on `pull_request`). */
  canWrite: boolean
  /** Why writing is impossible, when it is. */
  readOnlyReason: string | null
  isDefaultBranch: boolean
  defaultBranch: string | null
  runUrl: string | null
}

interface RepoLike {
  id?: number
  full_name?: string
  default_branch?: string
  name?: string
  owner?: { login?: string }
}

interface PullLike {
  number?: number
  head?: { sha?: string; ref?: string; repo?: RepoLike | null }
  base?: { sha?: string; ref?: string; repo?: RepoLike | null }
  merge_commit_sha?: string | null
}

interface PayloadLike {
  pull_request?: PullLike
  number?: number
  repository?: RepoLike
  after?: string
  ref?: string
}

function branchOf(ref: string | undefined | null): string | null {
  if (!ref) return null
  return ref.startsWith('refs/heads/')
    ? ref.slice('refs/heads/'.length)
    : ref.startsWith('refs/')
      ? null
      : ref
}

const PR_EVENTS = new Set([
  'pull_request',
  'pull_request_target',
  'pull_request_review',
  'pull_request_review_comment'
])

/** Reads the event (name, payload, environment) into what reporting needs. Pure. */
export function describeEvent(eventName: string, payload: unknown, env: NodeJS.ProcessEnv): EventInfo {
  const p = (payload && typeof payload === 'object' ? payload : {}) as PayloadLike
  const [envOwner = '', envRepo = ''] = (env.GITHUB_REPOSITORY ?? '').split('/')
  const owner = envOwner || p.repository?.owner?.login || ''
  const repo = envRepo || p.repository?.name || ''
  const defaultBranch = p.repository?.default_branch ?? null
  const server = (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '')
  const runUrl =
    owner && repo && env.GITHUB_RUN_ID
      ? `${server}/${owner}/${repo}/actions/runs/${env.GITHUB_RUN_ID}${env.GITHUB_RUN_ATTEMPT ? `/attempts/${env.GITHUB_RUN_ATTEMPT}` : ''}`
      : null
  const pr = PR_EVENTS.has(eventName) ? p.pull_request : undefined
  if (pr) {
    const headRepo = pr.head?.repo
    const baseRepo = pr.base?.repo ?? p.repository
    const isFork =
      !headRepo ||
      (headRepo.id !== undefined && baseRepo?.id !== undefined
        ? headRepo.id !== baseRepo.id
        : (headRepo.full_name ?? '').toLowerCase() !== (baseRepo?.full_name ?? '').toLowerCase())
    const dependabot = env.GITHUB_ACTOR === 'dependabot[bot]'
    const readOnly = eventName !== 'pull_request_target' && (isFork || dependabot)
    const headSha = pr.head?.sha ?? env.GITHUB_SHA ?? ''
    const baseSha = pr.base?.sha ?? null
    const baseRef = pr.base?.ref ?? env.GITHUB_BASE_REF ?? null
    return {
      eventName,
      owner,
      repo,
      isPullRequest: true,
      prNumber: pr.number ?? p.number ?? null,
      headSha,
      headRef: pr.head?.ref ?? env.GITHUB_HEAD_REF ?? null,
      baseRef,
      baseSha,
      mergeCommitSha: pr.merge_commit_sha ?? (eventName === 'pull_request' ? (env.GITHUB_SHA ?? null) : null),
      mergeBase: baseSha && headSha ? { base: baseSha, head: headSha } : null,
      isFork,
      canWrite: !readOnly,
      readOnlyReason: readOnly
        ? isFork
          ? 'this pull request comes from a fork, so its token is read-only and secrets and OIDC are unavailable'
          : 'Dependabot pull requests get a read-only token'
        : null,
      isDefaultBranch: false,
      defaultBranch: defaultBranch ?? baseRepo?.default_branch ?? null,
      runUrl
    }
  }
  const ref = eventName === 'push' ? (p.ref ?? env.GITHUB_REF) : (env.GITHUB_REF ?? p.ref)
  const branch = env.GITHUB_REF_NAME && env.GITHUB_REF_TYPE !== 'tag' ? env.GITHUB_REF_NAME : branchOf(ref)
  const headSha = (eventName === 'push' ? p.after : undefined) || env.GITHUB_SHA || ''
  return {
    eventName,
    owner,
    repo,
    isPullRequest: false,
    prNumber: null,
    headSha,
    headRef: branch,
    baseRef: branch,
    baseSha: null,
    mergeCommitSha: null,
    mergeBase: null,
    isFork: false,
    canWrite: true,
    readOnlyReason: null,
    // Scheduled workflows always run on the default branch.
    isDefaultBranch:
      eventName === 'schedule' || (branch !== null && defaultBranch !== null && branch === defaultBranch),
    defaultBranch,
    runUrl
  }
}
