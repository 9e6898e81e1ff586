/**
 * A loopback fake of the parts of the GitHub REST API (and of the Actions artifact service) that
 * perf-gate uses, recording every request. It is a real HTTP server on 127.0.0.1 (port 0), so it
 * works with `@actions/github` (whose undici-based fetch nock/msw cannot intercept) and with a
 * spawned `node dist/index.js`.
 *
 * Usage:
 *
 *   const gh = await startFakeGitHub()
 *   const octokit = getOctokit('t0ken', { baseUrl: gh.url })        // in-process
 *   // or, for a child process / the bundled action: env GITHUB_API_URL=gh.url (read at import time);
 *   // spawn it with the async `spawn` (spawnSync blocks the event loop this in-process server needs)
 *   ...
 *   gh.requests          // [{method, path, query, body, headers}], in arrival order
 *   gh.state.comments    // { 'owner/repo#12': [comment, ...] }, plus statuses, checkRuns, workflowRuns, artifacts
 *   await gh.close()
 *
 * Endpoints (owner/repo are free-form; every repository exists):
 *   GET/POST  /repos/{o}/{r}/issues/{n}/comments           paginated (per_page ≤ 100, Link header)
 *   GET/PATCH /repos/{o}/{r}/issues/comments/{id}
 *   POST      /repos/{o}/{r}/statuses/{sha}                 422 on a bad state or a description > 140
 *   GET       /repos/{o}/{r}/commits/{ref}/statuses
 *   POST      /repos/{o}/{r}/check-runs, GET/PATCH /repos/{o}/{r}/check-runs/{id}   422 on summary/text > 65,535
 *   GET       /repos/{o}/{r}/actions/artifacts[?name=]      newest first, paginated
 *   GET       /repos/{o}/{r}/actions/artifacts/{id}, /actions/artifacts/{id}/zip (302 to a blob URL here)
 *   GET       /repos/{o}/{r}/actions/runs/{id}, /actions/runs/{id}/artifacts[?name=]
 *   POST      /twirp/github.actions.results.api.v1.ArtifactService/{CreateArtifact,FinalizeArtifact,
 *             ListArtifacts,GetSignedArtifactURL}, plus Azure-style block blob PUTs: enough for
 *             `@actions/artifact` uploadArtifact/downloadArtifact to run for real against it, with the
 *             environment from `actionsEnv(runId)`.
 * Comments bodies of 65,536+ characters get GitHub's 422.
 *
 * Identity and permissions: a request's user is `tokens[token]` when `tokens` is given (unknown
 * tokens get 401), else `botLogin` (default `github-actions[bot]`). `setPermission('statuses',
 * 'read')` etc. makes the matching endpoints answer 403 "Resource not accessible by integration", as
 * a workflow token without that permission does. Comment endpoints accept `pull-requests` or `issues`.
 * `failNext(method, pathRegex, status)` makes the next matching request(s) fail.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createHash, randomUUID } from 'node:crypto'
import { crc32, inflateRawSync } from 'node:zlib'
import type { AddressInfo } from 'node:net'

export interface RecordedRequest {
  method: string
  path: string
  query: Record<string, string>
  /** Parsed JSON, a string for text/XML bodies, a Buffer for binary ones, undefined when empty. */
  body: unknown
  headers: Record<string, string | undefined>
}

export interface FakeUser {
  login: string
  id: number
  type: 'Bot' | 'User'
}

export interface FakeComment {
  id: number
  repo: string
  issue: number
  body: string
  user: FakeUser
  html_url: string
  created_at: string
  updated_at: string
}

export interface FakeStatus {
  id: number
  repo: string
  sha: string
  state: string
  context: string
  description: string | null
  target_url: string | null
  creator: FakeUser
  created_at: string
}

export interface FakeCheckRun {
  id: number
  repo: string
  head_sha: string
  name: string
  status: string
  conclusion: string | null
  details_url: string | null
  output: { title?: string; summary?: string; text?: string; annotations?: unknown[] }
  html_url: string
  started_at: string
  completed_at: string | null
}

export interface FakeWorkflowRun {
  id: number
  repo: string
  /** `owner/name` of the head repository (differs from `repo` for a fork's PR run). */
  headRepo: string
  head_branch: string
  head_sha: string
  event: string
  status: string
  conclusion: string | null
  created_at: string
  /** The Actions backend ids used in the runtime token of this run. */
  backendRunId: string
  backendJobId: string
}

