/**
 * launchBatch against the local ECS fake: capacity failures are retried for the missing tasks only,
 * after back-off waits that start at `backoffMs` and double, and a refusal that never clears ends
 * with the ECS reason after the last attempt.
 */
import { ECSClient } from '@aws-sdk/client-ecs'
import { launchBatch, type LaunchRequest } from '../../src/fleet/aws/ecs.js'
import { startFakeAws, type FakeAws } from '../helpers/fake-aws.js'

const STATIC = { accessKeyId: 'AKIDSTATIC', secretAccessKey: 'static-secret' }

let f: FakeAws
let ecs: ECSClient

beforeAll(async () => {
  f = await startFakeAws({
    regions: { 'us-east-1': { capacityFailures: 2, neverStart: true } }
  })
  ecs = new ECSClient({ region: 'us-east-1', endpoint: f.endpoint, credentials: STATIC })
})
afterAll(async () => {
  ecs.destroy()
  await f.close()
})

const request = (clientToken: string, count: number): LaunchRequest => ({
  target: {
    region: 'us-east-1',
    cluster: 'perf',
    taskDefinition: 'perf-gate-runner',
    container: 'runner',
    subnets: ['subnet-1'],
    securityGroups: [],
    assignPublicIp: 'ENABLED',
    bucket: 'results'
  },
  count,
  startedBy: 'perf-gate-1-1',
  clientToken,
  env: {},
  spot: false,
  tags: {}
})

describe('launchBatch', () => {
  it('retries capacity failures after waits that start at backoffMs and double, then starts every task', async () => {
    const waits: number[] = []
    const started: string[] = []
    const res = await launchBatch(ecs, request('cap-1', 3), {
      backoffMs: 40,
      sleep: async ms => void waits.push(ms),
      onStarted: arns => started.push(...arns)
    })
    expect(res.failures).toEqual([])
    expect(res.arns).toHaveLength(3)
    expect(started).toEqual(res.arns)
    // Two refused calls, so two waits: attempt 1 waits 40·2¹ and attempt 2 40·2², each with jitter in [½, 1].
    expect(waits).toHaveLength(2)
    expect(waits[0]).toBeGreaterThanOrEqual(40)
    expect(waits[0]).toBeLessThanOrEqual(80)
    expect(waits[1]).toBeGreaterThanOrEqual(80)
    expect(waits[1]).toBeLessThanOrEqual(160)
  })

  it('caps each wait at 20 times backoffMs and gives up after the last attempt with the ECS reason', async () => {
    f.region('us-east-1').capacityFailures = 100
    const waits: number[] = []
    const res = await launchBatch(ecs, request('cap-2', 2), {
      backoffMs: 10,
      attempts: 8,
      sleep: async ms => void waits.push(ms)
    })
    expect(res.arns).toEqual([])
    expect(res.failures[0]).toMatch(/^Capacity is unavailable at this time/)
    expect(waits).toHaveLength(7)
    expect(Math.max(...waits)).toBeLessThanOrEqual(200)
    expect(Math.max(...waits)).toBeGreaterThanOrEqual(100)
  })
})
