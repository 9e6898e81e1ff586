/**
 * End to end with `backend: fargate`: the bundled action (dist/index.js, then dist/post/index.js)
 * runs as a child process against loopback fakes that speak the real wire protocols — GitHub's
 * OIDC token endpoint, STS, CloudFormation and ECS (whose RunTask starts real runner processes,
 * dist/runner/index.js, with the container overrides' environment) — and a real S3-protocol
 * server (s3rver) behind a fault-injecting proxy. The load goes to the sample target on 127.0.0.1.
 */
import { createRequire } from 'node:module'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { S3Client } from '@aws-sdk/client-s3'
import { startTarget, type TargetServer } from '../../src/target/server.js'
import { RunObjects, runKeys, runPrefix } from '../../src/runner/objects.js'
import { parseTaskResult } from '../../src/results/io.js'
import { mergeTasks } from '../../src/results/merge.js'
import { ResultView } from '../../src/results/query.js'
import type { RunResult } from '../../src/results/model.js'
import { startFakeAws, awsEnvFor, type FakeAws, type FakeAwsOptions } from '../helpers/fake-aws.js'
import { startS3FaultProxy, type S3FaultProxy } from '../helpers/s3-fault-proxy.js'
import { startFakeGitHub, type FakeGitHub } from '../helpers/fake-github.js'
import { parseCommandFile, spawnNode } from '../helpers/action.js'
import type { ChildProcess } from 'node:child_process'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const MAIN = join(root, 'dist', 'index.js')
const POST = join(root, 'dist', 'post', 'index.js')
const RUNNER = join(root, 'dist', 'runner', 'index.js')
const REPO = 'acme/shop'
const BUCKET = 'perf-gate-results'
const ROLE = 'arn:aws:iam::123456789012:role/perf-gate'
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2']
const STACK = 'perf-gate-runner'
/**
 * The ceiling for a test that runs the action with a fleet of runner processes: most take 10–30 s
 * alone, the capacity test backs off for longer, and a busy machine can take several times that.
 */
const FLEET_TEST_MS = 300_000

interface S3rverInstance {
  run(): Promise<AddressInfo>
  close(): Promise<void>
}
const S3rver = createRequire(import.meta.url)('@20minutes/s3rver') as new (
  opts: Record<string, unknown>
) => S3rverInstance

const stackOutputs = (region: string) => ({
  ClusterName: 'perf-gate',
  TaskDefinitionArn: `arn:aws:ecs:${region}:123456789012:task-definition/perf-gate-runner:3`,
  ContainerName: 'runner',
  Subnets: 'subnet-aaa,subnet-bbb',
  SecurityGroups: 'sg-123',
  AssignPublicIp: 'ENABLED',
  ResultsBucket: BUCKET,
  LogGroup: '/perf-gate/runner'
})

interface ActionRun {
  code: number | null
  stdout: string
  outputs: Record<string, string>
  summary: string
  state: Record<string, string>
  post?: { code: number | null; stdout: string }
}

