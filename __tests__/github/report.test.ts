import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getOctokit } from '@actions/github'
import { startFakeGitHub, type FakeGitHub } from '../helpers/fake-github.js'
import {
  COMMENT_BODY_LIMIT,
  JOB_SUMMARY_LIMIT_BYTES,
  conclusionForOutcome,
  createCheckRun,
  setCommitStatus,
  setOutputs,
  statusForOutcome,
  upsertComment,
  writeJobSummary
} from '../../src/report/github.js'

const OWNER = 'octo'
const REPO = 'shop'
const MARKER = '<!-- perf-gate:checkout -->'
const BOT = 'github-actions[bot]'

let gh: FakeGitHub
let octokit: ReturnType<typeof getOctokit>

beforeAll(async () => {
  gh = await startFakeGitHub()
  octokit = getOctokit('test-token', { baseUrl: gh.url })
})

afterAll(async () => {
  await gh.close()
})

describe('sticky comment', () => {
  it('creates the comment once, then updates it; other users’ marked comments are not touched', async () => {
    const pr = 11
    const foreign = gh.addComment(`${OWNER}/${REPO}`, pr, `quoting the bot:\n${MARKER}\nold numbers`, 'alice')
    const botUnmarked = gh.addComment(`${OWNER}/${REPO}`, pr, 'some other bot message', BOT)
    const warnings: string[] = []

    const first = await upsertComment(octokit, {
      owner: OWNER,
      repo: REPO,
      issueNumber: pr,
      marker: MARKER,
      body: `${MARKER}\n## perf-gate: PASS\nfirst`,
      warn: w => warnings.push(w)
    })
    expect(first?.created).toBe(true)
    const second = await upsertComment(octokit, {
      owner: OWNER,
      repo: REPO,
      issueNumber: pr,
      marker: MARKER,
      body: `${MARKER}\n## perf-gate: FAIL\nsecond`,
      warn: w => warnings.push(w)
    })
    expect(second?.created).toBe(false)
    expect(second?.id).toBe(first?.id)
    expect(warnings).toEqual([])

    const all = gh.comments(OWNER, REPO, pr)
    const ours = all.filter(c => c.user.login === BOT && c.body.includes(MARKER))
    expect(ours).toHaveLength(1)
    expect(ours[0].id).toBe(first?.id)
    expect(ours[0].body).toContain('second')
    expect(ours[0].body).not.toContain('first')
    expect(second?.url).toBe(ours[0].html_url)
    // The other user's comment with the marker and the bot's unmarked comment are unchanged.
    expect(all.find(c => c.id === foreign.id)?.body).toBe(`quoting the bot:\n${MARKER}\nold numbers`)
    expect(all.find(c => c.id === botUnmarked.id)?.body).toBe('some other bot message')
    expect(all).toHaveLength(3)
    const patches = gh.find('PATCH', /\/issues\/comments\/\d+$/)
    expect(patches.map(r => r.path)).toEqual([`/repos/${OWNER}/${REPO}/issues/comments/${first?.id}`])
    expect(gh.find('POST', new RegExp(`/issues/${pr}/comments$`))).toHaveLength(1)
  })

  it('finds the marker on page 2 of more than 100 comments and updates it instead of adding one', async () => {
    const pr = 12
    for (let i = 0; i < 130; i++) gh.addComment(`${OWNER}/${REPO}`, pr, `chatter ${i}`, i % 3 ? 'bob' : BOT)
    const sticky = gh.addComment(`${OWNER}/${REPO}`, pr, `${MARKER}\nold report`, BOT)
    for (let i = 0; i < 5; i++) gh.addComment(`${OWNER}/${REPO}`, pr, `later ${i}`, 'carol')
    const before = gh.requests.length

    const res = await upsertComment(octokit, {
      owner: OWNER,
      repo: REPO,
      issueNumber: pr,
      marker: MARKER,
      body: 'new report'
    })

    expect(res).toEqual({ id: sticky.id, url: sticky.html_url, created: false })
    const lists = gh.requests
      .slice(before)
      .filter(r => r.method === 'GET' && r.path.endsWith(`/issues/${pr}/comments`))
    expect(lists.map(r => r.query.page ?? '1')).toEqual(['1', '2'])
    expect(lists[0].query.per_page).toBe('100')
    expect(gh.comments(OWNER, REPO, pr)).toHaveLength(136)
    // The marker is kept (prepended when the body lacks it), so the next run finds it again.
    expect(gh.comments(OWNER, REPO, pr).find(c => c.id === sticky.id)?.body).toBe(`${MARKER}\nnew report`)
  })

  it('stops paging once the marker is found on page 1', async () => {
    const pr = 13
    gh.addComment(`${OWNER}/${REPO}`, pr, `${MARKER}\nreport`, BOT)
    for (let i = 0; i < 150; i++) gh.addComment(`${OWNER}/${REPO}`, pr, `chatter ${i}`, 'bob')
    const before = gh.requests.length
    const res = await upsertComment(octokit, {
      owner: OWNER,
      repo: REPO,
      issueNumber: pr,
      marker: MARKER,
      body: 'v2'
    })
    expect(res?.created).toBe(false)
    const lists = gh.requests.slice(before).filter(r => r.method === 'GET')
    expect(lists).toHaveLength(1)
  })

  it('truncates an over-long body below 65,536 characters with a note, keeping the marker', async () => {
    const pr = 14
    const line = '| /checkout | 12.3 ms | 45.6 ms | 0.1% |\n'
    const body = `${MARKER}\n` + line.repeat(Math.ceil(80_000 / line.length))
    expect(body.length).toBeGreaterThan(COMMENT_BODY_LIMIT)
    const res = await upsertComment(octokit, {
      owner: OWNER,
      repo: REPO,
      issueNumber: pr,
      marker: MARKER,
      body
    })
    expect(res?.created).toBe(true)
    const stored = gh.comments(OWNER, REPO, pr)[0].body
    expect(stored.length).toBeLessThan(COMMENT_BODY_LIMIT)
    expect(stored.length).toBeGreaterThan(60_000)
    expect(stored.startsWith(MARKER)).toBe(true)
    expect(stored).toMatch(/truncated/)
    // Cut at a line boundary: every table row before the note is complete.
    const rows = stored.split('\n').filter(l => l.startsWith('|'))
    expect(rows.every(r => r === line.trimEnd())).toBe(true)
  })

  it('turns a 403 into a warning naming pull-requests: write', async () => {
    gh.setPermission('pull-requests', 'read')
    gh.setPermission('issues', 'read')
    try {
      const warnings: string[] = []
      const res = await upsertComment(octokit, {
        owner: OWNER,
        repo: REPO,
        issueNumber: 15,
        marker: MARKER,
        body: 'x',
        warn: w => warnings.push(w)
      })
      expect(res).toBeNull()
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toContain('pull-requests: write')
      expect(warnings[0]).toContain('Resource not accessible by integration')
      expect(gh.comments(OWNER, REPO, 15)).toHaveLength(0)
    } finally {
      gh.setPermission('pull-requests', 'write')
      gh.setPermission('issues', 'write')
    }
  })

  it('does not hide other errors', async () => {
    gh.failNext('GET', /\/issues\/16\/comments$/, 500, 'boom')
    await expect(
      upsertComment(octokit, {
        owner: OWNER,
        repo: REPO,
        issueNumber: 16,
        marker: MARKER,
        body: 'x',
        warn: () => undefined
      })
    ).rejects.toMatchObject({ status: 500 })
  })
})

