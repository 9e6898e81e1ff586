/**
 * The loopback AWS fake (`helpers/fake-aws.ts`) and the S3 fault proxy, driven by the real SDK v3
 * clients: OIDC → STS, ECS task lifecycle with real processes, scripted faults, CloudFormation
 * outputs, S3 retries through injected SlowDown errors, and the AWS_ENDPOINT_URL_* variables.
 */
import { spawn } from 'node:child_process'
import { createServer } from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { getIDToken } from '@actions/core'
import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import {
  DescribeClustersCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RunTaskCommand,
  StopTaskCommand,
  type ECSClientConfig,
  type RunTaskCommandInput,
  type Task
} from '@aws-sdk/client-ecs'
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation'
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import {
  awsEnvFor,
  startFakeAws,
  type FakeAws,
  type FakeAwsOptions,
  type SimulatedTask,
  type TaskFault
} from '../helpers/fake-aws.js'
import { startS3FaultProxy, type S3FaultProxy } from '../helpers/s3-fault-proxy.js'

interface S3rverInstance {
  run(): Promise<AddressInfo>
  close(): Promise<void>
}
type S3rverCtor = new (opts: Record<string, unknown>) => S3rverInstance
const S3rver = createRequire(import.meta.url)('@20minutes/s3rver') as S3rverCtor

const STATIC = { accessKeyId: 'AKIDSTATIC', secretAccessKey: 'static-secret' }
const S3RVER_KEYS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }
const ROLE = 'arn:aws:iam::123456789012:role/perf-gate-fleet'
const BUCKET = 'fleet-results'
/** The runner stand-in: MODE=exit prints and exits after 300 ms; forever/stubborn tick until killed. */
const RUNNER = `
const mode = process.env.MODE ?? 'exit'
console.log('start ' + mode + ' base=' + process.env.BASE)
setTimeout(() => process.exit(3), 60000)
if (mode === 'exit') setTimeout(() => { console.log('done'); process.exit(Number(process.env.EXIT_CODE ?? 0)) }, 300)
else {
  if (mode === 'stubborn') process.on('SIGTERM', () => console.log('ignoring SIGTERM'))
  let n = 0
  setInterval(() => console.log('tick ' + n++), 20)
}
`

let tmp: string
let runnerEntry: string
let s3rver: S3rverInstance
let s3rverUrl: string
const fakes: FakeAws[] = []
const clients: { destroy(): void }[] = []

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'perf-gate-fake-aws-'))
  runnerEntry = join(tmp, 'runner.mjs')
  writeFileSync(runnerEntry, RUNNER)
  s3rver = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: join(tmp, 's3'),
    configureBuckets: [{ name: BUCKET, configs: [] }]
  })
  s3rverUrl = `http://127.0.0.1:${(await s3rver.run()).port}`
})
afterEach(async () => {
  clients.splice(0).forEach(c => c.destroy())
  await Promise.all(fakes.splice(0).map(f => f.close()))
})
afterAll(async () => {
  await s3rver.close()
  rmSync(tmp, { recursive: true, force: true })
})

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
async function until<T>(fn: () => Promise<T> | T, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (ok(v)) return v
    if (Date.now() > deadline) throw new Error(`timed out; last value ${JSON.stringify(v).slice(0, 2000)}`)
    await sleep(25)
  }
}
/** Sets environment variables; the returned function restores the previous values. */
function setEnv(vars: Record<string, string>): () => void {
  const saved = Object.fromEntries(Object.keys(vars).map(k => [k, process.env[k]]))
  Object.assign(process.env, vars)
  return () => {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
  }
}
const track = <C extends { destroy(): void }>(c: C): C => (clients.push(c), c)

