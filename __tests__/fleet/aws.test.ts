/**
 * The fleet's AWS pieces on their own: retry with an injected sleep, credentials through the STS
 * and OIDC fakes (real wire protocol), and stack discovery from CloudFormation outputs.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation'
import { STSClient } from '@aws-sdk/client-sts'
import {
  assumeRoleWithOidc,
  roleArnOf,
  sessionNameFor,
  sessionSeconds
} from '../../src/fleet/aws/credentials.js'
import { discoverTargets, targetFromOutputs } from '../../src/fleet/aws/discovery.js'
import { isRetryable, withRetry } from '../../src/fleet/aws/retry.js'
import { startFakeAws, type FakeAws } from '../helpers/fake-aws.js'

describe('withRetry', () => {
  it('retries throttling and 5xx with growing jittered waits, and not client errors', async () => {
    const waits: number[] = []
    let n = 0
    const v = await withRetry(
      async () => {
        if (++n < 4)
          throw Object.assign(new Error('slow down'), {
            name: 'SlowDown',
            $metadata: { httpStatusCode: 503 }
          })
        return 'ok'
      },
      { sleep: async ms => void waits.push(ms), random: () => 1, baseDelayMs: 100 }
    )
    expect(v).toBe('ok')
    expect(waits).toEqual([100, 200, 400])
    let calls = 0
    await expect(
      withRetry(
        async () => {
          calls++
          throw Object.assign(new Error('bad'), {
            name: 'InvalidParameterException',
            $metadata: { httpStatusCode: 400 }
          })
        },
        { sleep: async () => undefined }
      )
    ).rejects.toThrow('bad')
    expect(calls).toBe(1)
    expect(isRetryable({ name: 'ThrottlingException' })).toBe(true)
    expect(isRetryable({ $metadata: { httpStatusCode: 429 } })).toBe(true)
    expect(isRetryable({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } })).toBe(false)
  })
})

describe('credentials', () => {
  let fake: FakeAws
  afterEach(async () => fake?.close())

  it('names sessions within STS rules and turns role names into ARNs', () => {
    expect(sessionNameFor('acme/shop', '123456', '2')).toBe('perf-gate-shop-123456-2')
    const long = sessionNameFor('acme/' + 'x'.repeat(100), '9'.repeat(20), '1')
    expect(long).toMatch(/^[\w+=,.@-]{2,64}$/)
    expect(long.endsWith('-99999999999999999999-1')).toBe(true)
    expect(roleArnOf('arn:aws:iam::123456789012:role/perf-gate')).toBe(
      'arn:aws:iam::123456789012:role/perf-gate'
    )
    expect(roleArnOf('perf-gate', '123456789012')).toBe('arn:aws:iam::123456789012:role/perf-gate')
    expect(() => roleArnOf('not a role')).toThrow("input 'role-to-assume'")
    expect(sessionSeconds(60)).toBe(960)
    expect(sessionSeconds(1e6)).toBe(43200)
  })

  it('gets an OIDC token, assumes the role after throttling, and masks token and credentials first', async () => {
    fake = await startFakeAws({ stsFailures: 2 })
    const masked: string[] = []
    const sleeps: number[] = []
    const sts = new STSClient({ region: 'us-east-1', endpoint: fake.endpoint, maxAttempts: 1 })
    const getIdToken = async (aud: string) => {
      const res = await fetch(`${fake.oidcUrl}&audience=${aud}`, {
        headers: { authorization: `Bearer ${fake.oidcRequestToken}` }
      })
      return ((await res.json()) as { value: string }).value
    }
    const creds = await assumeRoleWithOidc(
      {
        roleArn: 'arn:aws:iam::123456789012:role/perf-gate',
        sessionName: 'perf-gate-shop-1-1',
        durationS: 1800,
        region: 'us-east-1'
      },
      { getIdToken, mask: s => masked.push(s), sts, sleep: async ms => void sleeps.push(ms) }
    )
    sts.destroy()
    expect(creds.accessKeyId).toMatch(/^ASIA/)
    expect(masked).toEqual([
      expect.stringMatching(/^ey/),
      creds.accessKeyId,
      creds.secretAccessKey,
      creds.sessionToken
    ])
    expect(sleeps).toHaveLength(2)
    expect(fake.calls('AssumeRoleWithWebIdentity')).toBe(3)
    const body = fake.requests.filter(r => r.op === 'AssumeRoleWithWebIdentity').pop()!.body as Record<
      string,
      string
    >
    expect(body.DurationSeconds).toBe('1800')
  })

  it('says what to fix when there is no OIDC token', async () => {
    await expect(
      assumeRoleWithOidc(
        {
          roleArn: 'arn:aws:iam::123456789012:role/x',
          sessionName: 'perf-gate-1',
          durationS: 900,
          region: 'us-east-1'
        },
        {
          getIdToken: async () => {
            throw new Error('Unable to get ACTIONS_ID_TOKEN_REQUEST_URL env variable')
          },
          mask: () => undefined,
          sleep: async () => undefined,
          attempts: 2
        }
      )
    ).rejects.toThrow(/needs 'permissions: id-token: write', and fork pull requests never get one/)
  })
})

describe('discovery', () => {
  let fake: FakeAws
  afterEach(async () => fake?.close())
  const outputs = {
    ClusterName: 'perf-gate',
    TaskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/perf-gate-runner:2',
    Subnets: 'subnet-a, subnet-b',
    SecurityGroups: 'sg-1',
    ResultsBucket: 'bkt',
    AssignPublicIp: 'DISABLED'
  }

  it('reads the regional stacks in parallel and names a region whose stack is missing', async () => {
    fake = await startFakeAws({
      stackName: 'perf-gate-runner',
      stacks: { 'us-east-1': outputs, 'eu-west-1': outputs }
    })
    const client = (region: string) =>
      new CloudFormationClient({
        region,
        endpoint: fake.endpoint,
        credentials: { accessKeyId: 'AKID', secretAccessKey: 's' }
      })
    const targets = await discoverTargets(['us-east-1', 'eu-west-1'], {
      stackName: 'perf-gate-runner',
      client
    })
    expect(targets.map(t => [t.region, t.cluster, t.subnets, t.assignPublicIp, t.container])).toEqual([
      ['us-east-1', 'perf-gate', ['subnet-a', 'subnet-b'], 'DISABLED', 'runner'],
      ['eu-west-1', 'perf-gate', ['subnet-a', 'subnet-b'], 'DISABLED', 'runner']
    ])
    await expect(
      discoverTargets(['us-east-1', 'ap-south-1'], {
        stackName: 'perf-gate-runner',
        client,
        sleep: async () => undefined
      })
    ).rejects.toThrow(/ap-south-1: .*does not exist.*deploy infra-template\/region.yml/)
  })

  it('lets inputs fill or replace outputs, and names a missing output', () => {
    expect(() => targetFromOutputs('us-east-1', 's', { ...outputs, Subnets: '' })).toThrow(
      'has no output Subnets'
    )
    const t = targetFromOutputs('us-east-1', 's', { ...outputs, Subnets: '' }, { subnets: ['subnet-z'] })
    expect(t.subnets).toEqual(['subnet-z'])
  })
})