describe('commit status', () => {
  it('sends state, context, description and target URL', async () => {
    const s = statusForOutcome('FAIL', 'p95 +18.2% (95% CI +12.0..+24.9%), 30 baselines')
    const res = await setCommitStatus(octokit, {
      owner: OWNER,
      repo: REPO,
      sha: 'a'.repeat(40),
      context: 'perf-gate/checkout',
      ...s,
      targetUrl: 'https://github.com/octo/shop/actions/runs/1'
    })
    expect(res?.state).toBe('failure')
    const stored = gh.state.statuses.at(-1)!
    expect(stored).toMatchObject({
      sha: 'a'.repeat(40),
      state: 'failure',
      context: 'perf-gate/checkout',
      description: 'FAIL: p95 +18.2% (95% CI +12.0..+24.9%), 30 baselines',
      target_url: 'https://github.com/octo/shop/actions/runs/1'
    })
  })

  it('cuts the description to 140 characters (GitHub rejects longer ones)', async () => {
    const long = 'regression in ' + Array.from({ length: 40 }, (_, i) => `/endpoint-${i}`).join(', ')
    const res = await setCommitStatus(octokit, {
      owner: OWNER,
      repo: REPO,
      sha: 'b'.repeat(40),
      context: 'perf-gate/search',
      state: 'failure',
      description: long
    })
    expect(res).not.toBeNull()
    const stored = gh.state.statuses.at(-1)!
    expect(stored.description!.length).toBeLessThanOrEqual(140)
    expect(stored.description!.endsWith('…')).toBe(true)
    expect(long.startsWith(stored.description!.slice(0, -1))).toBe(true)
  })

  it('maps INCONCLUSIVE to a non-blocking success unless fail-on-inconclusive', async () => {
    const soft = statusForOutcome('INCONCLUSIVE', 'only 4 baselines')
    expect(soft.state).toBe('success')
    expect(soft.description).toMatch(/^INCONCLUSIVE, not blocking: only 4 baselines$/)
    const hard = statusForOutcome('INCONCLUSIVE', 'only 4 baselines', { failOnInconclusive: true })
    expect(hard.state).toBe('failure')
    expect(hard.description).toContain('INCONCLUSIVE')
    expect(statusForOutcome('PASS').state).toBe('success')
    expect(statusForOutcome('ERROR', 'engine crashed').state).toBe('error')
    expect(conclusionForOutcome('INCONCLUSIVE')).toBe('neutral')
    expect(conclusionForOutcome('INCONCLUSIVE', { failOnInconclusive: true })).toBe('failure')
    expect(conclusionForOutcome('ERROR')).toBe('failure')
    await setCommitStatus(octokit, {
      owner: OWNER,
      repo: REPO,
      sha: 'c'.repeat(40),
      context: 'perf-gate/x',
      ...soft
    })
    expect(gh.state.statuses.at(-1)).toMatchObject({ sha: 'c'.repeat(40), state: 'success' })
  })

  it('turns a 403 into a warning naming statuses: write', async () => {
    gh.setPermission('statuses', 'read')
    try {
      const warnings: string[] = []
      const n = gh.state.statuses.length
      const res = await setCommitStatus(octokit, {
        owner: OWNER,
        repo: REPO,
        sha: 'd'.repeat(40),
        context: 'perf-gate/x',
        state: 'success',
        description: 'PASS',
        warn: w => warnings.push(w)
      })
      expect(res).toBeNull()
      expect(warnings.join('\n')).toContain('statuses: write')
      expect(gh.state.statuses).toHaveLength(n)
    } finally {
      gh.setPermission('statuses', 'write')
    }
  })
})