async function fake(opts: FakeAwsOptions = {}): Promise<FakeAws> {
  const f = await startFakeAws({
    runnerEntry,
    baseEnv: { BASE: 'b1', MODE: 'exit' },
    stopGraceMs: 300,
    faultFor: (_r, _i, env) => env.FAULT as TaskFault | undefined,
    ...opts
  })
  fakes.push(f)
  return f
}
const ecsFor = (f: FakeAws, region = 'us-east-1', extra: ECSClientConfig = {}) =>
  track(new ECSClient({ region, endpoint: f.endpoint, credentials: STATIC, ...extra }))

function runInput(
  env: Record<string, string>,
  extra: Partial<RunTaskCommandInput> = {}
): RunTaskCommandInput {
  return {
    cluster: 'perf',
    taskDefinition: 'perf-gate-runner',
    launchType: 'FARGATE',
    startedBy: 'perf-gate-42-1',
    networkConfiguration: { awsvpcConfiguration: { subnets: ['subnet-1'], assignPublicIp: 'ENABLED' } },
    overrides: {
      containerOverrides: [
        { name: 'runner', environment: Object.entries(env).map(([name, value]) => ({ name, value })) }
      ]
    },
    tags: [{ key: 'perf-gate:run', value: '42' }],
    ...extra
  }
}
async function describe1(ecs: ECSClient, arn: string): Promise<Task> {
  const out = await ecs.send(new DescribeTasksCommand({ cluster: 'perf', tasks: [arn] }))
  return out.tasks![0]
}
const untilStatus = (ecs: ECSClient, arn: string, status: string, timeoutMs?: number) =>
  until(
    () => describe1(ecs, arn),
    t => t.lastStatus === status,
    timeoutMs
  )
async function assume(f: FakeAws, sessionName = 'perf-gate-42', extra = {}) {
  const res = await fetch(`${f.oidcUrl}&audience=sts.amazonaws.com`, {
    headers: { authorization: `Bearer ${f.oidcRequestToken}` }
  })
  const { value } = (await res.json()) as { value: string }
  const sts = track(new STSClient({ region: 'us-east-1', endpoint: f.endpoint, ...extra }))
  return sts.send(
    new AssumeRoleWithWebIdentityCommand({
      RoleArn: ROLE,
      RoleSessionName: sessionName,
      WebIdentityToken: value,
      DurationSeconds: 900
    })
  )
}

