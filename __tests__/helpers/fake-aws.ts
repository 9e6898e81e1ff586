/**
 * A loopback fake of the AWS APIs the `fargate` fleet backend uses, speaking the real wire protocols
 * so the real SDK v3 clients (and a spawned action) can talk to it:
 *
 *   ECS             JSON 1.1, `X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Op>`:
 *                   RunTask, DescribeTasks, StopTask, ListTasks (others: UnknownOperationException)
 *   STS             awsQuery (form in, XML out), unsigned: AssumeRoleWithWebIdentity
 *   CloudFormation  awsQuery, signed: DescribeStacks
 *   GitHub OIDC     GET /oidc?api-version=2.0&audience=X with `Authorization: Bearer <request token>`
 *
 * The region of a signed request comes from its SigV4 credential scope, so tests can check that
 * per-region clients share the assumed credentials. A task that leaves PROVISIONING becomes a real
 * process (`launch`, by default `node <runnerEntry>` in its own process group) or a `SimulatedTask`
 * (no process; for benchmarks with 1,000 tasks). Scripted faults: STS throttling, per-region ECS
 * capacity failures / throttling / tasks that never start, and per-task crash or freeze.
 *
 *   const aws = await startFakeAws({ runnerEntry, stacks: { 'us-east-1': { Bucket: 'b' } } })
 *   Object.assign(process.env, awsEnvFor(aws, s3Endpoint))   // or pass it to a child process
 *   ...
 *   await aws.close()                                           // kills every process it started
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { randomBytes, randomUUID } from 'node:crypto'
import { constants as osConstants } from 'node:os'
import type { AddressInfo } from 'node:net'

export const ACCOUNT_ID = '123456789012'
const ECS_TARGET = 'AmazonEC2ContainerServiceV20141113.'
const OUTPUT_TAIL_BYTES = 8192
/** ECS counts the JSON of `containerOverrides` (formatting included) against this limit. */
const OVERRIDES_LIMIT = 8192
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/
const CAPACITY_REASON =
  'Capacity is unavailable at this time. Please try again later or in a different availability zone'

export type TaskFault = `crash-after-ms:${number}` | `freeze-after-ms:${number}`

/** A task without a process: `stop()` ends it, `done` resolves with its exit code. */
export interface SimulatedTask {
  stop(): void
  done: Promise<number>
  /** Called on a `freeze-after-ms` fault (the task must then stop reporting). */
  freeze?(): void
}

export interface FakeTaskLaunch {
  region: string
  cluster: string
  taskArn: string
  /** Index of the task among all tasks launched in its region, from 0. */
  index: number
  startedBy?: string
  /** `opts.baseEnv` with the container overrides' environment on top. */
  env: Record<string, string>
}

/** Scripted behaviour of one region; `fake.region(name)` returns the live object. */
export interface FakeRegionOptions {
  /** PROVISIONING → RUNNING after this long (default 20 ms). */
  provisioningDelayMs?: number
  /** The next n RunTask calls answer HTTP 200 with `tasks: []` and a capacity failure per task. */
  capacityFailures?: number
  /** The next n RunTask calls answer HTTP 400 ThrottlingException. */
  throttle?: number
  /** Tasks stay PROVISIONING until stopped. */
  neverStart?: boolean
}

export interface FakeAwsOptions {
  regions?: Record<string, FakeRegionOptions>
  /** CloudFormation outputs (OutputKey → OutputValue) of stack `stackName`, per region. */
  stacks?: Record<string, Record<string, string>>
  /** Default `perf-gate-fleet`. */
  stackName?: string
  /** The first n AssumeRoleWithWebIdentity calls fail with `stsFailureStatus` (default 400 Throttling). */
  stsFailures?: number
  stsFailureStatus?: 400 | 503
  /** Audience STS accepts in the OIDC token (default `sts.amazonaws.com`). */
  audience?: string
  launch?: (task: FakeTaskLaunch) => ChildProcess | SimulatedTask
  /** Script the default launcher runs with `node`. */
  runnerEntry?: string
  baseEnv?: Record<string, string>
  faultFor?: (region: string, index: number, env: Record<string, string>) => TaskFault | undefined
  /** StopTask: SIGTERM, then SIGKILL after this long (default 2000; ECS uses 30 s). */
  stopGraceMs?: number
  /**
   * The key pair STS issues (default: random ASIA… keys). An S3 server that checks signatures
   * against one fixed key pair (s3rver: S3RVER/S3RVER) needs the action to sign with that pair.
   */
  issuedCredentials?: { accessKeyId: string; secretAccessKey: string }
}