export interface FakeArtifact {
  id: number
  repo: string
  name: string
  workflowRunId: number
  zip: Buffer
  digest: string
  created_at: string
  expired: boolean
}

export interface FakeState {
  /** Comments per issue/PR, keyed `owner/repo#number`, oldest first. */
  comments: Record<string, FakeComment[]>
  statuses: FakeStatus[]
  checkRuns: FakeCheckRun[]
  workflowRuns: FakeWorkflowRun[]
  artifacts: FakeArtifact[]
}

export type Permission = 'pull-requests' | 'issues' | 'statuses' | 'checks' | 'actions'
export type PermissionLevel = 'none' | 'read' | 'write'

export interface FakeGitHubOptions {
  /** Login of the default user (the workflow token's bot). */
  botLogin?: string
  /** token → login; when given, other tokens get 401. */
  tokens?: Record<string, string>
  permissions?: Partial<Record<Permission, PermissionLevel>>
}

export interface AddWorkflowRun {
  repo: string
  head_branch: string
  head_sha: string
  id?: number
  headRepo?: string
  event?: string
  status?: string
  conclusion?: string | null
  created_at?: string
}

export interface AddArtifact {
  repo: string
  workflowRunId: number
  name: string
  /** File name → content, zipped like an uploaded artifact. */
  files: Record<string, string | Buffer>
  created_at?: string
  expired?: boolean
}

export interface FakeGitHub {
  /** Base URL, e.g. `http://127.0.0.1:43123` (no trailing slash). */
  url: string
  requests: RecordedRequest[]
  state: FakeState
  /** The comments on one issue/PR (live array). */
  comments(owner: string, repo: string, issue: number): FakeComment[]
  /** Adds a comment as `login` (default: the bot). */
  addComment(repo: string, issue: number, body: string, login?: string): FakeComment
  addWorkflowRun(run: AddWorkflowRun): FakeWorkflowRun
  addArtifact(a: AddArtifact): FakeArtifact
  /** The files inside an artifact's zip. */
  artifactFiles(id: number): Record<string, Buffer>
  /** Environment for `@actions/artifact` inside workflow run `runId` (runtime token, results URL, API URL). */
  actionsEnv(runId: number): Record<string, string>
  setPermission(p: Permission, level: PermissionLevel): void
  /** The next `times` requests matching make GitHub-style errors with `status`. */
  failNext(method: string, path: RegExp, status: number, message?: string, times?: number): void
  /** Requests matching a method and a path pattern. */
  find(method: string, path: RegExp): RecordedRequest[]
  close(): Promise<void>
}

/** Builds a zip (stored, no compression) of the given files. */
export function makeZip(files: Record<string, string | Buffer>): Buffer {
  const locals: Buffer[] = []
  const centrals: Buffer[] = []
  let offset = 0
  for (const [name, content] of Object.entries(files)) {
    const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content
    const nameBuf = Buffer.from(name, 'utf8')
    const crc = crc32(data)
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4)
    local.writeUInt16LE(0x0800, 6)
    local.writeUInt16LE(0, 8)
    local.writeUInt16LE(0, 10)
    local.writeUInt16LE(0x21, 12)
    local.writeUInt32LE(crc, 14)
    local.writeUInt32LE(data.length, 18)
    local.writeUInt32LE(data.length, 22)
    local.writeUInt16LE(nameBuf.length, 26)
    local.writeUInt16LE(0, 28)
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE(20, 4)
    central.writeUInt16LE(20, 6)
    central.writeUInt16LE(0x0800, 8)
    central.writeUInt16LE(0, 10)
    central.writeUInt16LE(0, 12)
    central.writeUInt16LE(0x21, 14)
    central.writeUInt32LE(crc, 16)
    central.writeUInt32LE(data.length, 20)
    central.writeUInt32LE(data.length, 24)
    central.writeUInt16LE(nameBuf.length, 28)
    central.writeUInt32LE(offset, 42)
    locals.push(local, nameBuf, data)
    centrals.push(central, nameBuf)
    offset += local.length + nameBuf.length + data.length
  }
  const cd = Buffer.concat(centrals)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  const count = Object.keys(files).length
  end.writeUInt16LE(count, 8)
  end.writeUInt16LE(count, 10)
  end.writeUInt32LE(cd.length, 12)
  end.writeUInt32LE(offset, 16)
  return Buffer.concat([...locals, cd, end])
}