describe('OIDC and STS', () => {
  it('issues a token to @actions/core and exchanges it for credentials', async () => {
    const f = await fake()
    const restore = setEnv({
      ACTIONS_ID_TOKEN_REQUEST_URL: f.oidcUrl,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: f.oidcRequestToken
    })
    let token: string
    try {
      token = await getIDToken('sts.amazonaws.com')
    } finally {
      restore()
    }
    expect(token.split('.')).toHaveLength(3)
    expect(f.requests[0]).toMatchObject({ service: 'oidc', body: { audience: 'sts.amazonaws.com' } })

    const sts = track(new STSClient({ region: 'us-east-1', endpoint: f.endpoint }))
    const input = {
      RoleArn: ROLE,
      RoleSessionName: 'perf-gate-42',
      WebIdentityToken: token,
      DurationSeconds: 900
    }
    const out = await sts.send(new AssumeRoleWithWebIdentityCommand(input))
    expect(out.Credentials?.AccessKeyId).toMatch(/^ASIA[A-Z0-9]{16}$/)
    expect(out.Credentials?.SessionToken).toBeTruthy()
    const expiresIn = out.Credentials!.Expiration!.getTime() - Date.now()
    expect(expiresIn).toBeGreaterThan(890_000)
    expect(expiresIn).toBeLessThan(901_000)
    expect(out.AssumedRoleUser?.Arn).toBe(
      'arn:aws:sts::123456789012:assumed-role/perf-gate-fleet/perf-gate-42'
    )
    // AssumeRoleWithWebIdentity is unsigned: no credential scope on the request.
    const call = f.requests.find(r => r.op === 'AssumeRoleWithWebIdentity')!
    expect(call).toMatchObject({
      service: 'sts',
      region: undefined,
      body: { RoleSessionName: 'perf-gate-42' }
    })

    await expect(
      sts.send(new AssumeRoleWithWebIdentityCommand({ ...input, RoleSessionName: 'bad name!' }))
    ).rejects.toMatchObject({ name: 'ValidationError', $metadata: { httpStatusCode: 400 } })
    await expect(
      sts.send(new AssumeRoleWithWebIdentityCommand({ ...input, WebIdentityToken: 'a.b.c' }))
    ).rejects.toMatchObject({ name: 'InvalidIdentityTokenException' })
    const wrong = await fetch(`${f.oidcUrl}&audience=x`, { headers: { authorization: 'Bearer nope' } })
    expect(wrong.status).toBe(401)
  })

  it('retries STS throttling by default and surfaces it with maxAttempts 1', async () => {
    const f = await fake({ stsFailures: 2 })
    const out = await assume(f)
    expect(out.Credentials?.AccessKeyId).toMatch(/^ASIA/)
    expect(f.calls('AssumeRoleWithWebIdentity')).toBe(3)

    const g = await fake({ stsFailures: 1, stsFailureStatus: 503 })
    await expect(assume(g, 'perf-gate-42', { maxAttempts: 1 })).rejects.toMatchObject({
      name: 'ServiceUnavailable',
      $metadata: { httpStatusCode: 503 }
    })
    const h = await fake({ stsFailures: 1 })
    await expect(assume(h, 'perf-gate-42', { maxAttempts: 1 })).rejects.toMatchObject({
      name: 'Throttling',
      $metadata: { httpStatusCode: 400 }
    })
  })

  it('lets per-region ECS clients share the assumed credentials', async () => {
    const f = await fake()
    const { Credentials: c } = await assume(f)
    const credentials = {
      accessKeyId: c!.AccessKeyId!,
      secretAccessKey: c!.SecretAccessKey!,
      sessionToken: c!.SessionToken!,
      expiration: c!.Expiration
    }
    for (const region of ['us-east-1', 'eu-west-1'])
      await ecsFor(f, region, { credentials }).send(new ListTasksCommand({ cluster: 'perf' }))
    const ecsCalls = f.requests.filter(r => r.service === 'ecs')
    expect(ecsCalls.map(r => r.region)).toEqual(['us-east-1', 'eu-west-1'])
    expect(new Set(ecsCalls.map(r => r.accessKeyId))).toEqual(new Set([c!.AccessKeyId]))
    expect(ecsCalls.every(r => r.sessionToken === c!.SessionToken)).toBe(true)
  })
})

describe('AWS_ENDPOINT_URL_<SERVICE>', () => {
  it('points clients created with only a region at the fakes', async () => {
    const f = await fake({ stacks: { 'eu-west-1': { ResultsBucket: BUCKET } } })
    const proxy = await startS3FaultProxy({ upstream: s3rverUrl })
    const restore = setEnv(awsEnvFor(f, proxy.endpoint))
    try {
      const sts = track(new STSClient({ region: 'eu-west-1' }))
      const token = await getIDToken('sts.amazonaws.com')
      const { Credentials: c } = await sts.send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: ROLE,
          RoleSessionName: 'env-test',
          WebIdentityToken: token
        })
      )
      const restoreKeys = setEnv({
        AWS_ACCESS_KEY_ID: c!.AccessKeyId!,
        AWS_SECRET_ACCESS_KEY: c!.SecretAccessKey!,
        AWS_SESSION_TOKEN: c!.SessionToken!
      })
      try {
        await track(new ECSClient({ region: 'eu-west-1' })).send(new ListTasksCommand({ cluster: 'perf' }))
        const cfn = track(new CloudFormationClient({ region: 'eu-west-1' }))
        const stacks = await cfn.send(new DescribeStacksCommand({ StackName: 'perf-gate-fleet' }))
        expect(stacks.Stacks?.[0].Outputs).toEqual([{ OutputKey: 'ResultsBucket', OutputValue: BUCKET }])
        // s3rver only knows its own key pair.
        const s3 = track(
          new S3Client({ region: 'eu-west-1', forcePathStyle: true, credentials: S3RVER_KEYS })
        )
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'env/a.txt', Body: 'via env' }))
      } finally {
        restoreKeys()
      }
      expect(f.requests.map(r => `${r.service}:${r.op}:${r.region ?? '-'}`)).toEqual([
        'oidc:GetIDToken:-',
        'sts:AssumeRoleWithWebIdentity:-',
        'ecs:ListTasks:eu-west-1',
        'cloudformation:DescribeStacks:eu-west-1'
      ])
      expect(f.requests[2].accessKeyId).toBe(c!.AccessKeyId)
      expect(proxy.forwarded).toBe(1)
    } finally {
      restore()
      await proxy.close()
    }
  })
})