describe('check run', () => {
  it('creates a completed check run with the output', async () => {
    const res = await createCheckRun(octokit, {
      owner: OWNER,
      repo: REPO,
      headSha: 'e'.repeat(40),
      name: 'perf-gate / checkout',
      conclusion: 'neutral',
      title: 'INCONCLUSIVE: p95 +4.1% (not significant)',
      summary: '## perf-gate\n| metric | base | PR |\n|---|---|---|\n| p95 | 41 ms | 43 ms |',
      text: 'details',
      detailsUrl: 'https://github.com/octo/shop/actions/runs/7'
    })
    const req = gh.find('POST', /\/check-runs$/).at(-1)!
    expect(req.body).toMatchObject({
      head_sha: 'e'.repeat(40),
      name: 'perf-gate / checkout',
      status: 'completed',
      conclusion: 'neutral',
      details_url: 'https://github.com/octo/shop/actions/runs/7',
      output: {
        title: 'INCONCLUSIVE: p95 +4.1% (not significant)',
        summary: '## perf-gate\n| metric | base | PR |\n|---|---|---|\n| p95 | 41 ms | 43 ms |',
        text: 'details'
      }
    })
    expect(typeof (req.body as { completed_at?: unknown }).completed_at).toBe('string')
    expect(res?.id).toBe(gh.state.checkRuns.at(-1)!.id)
  })

  it('cuts summary and text to 65,535 characters', async () => {
    const big = 'x'.repeat(70_000)
    const res = await createCheckRun(octokit, {
      owner: OWNER,
      repo: REPO,
      headSha: 'f'.repeat(40),
      name: 'perf-gate / big',
      conclusion: 'failure',
      title: 'FAIL',
      summary: big,
      text: big
    })
    expect(res).not.toBeNull()
    const stored = gh.state.checkRuns.at(-1)!
    expect(stored.output.summary!.length).toBeLessThanOrEqual(65_535)
    expect(stored.output.text!.length).toBeLessThanOrEqual(65_535)
    expect(stored.output.summary).toMatch(/truncated/)
  })

  it('turns a 403 into a warning naming checks: write', async () => {
    gh.setPermission('checks', 'read')
    try {
      const warnings: string[] = []
      const res = await createCheckRun(octokit, {
        owner: OWNER,
        repo: REPO,
        headSha: '1'.repeat(40),
        name: 'perf-gate',
        conclusion: 'success',
        title: 'PASS',
        summary: 's',
        warn: w => warnings.push(w)
      })
      expect(res).toBeNull()
      expect(warnings.join('\n')).toContain('checks: write')
    } finally {
      gh.setPermission('checks', 'write')
    }
  })
})

