/**
 * The GitHub side of reporting: the sticky PR comment, the commit status, the check run, the job
 * summary and the outputs. The markdown is rendered elsewhere and what the triggering event means
 * for them is read in ./github-event.ts; these functions only deliver it.
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