export interface FakeAwsRequest {
  service: 'ecs' | 'sts' | 'cloudformation' | 'oidc' | 'metadata' | 'unknown'
  op: string
  /** From the SigV4 credential scope; undefined for unsigned requests. */
  region?: string
  accessKeyId?: string
  sessionToken?: string
  /** JSON for ECS, form fields for awsQuery, query parameters for OIDC. */
  body: unknown
  time: number
  status?: number
}

export type TaskStatus = 'PROVISIONING' | 'RUNNING' | 'STOPPED'

export interface FakeTaskInfo {
  region: string
  cluster: string
  arn: string
  index: number
  startedBy?: string
  lastStatus: TaskStatus
  desiredStatus: 'RUNNING' | 'STOPPED'
  stopCode?: string
  stoppedReason?: string
  exitCode?: number
  env: Record<string, string>
  pid?: number
  frozen: boolean
  /** The last ~8 KB of the process's stdout and stderr. */
  output: string
}

export interface FakeAws {
  endpoint: string
  oidcUrl: string
  oidcRequestToken: string
  requests: FakeAwsRequest[]
  /** Number of recorded requests (for one operation, e.g. `RunTask`). */
  calls(op?: string): number
  tasks(): FakeTaskInfo[]
  /** Tasks not yet STOPPED or whose process is still alive. */
  running(): FakeTaskInfo[]
  /** Resolves when every task satisfies `predicate`; rejects after `timeoutMs` (default 10 s). */
  waitForAll(predicate: (t: FakeTaskInfo) => boolean, timeoutMs?: number): Promise<FakeTaskInfo[]>
  /** The live scripted options of a region (mutate to script faults mid-test). */
  region(name: string): FakeRegionOptions
  close(): Promise<void>
}

/** Internal task state; the public fields are those of `FakeTaskInfo`. */
interface Task extends Omit<FakeTaskInfo, 'pid' | 'output'> {
  clusterArn: string
  taskDefinitionArn: string
  group: string
  launchType?: string
  capacityProviderName?: string
  tags: unknown[]
  overrides: Record<string, unknown>
  containerName: string
  createdAt: number
  startedAt?: number
  stoppingAt?: number
  stoppedAt?: number
  child?: ChildProcess
  sim?: SimulatedTask
  exited: boolean
  /** Exit code to report instead of the real one (a crashed simulated task). */
  forcedExit?: number
  output: Buffer
  timers: NodeJS.Timeout[]
  version: number
}

class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400
  ) {
    super(message)
  }
}
const invalid = (message: string) => new AwsError('InvalidParameterException', message)

