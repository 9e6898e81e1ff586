/**
 * The GitHub side of reporting: the sticky PR comment, the commit status, the check run, the job
 * summary and the outputs, plus what the triggering event means for them (PR number, which SHA to
 * report on, fork PRs). The markdown is rendered elsewhere; these functions only deliver it.
 *
 * A 403 from GitHub (typically "Resource not accessible by integration": the workflow's token lacks
 * a permission, or it is a read-only fork token) becomes one warning naming the missing permission,
 * and the function returns null instead of failing the run.
 */
import * as core from '@actions/core'
import type { getOctokit } from '@actions/github'
import { redactText } from './redact.js'
import type { Outcome } from '../model/index.js'
import { errorMessage } from '../util/index.js'

export type Octokit = ReturnType<typeof getOctokit>

export const DEFAULT_BOT_LOGIN = 'github-actions[bot]'
/** GitHub rejects comment bodies of 65,536 characters or more. */
export const COMMENT_BODY_LIMIT = 65_536
/** Check-run `output.summary` and `output.text` limits. */
export const CHECK_TEXT_LIMIT = 65_535
export const CHECK_TITLE_LIMIT = 255
export const STATUS_DESCRIPTION_LIMIT = 140
/** The runner refuses a step summary over 1 MiB. */
export const JOB_SUMMARY_LIMIT_BYTES = 1024 * 1024

export type Warn = (message: string) => void

/** The permission each operation needs, as written in a workflow's `permissions:` block. */
export const PERMISSIONS = {
  comment: 'pull-requests: write',
  status: 'statuses: write',
  check: 'checks: write'
} as const

interface RequestErrorLike {
  status?: number
  message?: string
  response?: { data?: { message?: string } }
}

function httpStatus(e: unknown): number | undefined {
  const s = (e as RequestErrorLike | null)?.status
  return typeof s === 'number' ? s : undefined
}

function apiMessage(e: unknown): string {
  const err = e as RequestErrorLike | null
  return err?.response?.data?.message || err?.message || String(e)
}

/** A 403 that is a permission problem rather than a rate limit. */
export function isPermissionError(e: unknown): boolean {
  return httpStatus(e) === 403 && !/rate limit/i.test(apiMessage(e))
}

/** The warning for a missing permission. */
export function permissionWarning(action: string, permission: string, e: unknown): string {
  return (
    `perf-gate could not ${action}: GitHub answered 403 "${apiMessage(e)}". The token lacks ` +
    `"${permission}": add it to the job's permissions (fork pull requests get a read-only token; ` +
    'report from a workflow_run workflow instead).'
  )
}

async function guarded<T>(
  action: string,
  permission: string,
  warn: Warn | undefined,
  fn: () => Promise<T>
): Promise<T | null> {
  try {
    return await fn()
  } catch (e) {
    if (!isPermissionError(e)) throw e
    ;(warn ?? core.warning)(permissionWarning(action, permission, e))
    return null
  }
}

function clipChars(s: string, max: number): string {
  if (s.length <= max) return s
  let cut = max
  const code = s.charCodeAt(cut - 1)
  if (code >= 0xd800 && code <= 0xdbff) cut--
  return s.slice(0, cut)
}

/**
 * Shortens text to fewer than `limit` characters, cutting at a line break when one is near and
 * appending `note`. Text that already fits is returned unchanged.
 */
export function truncateText(text: string, limit: number, note: string): string {
  if (text.length < limit) return text
  const suffix = `\n\n${note}`
  const room = Math.max(0, limit - 1 - suffix.length)
  let head = clipChars(text, room)
  const nl = head.lastIndexOf('\n')
  if (nl > room * 0.8) head = head.slice(0, nl)
  return head + suffix
}

export const TRUNCATION_NOTE =
  "_This report was truncated to fit GitHub's size limit; the full report is in the job summary and the run's artifact._"

function sameLogin(a: string | undefined, b: string): boolean {
  const norm = (s: string) => s.toLowerCase().replace(/\[bot\]$/, '')
  return a !== undefined && norm(a) === norm(b)
}

export interface UpsertCommentParams {
  owner: string
  repo: string
  issueNumber: number
  /** Hidden marker identifying the sticky comment, e.g. `<!-- perf-gate:checkout -->`. */
  marker: string
  body: string
  /** Only comments by this user are updated (default `github-actions[bot]`). */
  botLogin?: string
  warn?: Warn
}

export interface CommentResult {
  id: number
  url: string
  created: boolean
}