/** Reads the files of a zip (stored or deflated entries, as `@actions/artifact` writes them). */
export function readZip(zip: Buffer): Record<string, Buffer> {
  let eocd = -1
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65_535); i--)
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i
      break
    }
  if (eocd < 0) throw new Error('not a zip file (no end of central directory)')
  const count = zip.readUInt16LE(eocd + 10)
  let p = zip.readUInt32LE(eocd + 16)
  const out: Record<string, Buffer> = {}
  for (let k = 0; k < count; k++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error('bad zip central directory')
    const method = zip.readUInt16LE(p + 10)
    const compSize = zip.readUInt32LE(p + 20)
    const nameLen = zip.readUInt16LE(p + 28)
    const extraLen = zip.readUInt16LE(p + 30)
    const commentLen = zip.readUInt16LE(p + 32)
    const localOffset = zip.readUInt32LE(p + 42)
    const name = zip.toString('utf8', p + 46, p + 46 + nameLen)
    const lName = zip.readUInt16LE(localOffset + 26)
    const lExtra = zip.readUInt16LE(localOffset + 28)
    const start = localOffset + 30 + lName + lExtra
    const raw = zip.subarray(start, start + compSize)
    if (!name.endsWith('/')) out[name] = method === 8 ? inflateRawSync(raw) : Buffer.from(raw)
    p += 46 + nameLen + extraLen + commentLen
  }
  return out
}

const TWIRP = '/twirp/github.actions.results.api.v1.ArtifactService/'
const NOT_ACCESSIBLE = 'Resource not accessible by integration'

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {}
  ) {
    super(message)
  }
}

function validation(resource: string, field: string, message: string): HttpError {
  return new HttpError(422, 'Validation Failed', { errors: [{ resource, code: 'custom', field, message }] })
}

interface Ctx {
  req: IncomingMessage
  res: ServerResponse
  method: string
  path: string
  query: URLSearchParams
  params: string[]
  body: unknown
  raw: Buffer
  user: FakeUser
}

type Handler = (c: Ctx) => void | Promise<void>

function b64url(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64url')
}

