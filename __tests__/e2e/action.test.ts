/**
 * End to end: the bundled action (dist/index.js, then dist/post/index.js) runs as a child process
 * the way the Actions runner starts it: INPUT_* variables, a real event file, GITHUB_OUTPUT /
 * GITHUB_STEP_SUMMARY / GITHUB_STATE files, GITHUB_API_URL pointing at a loopback fake of the GitHub
 * API that records every request. Load runs on the local backend against the sample target, and
 * baselines live in a dir: store.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startTarget, type TargetServer } from '../../src/target/server.js'
import { startFakeGitHub, type FakeGitHub } from '../helpers/fake-github.js'
import { parseCommandFile, spawnNode } from '../helpers/action.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const MAIN = join(root, 'dist', 'index.js')
const POST = join(root, 'dist', 'post', 'index.js')
const REPO = 'acme/shop'
const SCENARIO = 'checkout'

interface ActionRun {
  code: number | null
  stdout: string
  outputs: Record<string, string>
  summary: string
  state: Record<string, string>
}

describe('the bundled action', () => {
  let target: TargetServer
  let gh: FakeGitHub
  let work: string
  let store: string
  let counter = 0

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run package`)
    target = await startTarget({ port: 0, maxSeconds: 600 })
    gh = await startFakeGitHub()
    work = await mkdtemp(join(tmpdir(), 'pg-e2e-'))
    store = join(work, 'baselines')
  })

  afterAll(async () => {
    await target?.close()
    await gh?.close()
    if (work) await rm(work, { recursive: true, force: true })
  })

  async function runAction(
    eventName: string,
    payload: unknown,
    inputs: Record<string, string>,
    opts: { node?: string; sha?: string; env?: Record<string, string> } = {}
  ): Promise<ActionRun> {
    const dir = join(work, `run-${++counter}`)
    await mkdir(dir, { recursive: true })
    const files = {
      event: join(dir, 'event.json'),
      output: join(dir, 'output'),
      summary: join(dir, 'summary.md'),
      state: join(dir, 'state'),
      env: join(dir, 'env')
    }
    await writeFile(files.event, JSON.stringify(payload))
    for (const f of [files.output, files.summary, files.state, files.env]) await writeFile(f, '')
    const defaults: Record<string, string> = {
      mode: 'gate',
      config: 'perf-gate.yml',
      scenario: SCENARIO,
      engine: 'http',
      target: target.url,
      requests: 'GET /fast\nGET /health',
      vus: '2',
      duration: '2s',
      tasks: '1',
      'baseline-store': `dir:${store}`,
      'confirm-replicates': '1',
      replicates: '2',
      comment: 'true',
      'check-run': 'true',
      artifact: 'false',
      'github-token': 'ghs_faketoken'
    }
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      GITHUB_ACTIONS: 'true',
      GITHUB_API_URL: gh.url,
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: REPO,
      GITHUB_EVENT_NAME: eventName,
      GITHUB_EVENT_PATH: files.event,
      GITHUB_SHA: opts.sha ?? 'a'.repeat(40),
      GITHUB_REF: 'refs/heads/main',
      GITHUB_REF_NAME: 'main',
      GITHUB_JOB: 'perf',
      GITHUB_RUN_ID: String(1000 + counter),
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_ACTOR: 'dev',
      GITHUB_WORKSPACE: dir,
      RUNNER_TEMP: dir,
      GITHUB_OUTPUT: files.output,
      GITHUB_STEP_SUMMARY: files.summary,
      GITHUB_STATE: files.state,
      GITHUB_ENV: files.env
    }
    Object.assign(env, opts.env ?? {})
    for (const [k, v] of Object.entries({ ...defaults, ...inputs })) env[`INPUT_${k.toUpperCase()}`] = v
    const r = await spawnNode(opts.node ?? process.execPath, MAIN, env)
    return {
      code: r.code,
      stdout: r.stdout,
      outputs: parseCommandFile(await readFile(files.output, 'utf8')),
      summary: await readFile(files.summary, 'utf8'),
      state: parseCommandFile(await readFile(files.state, 'utf8'))
    }
  }

  const pr = (number: number, opts: { fork?: boolean } = {}) => ({
    action: 'synchronize',
    number,
    repository: { id: 1, full_name: REPO, name: 'shop', owner: { login: 'acme' }, default_branch: 'main' },
    pull_request: {
      number,
      head: {
        sha: 'b'.repeat(40),
        ref: 'feature',
        repo: opts.fork ? { id: 2, full_name: 'mallory/shop' } : { id: 1, full_name: REPO }
      },
      base: { sha: 'c'.repeat(40), ref: 'main', repo: { id: 1, full_name: REPO } },
      merge_commit_sha: 'd'.repeat(40)
    }
  })
  const push = (sha = 'a'.repeat(40)) => ({
    ref: 'refs/heads/main',
    after: sha,
    repository: { id: 1, full_name: REPO, name: 'shop', owner: { login: 'acme' }, default_branch: 'main' }
  })

  it('baseline mode on main stores both replicates and sets a status, with no comment', async () => {
    const r = await runAction('push', push(), { mode: 'baseline' })
    expect(r.stdout).not.toMatch(/::error::/)
    expect(r.code).toBe(0)
    expect(r.outputs.verdict).toBe('PASS')
    const stored: string[] = []
    const walk = async (d: string): Promise<void> => {
      for (const e of await readdir(d, { withFileTypes: true })) {
        if (e.isDirectory()) await walk(join(d, e.name))
        else if (!e.name.startsWith('index')) stored.push(e.name)
      }
    }
    await walk(store)
    expect(stored.filter(n => n.endsWith('.json'))).toHaveLength(2)
    expect(gh.find('POST', /\/issues\/\d+\/comments$/)).toHaveLength(0)
    const st = gh.state.statuses.filter(s => s.context === `perf-gate/${SCENARIO}`)
    expect(st.map(s => s.state)).toEqual(['success'])
    expect(r.summary).toContain('checkout')
  })

  it('a slowed pull request fails: one sticky comment, a failing status and check run, outputs', async () => {
    target.setFaults({ '/fast': { delayMs: 15 }, '/health': { delayMs: 15 } })
    try {
      const r = await runAction('pull_request', pr(7), { 'gate-labels': 'all' })
      expect(r.code).toBe(1)
      expect(r.stdout).toMatch(/::error::perf-gate checkout: FAIL/)
      expect(r.outputs.verdict).toBe('FAIL')
      expect(Number(r.outputs['p95-ms'])).toBeGreaterThan(15)
      expect(Number(r.outputs['delta-p95-pct'])).toBeGreaterThan(100)
      expect(existsSync(r.outputs['result-json'])).toBe(true)
      expect(await readFile(r.outputs['report-html'], 'utf8')).toContain('<svg')
      const comments = gh.comments('acme', 'shop', 7)
      expect(comments).toHaveLength(1)
      expect(comments[0].body.startsWith('<!-- perf-gate:checkout/perf')).toBe(true)
      expect(comments[0].body).toContain('FAIL')
      expect(r.outputs['comment-url']).toBe(comments[0].html_url)
      const st = gh.state.statuses.filter(s => s.sha === 'b'.repeat(40))
      expect(st.map(s => [s.context, s.state])).toEqual([[`perf-gate/${SCENARIO}`, 'failure']])
      expect(gh.state.checkRuns.filter(c => c.head_sha === 'b'.repeat(40)).map(c => c.conclusion)).toEqual([
        'failure'
      ])
      expect(r.summary).toContain('FAIL')
      // gate-labels: all, but two VUs for 2 s leave each label far fewer than the ~2,000 requests
      // its p95 needs: the labels are shown, advisory, with the reason.
      expect(comments[0].body).toMatch(
        /\| p95 latency · GET \/fast +\|.*➖ advisory \(label "GET \/fast" has \d+ requests in the screening run: its p95 tail holds [\d.]+ samples, fewer than 100/
      )
      // Two baselines: provisional, with the fixed threshold instead of a detectable effect.
      expect(comments[0].body).toContain('Provisional verdict: 2 of 10 baselines.')
      expect(comments[0].body).not.toContain('Can detect')
      // The local fleet's cost and the time from the step's start to the first request.
      expect(r.summary).toMatch(
        /est\. cost \$0\.00 \(local fleet: the load ran on this machine, no cloud tasks\)/
      )
      expect(comments[0].body).toMatch(/first request \d+(\.\d)?–\d+(\.\d)? s after the step started/)
      // Two runs: the screening run tripped, one confirmation run followed.
      expect(r.stdout).toMatch(/confirmation run/)
    } finally {
      target.setFaults({})
    }
  })

  it('a rerun updates the same comment instead of adding one', async () => {
    const before = gh.comments('acme', 'shop', 7)[0].body
    const r = await runAction('pull_request', pr(7), {})
    // Without the injected latency the verdict depends on this machine's noise; it is a verdict.
    expect(r.outputs.verdict).toMatch(/^(PASS|INCONCLUSIVE|FAIL)$/)
    const comments = gh.comments('acme', 'shop', 7)
    expect(comments).toHaveLength(1)
    expect(comments[0].body).not.toBe(before)
    expect(gh.find('PATCH', /\/issues\/comments\/\d+$/)).toHaveLength(1)
    expect(gh.find('POST', /\/issues\/7\/comments$/)).toHaveLength(1)
  })

  it('a fork pull request gates locally but writes nothing to the repository', async () => {
    const writesBefore = gh.requests.filter(q => q.method !== 'GET').length
    const r = await runAction('pull_request', pr(8, { fork: true }), {})
    expect(r.outputs.verdict).toMatch(/PASS|INCONCLUSIVE|FAIL/)
    expect(gh.requests.filter(q => q.method !== 'GET').length).toBe(writesBefore)
    expect(r.stdout).toMatch(/::notice::perf-gate: .*fork/i)
    expect(r.summary).toContain('checkout')
  })

  it('a push run writes the status and the summary only', async () => {
    const commentsBefore = gh.requests.filter(q => /comments/.test(q.path)).length
    const r = await runAction('push', push('e'.repeat(40)), {}, { sha: 'e'.repeat(40) })
    expect(r.outputs.verdict).toMatch(/PASS|INCONCLUSIVE|FAIL/)
    expect(gh.requests.filter(q => /comments/.test(q.path)).length).toBe(commentsBefore)
    expect(gh.state.statuses.filter(s => s.sha === 'e'.repeat(40))).toHaveLength(1)
    expect(r.summary.length).toBeGreaterThan(100)
  })

  it.each([
    [{ thresholds: 'p(95)<<5' }, /input 'thresholds'\[0\] "p\(95\)<<5"/],
    [{ 'baseline-store': 'ftp://x' }, /baseline-store: unknown scheme "ftp:\/\/x"/],
    [{ 'github-token': '' }, /input 'github-token': is empty/],
    [{ vus: 'ten' }, /--vus|vus/],
    [{ target: 'http://example.com' }, /example\.com/]
  ])('bad input %j ends in one error naming it, before any load', async (inputs, message) => {
    const served = target.stats().served
    const r = await runAction('pull_request', pr(9), inputs)
    expect(r.code).toBe(1)
    const errors = r.stdout.split('\n').filter(l => l.startsWith('::error::'))
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(message)
    expect(r.stdout).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/)
    expect(r.outputs.verdict).toBe('ERROR')
    expect(target.stats().served).toBe(served)
  })

  it('mode: stress from workflow_dispatch writes the capacity report and a capacity record, and never gates', async () => {
    const dispatch = {
      ref: 'refs/heads/main',
      inputs: { profile: 'stress' },
      repository: { id: 1, full_name: REPO, name: 'shop', owner: { login: 'acme' }, default_branch: 'main' }
    }
    const writesBefore = gh.requests.filter(q => q.method !== 'GET').length
    const r = await runAction('workflow_dispatch', dispatch, {
      mode: 'stress',
      scenario: 'capacity',
      profile: 'stress',
      multiplier: '2',
      duration: '9s',
      'profile-params': 'steps: 3',
      thresholds: 'p(95)<2000',
      'target-rps': '10',
      'comment-key': 'capacity'
    })
    expect(r.stdout).not.toMatch(/::error::/)
    expect(r.code).toBe(0)
    expect(r.outputs.verdict).toBe('PASS')
    expect(Number(r.outputs['capacity-rps'])).toBeGreaterThan(0)
    expect(r.summary).toMatch(/^### 📈 perf-gate capacity · capacity \(stress\)/)
    expect(r.summary).toContain('**Sustains ')
    expect(r.summary).toContain('**Planning:** ')
    expect(r.summary).toContain('```mermaid')
    expect(existsSync(r.outputs['result-json'])).toBe(true)
    expect(await readFile(r.outputs['report-html'], 'utf8')).toContain('<svg')
    const records = await readdir(join(store, '_capacity', 'acme', 'shop', 'capacity'))
    expect(records.filter(f => f.endsWith('.json'))).toHaveLength(1)
    // a stress run writes no comment, status or check run
    expect(gh.requests.filter(q => q.method !== 'GET').length).toBe(writesBefore)

    const served = target.stats().served
    const bad = await runAction('workflow_dispatch', dispatch, { mode: 'stress', multiplier: 'lots' })
    expect(bad.code).toBe(1)
    const errors = bad.stdout.split('\n').filter(l => l.startsWith('::error::'))
    expect(errors).toEqual([`::error::perf-gate: input 'multiplier': expected a number > 1, got "lots"`])
    expect(bad.outputs.verdict).toBe('ERROR')
    expect(target.stats().served).toBe(served)
  })

  it('the post step stops a leftover runner process and leaves others alone', async () => {
    const dir = join(work, 'leftover', 'runner')
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, 'index.js'), 'setTimeout(() => {}, 60000)\n')
    const runner = spawn(process.execPath, [join(dir, 'index.js')], { stdio: 'ignore' })
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' })
    try {
      const exited = new Promise(r => runner.once('exit', r))
      const r = await spawnNode(process.execPath, POST, {
        PATH: process.env.PATH,
        STATE_pids: `${runner.pid},${other.pid}`
      })
      expect(r.code).toBe(0)
      await exited
      expect(r.stdout).toMatch(/stopped 1 leftover load process/)
      expect(() => process.kill(other.pid!, 0)).not.toThrow()
    } finally {
      for (const c of [runner, other]) if (c.exitCode === null) c.kill('SIGKILL')
    }
  })

  it('keeps baselines and the report as artifacts when there is no other store', async () => {
    const nightly = gh.addWorkflowRun({
      repo: REPO,
      head_branch: 'main',
      head_sha: 'f'.repeat(40),
      event: 'schedule',
      conclusion: 'success'
    })
    const base = await runAction(
      'schedule',
      push('f'.repeat(40)),
      { mode: 'baseline', 'baseline-store': 'artifact', artifact: 'true', scenario: 'art' },
      { sha: 'f'.repeat(40), env: { ...gh.actionsEnv(nightly.id), GITHUB_RUN_ID: String(nightly.id) } }
    )
    expect(base.stdout).not.toMatch(/::error::/)
    expect(base.outputs.verdict).toBe('PASS')
    const names = gh.state.artifacts.map(a => a.name).sort()
    expect(names).toEqual(expect.arrayContaining(['perf-gate-baseline-art', 'perf-gate-baseline-art@1']))
    const report = gh.state.artifacts.find(a => a.name.startsWith('perf-gate-report-art'))
    expect(report).toBeDefined()
    expect(Object.keys(gh.artifactFiles(report!.id)).sort()).toEqual([
      'report.html',
      'report.md',
      'result.json'
    ])

    const prRun = gh.addWorkflowRun({
      repo: REPO,
      head_branch: 'feature',
      head_sha: 'b'.repeat(40),
      event: 'pull_request'
    })
    const r = await runAction(
      'pull_request',
      pr(11),
      { 'baseline-store': 'artifact', scenario: 'art' },
      { env: { ...gh.actionsEnv(prRun.id), GITHUB_RUN_ID: String(prRun.id) } }
    )
    expect(r.stdout).not.toMatch(/::error::perf-gate: /)
    expect(r.stdout).toMatch(/using 2 comparable baseline\(s\)/)
    expect(r.outputs.verdict).toMatch(/^(PASS|INCONCLUSIVE|FAIL)$/)
  })

  it('runs on Node 24 as action.yml declares', async () => {
    const node24 = process.env.PERF_GATE_NODE24
    expect(node24 && existsSync(node24)).toBeTruthy()
    const r = await runAction('pull_request', pr(10), { comment: 'true' }, { node: node24! })
    expect(r.stdout).not.toMatch(/::error::perf-gate: /)
    expect(r.outputs.verdict).toMatch(/PASS|INCONCLUSIVE|FAIL/)
    expect(gh.comments('acme', 'shop', 10)).toHaveLength(1)
  })
})
