/**
 * Hardening, through the bundled action (dist/index.js as a child process with INPUT_* and
 * GITHUB_* variables, the fake GitHub API and a dir: baseline store):
 * - no secret of the runner's environment reaches anything published, even when the engine's
 *   script prints its whole environment;
 * - a cancelled baseline job stores nothing and says CANCELLED;
 * - an unhealthy run (every response an error) is not stored as a baseline.
 */
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startTarget, type TargetServer } from '../../src/target/server.js'
import { startFakeGitHub, type FakeGitHub } from '../helpers/fake-github.js'
import { parseCommandFile, spawnNode } from '../helpers/action.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const MAIN = join(root, 'dist', 'index.js')
const REPO = 'acme/shop'

interface ActionRun {
  code: number | null
  stdout: string
  outputs: Record<string, string>
  summary: string
}

const token = (prefix: string, n: number) =>
  prefix +
  randomBytes(n)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, n)

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = []
  const walk = async (d: string): Promise<void> => {
    let entries
    try {
      entries = await readdir(d, { withFileTypes: true })
    } catch {
      return
    }
    for (const e of entries) {
      if (e.isDirectory()) await walk(join(d, e.name))
      else out.push(join(d, e.name))
    }
  }
  await walk(dir)
  return out
}

describe('hardening of the bundled action', () => {
  let target: TargetServer
  let gh: FakeGitHub
  let work: string
  let counter = 0

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run package`)
    target = await startTarget({ port: 0, maxSeconds: 600 })
    gh = await startFakeGitHub()
    work = await mkdtemp(join(tmpdir(), 'pg-hard-'))
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
    opts: {
      env?: Record<string, string>
      files?: Record<string, string>
      onSpawn?: (child: import('node:child_process').ChildProcess) => void
    } = {}
  ): Promise<ActionRun & { dir: string }> {
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
    for (const [name, text] of Object.entries(opts.files ?? {})) await writeFile(join(dir, name), text)
    const defaults: Record<string, string> = {
      mode: 'gate',
      config: 'perf-gate.yml',
      scenario: 'hard',
      engine: 'http',
      target: target.url,
      requests: 'GET /fast',
      vus: '2',
      duration: '2s',
      tasks: '1',
      'baseline-store': `dir:${join(work, 'baselines')}`,
      'confirm-replicates': '1',
      replicates: '1',
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
      GITHUB_SHA: 'a'.repeat(40),
      GITHUB_REF: 'refs/heads/main',
      GITHUB_REF_NAME: 'main',
      GITHUB_JOB: 'perf',
      GITHUB_RUN_ID: String(5000 + counter),
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_WORKSPACE: dir,
      RUNNER_TEMP: dir,
      GITHUB_OUTPUT: files.output,
      GITHUB_STEP_SUMMARY: files.summary,
      GITHUB_STATE: files.state,
      GITHUB_ENV: files.env
    }
    for (const [k, v] of Object.entries(process.env))
      if (/^PERF_GATE_[A-Z0-9]+_BIN$/.test(k) || k === 'K6_NO_USAGE_REPORT') env[k] = v
    Object.assign(env, opts.env ?? {})
    for (const [k, v] of Object.entries({ ...defaults, ...inputs })) env[`INPUT_${k.toUpperCase()}`] = v
    const r = await spawnNode(process.execPath, MAIN, env, { onSpawn: opts.onSpawn })
    return {
      dir,
      code: r.code,
      stdout: r.stdout,
      outputs: parseCommandFile(await readFile(files.output, 'utf8')),
      summary: await readFile(files.summary, 'utf8')
    }
  }

  const pr = (number: number) => ({
    action: 'synchronize',
    number,
    repository: { id: 1, full_name: REPO, name: 'shop', owner: { login: 'acme' }, default_branch: 'main' },
    pull_request: {
      number,
      head: { sha: 'b'.repeat(40), ref: 'feature', repo: { id: 1, full_name: REPO } },
      base: { sha: 'c'.repeat(40), ref: 'main', repo: { id: 1, full_name: REPO } },
      merge_commit_sha: 'd'.repeat(40)
    }
  })
  const push = () => ({
    ref: 'refs/heads/main',
    after: 'a'.repeat(40),
    repository: { id: 1, full_name: REPO, name: 'shop', owner: { login: 'acme' }, default_branch: 'main' }
  })

  describe('secrets', () => {
    // A Locust file that prints every variable it gets, then a value it was given on purpose and
    // a secret-shaped literal as its last lines, and fails: its stderr tail becomes the verdict.
    const ghp = token('ghp_', 36)
    const locustfile = [
      'import os, sys',
      'for k, v in sorted(os.environ.items()):',
      '    print(f"{k}={v}", file=sys.stderr)',
      'print("aws secret present " + str("AWS_SECRET_ACCESS_KEY" in os.environ), file=sys.stderr)',
      'print("API_TOKEN length " + str(len(os.environ.get("API_TOKEN", ""))), file=sys.stderr)',
      `print("literal ${ghp}", file=sys.stderr)`,
      'print("raw " + os.environ.get("API_TOKEN", "none"), file=sys.stderr)',
      'sys.exit(3)',
      ''
    ].join('\n')

    it.each([
      ['gate', 'pull_request', pr(21)],
      ['baseline', 'push', push()]
    ] as const)('%s mode publishes none of them', async (mode, eventName, payload) => {
      const wfRun = gh.addWorkflowRun({
        repo: REPO,
        head_branch: 'main',
        head_sha: 'a'.repeat(40),
        event: eventName
      })
      const actionsEnv = gh.actionsEnv(wfRun.id)
      const secrets: Record<string, string> = {
        'INPUT_GITHUB-TOKEN': token('ghs_', 36),
        AWS_ACCESS_KEY_ID: token('ASIA', 16).toUpperCase(),
        AWS_SECRET_ACCESS_KEY: token('', 40),
        AWS_SESSION_TOKEN: token('IQoJb3JpZ2luX2Vj', 120),
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: token('', 60),
        ACTIONS_RUNTIME_TOKEN: actionsEnv.ACTIONS_RUNTIME_TOKEN,
        PERF_GATE_ENV_API_TOKEN: token('', 32)
      }
      expect(secrets.ACTIONS_RUNTIME_TOKEN.length).toBeGreaterThanOrEqual(8)
      const requestsBefore = gh.requests.length
      const artifactsBefore = gh.state.artifacts.length
      const { 'INPUT_GITHUB-TOKEN': githubToken, ...envSecrets } = secrets
      const r = await runAction(
        eventName,
        payload,
        {
          mode,
          engine: 'locust',
          script: 'locustfile.py',
          requests: '',
          vus: '1',
          scenario: `secrets-${mode}`,
          artifact: 'true',
          'github-token': githubToken
        },
        {
          env: {
            ...actionsEnv,
            ...envSecrets,
            ACTIONS_ID_TOKEN_REQUEST_URL: `${gh.url}/oidc`,
            GITHUB_RUN_ID: String(wfRun.id)
          },
          files: { 'locustfile.py': locustfile }
        }
      )
      expect(r.outputs.verdict).toBe('ERROR')

      const published: [string, string][] = []
      for (const q of gh.requests.slice(requestsBefore))
        if (q.body !== undefined && !Buffer.isBuffer(q.body))
          published.push([
            `${q.method} ${q.path}`,
            typeof q.body === 'string' ? q.body : JSON.stringify(q.body)
          ])
      const artifacts = gh.state.artifacts.slice(artifactsBefore)
      expect(artifacts.some(a => a.name.startsWith('perf-gate-report-'))).toBe(true)
      for (const a of artifacts)
        for (const [name, data] of Object.entries(gh.artifactFiles(a.id)))
          published.push([`artifact ${a.name}/${name}`, data.toString('utf8')])
      published.push(['summary', r.summary])
      published.push(['log', r.stdout])
      for (const f of await filesUnder(join(r.dir, 'perf-gate')))
        published.push([f, await readFile(f, 'utf8')])
      for (const f of await filesUnder(join(work, 'baselines')))
        published.push([f, await readFile(f, 'utf8')])
      expect(published.some(([w]) => w.endsWith('result.json'))).toBe(true)
      expect(published.some(([w]) => w.endsWith('report.html'))).toBe(true)
      expect(published.some(([w]) => /statuses/.test(w))).toBe(true)
      if (mode === 'gate') {
        expect(published.some(([w]) => /comments/.test(w))).toBe(true)
        expect(published.some(([w]) => /check-runs/.test(w))).toBe(true)
      }

      const leaks: string[] = []
      for (const [where, text] of published) {
        for (const [name, value] of Object.entries(secrets))
          if (text.includes(value)) leaks.push(`${name} in ${where}`)
        if (text.includes(ghp)) leaks.push(`ghp_ literal in ${where}`)
      }
      expect(leaks).toEqual([])

      // The engine got the variable the user named, not the runner's credentials.
      const result = published.find(([w]) => w.endsWith('result.json'))![1]
      expect(result).toContain('aws secret present False')
      expect(result).toContain('API_TOKEN length 32')
      expect(result).toContain('raw ***')
      const status = gh.state.statuses[gh.state.statuses.length - 1]
      expect(status.state).toBe('error')
      if (mode === 'gate') expect(status.description).toContain('raw ***')
    })

    it('a healthy baseline whose script prints a secret is stored redacted', async () => {
      const apiToken = token('', 32)
      const healthy = [
        'import os, sys',
        'from locust import HttpUser, task',
        'print("raw " + os.environ.get("API_TOKEN", "none"), file=sys.stderr)',
        'class U(HttpUser):',
        '    @task',
        '    def fast(self):',
        '        self.client.get("/fast")',
        ''
      ].join('\n')
      const store = join(work, 'healthy-store')
      const r = await runAction(
        'push',
        push(),
        {
          mode: 'baseline',
          engine: 'locust',
          script: 'locustfile.py',
          requests: '',
          vus: '2',
          duration: '5s',
          scenario: 'secrets-healthy',
          'baseline-store': `dir:${store}`
        },
        { env: { PERF_GATE_ENV_API_TOKEN: apiToken }, files: { 'locustfile.py': healthy } }
      )
      expect({
        verdict: r.outputs.verdict,
        errors: r.stdout.split('\n').filter(l => l.startsWith('::error::'))
      }).toEqual({
        verdict: 'PASS',
        errors: []
      })
      const stored = (await filesUnder(store)).filter(f => !f.endsWith('index.json'))
      expect(stored).toHaveLength(1)
      const text = await readFile(stored[0], 'utf8')
      expect(text).toContain('raw ***')
      expect(text).not.toContain(apiToken)
    }, 90_000)
  })

  it('a baseline job cancelled during replicate 1 of 3 stores nothing and says CANCELLED', async () => {
    const store = join(work, 'cancelled-store')
    const before = target.stats().served
    const r = await runAction(
      'push',
      push(),
      {
        mode: 'baseline',
        replicates: '3',
        duration: '60s',
        scenario: 'cancelled',
        'baseline-store': `dir:${store}`
      },
      {
        onSpawn: child => {
          const poll = setInterval(() => {
            if (target.stats().served - before >= 20) {
              clearInterval(poll)
              child.kill('SIGINT')
            }
          }, 200)
          child.once('exit', () => clearInterval(poll))
        }
      }
    )
    expect(r.outputs.verdict).toBe('CANCELLED')
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(
      /::error::perf-gate baseline: cancelled after 1 of 3 replicate run\(s\) started; no baseline was stored/
    )
    expect((await filesUnder(store)).filter(f => !f.endsWith('index.json'))).toEqual([])
    const st = gh.state.statuses.filter(s => s.context === 'perf-gate/cancelled')
    expect(st.map(s => s.state)).toEqual(['error'])
    expect(st[0].description).toMatch(/^CANCELLED: cancelled after 1 of 3/)
    expect(r.summary).toMatch(/CANCELLED/)
    // The load stopped with the job.
    const served = target.stats().served
    await new Promise(res => setTimeout(res, 1500))
    expect(target.stats().served).toBe(served)
  }, 120_000)

  it('a run without any task result posts ERROR naming the tasks, with the status and the summary', async () => {
    const none = {
      schema: 'perf-gate/run-result',
      version: 1,
      run: {
        runId: 'fargate-1',
        scenario: 'nocap',
        fingerprint: 'f',
        backend: 'fargate',
        createdMs: Date.now(),
        expectedTasks: 2,
        missingTasks: [
          { region: 'us-east-1', taskIndex: 0, reason: 'RunTask: capacity is unavailable' },
          { region: 'eu-west-1', taskIndex: 1, reason: 'RunTask: capacity is unavailable' }
        ],
        facts: {}
      },
      tasks: []
    }
    const r = await runAction(
      'pull_request',
      pr(31),
      { backend: 'none', results: 'run.json', scenario: 'nocap', requests: '', target: '' },
      { files: { 'run.json': JSON.stringify(none) } }
    )
    expect(r.stdout).not.toMatch(/no task results to report on/)
    expect(r.outputs.verdict).toBe('ERROR')
    const st = gh.state.statuses.filter(s => s.context === 'perf-gate/nocap')
    expect(st.map(s => s.state)).toEqual(['error'])
    expect(st[0].description).toMatch(/us-east-1\/0/)
    const comments = gh.comments('acme', 'shop', 31)
    expect(comments).toHaveLength(1)
    expect(comments[0].body).toMatch(/us-east-1\/0: RunTask: capacity is unavailable; eu-west-1\/1: RunTask/)
    expect(r.summary).toMatch(/ERROR/)
    expect(r.summary).toMatch(/eu-west-1\/1/)
  }, 60_000)
})