/** Starts the fake on 127.0.0.1 with an ephemeral port. */
export async function startFakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const botLogin = options.botLogin ?? 'github-actions[bot]'
  const permissions: Record<Permission, PermissionLevel> = {
    'pull-requests': 'write',
    issues: 'write',
    statuses: 'write',
    checks: 'write',
    actions: 'write',
    ...options.permissions
  }
  const state: FakeState = { comments: {}, statuses: [], checkRuns: [], workflowRuns: [], artifacts: [] }
  const requests: RecordedRequest[] = []
  const failures: { method: string; path: RegExp; status: number; message: string; times: number }[] = []
  const users = new Map<string, FakeUser>()
  const repoIds = new Map<string, number>()
  const uploads = new Map<
    string,
    { runId: number; name: string; blocks: Map<string, Buffer>; data: Buffer | null }
  >()
  let nextId = 1000
  let baseUrl = ''

  const userFor = (login: string): FakeUser => {
    let u = users.get(login)
    if (!u) {
      u = { login, id: 5000 + users.size, type: login.endsWith('[bot]') ? 'Bot' : 'User' }
      users.set(login, u)
    }
    return u
  }
  const repoId = (full: string): number => {
    const key = full.toLowerCase()
    if (!repoIds.has(key)) repoIds.set(key, 100 + repoIds.size)
    return repoIds.get(key)!
  }
  const now = () => new Date().toISOString()
  const need = (levels: Permission[], level: 'read' | 'write') => {
    const ok = levels.some(p => permissions[p] === 'write' || (level === 'read' && permissions[p] === 'read'))
    if (!ok) throw new HttpError(403, NOT_ACCESSIBLE)
  }
  const commentsOf = (repo: string, issue: number): FakeComment[] => {
    const key = `${repo}#${issue}`
    return (state.comments[key] ??= [])
  }
  const commentJson = (c: FakeComment) => ({
    id: c.id,
    node_id: `IC_${c.id}`,
    url: `${baseUrl}/repos/${c.repo}/issues/comments/${c.id}`,
    html_url: c.html_url,
    issue_url: `${baseUrl}/repos/${c.repo}/issues/${c.issue}`,
    body: c.body,
    user: c.user,
    created_at: c.created_at,
    updated_at: c.updated_at,
    author_association: c.user.type === 'Bot' ? 'NONE' : 'MEMBER'
  })
  const runOf = (id: number) => state.workflowRuns.find(r => r.id === id)
  const artifactJson = (a: FakeArtifact) => {
    const run = runOf(a.workflowRunId)
    return {
      id: a.id,
      node_id: `A_${a.id}`,
      name: a.name,
      size_in_bytes: a.zip.length,
      url: `${baseUrl}/repos/${a.repo}/actions/artifacts/${a.id}`,
      archive_download_url: `${baseUrl}/repos/${a.repo}/actions/artifacts/${a.id}/zip`,
      expired: a.expired,
      digest: a.digest,
      created_at: a.created_at,
      updated_at: a.created_at,
      expires_at: a.created_at,
      workflow_run: run
        ? {
            id: run.id,
            repository_id: repoId(run.repo),
            head_repository_id: repoId(run.headRepo),
            head_branch: run.head_branch,
            head_sha: run.head_sha
          }
        : null
    }
  }
  const runJson = (r: FakeWorkflowRun) => ({
    id: r.id,
    name: 'perf',
    head_branch: r.head_branch,
    head_sha: r.head_sha,
    event: r.event,
    status: r.status,
    conclusion: r.conclusion,
    created_at: r.created_at,
    updated_at: r.created_at,
    html_url: `https://github.com/${r.repo}/actions/runs/${r.id}`,
    repository: { id: repoId(r.repo), full_name: r.repo },
    head_repository: { id: repoId(r.headRepo), full_name: r.headRepo }
  })

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = body === undefined ? '' : JSON.stringify(body)
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
    res.end(text)
  }
  const paginate = <T>(c: Ctx, items: T[]): { page: T[]; headers: Record<string, string> } => {
    const perPage = Math.min(100, Math.max(1, Number(c.query.get('per_page') ?? 30) || 30))
    const page = Math.max(1, Number(c.query.get('page') ?? 1) || 1)
    const last = Math.max(1, Math.ceil(items.length / perPage))
    const link = (n: number, rel: string) => {
      const q = new URLSearchParams(c.query)
      q.set('page', String(n))
      q.set('per_page', String(perPage))
      return `<${baseUrl}${c.path}?${q.toString()}>; rel="${rel}"`
    }
    const links: string[] = []
    if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'))
    if (page > 1) links.push(link(1, 'first'), link(page - 1, 'prev'))
    return {
      page: items.slice((page - 1) * perPage, page * perPage),
      headers: links.length ? { link: links.join(', ') } : {}
    }
  }
  const repoOf = (c: Ctx) => `${c.params[0]}/${c.params[1]}`

  const addComment = (repo: string, issue: number, body: string, login = botLogin): FakeComment => {
    const id = nextId++
    const t = now()
    const c: FakeComment = {
      id,
      repo,
      issue,
      body,
      user: userFor(login),
      html_url: `https://github.com/${repo}/pull/${issue}#issuecomment-${id}`,
      created_at: t,
      updated_at: t
    }
    commentsOf(repo, issue).push(c)
    return c
  }
  const findComment = (repo: string, id: number) => {
    for (const [key, list] of Object.entries(state.comments)) {
      if (!key.startsWith(`${repo}#`)) continue
      const hit = list.find(c => c.id === id)
      if (hit) return hit
    }
    return undefined
  }
  const checkBody = (body: unknown): string => {
    if (typeof body !== 'string' || body.length === 0)
      throw validation('IssueComment', 'body', 'body is missing')
    if (body.length >= 65_536)
      throw validation('IssueComment', 'body', 'Body is too long (maximum is 65536 characters)')
    return body
  }
  const checkOutput = (output: unknown) => {
    const o = (output ?? {}) as FakeCheckRun['output']
    for (const f of ['summary', 'text'] as const)
      if (typeof o[f] === 'string' && o[f]!.length > 65_535)
        throw validation('CheckRun', `output.${f}`, `${f} is too long (maximum is 65535 characters)`)
    if (Array.isArray(o.annotations) && o.annotations.length > 50)
      throw validation('CheckRun', 'output.annotations', 'at most 50 annotations per request')
    return o
  }

  const addWorkflowRun = (r: AddWorkflowRun): FakeWorkflowRun => {
    const run: FakeWorkflowRun = {
      id: r.id ?? nextId++,
      repo: r.repo,
      headRepo: r.headRepo ?? r.repo,
      head_branch: r.head_branch,
      head_sha: r.head_sha,
      event: r.event ?? 'push',
      status: r.status ?? 'completed',
      conclusion: r.conclusion === undefined ? 'success' : r.conclusion,
      created_at: r.created_at ?? now(),
      backendRunId: randomUUID(),
      backendJobId: randomUUID()
    }
    state.workflowRuns.push(run)
    return run
  }
  const storeArtifact = (
    repo: string,
    runId: number,
    name: string,
    zip: Buffer,
    createdAt?: string,
    expired = false
  ) => {
    const a: FakeArtifact = {
      id: nextId++,
      repo,
      name,
      workflowRunId: runId,
      zip,
      digest: `sha256:${createHash('sha256').update(zip).digest('hex')}`,
      created_at: createdAt ?? now(),
      expired
    }
    state.artifacts.push(a)
    return a
  }
  const runFromToken = (c: Ctx): FakeWorkflowRun => {
    const auth = c.req.headers.authorization ?? ''
    const jwt = auth.replace(/^Bearer\s+/i, '')
    let scp = ''
    try {
      scp = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')).scp ?? ''
    } catch {
      scp = ''
    }
    const ids = scp
      .split(' ')
      .map(s => s.split(':'))
      .find(p => p[0] === 'Actions.Results')
    const run = ids && state.workflowRuns.find(r => r.backendRunId === ids[1])
    if (!run)
      throw new HttpError(401, 'invalid runtime token', {
        code: 'unauthenticated',
        msg: 'invalid runtime token'
      })
    return run
  }
  const twirpError = (status: number, code: string, msg: string) => new HttpError(status, msg, { code, msg })

  const routes: [string, RegExp, Handler][] = [
    [
      'GET',
      /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/,
      c => {
        need(['pull-requests', 'issues'], 'read')
        const list = [...commentsOf(repoOf(c), Number(c.params[2]))].sort((a, b) => a.id - b.id)
        const { page, headers } = paginate(c, list)
        send(c.res, 200, page.map(commentJson), headers)
      }
    ],
    [
      'POST',
      /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/,
      c => {
        need(['pull-requests', 'issues'], 'write')
        const body = checkBody((c.body as { body?: unknown } | undefined)?.body)
        send(c.res, 201, commentJson(addComment(repoOf(c), Number(c.params[2]), body, c.user.login)))
      }
    ],
    [
      'GET',
      /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/,
      c => {
        need(['pull-requests', 'issues'], 'read')
        const hit = findComment(repoOf(c), Number(c.params[2]))
        if (!hit) throw new HttpError(404, 'Not Found')
        send(c.res, 200, commentJson(hit))
      }
    ],
    [
      'PATCH',
      /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/,
      c => {
        need(['pull-requests', 'issues'], 'write')
        const hit = findComment(repoOf(c), Number(c.params[2]))
        if (!hit) throw new HttpError(404, 'Not Found')
        hit.body = checkBody((c.body as { body?: unknown } | undefined)?.body)
        hit.updated_at = now()
        send(c.res, 200, commentJson(hit))
      }
    ],
    [
      'POST',
      /^\/repos\/([^/]+)\/([^/]+)\/statuses\/([^/]+)$/,
      c => {
        need(['statuses'], 'write')
        const b = (c.body ?? {}) as Record<string, unknown>
        if (!['pending', 'success', 'failure', 'error'].includes(String(b.state)))
          throw validation('Status', 'state', `state is not included in the list`)
        if (typeof b.description === 'string' && b.description.length > 140)
          throw validation('Status', 'description', 'description is too long (maximum is 140 characters)')
        const s: FakeStatus = {
          id: nextId++,
          repo: repoOf(c),
          sha: c.params[2],
          state: String(b.state),
          context: typeof b.context === 'string' ? b.context : 'default',
          description: typeof b.description === 'string' ? b.description : null,
          target_url: typeof b.target_url === 'string' ? b.target_url : null,
          creator: c.user,
          created_at: now()
        }
        state.statuses.push(s)
        send(c.res, 201, { ...s, url: `${baseUrl}/repos/${s.repo}/statuses/${s.sha}` })
      }
    ],
    [
      'GET',
      /^\/repos\/([^/]+)\/([^/]+)\/commits\/([^/]+)\/statuses$/,
      c => {
        need(['statuses'], 'read')
        const list = state.statuses.filter(s => s.repo === repoOf(c) && s.sha === c.params[2]).reverse()
        const { page, headers } = paginate(c, list)
        send(c.res, 200, page, headers)
      }
    ],
    [
      'POST',
      /^\/repos\/([^/]+)\/([^/]+)\/check-runs$/,
      c => {
        need(['checks'], 'write')
        const b = (c.body ?? {}) as Record<string, unknown>
        if (typeof b.name !== 'string' || !b.name) throw validation('CheckRun', 'name', 'name is missing')
        if (typeof b.head_sha !== 'string' || !b.head_sha)
          throw validation('CheckRun', 'head_sha', 'head_sha is missing')
        const conclusions = [
          'success',
          'failure',
          'neutral',
          'cancelled',
          'skipped',
          'timed_out',
          'action_required'
        ]
        if (b.conclusion !== undefined && !conclusions.includes(String(b.conclusion)))
          throw validation('CheckRun', 'conclusion', 'conclusion is not included in the list')
        if (b.status === 'completed' && b.conclusion === undefined)
          throw validation('CheckRun', 'conclusion', 'conclusion is required when status is completed')
        const id = nextId++
        const run: FakeCheckRun = {
          id,
          repo: repoOf(c),
          head_sha: b.head_sha,
          name: b.name,
          status: typeof b.status === 'string' ? b.status : b.conclusion ? 'completed' : 'queued',
          conclusion: typeof b.conclusion === 'string' ? b.conclusion : null,
          details_url: typeof b.details_url === 'string' ? b.details_url : null,
          output: checkOutput(b.output),
          html_url: `https://github.com/${repoOf(c)}/runs/${id}`,
          started_at: now(),
          completed_at: b.conclusion ? now() : null
        }
        state.checkRuns.push(run)
        send(c.res, 201, run)
      }
    ],
    [
      'GET',
      /^\/repos\/([^/]+)\/([^/]+)\/check-runs\/(\d+)$/,
      c => {
        need(['checks'], 'read')
        const hit = state.checkRuns.find(r => r.id === Number(c.params[2]))
        if (!hit) throw new HttpError(404, 'Not Found')
        send(c.res, 200, hit)
      }
    ],
    [
      'PATCH',
      /^\/repos\/([^/]+)\/([^/]+)\/check-runs\/(\d+)$/,
      c => {
        need(['checks'], 'write')
        const hit = state.checkRuns.find(r => r.id === Number(c.params[2]))
        if (!hit) throw new HttpError(404, 'Not Found')
        const b = (c.body ?? {}) as Record<string, unknown>
        if (b.output) {
          const o = checkOutput(b.output)
          const annotations = [...(hit.output.annotations ?? []), ...(o.annotations ?? [])]
          hit.output = { ...hit.output, ...o, annotations }
        }
        if (typeof b.conclusion === 'string') {
          hit.conclusion = b.conclusion
          hit.status = 'completed'
          hit.completed_at = now()
        }
        send(c.res, 200, hit)
      }
    ],
    [
      'GET',
      /^\/repos\/([^/]+)\/([^/]+)\/actions\/artifacts$/,
      c => {
        need(['actions'], 'read')
        const name = c.query.get('name')
        const list = state.artifacts
          .filter(a => a.repo === repoOf(c) && (name === null || a.name === name))
          .sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id - a.id)
        const { page, headers } = paginate(c, list)
        send(c.res, 200, { total_count: list.length, artifacts: page.map(artifactJson) }, headers)
      }
    ],
    [
      'GET',
      /^\/repos\/([^/]+)\/([^/]+)\/actions\/artifacts\/(\d+)$/,
      c => {
        need(['actions'], 'read')
        const a = state.artifacts.find(x => x.id === Number(c.params[2]) && x.repo === repoOf(c))
        if (!a) throw new HttpError(404, 'Not Found')
        send(c.res, 200, artifactJson(a))
      }
    ],
    [
      'GET',
      /^\/repos\/([^/]+)\/([^/]+)\/actions\/artifacts\/(\d+)\/(zip)$/,
      c => {
        need(['actions'], 'read')
        const a = state.artifacts.find(x => x.id === Number(c.params[2]) && x.repo === repoOf(c))
        if (!a) throw new HttpError(404, 'Not Found')
        if (a.expired) throw new HttpError(410, 'Artifact has expired')
        c.res.writeHead(302, { location: `${baseUrl}/_blob/artifact/${a.id}?sig=fake-signature` })
        c.res.end()
      }
    ],
    [
      'GET',
      /^\/repos\/([^/]+)\/([^/]+)\/actions\/runs\/(\d+)$/,
      c => {
        need(['actions'], 'read')
        const r = runOf(Number(c.params[2]))
        if (!r || r.repo !== repoOf(c)) throw new HttpError(404, 'Not Found')
        send(c.res, 200, runJson(r))
      }
    ],
    [
      'GET',
      /^\/repos\/([^/]+)\/([^/]+)\/actions\/runs\/(\d+)\/artifacts$/,
      c => {
        need(['actions'], 'read')
        const name = c.query.get('name')
        const list = state.artifacts
          .filter(
            a =>
              a.repo === repoOf(c) &&
              a.workflowRunId === Number(c.params[2]) &&
              (name === null || a.name === name)
          )
          .sort((a, b) => a.id - b.id)
        const { page, headers } = paginate(c, list)
        send(c.res, 200, { total_count: list.length, artifacts: page.map(artifactJson) }, headers)
      }
    ],
    [
      'GET',
      /^\/_blob\/artifact\/(\d+)$/,
      c => {
        if (c.query.get('sig') !== 'fake-signature') throw new HttpError(403, 'bad signature')
        const a = state.artifacts.find(x => x.id === Number(c.params[0]))
        if (!a) throw new HttpError(404, 'BlobNotFound')
        c.res.writeHead(200, { 'content-type': 'application/zip', 'content-length': String(a.zip.length) })
        c.res.end(a.zip)
      }
    ],
    [
      'PUT',
      /^\/_blob\/upload\/([^/]+)$/,
      c => {
        const up = uploads.get(c.params[0])
        if (!up || c.query.get('sig') !== 'fake-signature') throw new HttpError(403, 'AuthenticationFailed')
        const comp = c.query.get('comp')
        if (comp === 'block') up.blocks.set(c.query.get('blockid') ?? '', c.raw)
        else if (comp === 'blocklist') {
          const ids = [
            ...c.raw.toString('utf8').matchAll(/<(?:Latest|Uncommitted|Committed)>([^<]*)<\//g)
          ].map(m => m[1])
          up.data = Buffer.concat(ids.map(id => up.blocks.get(id) ?? Buffer.alloc(0)))
        } else up.data = c.raw
        c.res.writeHead(201, {
          etag: `"0x${createHash('md5')
            .update(up.data ?? c.raw)
            .digest('hex')
            .slice(0, 16)}"`,
          'last-modified': new Date().toUTCString(),
          'x-ms-request-id': randomUUID(),
          'x-ms-version': '2024-11-04',
          'x-ms-request-server-encrypted': 'true'
        })
        c.res.end()
      }
    ],
    [
      'POST',
      new RegExp(
        `^${TWIRP.replace(/\./g, '\\.')}(CreateArtifact|FinalizeArtifact|ListArtifacts|GetSignedArtifactURL)$`
      ),
      c => {
        const run = runFromToken(c)
        const b = (c.body ?? {}) as Record<string, unknown>
        const name = typeof b.name === 'string' ? b.name : ''
        switch (c.params[0]) {
          case 'CreateArtifact': {
            if (state.artifacts.some(a => a.workflowRunId === run.id && a.name === name))
              throw twirpError(
                409,
                'already_exists',
                `an artifact with this name already exists on the workflow run`
              )
            const key = randomUUID()
            uploads.set(key, { runId: run.id, name, blocks: new Map(), data: null })
            send(c.res, 200, {
              ok: true,
              signed_upload_url: `${baseUrl}/_blob/upload/${key}?sig=fake-signature`
            })
            return
          }
          case 'FinalizeArtifact': {
            const entry = [...uploads.entries()].find(
              ([, u]) => u.runId === run.id && u.name === name && u.data
            )
            if (!entry) throw twirpError(404, 'not_found', 'no uploaded artifact with this name')
            uploads.delete(entry[0])
            const a = storeArtifact(run.repo, run.id, name, entry[1].data!)
            send(c.res, 200, { ok: true, artifact_id: String(a.id) })
            return
          }
          case 'ListArtifacts': {
            const idFilter = (b.id_filter ?? null) as string | null
            const nameFilter = (b.name_filter ?? null) as string | null
            const list = state.artifacts.filter(
              a =>
                a.workflowRunId === run.id &&
                (idFilter === null || String(a.id) === String(idFilter)) &&
                (nameFilter === null || a.name === nameFilter)
            )
            send(c.res, 200, {
              artifacts: list.map(a => ({
                workflow_run_backend_id: run.backendRunId,
                workflow_job_run_backend_id: run.backendJobId,
                database_id: String(a.id),
                name: a.name,
                size: String(a.zip.length),
                created_at: a.created_at,
                digest: a.digest
              }))
            })
            return
          }
          default: {
            const a = state.artifacts.find(x => x.workflowRunId === run.id && x.name === name)
            if (!a) throw twirpError(404, 'not_found', 'artifact not found')
            send(c.res, 200, { name, signed_url: `${baseUrl}/_blob/artifact/${a.id}?sig=fake-signature` })
          }
        }
      }
    ]
  ]

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const raw = Buffer.concat(chunks)
    const u = new URL(req.url ?? '/', 'http://127.0.0.1')
    const method = (req.method ?? 'GET').toUpperCase()
    const path = u.pathname.replace(/\/+$/, '') || '/'
    const type = req.headers['content-type'] ?? ''
    let body: unknown = undefined
    if (raw.length) {
      if (/json/.test(type)) {
        try {
          body = JSON.parse(raw.toString('utf8'))
        } catch {
          body = raw.toString('utf8')
        }
      } else if (/^text\/|xml/.test(type)) body = raw.toString('utf8')
      else body = raw
    }
    const headers: Record<string, string | undefined> = {}
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v
    requests.push({ method, path, query: Object.fromEntries(u.searchParams), body, headers })
    try {
      const fail = failures.find(f => f.times > 0 && f.method === method && f.path.test(path))
      if (fail) {
        fail.times--
        throw new HttpError(fail.status, fail.message)
      }
      let user = userFor(botLogin)
      if (!path.startsWith('/_blob/') && !path.startsWith('/twirp/')) {
        const token = (req.headers.authorization ?? '').replace(/^(token|bearer)\s+/i, '')
        if (options.tokens) {
          const login = options.tokens[token]
          if (!login) throw new HttpError(401, 'Bad credentials')
          user = userFor(login)
        }
      }
      for (const [m, re, handler] of routes) {
        if (m !== method) continue
        const match = re.exec(path)
        if (!match) continue
        await handler({
          req,
          res,
          method,
          path,
          query: u.searchParams,
          params: match.slice(1),
          body,
          raw,
          user
        })
        return
      }
      throw new HttpError(404, 'Not Found')
    } catch (e) {
      if (e instanceof HttpError) {
        send(res, e.status, {
          message: e.message,
          documentation_url: 'https://docs.github.com/rest',
          status: String(e.status),
          ...e.extra
        })
      } else {
        send(res, 500, { message: (e as Error).message })
      }
    }
  }

  const server = createServer((req, res) => {
    void handle(req, res)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    url: baseUrl,
    requests,
    state,
    comments: (owner, repo, issue) => commentsOf(`${owner}/${repo}`, issue),
    addComment,
    addWorkflowRun,
    addArtifact: a =>
      storeArtifact(a.repo, a.workflowRunId, a.name, makeZip(a.files), a.created_at, a.expired ?? false),
    artifactFiles: id => {
      const a = state.artifacts.find(x => x.id === id)
      if (!a) throw new Error(`fake GitHub: no artifact ${id}`)
      return readZip(a.zip)
    },
    actionsEnv: runId => {
      const run = runOf(runId)
      if (!run) throw new Error(`fake GitHub: no workflow run ${runId}; add it with addWorkflowRun first`)
      const jwt = [
        b64url(JSON.stringify({ alg: 'none', typ: 'JWT' })),
        b64url(
          JSON.stringify({
            scp: `Actions.GenericRead:${run.backendRunId} Actions.Results:${run.backendRunId}:${run.backendJobId}`
          })
        ),
        'fake'
      ].join('.')
      return {
        ACTIONS_RUNTIME_TOKEN: jwt,
        ACTIONS_RESULTS_URL: `${baseUrl}/`,
        GITHUB_API_URL: baseUrl,
        GITHUB_REPOSITORY: run.repo,
        GITHUB_RUN_ID: String(run.id),
        GITHUB_SHA: run.head_sha,
        GITHUB_REF_NAME: run.head_branch
      }
    },
    setPermission: (p, level) => {
      permissions[p] = level
    },
    failNext: (method, path, status, message = `fake failure ${status}`, times = 1) => {
      failures.push({ method: method.toUpperCase(), path, status, message, times })
    },
    find: (method, path) => requests.filter(r => r.method === method.toUpperCase() && path.test(r.path)),
    close: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
