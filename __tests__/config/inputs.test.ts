/** The action inputs added for profiles and stress mode: parsed once, errors naming the input. */
import { InputError, readInputs } from '../../src/config/inputs.js'

const read = (inputs: Record<string, string>) => readInputs(name => inputs[name] ?? '')

it('profile, multiplier, profile-params, target-rps and instances', () => {
  const i = read({
    mode: 'stress',
    profile: 'spike',
    multiplier: '4',
    'profile-params': 'surge: 20s\n# a comment\nrecovery=1m\n',
    'target-rps': '1400.5',
    instances: '3'
  })
  expect(i.mode).toBe('stress')
  expect(i.profile).toEqual({ name: 'spike', params: ['surge: 20s', 'recovery=1m'], multiplier: '4' })
  expect(i.targetRps).toBe(1400.5)
  expect(i.instances).toBe(3)
  const none = read({})
  expect(none.profile).toEqual({ name: '', params: [], multiplier: '' })
  expect(none.targetRps).toBeNull()
  expect(none.instances).toBeNull()
})

it.each([
  [{ 'target-rps': 'lots' }, `input 'target-rps': expected a number above 0, got "lots"`],
  [{ 'target-rps': '0' }, `input 'target-rps': expected a number above 0, got "0"`],
  [{ instances: '0' }, `input 'instances': must be between 1 and 100000, got 0`],
  [{ mode: 'soak' }, `input 'mode': expected one of gate, baseline, stress, got "soak"`]
])('%j', (inputs, message) => {
  expect(() => read(inputs)).toThrow(InputError)
  expect(() => read(inputs)).toThrow(message)
})

it('fargate inputs: defaults, parsing, and errors naming the input', () => {
  const d = read({}).fargate
  expect(d).toMatchObject({
    taskCpu: 1024,
    taskMemory: 2048,
    spot: false,
    maxTasks: 50,
    maxCostUsd: 5,
    minTaskSuccess: 1
  })
  expect(d.stackName).toBe('perf-gate-runner')
  const f = read({
    backend: 'fargate',
    regions: '[us-east-1, eu-west-1]',
    'aws-region': 'eu-west-1',
    'max-cost-usd': '$12.5',
    'min-task-success': '90%',
    subnets: 'subnet-a, subnet-b\nsubnet-c',
    'abort-on': 'http_req_failed: rate<0.1\n# comment'
  }).fargate
  expect(f.maxCostUsd).toBe(12.5)
  expect(f.minTaskSuccess).toBeCloseTo(0.9)
  expect(f.subnets).toEqual(['subnet-a', 'subnet-b', 'subnet-c'])
  expect(f.abortOn).toEqual(['http_req_failed: rate<0.1'])
  expect(read({ 'min-task-success': '100%' }).fargate.minTaskSuccess).toBe(1)
})

it.each([
  [{ backend: 'fargate' }, `input 'regions': backend "fargate" needs at least one AWS region`],
  [{ 'aws-region': 'Europe' }, `input 'aws-region': "Europe" is not an AWS region name like us-east-1`],
  [{ 'task-cpu': 'big' }, `input 'task-cpu': expected a whole number, got "big"`],
  [{ 'max-cost-usd': 'cheap' }, `input 'max-cost-usd': expected a number, got "cheap"`],
  [{ 'min-task-success': '150%' }, `input 'min-task-success': must be above 0 and below 100%`],
  [{ spot: 'maybe' }, `input 'spot': expected true or false, got "maybe"`],
  [{ backend: 'k8s' }, `input 'backend': expected one of local, none, fargate, got "k8s"`]
])('fargate %j', (inputs, message) => {
  expect(() => read(inputs)).toThrow(InputError)
  expect(() => read(inputs)).toThrow(message)
})

it('gate-labels: empty defers to the scenario; all, a share or names; a mix names the input', () => {
  expect(read({}).gateLabels).toBeNull()
  expect(read({ 'gate-labels': 'all' }).gateLabels).toEqual({ kind: 'all' })
  expect(read({ 'gate-labels': '10%' }).gateLabels).toEqual({ kind: 'share', share: 0.1 })
  expect(read({ 'gate-labels': 'GET /fast\n# a comment\nPOST /items\n' }).gateLabels).toEqual({
    kind: 'list',
    labels: ['GET /fast', 'POST /items']
  })
  expect(() => read({ 'gate-labels': 'all\nGET /fast' })).toThrow(
    /^input 'gate-labels': "all" selects labels by rule and cannot be combined/
  )
})