describe('ECS tasks', () => {
  it('runs a task through PROVISIONING → RUNNING → STOPPED with the exit code', async () => {
    const script =
      "console.log('hello ' + process.env.BASE + ' ' + process.env.WHO); setTimeout(() => {}, 300)"
    const f = await fake({
      launch: t =>
        spawn(process.execPath, ['-e', script], {
          env: { ...process.env, ...t.env },
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true
        })
    })
    const ecs = ecsFor(f)
    const out = await ecs.send(new RunTaskCommand(runInput({ WHO: 'w1' })))
    expect(out.failures).toEqual([])
    const task = out.tasks![0]
    expect(task).toMatchObject({
      lastStatus: 'PROVISIONING',
      desiredStatus: 'RUNNING',
      startedBy: 'perf-gate-42-1',
      group: 'family:perf-gate-runner',
      clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/perf',
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/perf-gate-runner:1',
      tags: [{ key: 'perf-gate:run', value: '42' }]
    })
    expect(task.taskArn).toMatch(/^arn:aws:ecs:us-east-1:123456789012:task\/perf\/[0-9a-f]{32}$/)
    const running = await untilStatus(ecs, task.taskArn!, 'RUNNING')
    expect(running.startedAt).toBeInstanceOf(Date)
    const stopped = await untilStatus(ecs, task.taskArn!, 'STOPPED')
    expect(stopped).toMatchObject({
      desiredStatus: 'STOPPED',
      stopCode: 'EssentialContainerExited',
      stoppedReason: 'Essential container in task exited',
      containers: [{ name: 'runner', exitCode: 0, lastStatus: 'STOPPED' }]
    })
    expect(stopped.stoppedAt!.getTime()).toBeGreaterThanOrEqual(stopped.startedAt!.getTime())
    const [info] = f.tasks()
    expect(info).toMatchObject({
      region: 'us-east-1',
      index: 0,
      env: { BASE: 'b1', MODE: 'exit', WHO: 'w1' }
    })
    expect(info.output).toBe('hello b1 w1\n')
    expect(isAlive(info.pid!)).toBe(false)

    const missing = 'arn:aws:ecs:us-east-1:123456789012:task/perf/0123456789abcdef0123456789abcdef'
    const d = await ecs.send(new DescribeTasksCommand({ cluster: 'perf', tasks: [task.taskArn!, missing] }))
    expect(d.tasks).toHaveLength(1)
    expect(d.failures).toEqual([{ arn: missing, reason: 'MISSING' }])
    const byId = await ecs.send(
      new DescribeTasksCommand({ cluster: 'perf', tasks: [task.taskArn!.slice(-32)] })
    )
    expect(byId.tasks?.[0].taskArn).toBe(task.taskArn)
    const other = await ecs.send(new DescribeTasksCommand({ cluster: 'other', tasks: [task.taskArn!] }))
    expect(other.failures).toEqual([{ arn: task.taskArn, reason: 'MISSING' }])
    const unsigned = await fetch(f.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AmazonEC2ContainerServiceV20141113.ListTasks'
      },
      body: '{}'
    })
    expect(unsigned.status).toBe(400)
    expect(await unsigned.json()).toMatchObject({ __type: 'MissingAuthenticationTokenException' })
    const tooMany = Array.from({ length: 101 }, () => missing)
    await expect(
      ecs.send(new DescribeTasksCommand({ cluster: 'perf', tasks: tooMany }))
    ).rejects.toMatchObject({
      name: 'InvalidParameterException'
    })
    await expect(ecs.send(new DescribeClustersCommand({}))).rejects.toMatchObject({
      name: 'UnknownOperationException'
    })
  })

  it('honours clientToken idempotency per region', async () => {
    const f = await fake({
      regions: { 'us-east-1': { neverStart: true }, 'eu-west-1': { neverStart: true } }
    })
    const ecs = ecsFor(f)
    const a = await ecs.send(new RunTaskCommand(runInput({}, { clientToken: 'tok-1', count: 2 })))
    const b = await ecs.send(new RunTaskCommand(runInput({}, { clientToken: 'tok-1', count: 2 })))
    expect(b.tasks!.map(t => t.taskArn)).toEqual(a.tasks!.map(t => t.taskArn))
    expect(f.tasks()).toHaveLength(2)
    await ecsFor(f, 'eu-west-1').send(new RunTaskCommand(runInput({}, { clientToken: 'tok-1' })))
    expect(f.tasks()).toHaveLength(3)
  })

  it('scripts capacity failures, throttling and validation errors', async () => {
    const f = await fake({ regions: { 'us-east-1': { capacityFailures: 2, neverStart: true } } })
    const ecs = ecsFor(f)
    for (let i = 0; i < 2; i++) {
      const out = await ecs.send(new RunTaskCommand(runInput({}, { count: 2 })))
      expect(out.tasks).toEqual([])
      expect(out.failures).toHaveLength(2)
      expect(out.failures![0].reason).toMatch(/^Capacity is unavailable at this time/)
    }
    expect((await ecs.send(new RunTaskCommand(runInput({})))).tasks).toHaveLength(1)

    f.region('us-east-1').throttle = 1
    const once = ecsFor(f, 'us-east-1', { maxAttempts: 1 })
    await expect(once.send(new RunTaskCommand(runInput({})))).rejects.toMatchObject({
      name: 'ThrottlingException',
      message: 'Rate exceeded',
      $metadata: { httpStatusCode: 400 }
    })
    // The default client (3 attempts) retries ThrottlingException by itself.
    f.region('us-east-1').throttle = 1
    const before = f.calls('RunTask')
    expect((await ecs.send(new RunTaskCommand(runInput({})))).tasks).toHaveLength(1)
    expect(f.calls('RunTask') - before).toBe(2)

    await expect(ecs.send(new RunTaskCommand(runInput({ BIG: 'x'.repeat(8200) })))).rejects.toMatchObject({
      name: 'ClientException',
      message: 'Container Overrides length must be at most 8192'
    })
    await expect(ecs.send(new RunTaskCommand(runInput({}, { count: 11 })))).rejects.toMatchObject({
      name: 'InvalidParameterException'
    })
  })

  it('stops tasks: SIGTERM, SIGKILL after the grace period, and cancelled provisioning', async () => {
    const f = await fake({ regions: { 'eu-west-1': { neverStart: true } } })
    const ecs = ecsFor(f)
    const [a, b] = await Promise.all(
      ['forever', 'stubborn'].map(async MODE => {
        const out = await ecs.send(new RunTaskCommand(runInput({ MODE })))
        return out.tasks![0].taskArn!
      })
    )
    await untilStatus(ecs, a, 'RUNNING')
    await untilStatus(ecs, b, 'RUNNING')
    await until(f.tasks, ts => ts.every(t => t.output.includes('tick 1')))
    const pids = f.tasks().map(t => t.pid!)
    expect(pids.every(isAlive)).toBe(true)

    const t0 = Date.now()
    const stop = await ecs.send(new StopTaskCommand({ cluster: 'perf', task: a, reason: 'run cancelled' }))
    expect(stop.task).toMatchObject({ desiredStatus: 'STOPPED' })
    await ecs.send(new StopTaskCommand({ cluster: 'perf', task: b }))
    const sa = await untilStatus(ecs, a, 'STOPPED')
    expect(sa).toMatchObject({ stopCode: 'UserInitiated', stoppedReason: 'run cancelled' })
    expect(sa.containers![0].exitCode).toBe(143)
    const sb = await untilStatus(ecs, b, 'STOPPED')
    expect(sb.containers![0].exitCode).toBe(137)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280)
    expect(f.tasks()[1].output).toContain('ignoring SIGTERM')
    expect(pids.some(isAlive)).toBe(false)
    // Stopping again is fine; an unknown task is an error.
    expect((await ecs.send(new StopTaskCommand({ cluster: 'perf', task: a }))).task?.lastStatus).toBe(
      'STOPPED'
    )
    await expect(
      ecs.send(new StopTaskCommand({ cluster: 'perf', task: 'arn:aws:ecs:us-east-1:1:task/perf/00' }))
    ).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: 'The referenced task was not found.'
    })

    const eu = ecsFor(f, 'eu-west-1')
    const p = (await eu.send(new RunTaskCommand(runInput({ MODE: 'forever' })))).tasks![0].taskArn!
    expect((await eu.send(new StopTaskCommand({ cluster: 'perf', task: p }))).task?.lastStatus).toBe(
      'STOPPED'
    )
    await sleep(100)
    expect(f.tasks()[2]).toMatchObject({ lastStatus: 'STOPPED', pid: undefined, stopCode: 'UserInitiated' })
  })

  it('injects crash and freeze faults', async () => {
    const f = await fake()
    const ecs = ecsFor(f)
    const run = async (FAULT: string) =>
      (await ecs.send(new RunTaskCommand(runInput({ MODE: 'forever', FAULT })))).tasks![0].taskArn!
    const crash = await run('crash-after-ms:200')
    const freeze = await run('freeze-after-ms:200')

    const crashed = await untilStatus(ecs, crash, 'STOPPED')
    expect(crashed).toMatchObject({ stopCode: 'EssentialContainerExited', containers: [{ exitCode: 137 }] })
    const frozen = await until(f.tasks, ts => ts[1].frozen)
    await sleep(100) // lets output already in the pipe arrive
    const output = f.tasks()[1].output
    await sleep(300)
    expect(f.tasks()[1].output).toBe(output)
    expect(await describe1(ecs, freeze)).toMatchObject({ lastStatus: 'RUNNING' })
    expect(isAlive(frozen[1].pid!)).toBe(true)

    await ecs.send(new StopTaskCommand({ cluster: 'perf', task: freeze }))
    const stopped = await untilStatus(ecs, freeze, 'STOPPED')
    expect(stopped.containers![0].exitCode).toBe(137)
    expect(
      f
        .tasks()
        .map(t => t.pid!)
        .some(isAlive)
    ).toBe(false)
  })

  it('lists tasks by startedBy with pagination', async () => {
    const f = await fake({ regions: { 'us-east-1': { neverStart: true } } })
    const ecs = ecsFor(f)
    await ecs.send(new RunTaskCommand(runInput({}, { count: 5, startedBy: 'run-a' })))
    await ecs.send(new RunTaskCommand(runInput({}, { startedBy: 'run-b' })))
    const list = async (desiredStatus?: 'RUNNING' | 'STOPPED') => {
      const arns: string[] = []
      let nextToken: string | undefined
      let pages = 0
      do {
        const out = await ecs.send(
          new ListTasksCommand({
            cluster: 'perf',
            startedBy: 'run-a',
            desiredStatus,
            maxResults: 2,
            nextToken
          })
        )
        arns.push(...out.taskArns!)
        nextToken = out.nextToken
        pages++
      } while (nextToken && pages < 10)
      return { arns, pages }
    }
    const runA = f.tasks().filter(t => t.startedBy === 'run-a')
    expect(await list()).toEqual({ arns: runA.map(t => t.arn), pages: 3 })
    expect((await list('STOPPED')).arns).toEqual([])
    for (const t of runA) await ecs.send(new StopTaskCommand({ cluster: 'perf', task: t.arn }))
    expect((await list('STOPPED')).arns).toHaveLength(5)
    expect((await list()).arns).toEqual([])
    await expect(ecs.send(new ListTasksCommand({ cluster: 'perf', maxResults: 101 }))).rejects.toMatchObject({
      name: 'InvalidParameterException'
    })
  })

  it('simulates 1,000 tasks without processes', async () => {
    const f = await fake({
      launch: t => {
        let end = (_code: number) => {}
        const done = new Promise<number>(resolve => (end = resolve))
        const timer = setTimeout(() => end(t.index % 7 === 0 ? 1 : 0), 20 + (t.index % 50))
        const sim: SimulatedTask = { done, stop: () => (clearTimeout(timer), end(143)) }
        return sim
      }
    })
    const regions = ['us-east-1', 'eu-west-1']
    const arns = (
      await Promise.all(
        Array.from({ length: 100 }, async (_, i) => {
          const ecs = ecsFor(f, regions[i % 2])
          const out = await ecs.send(new RunTaskCommand(runInput({}, { count: 10 })))
          return out.tasks!.map(t => t.taskArn!)
        })
      )
    ).flat()
    expect(arns).toHaveLength(1000)
    await f.waitForAll(t => t.lastStatus === 'STOPPED', 20_000)
    const ecs = ecsFor(f, 'eu-west-1')
    const eu = arns.filter(a => a.includes(':eu-west-1:'))
    const described = await Promise.all(
      Array.from({ length: Math.ceil(eu.length / 100) }, (_, i) =>
        ecs.send(new DescribeTasksCommand({ cluster: 'perf', tasks: eu.slice(i * 100, i * 100 + 100) }))
      )
    )
    const exitCodes = described.flatMap(d => d.tasks!.map(t => t.containers![0].exitCode))
    expect(exitCodes).toHaveLength(500)
    expect(exitCodes.filter(c => c === 1)).toHaveLength(
      f.tasks().filter(t => t.region === 'eu-west-1' && t.index % 7 === 0).length
    )
    expect(f.running()).toEqual([])
  })

  it('close() kills every process it started', async () => {
    const f = await fake({
      baseEnv: { MODE: 'forever' },
      faultFor: (_r, i) => (i === 0 ? 'freeze-after-ms:400' : undefined)
    })
    const ecs = ecsFor(f)
    await ecs.send(new RunTaskCommand(runInput({}, { count: 3 })))
    // Task 0 is frozen (SIGSTOP) 400 ms after its start, whether or not it has printed yet.
    const live = await until(
      f.tasks,
      ts =>
        ts.every(t => t.pid !== undefined) &&
        ts.slice(1).every(t => t.output.includes('tick')) &&
        ts[0].frozen
    )
    const pids = live.map(t => t.pid!)
    expect(pids.every(isAlive)).toBe(true)
    expect(f.running()).toHaveLength(3)
    await f.close()
    expect(pids.some(isAlive)).toBe(false)
    expect(f.running()).toEqual([])
  })
})