describe('the bundled action on a Fargate fleet (local fakes)', () => {
  let target: TargetServer
  let gh: FakeGitHub
  let s3rver: S3rverInstance
  let s3port: number
  let proxy: S3FaultProxy
  let work: string
  let fake: FakeAws | null = null
  let counter = 0
  let s3: S3Client

  beforeAll(async () => {
    for (const f of [MAIN, POST, RUNNER])
      if (!existsSync(f)) throw new Error(`${f} is missing: run npm run package`)
    work = await mkdtemp(join(tmpdir(), 'pg-fargate-'))
    target = await startTarget({ port: 0, maxSeconds: 900 })
    gh = await startFakeGitHub()
    // s3rver 4.0.4 canonicalises a bucket-level path (`/bucket/`, ListObjectsV2) as `/bucket`, so
    // the SDK's signature of a listing never matches; it still checks that every request carries
    // a well-formed SigV4 signature from a known key.
    s3rver = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      allowMismatchedSignatures: true,
      directory: join(work, 's3'),
      configureBuckets: [{ name: BUCKET, configs: [] }]
    })
    s3port = (await s3rver.run()).port
    proxy = await startS3FaultProxy({ upstream: `http://127.0.0.1:${s3port}` })
    s3 = new S3Client({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${s3port}`,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED'
    })
  })

  afterEach(async () => {
    await fake?.close()
    fake = null
    proxy.setFaults(undefined)
  })

  afterAll(async () => {
    s3?.destroy()
    await proxy?.close()
    await s3rver?.close()
    await target?.close()
    await gh?.close()
    if (work) await rm(work, { recursive: true, force: true })
  })

  async function startFake(opts: Partial<FakeAwsOptions> = {}): Promise<FakeAws> {
    fake = await startFakeAws({
      stackName: STACK,
      stacks: Object.fromEntries(REGIONS.map(r => [r, stackOutputs(r)])),
      runnerEntry: RUNNER,
      stopGraceMs: 3000,
      // s3rver checks signatures against its own key pair, so STS hands out that pair.
      issuedCredentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      ...opts,
      baseEnv: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        // The task role's credentials (ECS hands them to the container).
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
        AWS_ENDPOINT_URL_S3: proxy.endpoint,
        AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
        AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
        ...opts.baseEnv
      }
    })
    return fake
  }

  const pr = (opts: { fork?: boolean } = {}) => ({
    action: 'synchronize',
    number: 7,
    repository: { id: 1, full_name: REPO, name: 'shop', owner: { login: 'acme' }, default_branch: 'main' },
    pull_request: {
      number: 7,
      head: {
        sha: 'b'.repeat(40),
        ref: 'feature',
        repo: opts.fork ? { id: 2, full_name: 'mallory/shop' } : { id: 1, full_name: REPO }
      },
      base: { sha: 'c'.repeat(40), ref: 'main', repo: { id: 1, full_name: REPO } },
      merge_commit_sha: 'd'.repeat(40)
    }
  })

  async function runAction(
    f: FakeAws | null,
    inputs: Record<string, string>,
    opts: {
      event?: unknown
      eventName?: string
      timing?: Record<string, number>
      onSpawn?: (child: ChildProcess) => void
      post?: boolean
      /** The Node binary that runs the action and its post step. */
      node?: string
    } = {}
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
    await writeFile(files.event, JSON.stringify(opts.event ?? pr()))
    for (const x of [files.output, files.summary, files.state, files.env]) await writeFile(x, '')
    const defaults: Record<string, string> = {
      mode: 'gate',
      config: 'perf-gate.yml',
      scenario: 'api',
      engine: 'http',
      target: target.url,
      requests: 'GET /fast\nGET /health',
      vus: '6',
      duration: '3s',
      backend: 'fargate',
      regions: `[${REGIONS.join(', ')}]`,
      'role-to-assume': ROLE,
      'aws-region': 'us-east-1',
      'stack-name': STACK,
      'vus-per-vcpu': '1',
      'task-cpu': '1024',
      'task-memory': '2048',
      'max-tasks': '20',
      'baseline-store': `dir:${join(work, 'baselines')}`,
      'confirm-replicates': '0',
      comment: 'true',
      'check-run': 'false',
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
      GITHUB_EVENT_NAME: opts.eventName ?? 'pull_request',
      GITHUB_EVENT_PATH: files.event,
      GITHUB_SHA: 'd'.repeat(40),
      GITHUB_REF: 'refs/pull/7/merge',
      GITHUB_JOB: 'perf',
      GITHUB_RUN_ID: String(5000 + counter),
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_WORKSPACE: dir,
      RUNNER_TEMP: dir,
      GITHUB_OUTPUT: files.output,
      GITHUB_STEP_SUMMARY: files.summary,
      GITHUB_STATE: files.state,
      GITHUB_ENV: files.env,
      PERF_GATE_S3_PATH_STYLE: '1',
      PERF_GATE_FARGATE_TIMING: JSON.stringify({
        pollMs: 500,
        startLeadMs: 3000,
        progressMs: 1000,
        collectGraceMs: 8000,
        // Generous, so that a machine busy with other suites does not fail the barrier; the
        // barrier's own test sets a short one.
        readyTimeoutMs: 60000,
        launchRetryMs: 100,
        ...opts.timing
      }),
      ...(f ? awsEnvFor(f, proxy.endpoint) : {})
    }
    for (const [k, v] of Object.entries({ ...defaults, ...inputs })) env[`INPUT_${k.toUpperCase()}`] = v
    const node = opts.node ?? process.execPath
    const r = await spawnNode(node, MAIN, env, { timeoutMs: 280_000, onSpawn: opts.onSpawn })
    const state = parseCommandFile(await readFile(files.state, 'utf8'))
    const run: ActionRun = {
      code: r.code,
      stdout: r.stdout,
      outputs: parseCommandFile(await readFile(files.output, 'utf8')),
      summary: await readFile(files.summary, 'utf8'),
      state
    }
    if (opts.post !== false) {
      const postEnv: NodeJS.ProcessEnv = { ...env }
      for (const [k, v] of Object.entries(state)) postEnv[`STATE_${k}`] = v
      run.post = await spawnNode(node, POST, postEnv, { timeoutMs: 60_000 })
    }
    return run
  }

  async function s3TaskResults(runId: string) {
    const objects = new RunObjects(s3, BUCKET)
    const keys = runKeys(runPrefix(runId))
    const listed = await objects.list(keys.resultsPrefix)
    return Promise.all(listed.map(async k => parseTaskResult(k, await objects.getJson(k))))
  }

  const runResultOf = async (r: ActionRun): Promise<RunResult> =>
    JSON.parse(await readFile(r.outputs['result-json'], 'utf8')) as RunResult

  it(
    'runs across 3 regions on Node 24: OIDC → STS, per-region ECS, start barrier, exact merge, nothing left running',
    async () => {
      const node24 = process.env.PERF_GATE_NODE24
      expect(node24 && existsSync(node24)).toBeTruthy()
      const f = await startFake({
        regions: {
          'us-east-1': { provisioningDelayMs: 50 },
          'eu-west-1': { provisioningDelayMs: 400 },
          'ap-southeast-2': { provisioningDelayMs: 900 }
        }
      })
      const r = await runAction(f, {}, { node: node24 })
      expect(r.stdout).not.toMatch(/::error::/)
      expect(r.code).toBe(0)
      expect(r.outputs.verdict).toMatch(/^(PASS|INCONCLUSIVE)$/)
      // Credentials: one AssumeRoleWithWebIdentity for the run, one more (fresh token) in the post step.
      const sts = f.requests.filter(q => q.op === 'AssumeRoleWithWebIdentity')
      expect(sts.map(q => (q.body as Record<string, string>).RoleSessionName)).toEqual([
        expect.stringMatching(/^perf-gate-shop-\d+-1$/),
        expect.stringMatching(/^perf-gate-shop-\d+-post-1$/)
      ])
      expect(f.calls('GetIDToken')).toBe(2)
      const ecs = f.requests.filter(q => q.service === 'ecs')
      expect(new Set(ecs.map(q => q.region))).toEqual(new Set(REGIONS))
      expect(new Set(ecs.map(q => q.accessKeyId)).size).toBe(1)
      expect(ecs[0].accessKeyId).toBe('S3RVER')
      expect(ecs.every(q => !!q.sessionToken)).toBe(true)
      // The session's secret parts were masked before use.
      const masks = r.stdout.split('\n').filter(l => l.startsWith('::add-mask::'))
      expect(masks.length).toBeGreaterThanOrEqual(3)
      // 6 VUs at 1 VU per vCPU: 6 tasks, 2 per region, one RunTask per region.
      expect(f.tasks()).toHaveLength(6)
      expect(f.calls('RunTask')).toBe(3)
      for (const q of f.requests.filter(x => x.op === 'RunTask')) {
        const body = q.body as { count: number; startedBy: string; launchType?: string; overrides: unknown }
        expect(body.count).toBe(2)
        expect(body.startedBy).toMatch(/^perf-gate-\d+-1$/)
        expect(body.launchType).toBe('FARGATE')
        expect(JSON.stringify(body.overrides)).not.toMatch(/S3RVER|SecretAccessKey|SessionToken/)
      }
      // The merged result is exactly the union of the task results the tasks wrote to S3.
      const result = await runResultOf(r)
      expect(result.run.backend).toBe('fargate')
      expect(result.run.missingTasks).toEqual([])
      expect(result.tasks).toHaveLength(6)
      expect(new Set(result.tasks.map(t => t.task.region))).toEqual(new Set(REGIONS))
      const fromS3 = await s3TaskResults(result.run.runId)
      expect(fromS3).toHaveLength(6)
      const viewAction = new ResultView(result.tasks).stats({ window: 'all' })
      const viewS3 = new ResultView(fromS3).stats({ window: 'all' })
      expect(viewAction.requests).toBeGreaterThan(50)
      expect(viewAction).toEqual(viewS3)
      const merged = mergeTasks(fromS3)
      expect(Object.keys(merged.labels).sort()).toEqual(['GET /fast', 'GET /health'])
      // Start barrier: the tasks started together; the skew is reported.
      expect(typeof result.run.facts.startSkewMs).toBe('number')
      expect(result.run.facts.startSkewMs as number).toBeLessThan(1500)
      expect(r.stdout).toMatch(/start barrier passed: 6 task\(s\)/)
      // The report's run facts: backend, regions, tasks and the cost estimate.
      expect(r.summary).toMatch(/on `fargate`/)
      expect(r.summary).toMatch(/regions ap-southeast-2, eu-west-1, us-east-1/)
      expect(r.summary).toMatch(/est\. cost \$0\.\d+/)
      expect(r.summary).toMatch(/start skew \d+ ms/)
      expect(r.stdout).toMatch(/us-east-1: .*req\/s/)
      // The state names the tasks, never credentials; the post step finds nothing left.
      expect(r.state['fargate-tasks']).toContain('arn:aws:ecs:eu-west-1:123456789012:task/perf-gate/')
      expect(JSON.stringify(r.state)).not.toMatch(/S3RVER|secret/i)
      expect(f.running()).toEqual([])
      expect(r.post?.code).toBe(0)
      expect(r.post?.stdout).toMatch(/nothing left to clean up/)
      expect(gh.find('POST', /\/statuses\//).length + gh.find('PATCH', /comments/).length).toBeGreaterThan(0)
    },
    FLEET_TEST_MS
  )

  /** Every task the fake ever started has stopped and its process is gone. */
  const nothingLeft = (f: FakeAws) => {
    expect(f.running()).toEqual([])
    for (const t of f.tasks()) {
      expect(t.lastStatus).toBe('STOPPED')
      if (t.pid) expect(() => process.kill(t.pid!, 0)).toThrow()
    }
  }

  const storedBaselines = async (): Promise<number> => {
    const dir = join(work, 'baselines')
    if (!existsSync(dir)) return 0
    const { readdir } = await import('node:fs/promises')
    const files = (await readdir(dir, { recursive: true })) as string[]
    return files.filter(n => n.endsWith('.json') && !n.endsWith('index.json')).length
  }

  it(
    'the nightly baseline job stores every replicate in the S3 store with the assumed role',
    async () => {
      const f = await startFake()
      const r = await runAction(
        f,
        { mode: 'baseline', replicates: '2', 'baseline-store': `s3://${BUCKET}` },
        {
          event: {
            ref: 'refs/heads/main',
            after: 'e'.repeat(40),
            repository: { id: 1, full_name: REPO, name: 'shop', owner: { login: 'acme' } }
          },
          eventName: 'push',
          post: false
        }
      )
      expect(r.stdout).not.toMatch(/::error::/)
      expect(r.outputs.verdict).toBe('PASS')
      const listed = await new RunObjects(s3, BUCKET).list('baselines/acme/shop/api/')
      const docs = listed.filter(k => !k.endsWith('index.json'))
      expect(docs).toHaveLength(2)
      // The fingerprint covers the fleet: regions and task counts are in the stored path.
      expect(new Set(docs.map(k => k.split('/')[4])).size).toBe(1)
      expect(f.calls('RunTask')).toBe(6)
      // The report prices the fleet it used (6 tasks of 1 vCPU / 2 GB, both runs) and says when the
      // first request was answered after the step started (credentials, RunTask and the barrier included).
      expect(r.summary).toMatch(
        /est\. cost \$\d+\.\d\d \(6 Fargate tasks of 1 vCPU \/ 2 GB, 2 runs of about \d+ (s|min) billed \(2 min start-up included\)\)/
      )
      expect(r.summary).toMatch(/first request \d+(\.\d)?–\d+(\.\d)? s after the step started/)
      nothingLeft(f)
    },
    FLEET_TEST_MS
  )

  it(
    'retries RunTask capacity failures and ECS throttling without launching a task twice',
    async () => {
      const f = await startFake({
        regions: { 'us-east-1': { capacityFailures: 2 }, 'eu-west-1': { throttle: 2 }, 'ap-southeast-2': {} }
      })
      const r = await runAction(f, {}, { post: false })
      expect(r.stdout).not.toMatch(/::error::/)
      expect(r.outputs.verdict).toMatch(/^(PASS|INCONCLUSIVE)$/)
      // Exactly the planned 6 tasks exist: the failed attempts started nothing, the retries the rest.
      expect(f.tasks()).toHaveLength(6)
      const runTasks = f.requests.filter(q => q.op === 'RunTask')
      expect(runTasks.filter(q => q.region === 'us-east-1')).toHaveLength(3)
      expect(runTasks.filter(q => q.region === 'eu-west-1')).toHaveLength(3)
      expect(new Set(runTasks.map(q => (q.body as { clientToken: string }).clientToken)).size).toBeLessThan(
        runTasks.length
      )
      const result = await runResultOf(r)
      expect(result.tasks).toHaveLength(6)
      nothingLeft(f)
    },
    FLEET_TEST_MS
  )

  it(
    'capacity refused in every region: ERROR naming the tasks, with the status and the summary',
    async () => {
      const f = await startFake({
        regions: Object.fromEntries(REGIONS.map(r => [r, { capacityFailures: 100 }]))
      })
      const statusesBefore = gh.find('POST', /\/statuses\//).length
      const r = await runAction(f, {}, { post: false })
      expect(r.stdout).not.toMatch(/no task results to report on/)
      expect(r.outputs.verdict).toBe('ERROR')
      expect(f.tasks()).toHaveLength(0)
      expect(r.summary).toMatch(/ERROR/)
      for (const region of REGIONS) expect(r.summary).toContain(`${region}/`)
      const statuses = gh.find('POST', /\/statuses\//).slice(statusesBefore)
      expect(statuses).toHaveLength(1)
      expect((statuses[0].body as { state: string; description: string }).state).toBe('error')
      expect((statuses[0].body as { description: string }).description).toMatch(
        /task\(s\) missing \(us-east-1\/0: not launched/
      )
      nothingLeft(f)
    },
    FLEET_TEST_MS
  )

  it(
    'rides out S3 503 bursts on the action and the tasks',
    async () => {
      const f = await startFake()
      // Every 7th S3 request fails with 503 SlowDown, for the tasks and the action alike.
      proxy.setFaults({ every: 7 })
      const before = proxy.faulted
      const r = await runAction(f, {}, { post: false })
      expect(proxy.faulted - before).toBeGreaterThan(5)
      expect(r.stdout).not.toMatch(/::error::/)
      expect(r.outputs.verdict).toMatch(/^(PASS|INCONCLUSIVE)$/)
      const result = await runResultOf(r)
      expect(result.run.missingTasks).toEqual([])
      expect(result.tasks).toHaveLength(6)
      nothingLeft(f)
    },
    FLEET_TEST_MS
  )

  it(
    'a task that crashes mid-run is named, the baseline job stores nothing, and the verdict is ERROR',
    async () => {
      const f = await startFake({
        faultFor: (region, index) =>
          region === 'eu-west-1' && index === 1 ? 'crash-after-ms:4500' : undefined
      })
      const stored = await storedBaselines()
      const r = await runAction(
        f,
        { mode: 'baseline', replicates: '1', duration: '6s' },
        { event: pr(), post: false }
      )
      expect(r.outputs.verdict).toBe('ERROR')
      expect(r.code).toBe(1)
      expect(r.stdout).toMatch(/task eu-west-1\/3 missing: no result \([^)]*exit code 137/)
      expect(await storedBaselines()).toBe(stored)
      nothingLeft(f)
    },
    FLEET_TEST_MS
  )

  it(
    'a task that never writes its result is stopped at the hard limit and named',
    async () => {
      const f = await startFake({
        faultFor: (region, index) =>
          region === 'ap-southeast-2' && index === 0 ? 'freeze-after-ms:3000' : undefined
      })
      const r = await runAction(f, {}, { post: false })
      expect(r.outputs.verdict).toBe('ERROR')
      expect(r.stdout).toMatch(/still running past the hard limit/)
      expect(r.stdout).toMatch(/task ap-southeast-2\/4 missing: no result \(running\)/)
      expect(r.summary).toMatch(/ap-southeast-2\/4/)
      nothingLeft(f)
    },
    FLEET_TEST_MS
  )

  it(
    'a region where no task starts ends the run at the start barrier with an error',
    async () => {
      const f = await startFake({ regions: { 'eu-west-1': { neverStart: true } } })
      const servedBefore = target.stats().served
      const r = await runAction(f, {}, { timing: { readyTimeoutMs: 4000 }, post: false })
      expect(r.outputs.verdict).toBe('ERROR')
      expect(r.stdout).toMatch(/only 4 of 6 task\(s\) became ready/)
      expect(r.stdout).toMatch(/task eu-west-1\/2 missing: not ready within 4 s \(provisioning\)/i)
      // The load never started: the target saw no request, and the other regions' tasks were stopped.
      expect(target.stats().served).toBe(servedBefore)
      nothingLeft(f)
    },
    FLEET_TEST_MS
  )

  it(
    'abort-on stops the whole fleet early with a FAIL',
    async () => {
      const f = await startFake()
      const r = await runAction(
        f,
        { requests: 'GET /flaky', duration: '30s', 'abort-on': 'http_req_failed: rate<0.05' },
        { post: false }
      )
      expect(r.outputs.verdict).toBe('FAIL')
      expect(r.stdout).toMatch(
        /stopping the fleet: abort-on: http_req_failed: rate<0.05 does not hold \(error rate/
      )
      const result = await runResultOf(r)
      const ran = Math.max(...result.tasks.map(t => (t.task.endedMs ?? 0) - (t.task.startedMs ?? 0)))
      expect(ran).toBeLessThan(25_000)
      nothingLeft(f)
    },
    FLEET_TEST_MS
  )

  for (const phase of ['provisioning', 'load'] as const)
    it(
      `SIGINT during ${phase}, then the post step: no task is left running`,
      async () => {
        const slow = phase === 'provisioning' ? 8000 : 50
        const f = await startFake({
          regions: Object.fromEntries(REGIONS.map(r => [r, { provisioningDelayMs: slow }]))
        })
        let sent = false
        const servedBefore = target.stats().served
        const r = await runAction(
          f,
          { duration: '60s' },
          {
            onSpawn: child => {
              const poll = setInterval(() => {
                const ready =
                  phase === 'provisioning'
                    ? f.calls('RunTask') >= 3
                    : f.tasks().length === 6 &&
                      f.tasks().every(t => t.lastStatus === 'RUNNING') &&
                      target.stats().served > servedBefore + 200
                if (ready && !sent) {
                  sent = true
                  child.kill('SIGINT')
                }
                if (sent || child.exitCode !== null) clearInterval(poll)
              }, 100)
            }
          }
        )
        expect(sent).toBe(true)
        if (phase === 'load') expect(target.stats().served).toBeGreaterThan(servedBefore + 200)
        expect(r.stdout).toMatch(/cancelled; stopping the load generators/)
        expect(r.outputs.verdict).toBe('ERROR')
        expect(r.post?.code).toBe(0)
        expect(r.state['fargate-tasks']).toMatch(/arn:aws:ecs:/)
        // The post step re-assumed the role and looked for leftovers by startedBy.
        expect(f.calls('ListTasks')).toBeGreaterThanOrEqual(3)
        await f.waitForAll(t => t.lastStatus === 'STOPPED', 15_000)
        nothingLeft(f)
      },
      FLEET_TEST_MS
    )

  it(
    'abort-on judges live latency merged from every task: p(95) on a slowed target stops the fleet with a FAIL',
    async () => {
      const f = await startFake({ baseEnv: { PERF_GATE_REMOTE_TIMING: JSON.stringify({ progressMs: 500 }) } })
      await fetch(`${target.url}/__perf-gate/faults`, {
        method: 'POST',
        body: JSON.stringify({ '/fast': { delayMs: 60 } })
      })
      try {
        const r = await runAction(
          f,
          { requests: 'GET /fast', vus: '6', duration: '30s', 'abort-on': 'p(95)<40' },
          { post: false }
        )
        expect(r.outputs.verdict).toBe('FAIL')
        expect(r.stdout).toMatch(
          /stopping the fleet: abort-on: "p\(95\)<40" \(p\(95\) = \d+(\.\d+)? ms\) does not hold on \d+ requests after \d+ s/
        )
        const result = await runResultOf(r)
        // Stopped well before the 30 s of load, and the recorded p95 agrees with the live one.
        const ran = Math.max(...result.tasks.map(t => (t.task.endedMs ?? 0) - (t.task.startedMs ?? 0)))
        expect(ran).toBeLessThan(25_000)
        expect(new ResultView(result.tasks).stats({ window: 'all' }).p95Ms).toBeGreaterThan(40)
        nothingLeft(f)
      } finally {
        await fetch(`${target.url}/__perf-gate/faults`, { method: 'POST', body: '{}' })
      }
    },
    FLEET_TEST_MS
  )

  it(
    'mode: stress across two regions: the fleet runs the steps, stops at the first broken step through S3, and reports capacity per region and overall',
    async () => {
      // A target with a known limit: 4 requests at once, 100 ms each = 40 req/s, reached at 4 VUs.
      const limited = await startTarget({ port: 0, maxSeconds: 300, concurrency: 4, serviceMs: 100 })
      const store = join(work, 'stress-store')
      try {
        const f = await startFake({
          baseEnv: { PERF_GATE_REMOTE_TIMING: JSON.stringify({ progressMs: 500, watchMs: 500 }) }
        })
        const dispatch = {
          ref: 'refs/heads/main',
          inputs: { profile: 'stress' },
          repository: {
            id: 1,
            full_name: REPO,
            name: 'shop',
            owner: { login: 'acme' },
            default_branch: 'main'
          }
        }
        const r = await runAction(
          f,
          {
            mode: 'stress',
            scenario: 'capacity',
            target: limited.url,
            requests: 'GET /fast',
            vus: '4',
            duration: '',
            multiplier: '2',
            'profile-params': 'steps: 4\nstep-duration: 4s\nstep-ramp: 1s',
            thresholds: 'p(95)<150',
            regions: '[us-east-1, eu-west-1]',
            'vus-per-vcpu': '4',
            'target-rps': '30',
            'baseline-store': `dir:${store}`
          },
          { event: dispatch, eventName: 'workflow_dispatch' }
        )
        expect(r.stdout).not.toMatch(/::error::/)
        expect(r.code).toBe(0)
        expect(r.outputs.verdict).toBe('PASS')
        // The plan is printed before any AWS call: the peak of 8 VUs at 4 per task needs 2 tasks, one
        // per region (30 req/s at the expected load, 60 at the peak, fits in one).
        const planAt = r.stdout.indexOf('fargate plan: 2 task(s)')
        expect(planAt).toBeGreaterThanOrEqual(0)
        expect(planAt).toBeLessThan(r.stdout.indexOf('assumed arn:aws:iam'))
        expect(f.tasks()).toHaveLength(2)
        expect(new Set(f.tasks().map(t => t.region))).toEqual(new Set(['us-east-1', 'eu-west-1']))
        // The stop rule judged the merged live windows and stopped the fleet through abort.json.
        expect(r.stdout).toMatch(/broke "p\(95\)<150".*stopping the run at the end of that step/)
        expect(r.stdout).toMatch(/stopping the fleet: stress step broke an SLO/)
        const records = (await readdir(join(store, '_capacity', 'acme', 'shop', 'capacity'))).filter(x =>
          x.endsWith('.json')
        )
        expect(records).toHaveLength(1)
        const record = JSON.parse(
          await readFile(join(store, '_capacity', 'acme', 'shop', 'capacity', records[0]), 'utf8')
        )
        expect(Math.abs(record.breakingVus - 4)).toBeLessThanOrEqual(2)
        expect(record.capacityRps).toBeGreaterThan(40 * 0.45)
        expect(record.capacityRps).toBeLessThan(40 * 1.15)
        expect(record.stoppedEarly).toBe(true)
        expect(record.steps[3].held).toBeNull()
        expect(Number(r.outputs['capacity-rps'])).toBeCloseTo(record.capacityRps, 5)
        // The report: overall, then each region alone.
        expect(r.summary).toMatch(/^### 📈 perf-gate capacity · capacity \(stress\)/)
        expect(r.summary).toContain('**By region**')
        expect(r.summary).toMatch(/\| eu-west-1 +\| 1 +\|/)
        expect(r.summary).toMatch(/\| us-east-1 +\| 1 +\|/)
        const result = await runResultOf(r)
        expect(result.run.backend).toBe('fargate')
        expect(new Set(result.tasks.map(t => t.task.region))).toEqual(new Set(['us-east-1', 'eu-west-1']))
        nothingLeft(f)
      } finally {
        await limited.close()
      }
    },
    FLEET_TEST_MS
  )

  it('a fork pull request never reaches AWS', async () => {
    const f = await startFake()
    const r = await runAction(f, {}, { event: pr({ fork: true }), post: false })
    expect(r.code).toBe(0)
    expect(r.outputs.verdict).toBe('INCONCLUSIVE')
    expect(r.summary).toMatch(/fork pull requests never reach AWS/)
    expect(f.requests).toEqual([])
  }, 60_000)

  it('refuses to start above max-cost-usd, naming the input, before any AWS call', async () => {
    const f = await startFake()
    const r = await runAction(f, { 'max-cost-usd': '0.001' }, { post: false })
    expect(r.outputs.verdict).toBe('ERROR')
    expect(r.stdout).toMatch(
      /input 'max-cost-usd': the run may cost up to \$0\.\d+ .*above the cap of \$0\.001/
    )
    expect(r.stdout).not.toMatch(/\n\s+at .+:\d+:\d+\)/)
    expect(f.requests).toEqual([])
  }, 60_000)
})