/** The body as posted: containing the marker, and shorter than GitHub's limit. */
export function commentBody(body: string, marker: string): string {
  const text = redactText(body)
  const withMarker = text.includes(marker) ? text : `${marker}\n${text}`
  if (withMarker.length < COMMENT_BODY_LIMIT) return withMarker
  const rest = withMarker.startsWith(marker) ? withMarker.slice(marker.length) : withMarker
  const short = truncateText(rest, COMMENT_BODY_LIMIT - marker.length - 1, TRUNCATION_NOTE)
  return withMarker.startsWith(marker) ? marker + short : `${marker}\n${short}`
}

/** The existing sticky comment: the first by `botLogin` that contains `marker`. */
export async function findStickyComment(
  octokit: Octokit,
  p: { owner: string; repo: string; issueNumber: number; marker: string; botLogin?: string }
): Promise<{ id: number; html_url: string; body?: string } | null> {
  const bot = p.botLogin ?? DEFAULT_BOT_LOGIN
  for await (const page of octokit.paginate.iterator(octokit.rest.issues.listComments, {
    owner: p.owner,
    repo: p.repo,
    issue_number: p.issueNumber,
    per_page: 100
  })) {
    const hit = page.data.find(c => sameLogin(c.user?.login, bot) && (c.body ?? '').includes(p.marker))
    if (hit) return { id: hit.id, html_url: hit.html_url, body: hit.body ?? undefined }
  }
  return null
}

/** Creates the sticky comment, or updates the bot's existing one; never adds a second one. */
export async function upsertComment(octokit: Octokit, p: UpsertCommentParams): Promise<CommentResult | null> {
  if (!p.marker.trim()) throw new Error('upsertComment: the marker is empty')
  const body = commentBody(p.body, p.marker)
  return guarded(
    `write the pull request comment on #${p.issueNumber}`,
    PERMISSIONS.comment,
    p.warn,
    async () => {
      const existing = await findStickyComment(octokit, p)
      if (existing) {
        const { data } = await octokit.rest.issues.updateComment({
          owner: p.owner,
          repo: p.repo,
          comment_id: existing.id,
          body
        })
        return { id: data.id, url: data.html_url, created: false }
      }
      const { data } = await octokit.rest.issues.createComment({
        owner: p.owner,
        repo: p.repo,
        issue_number: p.issueNumber,
        body
      })
      return { id: data.id, url: data.html_url, created: true }
    }
  )
}

export type CommitState = 'success' | 'failure' | 'error' | 'pending'

/** Shortens to at most `max` characters, ending in an ellipsis when cut. */
export function clip(s: string, max: number): string {
  const one = s.replace(/\s+/g, ' ').trim()
  return one.length <= max ? one : clipChars(one, max - 1).trimEnd() + '…'
}

/**
 * The commit status for a gate outcome. INCONCLUSIVE does not block (success, with a description
 * that says so) unless `failOnInconclusive`.
 */
export function statusForOutcome(
  outcome: Outcome,
  detail = '',
  opts: { failOnInconclusive?: boolean } = {}
): { state: CommitState; description: string } {
  const tail = detail ? `: ${redactText(detail)}` : ''
  switch (outcome) {
    case 'PASS':
      return { state: 'success', description: clip(`PASS${tail}`, STATUS_DESCRIPTION_LIMIT) }
    case 'FAIL':
      return { state: 'failure', description: clip(`FAIL${tail}`, STATUS_DESCRIPTION_LIMIT) }
    case 'ERROR':
      return { state: 'error', description: clip(`ERROR${tail}`, STATUS_DESCRIPTION_LIMIT) }
    case 'CANCELLED':
      return { state: 'error', description: clip(`CANCELLED${tail}`, STATUS_DESCRIPTION_LIMIT) }
    case 'INCONCLUSIVE':
      return opts.failOnInconclusive
        ? {
            state: 'failure',
            description: clip(`INCONCLUSIVE (fail-on-inconclusive)${tail}`, STATUS_DESCRIPTION_LIMIT)
          }
        : {
            state: 'success',
            description: clip(`INCONCLUSIVE, not blocking${tail}`, STATUS_DESCRIPTION_LIMIT)
          }
  }
}

/** The check-run conclusion for a gate outcome (INCONCLUSIVE is neutral unless it should fail). */
export function conclusionForOutcome(
  outcome: Outcome,
  opts: { failOnInconclusive?: boolean } = {}
): 'success' | 'failure' | 'neutral' | 'cancelled' {
  if (outcome === 'PASS') return 'success'
  if (outcome === 'CANCELLED') return 'cancelled'
  if (outcome === 'INCONCLUSIVE') return opts.failOnInconclusive ? 'failure' : 'neutral'
  return 'failure'
}