describe('CloudFormation', () => {
  it('returns stack outputs per region and ValidationError for a missing stack', async () => {
    const f = await fake({ stacks: { 'us-east-1': { ClusterName: 'perf', Subnets: 'subnet-1,subnet-2' } } })
    const cfn = track(
      new CloudFormationClient({ region: 'us-east-1', endpoint: f.endpoint, credentials: STATIC })
    )
    const out = await cfn.send(new DescribeStacksCommand({ StackName: 'perf-gate-fleet' }))
    expect(out.Stacks![0]).toMatchObject({
      StackName: 'perf-gate-fleet',
      StackStatus: 'CREATE_COMPLETE',
      Outputs: [
        { OutputKey: 'ClusterName', OutputValue: 'perf' },
        { OutputKey: 'Subnets', OutputValue: 'subnet-1,subnet-2' }
      ]
    })
    await expect(cfn.send(new DescribeStacksCommand({ StackName: 'other' }))).rejects.toMatchObject({
      name: 'ValidationError',
      message: 'Stack with id other does not exist'
    })
    const eu = track(
      new CloudFormationClient({ region: 'eu-west-1', endpoint: f.endpoint, credentials: STATIC })
    )
    await expect(eu.send(new DescribeStacksCommand({ StackName: 'perf-gate-fleet' }))).rejects.toMatchObject({
      name: 'ValidationError'
    })
    expect(f.requests.map(r => r.region)).toEqual(['us-east-1', 'us-east-1', 'eu-west-1'])
  })
})