const xmlEscape = (s: string) =>
  s.replace(/[<>&"']/g, c => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!)
const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
const epochS = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000)
const upperAlnum = (n: number) =>
  Array.from(randomBytes(n), b => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[b % 32]).join('')

/** Region, service and access key id from a SigV4 `Authorization` header. */
function credentialScope(auth: string | undefined) {
  const m = /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(auth ?? '')
  return m ? { accessKeyId: m[1], region: m[2], service: m[3] } : undefined
}

/** Starts the fake on 127.0.0.1 with an ephemeral port. */
export async function startFakeAws(opts: FakeAwsOptions = {}): Promise<FakeAws> {
  const regionOpts: Record<string, FakeRegionOptions> = { ...opts.regions }
  const stackName = opts.stackName ?? 'perf-gate-fleet'
  const audience = opts.audience ?? 'sts.amazonaws.com'
  const stopGraceMs = opts.stopGraceMs ?? 2000
  const oidcRequestToken = `oidc-request-${randomUUID()}`
  const issuedTokens = new Set<string>()
  const requests: FakeAwsRequest[] = []
  const tasks = new Map<string, Task>()
  const launchedInRegion = new Map<string, number>()
  /** `region clientToken` → task ARNs of a successful RunTask. */
  const idempotency = new Map<string, string[]>()
  const exits = new Set<Promise<void>>()
  let stsCalls = 0
  let closed = false
  let closing: Promise<void> | undefined
  let endpoint = ''

  const region = (name: string) => (regionOpts[name] ??= {})

  // ---- task lifecycle ------------------------------------------------------------------------------

  /** Signals the task's process group (detached spawn), falling back to the process itself. */
  const signal = (t: Task, sig: NodeJS.Signals) => {
    const pid = t.child?.pid
    if (!pid || t.exited) return
    try {
      process.kill(-pid, sig)
    } catch {
      t.child?.kill(sig)
    }
  }

  const finish = (t: Task, exitCode: number | undefined) => {
    if (t.lastStatus === 'STOPPED') return
    t.timers.forEach(clearTimeout)
    t.lastStatus = 'STOPPED'
    t.desiredStatus = 'STOPPED'
    t.stoppedAt = Date.now()
    t.stoppingAt ??= t.stoppedAt
    t.exitCode = exitCode
    t.stopCode ??= 'EssentialContainerExited'
    t.stoppedReason ??= 'Essential container in task exited'
    t.version++
  }

  const failToStart = (t: Task, e: unknown) => {
    t.stopCode = 'TaskFailedToStart'
    t.stoppedReason = `CannotStartContainerError: ${(e as Error).message}`
    finish(t, undefined)
  }

  const defaultLaunch = (l: FakeTaskLaunch): ChildProcess => {
    if (!opts.runnerEntry) throw new Error('fake AWS has neither `launch` nor `runnerEntry`')
    return spawn(process.execPath, [opts.runnerEntry], {
      env: { ...process.env, ...l.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true
    })
  }

  const appendOutput = (t: Task, chunk: Buffer) => {
    t.output = Buffer.concat([t.output, chunk])
    if (t.output.length > OUTPUT_TAIL_BYTES) t.output = t.output.subarray(-OUTPUT_TAIL_BYTES)
  }

  /** PROVISIONING → RUNNING: starts the process (or simulation) and arms its scripted fault. */
  const start = (t: Task) => {
    if (closed || t.lastStatus !== 'PROVISIONING' || t.desiredStatus !== 'RUNNING') return
    let launched: ChildProcess | SimulatedTask
    try {
      launched = (opts.launch ?? defaultLaunch)({
        region: t.region,
        cluster: t.cluster,
        taskArn: t.arn,
        index: t.index,
        startedBy: t.startedBy,
        env: t.env
      })
    } catch (e) {
      return failToStart(t, e)
    }
    t.lastStatus = 'RUNNING'
    t.startedAt = Date.now()
    t.version++
    if ('done' in launched) {
      const sim = (t.sim = launched)
      sim.done.then(
        code => finish(t, t.forcedExit ?? code),
        () => finish(t, t.forcedExit ?? 1)
      )
    } else {
      const child = (t.child = launched)
      child.stdout?.on('data', (c: Buffer) => appendOutput(t, c))
      child.stderr?.on('data', (c: Buffer) => appendOutput(t, c))
      const exited = new Promise<void>(resolve => {
        // 'error' also reports a failed kill; only a missing pid means the spawn itself failed.
        child.on('error', e => {
          if (child.pid !== undefined) return
          t.exited = true
          failToStart(t, e)
          resolve()
        })
        child.once('exit', (code, sig) => {
          // The essential container is gone: sweep the rest of its process group, as ECS would.
          if (child.pid)
            try {
              process.kill(-child.pid, 'SIGKILL')
            } catch {
              /* the group is already empty */
            }
          t.exited = true
          finish(t, code ?? 128 + (sig ? osConstants.signals[sig] : 0))
          resolve()
        })
      })
      exits.add(exited)
      void exited.then(() => exits.delete(exited))
    }
    const fault = opts.faultFor?.(t.region, t.index, t.env)
    const m = /^(crash|freeze)-after-ms:(\d+)$/.exec(fault ?? '')
    if (m)
      t.timers.push(
        setTimeout(() => {
          if (t.lastStatus !== 'RUNNING' || t.desiredStatus !== 'RUNNING') return
          if (m[1] === 'freeze') {
            t.frozen = true
            signal(t, 'SIGSTOP')
            t.sim?.freeze?.()
          } else {
            t.forcedExit = 137
            signal(t, 'SIGKILL')
            t.sim?.stop()
          }
        }, Number(m[2]))
      )
  }

  /** StopTask: cancels a PROVISIONING task; SIGTERM (SIGKILL after the grace) for a running one. */
  const stop = (t: Task, reason: string | undefined) => {
    if (t.desiredStatus === 'STOPPED') return
    t.desiredStatus = 'STOPPED'
    t.stoppingAt = Date.now()
    t.stopCode = 'UserInitiated'
    t.stoppedReason = reason || 'Task stopped by user'
    t.version++
    if (t.lastStatus === 'PROVISIONING') return finish(t, undefined)
    if (t.sim) return t.sim.stop()
    if (t.frozen) {
      signal(t, 'SIGCONT')
      signal(t, 'SIGKILL')
      return
    }
    signal(t, 'SIGTERM')
    t.timers.push(setTimeout(() => signal(t, 'SIGKILL'), stopGraceMs))
  }

  const info = (t: Task): FakeTaskInfo => ({
    region: t.region,
    cluster: t.cluster,
    arn: t.arn,
    index: t.index,
    startedBy: t.startedBy,
    lastStatus: t.lastStatus,
    desiredStatus: t.desiredStatus,
    stopCode: t.stopCode,
    stoppedReason: t.stoppedReason,
    exitCode: t.exitCode,
    env: t.env,
    pid: t.child?.pid,
    frozen: t.frozen,
    output: t.output.toString('utf8')
  })

  /** A task as ECS's JSON describes it. */
  const taskJson = (t: Task, withTags: boolean) => ({
    taskArn: t.arn,
    clusterArn: t.clusterArn,
    taskDefinitionArn: t.taskDefinitionArn,
    group: t.group,
    startedBy: t.startedBy,
    launchType: t.launchType,
    capacityProviderName: t.capacityProviderName,
    availabilityZone: `${t.region}a`,
    lastStatus: t.lastStatus,
    desiredStatus: t.desiredStatus,
    createdAt: epochS(t.createdAt),
    startedAt: epochS(t.startedAt),
    stoppingAt: epochS(t.stoppingAt),
    stoppedAt: epochS(t.stoppedAt),
    stopCode: t.stopCode,
    stoppedReason: t.stoppedReason,
    overrides: t.overrides,
    tags: withTags ? t.tags : undefined,
    version: t.version,
    containers: [
      {
        containerArn: `arn:aws:ecs:${t.region}:${ACCOUNT_ID}:container/${t.cluster}/${t.arn.slice(-32)}/${t.containerName}`,
        taskArn: t.arn,
        name: t.containerName,
        lastStatus: t.lastStatus,
        exitCode: t.exitCode
      }
    ]
  })

  // ---- ECS (JSON 1.1) -------------------------------------------------------------------------------

  const clusterOf = (region: string, body: Record<string, unknown>) => {
    const name = String(body.cluster ?? 'default').replace(/^arn:.*:cluster\//, '')
    return { name, arn: `arn:aws:ecs:${region}:${ACCOUNT_ID}:cluster/${name}` }
  }
  /** A task by ARN or id; tasks of another region or cluster are not found, as in ECS. */
  const findTask = (region: string, cluster: string, ref: string) => {
    const t = tasks.get(ref) ?? [...tasks.values()].find(x => x.arn.endsWith(`/${ref}`))
    return t && t.region === region && t.cluster === cluster ? t : undefined
  }

  const runTask = (r: string, b: Record<string, unknown>) => {
    const count = (b.count as number | undefined) ?? 1
    if (!Number.isInteger(count) || count < 1 || count > 10) throw invalid('count must be between 1 and 10.')
    if (b.launchType && b.capacityProviderStrategy)
      throw invalid('Specifying both a launchType and capacityProviderStrategy is not supported.')
    if (typeof b.taskDefinition !== 'string' || !b.taskDefinition)
      throw invalid('TaskDefinition can not be blank.')
    const overrides = (b.overrides ?? {}) as Record<string, unknown>
    const containerOverrides = (overrides.containerOverrides ?? []) as {
      name?: string
      environment?: { name: string; value?: string }[]
    }[]
    if (Buffer.byteLength(JSON.stringify(containerOverrides)) > OVERRIDES_LIMIT)
      throw new AwsError('ClientException', `Container Overrides length must be at most ${OVERRIDES_LIMIT}`)
    const ro = region(r)
    if ((ro.throttle ?? 0) > 0) {
      ro.throttle!--
      throw new AwsError('ThrottlingException', 'Rate exceeded')
    }
    const cluster = clusterOf(r, b)
    const key = typeof b.clientToken === 'string' ? `${r} ${b.clientToken}` : undefined
    const previous = key ? idempotency.get(key) : undefined
    if (previous) return { tasks: previous.map(a => taskJson(tasks.get(a)!, true)), failures: [] }
    const td = b.taskDefinition
    const [family, revision] = td.startsWith('arn:') ? [td.replace(/^.*\/|:\d+$/g, ''), ''] : td.split(':')
    const taskDefinitionArn = td.startsWith('arn:')
      ? td
      : `arn:aws:ecs:${r}:${ACCOUNT_ID}:task-definition/${family}:${revision || 1}`
    if ((ro.capacityFailures ?? 0) > 0) {
      ro.capacityFailures!--
      return {
        tasks: [],
        failures: Array.from({ length: count }, () => ({ arn: taskDefinitionArn, reason: CAPACITY_REASON }))
      }
    }
    const env: Record<string, string> = { ...opts.baseEnv }
    for (const o of containerOverrides) for (const e of o.environment ?? []) env[e.name] = e.value ?? ''
    const strategy = b.capacityProviderStrategy as { capacityProvider: string }[] | undefined
    const created: Task[] = []
    for (let i = 0; i < count; i++) {
      const index = launchedInRegion.get(r) ?? 0
      launchedInRegion.set(r, index + 1)
      const id = randomBytes(16).toString('hex')
      const t: Task = {
        region: r,
        cluster: cluster.name,
        clusterArn: cluster.arn,
        arn: `arn:aws:ecs:${r}:${ACCOUNT_ID}:task/${cluster.name}/${id}`,
        index,
        taskDefinitionArn,
        group: (b.group as string | undefined) ?? `family:${family}`,
        startedBy: b.startedBy as string | undefined,
        launchType: strategy ? undefined : ((b.launchType as string | undefined) ?? 'FARGATE'),
        capacityProviderName: strategy?.[0]?.capacityProvider,
        tags: (b.tags as unknown[] | undefined) ?? [],
        overrides,
        containerName: containerOverrides[0]?.name ?? 'runner',
        // ECS gives every container its task metadata endpoint (v4).
        env: { ...env, ECS_CONTAINER_METADATA_URI_V4: `${endpoint}/v4/${id}` },
        lastStatus: 'PROVISIONING',
        desiredStatus: 'RUNNING',
        createdAt: Date.now(),
        exited: false,
        frozen: false,
        output: Buffer.alloc(0),
        timers: [],
        version: 1
      }
      tasks.set(t.arn, t)
      created.push(t)
      if (!ro.neverStart) t.timers.push(setTimeout(() => start(t), ro.provisioningDelayMs ?? 20))
    }
    const arns = created.map(t => t.arn)
    if (key) idempotency.set(key, arns)
    return { tasks: created.map(t => taskJson(t, true)), failures: [] }
  }

  const ecs: Record<string, (region: string, b: Record<string, unknown>) => unknown> = {
    RunTask: runTask,
    DescribeTasks: (r, b) => {
      const refs = (b.tasks ?? []) as string[]
      if (refs.length === 0) throw invalid('Tasks cannot be empty.')
      if (refs.length > 100) throw invalid('Tasks cannot have more than 100 elements')
      const cluster = clusterOf(r, b).name
      const withTags = ((b.include ?? []) as string[]).includes('TAGS')
      const found = refs.map(ref => ({ ref, t: findTask(r, cluster, ref) }))
      return {
        tasks: found.filter(f => f.t).map(f => taskJson(f.t!, withTags)),
        failures: found.filter(f => !f.t).map(f => ({ arn: f.ref, reason: 'MISSING' }))
      }
    },
    StopTask: (r, b) => {
      const t = findTask(r, clusterOf(r, b).name, String(b.task ?? ''))
      if (!t) throw invalid('The referenced task was not found.')
      stop(t, b.reason as string | undefined)
      return { task: taskJson(t, false) }
    },
    ListTasks: (r, b) => {
      const max = (b.maxResults as number | undefined) ?? 100
      if (!Number.isInteger(max) || max < 1 || max > 100)
        throw invalid('maxResults must be between 1 and 100.')
      const cluster = clusterOf(r, b).name
      const desired = (b.desiredStatus as string | undefined) ?? 'RUNNING'
      const all = [...tasks.values()].filter(
        t =>
          t.region === r &&
          t.cluster === cluster &&
          t.desiredStatus === desired &&
          (b.startedBy === undefined || t.startedBy === b.startedBy)
      )
      const from = b.nextToken ? Number(Buffer.from(String(b.nextToken), 'base64').toString()) : 0
      if (!Number.isInteger(from) || from < 0) throw invalid('Invalid nextToken.')
      const next = from + max < all.length ? Buffer.from(String(from + max)).toString('base64') : undefined
      return { taskArns: all.slice(from, from + max).map(t => t.arn), nextToken: next }
    }
  }

  // ---- STS and CloudFormation (awsQuery) -----------------------------------------------------------

  const queryResponse = (action: string, ns: string, result: string) =>
    `<${action}Response xmlns="${ns}"><${action}Result>${result}</${action}Result>` +
    `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`

  const assumeRole = (f: Record<string, string>) => {
    if (stsCalls++ < (opts.stsFailures ?? 0)) {
      if (opts.stsFailureStatus === 503)
        throw new AwsError('ServiceUnavailable', 'Service is unavailable. Please try again.', 503)
      throw new AwsError('Throttling', 'Rate exceeded')
    }
    const session = f.RoleSessionName ?? ''
    if (!SESSION_NAME.test(session))
      throw new AwsError(
        'ValidationError',
        `1 validation error detected: Value '${session}' at 'roleSessionName' failed to satisfy constraint: ` +
          'Member must satisfy regular expression pattern: [\\w+=,.@-]* and length 2-64'
      )
    const role = /^arn:aws[\w-]*:iam::(\d{12}):role\/([\w+=,.@/-]+)$/.exec(f.RoleArn ?? '')
    if (!role) throw new AwsError('ValidationError', `Invalid RoleArn: ${f.RoleArn ?? ''}`)
    const duration = Number(f.DurationSeconds ?? 3600)
    if (!(duration >= 900 && duration <= 43200))
      throw new AwsError('ValidationError', 'DurationSeconds must be between 900 and 43200.')
    const token = f.WebIdentityToken ?? ''
    if (!issuedTokens.has(token))
      throw new AwsError(
        'InvalidIdentityToken',
        'The web identity token that was passed could not be validated by AWS.'
      )
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as {
      [k: string]: string
    }
    if (claims.aud !== audience) throw new AwsError('InvalidIdentityToken', 'Incorrect token audience')
    const roleName = role[2].split('/').pop()!
    return queryResponse(
      'AssumeRoleWithWebIdentity',
      'https://sts.amazonaws.com/doc/2011-06-15/',
      `<SubjectFromWebIdentityToken>${xmlEscape(claims.sub)}</SubjectFromWebIdentityToken>` +
        `<Audience>${xmlEscape(claims.aud)}</Audience>` +
        `<AssumedRoleUser><Arn>arn:aws:sts::${role[1]}:assumed-role/${xmlEscape(roleName)}/${xmlEscape(session)}</Arn>` +
        `<AssumedRoleId>AROA${upperAlnum(17)}:${xmlEscape(session)}</AssumedRoleId></AssumedRoleUser>` +
        `<Credentials><AccessKeyId>${xmlEscape(opts.issuedCredentials?.accessKeyId ?? `ASIA${upperAlnum(16)}`)}</AccessKeyId>` +
        `<SecretAccessKey>${xmlEscape(opts.issuedCredentials?.secretAccessKey ?? randomBytes(30).toString('base64'))}</SecretAccessKey>` +
        `<SessionToken>${randomBytes(96).toString('base64')}</SessionToken>` +
        `<Expiration>${new Date(Date.now() + duration * 1000).toISOString()}</Expiration></Credentials>` +
        '<Provider>token.actions.githubusercontent.com</Provider>'
    )
  }

  const describeStacks = (r: string | undefined, f: Record<string, string>) => {
    const outputs = r ? opts.stacks?.[r] : undefined
    const asked = f.StackName ?? stackName
    const stackId = `arn:aws:cloudformation:${r}:${ACCOUNT_ID}:stack/${stackName}/00000000-0000-4000-8000-${ACCOUNT_ID}`
    if (!outputs || (asked !== stackName && asked !== stackId))
      throw new AwsError('ValidationError', `Stack with id ${asked} does not exist`)
    const members = Object.entries(outputs)
      .map(
        ([k, v]) =>
          `<member><OutputKey>${xmlEscape(k)}</OutputKey><OutputValue>${xmlEscape(v)}</OutputValue></member>`
      )
      .join('')
    return queryResponse(
      'DescribeStacks',
      'http://cloudformation.amazonaws.com/doc/2010-05-15/',
      `<Stacks><member><StackId>${stackId}</StackId><StackName>${stackName}</StackName>` +
        '<CreationTime>2026-01-01T00:00:00.000Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus>' +
        `<Outputs>${members}</Outputs></member></Stacks>`
    )
  }

  // ---- HTTP ---------------------------------------------------------------------------------------

  const issueOidcToken = (aud: string) => {
    const now = Math.floor(Date.now() / 1000)
    const token = [
      b64url({ alg: 'RS256', typ: 'JWT', kid: 'fake' }),
      b64url({
        iss: 'https://token.actions.githubusercontent.com',
        aud,
        sub: 'repo:octo/shop:ref:refs/heads/main',
        jti: randomUUID(),
        iat: now,
        nbf: now,
        exp: now + 300
      }),
      randomBytes(32).toString('base64url')
    ].join('.')
    issuedTokens.add(token)
    return token
  }

  const handle = async (req: IncomingMessage, res: ServerResponse, rec: FakeAwsRequest) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const raw = Buffer.concat(chunks).toString('utf8')
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const scope = credentialScope(req.headers.authorization)
    Object.assign(rec, {
      region: scope?.region,
      accessKeyId: scope?.accessKeyId,
      sessionToken: req.headers['x-amz-security-token'] as string | undefined
    })
    const target = req.headers['x-amz-target']
    const reply = (status: number, type: string, body: string) => {
      rec.status = status
      res.writeHead(status, { 'content-type': type, 'x-amzn-requestid': randomUUID() })
      res.end(body)
    }

    const meta = /^\/v4\/([0-9a-f]+)\/task$/.exec(url.pathname)
    if (req.method === 'GET' && meta) {
      Object.assign(rec, { service: 'metadata', op: 'TaskMetadata', body: {} })
      const t = [...tasks.values()].find(x => x.arn.endsWith(`/${meta[1]}`))
      if (!t) return reply(404, 'application/json', JSON.stringify({ message: 'no such task' }))
      return reply(
        200,
        'application/json',
        JSON.stringify({
          Cluster: t.clusterArn,
          TaskARN: t.arn,
          Family: 'perf-gate-runner',
          DesiredStatus: t.desiredStatus,
          KnownStatus: t.lastStatus
        })
      )
    }

    if (req.method === 'GET' && url.pathname === '/oidc') {
      Object.assign(rec, { service: 'oidc', op: 'GetIDToken', body: Object.fromEntries(url.searchParams) })
      if (req.headers.authorization !== `Bearer ${oidcRequestToken}`)
        return reply(401, 'application/json', JSON.stringify({ message: 'Unauthorized' }))
      return reply(
        200,
        'application/json',
        JSON.stringify({ value: issueOidcToken(url.searchParams.get('audience') ?? audience) })
      )
    }

    if (typeof target === 'string' && target.startsWith(ECS_TARGET)) {
      const op = target.slice(ECS_TARGET.length)
      Object.assign(rec, { service: 'ecs', op })
      const json = 'application/x-amz-json-1.1'
      try {
        const body = (rec.body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {})
        if (!scope) throw new AwsError('MissingAuthenticationTokenException', 'Missing Authentication Token')
        const fn = ecs[op]
        if (!fn) throw new AwsError('UnknownOperationException', `Unknown operation ${op}`)
        return reply(200, json, JSON.stringify(fn(scope.region, body)))
      } catch (e) {
        const err = e instanceof AwsError ? e : new AwsError('SerializationException', (e as Error).message)
        return reply(err.status, json, JSON.stringify({ __type: err.code, message: err.message }))
      }
    }

    if (req.method === 'POST' && /x-www-form-urlencoded/.test(req.headers['content-type'] ?? '')) {
      const form = Object.fromEntries(new URLSearchParams(raw))
      const service =
        form.Version === '2011-06-15' ? 'sts' : form.Version === '2010-05-15' ? 'cloudformation' : 'unknown'
      const op = form.Action ?? ''
      Object.assign(rec, { service, op, body: form })
      const ns = service === 'sts' ? 'https://sts.amazonaws.com/doc/2011-06-15/' : ''
      try {
        if (service === 'sts' && op === 'AssumeRoleWithWebIdentity')
          return reply(200, 'text/xml', assumeRole(form))
        if (service === 'cloudformation' && op === 'DescribeStacks') {
          if (!scope)
            throw new AwsError('MissingAuthenticationToken', 'Request is missing Authentication Token', 403)
          return reply(200, 'text/xml', describeStacks(scope.region, form))
        }
        throw new AwsError('InvalidAction', `Could not find operation ${op} for version ${form.Version}`)
      } catch (e) {
        const err = e instanceof AwsError ? e : new AwsError('InternalFailure', (e as Error).message, 500)
        const type = err.status >= 500 ? 'Receiver' : 'Sender'
        return reply(
          err.status,
          'text/xml',
          `<ErrorResponse xmlns="${ns}"><Error><Type>${type}</Type><Code>${err.code}</Code>` +
            `<Message>${xmlEscape(err.message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`
        )
      }
    }

    Object.assign(rec, { service: 'unknown', op: `${req.method} ${url.pathname}`, body: raw })
    reply(404, 'application/json', JSON.stringify({ message: 'Not Found' }))
  }

  /** close(): kills every process still running (whole process group), then closes the server. */
  const shutdown = async () => {
    closed = true
    for (const t of tasks.values()) {
      t.timers.forEach(clearTimeout)
      if (t.lastStatus === 'STOPPED') continue
      signal(t, 'SIGCONT')
      signal(t, 'SIGKILL')
      t.sim?.stop()
      if (!t.child) finish(t, undefined)
    }
    // Wait (bounded) until the killed processes have been reaped.
    await Promise.race([Promise.all(exits), new Promise(r => setTimeout(r, 5000).unref())])
    server.closeAllConnections()
    await new Promise<void>(resolve => server.close(() => resolve()))
  }

  const server = createServer((req, res) => {
    const rec: FakeAwsRequest = { service: 'unknown', op: '', body: undefined, time: Date.now() }
    requests.push(rec)
    handle(req, res, rec).catch(e => {
      if (!res.headersSent) res.writeHead(500)
      res.end(String(e))
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const all = () => [...tasks.values()].map(info)
  return {
    endpoint,
    oidcUrl: `${endpoint}/oidc?api-version=2.0`,
    oidcRequestToken,
    requests,
    calls: op => (op ? requests.filter(r => r.op === op).length : requests.length),
    tasks: all,
    running: () =>
      [...tasks.values()].filter(t => t.lastStatus !== 'STOPPED' || (t.child && !t.exited)).map(info),
    waitForAll: async (predicate, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const list = all()
        if (list.every(predicate)) return list
        if (Date.now() > deadline)
          throw new Error(
            `fake AWS: tasks did not reach the condition in ${timeoutMs} ms: ` +
              list.map(t => `${t.region}#${t.index} ${t.lastStatus}/${t.desiredStatus}`).join(', ')
          )
        await new Promise(r => setTimeout(r, 10))
      }
    },
    region,
    close: () => (closing ??= shutdown())
  }
}

/** Environment that points the real SDK v3 clients (and `@actions/core`'s OIDC) at the fakes. */
export function awsEnvFor(fake: FakeAws, s3Endpoint: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_STS: fake.endpoint,
    AWS_ENDPOINT_URL_ECS: fake.endpoint,
    AWS_ENDPOINT_URL_CLOUDFORMATION: fake.endpoint,
    AWS_ENDPOINT_URL_S3: s3Endpoint,
    ACTIONS_ID_TOKEN_REQUEST_URL: fake.oidcUrl,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: fake.oidcRequestToken,
    AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
    AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
    AWS_EC2_METADATA_DISABLED: 'true'
  }
}