export interface CommitStatusParams {
  owner: string
  repo: string
  sha: string
  /** e.g. `perf-gate/<scenario>`. */
  context: string
  state: CommitState
  description: string
  targetUrl?: string | null
  warn?: Warn
}

/** Sets the commit status (description cut to 140 characters). */
export async function setCommitStatus(
  octokit: Octokit,
  p: CommitStatusParams
): Promise<{ id: number; state: CommitState; description: string } | null> {
  const description = clip(redactText(p.description), STATUS_DESCRIPTION_LIMIT)
  return guarded(`set the commit status ${p.context}`, PERMISSIONS.status, p.warn, async () => {
    const { data } = await octokit.rest.repos.createCommitStatus({
      owner: p.owner,
      repo: p.repo,
      sha: p.sha,
      state: p.state,
      context: p.context,
      description,
      ...(p.targetUrl && /^https?:\/\//.test(p.targetUrl) ? { target_url: p.targetUrl } : {})
    })
    return { id: data.id, state: p.state, description }
  })
}

export interface CheckRunParams {
  owner: string
  repo: string
  headSha: string
  name: string
  conclusion: 'success' | 'failure' | 'neutral' | 'cancelled'
  title: string
  summary: string
  text?: string
  detailsUrl?: string | null
  warn?: Warn
}

/** Creates a completed check run; title, summary and text are cut to GitHub's limits. */
export async function createCheckRun(
  octokit: Octokit,
  p: CheckRunParams
): Promise<{ id: number; url: string } | null> {
  const output = {
    title: clip(redactText(p.title), CHECK_TITLE_LIMIT),
    summary: truncateText(redactText(p.summary), CHECK_TEXT_LIMIT + 1, TRUNCATION_NOTE),
    ...(p.text ? { text: truncateText(redactText(p.text), CHECK_TEXT_LIMIT + 1, TRUNCATION_NOTE) } : {})
  }
  return guarded(`create the check run "${p.name}"`, PERMISSIONS.check, p.warn, async () => {
    const { data } = await octokit.rest.checks.create({
      owner: p.owner,
      repo: p.repo,
      head_sha: p.headSha,
      name: p.name,
      status: 'completed',
      conclusion: p.conclusion,
      completed_at: new Date().toISOString(),
      output,
      ...(p.detailsUrl && /^https?:\/\//.test(p.detailsUrl) ? { details_url: p.detailsUrl } : {})
    })
    return { id: data.id, url: data.html_url ?? '' }
  })
}

/** Cuts markdown to at most `maxBytes` UTF-8 bytes (with a note when cut). */
export function capBytes(markdown: string, maxBytes: number, note = TRUNCATION_NOTE): string {
  if (Buffer.byteLength(markdown, 'utf8') <= maxBytes) return markdown
  const suffix = `\n\n${note}\n`
  const budget = maxBytes - Buffer.byteLength(suffix, 'utf8')
  const buf = Buffer.from(markdown, 'utf8')
  let end = Math.max(0, budget)
  while (end > 0 && (buf[end] & 0xc0) === 0x80) end--
  let head = buf.subarray(0, end).toString('utf8')
  const nl = head.lastIndexOf('\n')
  if (nl > head.length * 0.8) head = head.slice(0, nl)
  return head + suffix
}

/**
 * Appends markdown to the job summary, capped below the runner's 1 MiB limit. Returns false (with a
 * warning) when there is no job summary (GITHUB_STEP_SUMMARY unset, e.g. outside Actions).
 */
export async function writeJobSummary(markdown: string, warn?: Warn): Promise<boolean> {
  const text = capBytes(redactText(markdown), JOB_SUMMARY_LIMIT_BYTES - 1024)
  try {
    await core.summary.addRaw(text, true).write()
    return true
  } catch (e) {
    core.summary.emptyBuffer()
    ;(warn ?? core.warning)(`perf-gate could not write the job summary: ${errorMessage(e)}`)
    return false
  }
}

export type OutputValue = string | number | boolean | null | undefined

/** Sets step outputs; undefined, null and non-finite numbers are left unset. */
export function setOutputs(outputs: Record<string, OutputValue>): string[] {
  const set: string[] = []
  for (const [name, v] of Object.entries(outputs)) {
    if (v === undefined || v === null) continue
    if (typeof v === 'number' && !Number.isFinite(v)) continue
    core.setOutput(name, typeof v === 'string' ? v : String(v))
    set.push(name)
  }
  return set
}

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