describe('S3 fault proxy', () => {
  let proxy: S3FaultProxy | undefined
  afterEach(async () => {
    await proxy?.close()
    proxy = undefined
  })
  const s3 = (endpoint: string, maxAttempts: number) =>
    track(
      new S3Client({
        region: 'us-east-1',
        endpoint,
        forcePathStyle: true,
        credentials: S3RVER_KEYS,
        requestChecksumCalculation: 'WHEN_REQUIRED',
        maxAttempts
      })
    )

  it('retries a burst of 503 SlowDown and then succeeds', async () => {
    proxy = await startS3FaultProxy({
      upstream: s3rverUrl,
      faults: { burst: { count: 3, status: 503, code: 'SlowDown' } }
    })
    const client = s3(proxy.endpoint, 5)
    await client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'runs/1/result.json', Body: '{"ok":true}' })
    )
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'runs/1/result.json' }))
    expect(await got.Body!.transformToString()).toBe('{"ok":true}')
    expect(proxy.faulted).toBe(3)
    expect(proxy.forwarded).toBe(2)
    expect(proxy.log.map(l => l.status)).toEqual([503, 503, 503, 200, 200])
  })

  it('surfaces SlowDown with maxAttempts 1 and InternalError from a fault function', async () => {
    proxy = await startS3FaultProxy({ upstream: s3rverUrl, faults: { every: 1 } })
    await expect(
      s3(proxy.endpoint, 1).send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k', Body: 'x' }))
    ).rejects.toMatchObject({ name: 'SlowDown', $metadata: { httpStatusCode: 503 } })
    proxy.setFaults(req => (req.method === 'GET' ? { status: 500, code: 'InternalError' } : undefined))
    const client = s3(proxy.endpoint, 1)
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k', Body: 'x' }))
    await expect(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'k' }))).rejects.toMatchObject({
      name: 'InternalError',
      $metadata: { httpStatusCode: 500 }
    })
    expect({ forwarded: proxy.forwarded, faulted: proxy.faulted }).toEqual({ forwarded: 1, faulted: 2 })
  })

  it('answers a torn read (a body shorter than its Content-Length) with 503 SlowDown, not a hang', async () => {
    // An upstream that declares 100 bytes, sends 10 and keeps the connection open, once.
    let gets = 0
    const upstream = createServer((req, res) => {
      req.resume()
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' })
      if (gets++ === 0) res.write('x'.repeat(10))
      else res.end('y'.repeat(100))
    })
    await new Promise<void>(r => upstream.listen(0, '127.0.0.1', r))
    try {
      proxy = await startS3FaultProxy({
        upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
      })
      const once = s3(proxy.endpoint, 1)
      await expect(once.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'p.json' }))).rejects.toMatchObject({
        name: 'SlowDown',
        $metadata: { httpStatusCode: 503 }
      })
      expect(proxy.torn).toBe(1)
      const got = await once.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'p.json' }))
      expect(await got.Body!.transformToString()).toBe('y'.repeat(100))
      expect(proxy.torn).toBe(1)
    } finally {
      upstream.closeAllConnections()
      await new Promise(r => upstream.close(r))
    }
  })
})