describe('job summary and outputs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'perf-gate-summary-'))
  const saved = { summary: process.env.GITHUB_STEP_SUMMARY, output: process.env.GITHUB_OUTPUT }
  afterAll(() => {
    if (saved.summary === undefined) delete process.env.GITHUB_STEP_SUMMARY
    else process.env.GITHUB_STEP_SUMMARY = saved.summary
    if (saved.output === undefined) delete process.env.GITHUB_OUTPUT
    else process.env.GITHUB_OUTPUT = saved.output
    rmSync(dir, { recursive: true, force: true })
  })

  it('warns instead of failing when there is no job summary file', async () => {
    delete process.env.GITHUB_STEP_SUMMARY
    const warnings: string[] = []
    expect(await writeJobSummary('# hi', w => warnings.push(w))).toBe(false)
    expect(warnings.join('\n')).toContain('GITHUB_STEP_SUMMARY')
  })

  it('writes the summary, capped below 1 MiB', async () => {
    const file = join(dir, 'summary.md')
    writeFileSync(file, '')
    process.env.GITHUB_STEP_SUMMARY = file
    expect(await writeJobSummary('# small\n')).toBe(true)
    expect(readFileSync(file, 'utf8')).toBe('# small\n\n')
    writeFileSync(file, '')
    const row = '| /é | 1 ms | ✓ |\n'
    const huge = row.repeat(Math.ceil((2 * 1024 * 1024) / Buffer.byteLength(row)))
    expect(await writeJobSummary(huge)).toBe(true)
    const written = readFileSync(file)
    expect(written.length).toBeLessThanOrEqual(JOB_SUMMARY_LIMIT_BYTES)
    expect(written.length).toBeGreaterThan(JOB_SUMMARY_LIMIT_BYTES * 0.9)
    const text = written.toString('utf8')
    expect(text).not.toContain('\uFFFD')
    expect(text).toMatch(/truncated/)
  })

  it('sets outputs, skipping missing values', () => {
    const file = join(dir, 'output.txt')
    writeFileSync(file, '')
    process.env.GITHUB_OUTPUT = file
    const set = setOutputs({
      verdict: 'FAIL',
      'p95-ms': 43.5,
      'delta-p95-pct': Number.NaN,
      'comment-url': null,
      rps: 0
    })
    expect(set).toEqual(['verdict', 'p95-ms', 'rps'])
    const text = readFileSync(file, 'utf8')
    const parsed: Record<string, string> = {}
    const re = /^(.+?)<<(ghadelimiter_[^\n]+)\n([\s\S]*?)\n\2$/gm
    for (const m of text.matchAll(re)) parsed[m[1]] = m[3]
    expect(parsed).toEqual({ verdict: 'FAIL', 'p95-ms': '43.5', rps: '0' })
  })
})
