/**
 * The roles in infra-template/account.yml grant exactly what the code calls.
 *
 * The SDK commands are derived from src/ (see sdk-usage.ts): the action's are those reachable from
 * the bundles action.yml runs (main and post), the runner's those reachable from the dist/runner
 * bundle. Each maps to IAM actions through an explicit table. The action role must grant exactly
 * the action's set and the task role exactly the runner's (plus s3:ListBucket, which turns a GET
 * of a missing key into 404), each on the narrowest resources, with no '*' action; a '*' resource
 * needs a comment saying AWS allows nothing narrower.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  Evaluator,
  asList,
  iamLike,
  loadTemplate,
  roleStatements,
  type Json,
  type JsonObject,
  type Statement
} from './cfn.js'
import { entryPoints, iamActionsFor, scanSource, sdkCallsFrom, type SdkCall } from './sdk-usage.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const accountPath = resolve(root, 'infra-template/account.yml')
const regionPath = resolve(root, 'infra-template/region.yml')
const account = loadTemplate(accountPath)
const region = loadTemplate(regionPath)

const ACCOUNT_ID = '123456789012'
const BUCKET = 'perf-gate-results-1a2b'
const BUCKET_ARN = `arn:aws:s3:::${BUCKET}`
const TASK_ROLE = `arn:aws:iam::${ACCOUNT_ID}:role/perf-gate-RunnerTaskRole-ABC`
const EXEC_ROLE = `arn:aws:iam::${ACCOUNT_ID}:role/perf-gate-RunnerExecutionRole-DEF`
const ev = new Evaluator(
  account,
  { GitHubOrg: 'acme', GitHubRepo: 'shop' },
  {
    accountId: ACCOUNT_ID,
    resources: {
      ResultsBucket: BUCKET,
      'ResultsBucket.Arn': BUCKET_ARN,
      'RunnerTaskRole.Arn': TASK_ROLE,
      'RunnerExecutionRole.Arn': EXEC_ROLE
    }
  }
)
const actionStatements = roleStatements(ev.properties('PerfGateActionRole'))
const taskStatements = roleStatements(ev.properties('RunnerTaskRole'))
const executionStatements = roleStatements(ev.properties('RunnerExecutionRole'))

function granted(statements: Statement[]): string[] {
  return [...new Set(statements.filter(s => s.Effect === 'Allow').flatMap(s => asList(s.Action)))].sort()
}

/** The Allow statements that grant an action (exactly one expected). */
function grantOf(statements: Statement[], action: string): Statement {
  const found = statements.filter(s => s.Effect === 'Allow' && asList(s.Action).includes(action))
  if (found.length !== 1) throw new Error(`${action}: ${found.length} statements grant it, expected 1`)
  return found[0]
}

/** Whether a statement's resources cover an ARN. */
function covers(s: Statement, arn: string): boolean {
  return asList(s.Resource).some(r => iamLike(r, arn))
}

function describeCalls(calls: SdkCall[]): string {
  return calls.map(c => `${c.client} ${c.command} (${c.via} in ${c.file})`).join('\n  ')
}

/** Derives the IAM actions of entry points; fails on anything it cannot map. */
function derive(entries: string[]): { actions: string[]; calls: SdkCall[] } {
  const usage = sdkCallsFrom(entries, root)
  if (usage.problems.length) throw new Error(`cannot derive the SDK calls:\n  ${usage.problems.join('\n  ')}`)
  const { actions, unmapped } = iamActionsFor(usage.calls)
  if (unmapped.length)
    throw new Error(
      `SDK commands with no IAM mapping (add them to IAM_ACTIONS in __tests__/infra/sdk-usage.ts ` +
        `and grant them in infra-template/account.yml):\n  ${describeCalls(unmapped)}`
    )
  return { actions: [...actions].sort(), calls: usage.calls }
}

describe('deriving SDK calls from source', () => {
  it('finds commands however they are imported, and skips type-only imports', () => {
    const src = [
      "import { RunTaskCommand, StopTaskCommand as Stop, ECSClient, type DescribeTasksCommand } from '@aws-sdk/client-ecs'",
      "import type { ListTasksCommand } from '@aws-sdk/client-ecs'",
      "import * as cfn from '@aws-sdk/client-cloudformation'",
      "import { paginateListObjectsV2, NoSuchKey, S3Client } from '@aws-sdk/client-s3'",
      "import { waitUntilTasksStopped } from '@aws-sdk/client-ecs'",
      "import type { Helper } from './types.js'",
      "import { helper } from './helper.js'",
      "export { x } from './reexport.js'",
      'export async function f(c: ECSClient) {',
      '  await c.send(new RunTaskCommand({}))',
      '  await c.send(new Stop({}))',
      '  await new cfn.CloudFormationClient({}).send(new cfn.DescribeStacksCommand({}))',
      "  const { GetObjectCommand: Get, S3Client: C } = await import('@aws-sdk/client-s3')",
      "  const sts = await import('@aws-sdk/client-sts')",
      '  new sts.AssumeRoleWithWebIdentityCommand({})',
      "  await import('./lazy.js')",
      '}'
    ].join('\n')
    const scan = scanSource('fixture.ts', src)
    expect(scan.problems).toEqual([])
    expect(scan.calls.map(c => `${c.client}:${c.command}`).sort()).toEqual(
      [
        'cloudformation:DescribeStacks',
        'ecs:DescribeTasks', // via the waiter
        'ecs:RunTask',
        'ecs:StopTask',
        's3:GetObject',
        's3:ListObjectsV2',
        'sts:AssumeRoleWithWebIdentity'
      ].sort()
    )
    expect(scan.imports.sort()).toEqual(['./helper.js', './lazy.js', './reexport.js'])
  })

  it('refuses aggregated clients, unknown waiters and unmapped SDK packages', () => {
    const scan = scanSource(
      'fixture.ts',
      [
        "import { ECS } from '@aws-sdk/client-ecs'",
        "import { waitUntilSomethingNew } from '@aws-sdk/client-ecs'",
        "import { Upload } from '@aws-sdk/lib-storage'",
        "import { fromTemporaryCredentials, fromWebToken } from '@aws-sdk/credential-providers'"
      ].join('\n')
    )
    expect(scan.problems).toHaveLength(4)
    expect(scan.problems.join('\n')).toMatch(/'ECS'.*client-ecs/)
    expect(scan.problems.join('\n')).toMatch(/waitUntilSomethingNew/)
    expect(scan.problems.join('\n')).toMatch(/lib-storage/)
    expect(scan.problems.join('\n')).toMatch(/fromTemporaryCredentials/)
  })

  it('follows the import graph from the entry points only, and reports unmapped commands', () => {
    const dir = mkdtempSync(join(tmpdir(), 'perf-gate-infra-'))
    try {
      const w = (rel: string, text: string): void => {
        mkdirSync(dirname(join(dir, rel)), { recursive: true })
        writeFileSync(join(dir, rel), text)
      }
      w('src/index.ts', "import { launch } from './fleet/launch.js'\nvoid launch")
      w(
        'src/fleet/launch.ts',
        "import { RunTaskCommand } from '@aws-sdk/client-ecs'\nimport { put } from '../shared/s3.js'\nexport const launch = [RunTaskCommand, put]"
      )
      w(
        'src/shared/s3.ts',
        "import { PutObjectCommand } from '@aws-sdk/client-s3'\nexport const put = PutObjectCommand"
      )
      w(
        'src/runner/index.ts',
        "import { put } from '../shared/s3.js'\nimport { GetObjectCommand, RestoreObjectCommand } from '@aws-sdk/client-s3'\nvoid [put, GetObjectCommand, RestoreObjectCommand]"
      )
      w(
        'src/cli/index.ts',
        "import { DeleteBucketCommand } from '@aws-sdk/client-s3'\nvoid DeleteBucketCommand"
      )
      const action = sdkCallsFrom([join(dir, 'src/index.ts')], dir)
      expect(action.problems).toEqual([])
      expect(action.files).toEqual(['src/fleet/launch.ts', 'src/index.ts', 'src/shared/s3.ts'])
      expect([...iamActionsFor(action.calls).actions].sort()).toEqual([
        'ecs:RunTask',
        'ecs:TagResource',
        'iam:PassRole',
        's3:PutObject'
      ])
      const runner = sdkCallsFrom([join(dir, 'src/runner/index.ts')], dir)
      const mapped = iamActionsFor(runner.calls)
      expect([...mapped.actions].sort()).toEqual(['s3:GetObject', 's3:PutObject'])
      expect(mapped.unmapped.map(c => c.command)).toEqual(['RestoreObject'])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('finds the entry points from action.yml and scripts/package.mjs', () => {
    const { action, runner } = entryPoints(root)
    expect(action.map(p => p.slice(root.length + 1))).toEqual(['src/index.ts', 'src/post.ts'])
    expect(runner.map(p => p.slice(root.length + 1))).toEqual(['src/runner/index.ts'])
  })

  it('sees the S3 baseline store the action already uses', () => {
    const usage = sdkCallsFrom(entryPoints(root).action, root)
    const s3 = usage.calls.filter(c => c.file === 'src/baseline/s3.ts').map(c => c.command)
    expect(s3).toEqual(expect.arrayContaining(['GetObject', 'PutObject', 'ListObjectsV2']))
  })
})

describe('the action role', () => {
  it('grants exactly the IAM actions of the SDK commands the action calls', () => {
    const { actions, calls } = derive(entryPoints(root).action)
    const grants = granted(actionStatements)
    const missing = actions.filter(a => !grants.includes(a))
    const extra = grants.filter(a => !actions.includes(a))
    if (missing.length || extra.length)
      throw new Error(
        [
          missing.length ? `the code needs, the role lacks: ${missing.join(', ')}` : '',
          extra.length ? `the role grants, no code in src/ calls: ${extra.join(', ')}` : '',
          `SDK calls found from the action's entry points:\n  ${describeCalls(calls) || '(none)'}`
        ]
          .filter(Boolean)
          .join('\n')
      )
    expect(grants).toEqual(actions)
  })

  it('has no wildcard action and no NotAction / NotResource', () => {
    for (const s of [...actionStatements, ...taskStatements, ...executionStatements]) {
      expect(s.NotAction).toBeUndefined()
      expect(s.NotResource).toBeUndefined()
      expect(s.Effect).toBe('Allow')
      for (const a of asList(s.Action)) expect([a, a.includes('*')]).toEqual([a, false])
    }
  })

  it('runs tasks only from the runner family, in the perf-gate cluster', () => {
    const s = grantOf(actionStatements, 'ecs:RunTask')
    expect(asList(s.Action)).toEqual(['ecs:RunTask'])
    expect(s.Resource).toBe(`arn:aws:ecs:*:${ACCOUNT_ID}:task-definition/perf-gate-runner:*`)
    expect(s.Condition).toEqual({
      ArnLike: { 'ecs:cluster': `arn:aws:ecs:*:${ACCOUNT_ID}:cluster/perf-gate` }
    })
    expect(covers(s, `arn:aws:ecs:eu-west-1:${ACCOUNT_ID}:task-definition/perf-gate-runner:7`)).toBe(true)
    expect(covers(s, `arn:aws:ecs:eu-west-1:${ACCOUNT_ID}:task-definition/other:7`)).toBe(false)
    expect(covers(s, `arn:aws:ecs:eu-west-1:999999999999:task-definition/perf-gate-runner:7`)).toBe(false)
  })

  it('tags tasks only while RunTask creates them', () => {
    const s = grantOf(actionStatements, 'ecs:TagResource')
    expect(asList(s.Action)).toEqual(['ecs:TagResource'])
    expect(s.Resource).toBe(`arn:aws:ecs:*:${ACCOUNT_ID}:task/perf-gate/*`)
    expect(s.Condition).toEqual({ StringEquals: { 'ecs:CreateAction': 'RunTask' } })
  })

  it('describes and stops tasks of the perf-gate cluster only', () => {
    for (const action of ['ecs:DescribeTasks', 'ecs:StopTask']) {
      const s = grantOf(actionStatements, action)
      expect(s.Resource).toBe(`arn:aws:ecs:*:${ACCOUNT_ID}:task/perf-gate/*`)
      expect(s.Condition).toEqual({
        ArnEquals: { 'ecs:cluster': `arn:aws:ecs:*:${ACCOUNT_ID}:cluster/perf-gate` }
      })
      expect(covers(s, `arn:aws:ecs:ap-south-1:${ACCOUNT_ID}:task/perf-gate/0123456789abcdef`)).toBe(true)
      expect(covers(s, `arn:aws:ecs:ap-south-1:${ACCOUNT_ID}:task/prod/0123456789abcdef`)).toBe(false)
    }
  })

  it('lists tasks only with the cluster condition (ListTasks has no narrower resource)', () => {
    const s = grantOf(actionStatements, 'ecs:ListTasks')
    expect(asList(s.Action)).toEqual(['ecs:ListTasks'])
    expect(s.Resource).toBe('*')
    expect(s.Condition).toEqual({
      ArnEquals: { 'ecs:cluster': `arn:aws:ecs:*:${ACCOUNT_ID}:cluster/perf-gate` }
    })
  })

  it('passes only the runner roles, only to ECS tasks', () => {
    const s = grantOf(actionStatements, 'iam:PassRole')
    expect(asList(s.Action)).toEqual(['iam:PassRole'])
    expect(asList(s.Resource).sort()).toEqual([EXEC_ROLE, TASK_ROLE].sort())
    expect(s.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } })
  })

  it('touches only runs/ and baselines/ of its bucket', () => {
    for (const action of granted(actionStatements).filter(
      a => a.startsWith('s3:') && a !== 's3:ListBucket'
    )) {
      const s = grantOf(actionStatements, action)
      expect(asList(s.Resource).sort()).toEqual([`${BUCKET_ARN}/baselines/*`, `${BUCKET_ARN}/runs/*`])
      expect(covers(s, `${BUCKET_ARN}/runs/r-1/tasks/0/result.json`)).toBe(true)
      expect(covers(s, `${BUCKET_ARN}/baselines/acme/shop/checkout/f00/index.json`)).toBe(true)
      expect(covers(s, `${BUCKET_ARN}/other/x`)).toBe(false)
      expect(covers(s, `arn:aws:s3:::another-bucket/runs/x`)).toBe(false)
    }
    const list = grantOf(actionStatements, 's3:ListBucket')
    expect(asList(list.Action)).toEqual(['s3:ListBucket'])
    expect(list.Resource).toBe(BUCKET_ARN)
    expect(list.Condition).toEqual({ StringLike: { 's3:prefix': ['runs/*', 'baselines/*'] } })
  })

  it('reads the outputs of the runner stacks only', () => {
    const s = grantOf(actionStatements, 'cloudformation:DescribeStacks')
    expect(s.Resource).toBe(`arn:aws:cloudformation:*:${ACCOUNT_ID}:stack/perf-gate-runner/*`)
    expect(covers(s, `arn:aws:cloudformation:eu-west-1:${ACCOUNT_ID}:stack/perf-gate-runner/1b2c-3d4e`)).toBe(
      true
    )
    expect(covers(s, `arn:aws:cloudformation:us-east-1:${ACCOUNT_ID}:stack/perf-gate/1b2c-3d4e`)).toBe(false)
  })

  it('names the resources the regional stack creates', () => {
    const r = new Evaluator(
      region,
      {
        Image: 'ghcr.io/acme/perf-gate-runner:v1',
        ResultsBucket: BUCKET,
        TaskRoleArn: TASK_ROLE,
        ExecutionRoleArn: EXEC_ROLE
      },
      { stackName: 'perf-gate-runner', region: 'eu-west-1', accountId: ACCOUNT_ID }
    )
    const family = r.properties('TaskDefinition').Family
    const cluster = r.properties('Cluster').ClusterName
    expect(
      covers(
        grantOf(actionStatements, 'ecs:RunTask'),
        `arn:aws:ecs:eu-west-1:${ACCOUNT_ID}:task-definition/${family}:1`
      )
    ).toBe(true)
    expect(
      iamLike(
        String(grantOf(actionStatements, 'ecs:RunTask').Condition!.ArnLike['ecs:cluster']),
        `arn:aws:ecs:eu-west-1:${ACCOUNT_ID}:cluster/${cluster}`
      )
    ).toBe(true)
    const logGroup = String(r.properties('LogGroup').LogGroupName)
    const logs = grantOf(executionStatements, 'logs:PutLogEvents')
    expect(
      covers(
        logs,
        `arn:aws:logs:eu-west-1:${ACCOUNT_ID}:log-group:${logGroup}:log-stream:perf-gate/runner/abc`
      )
    ).toBe(true)
    expect(covers(logs, `arn:aws:logs:eu-west-1:${ACCOUNT_ID}:log-group:/aws/lambda/x:log-stream:y`)).toBe(
      false
    )
  })
})

describe('the task role', () => {
  it('grants exactly what the runner calls, plus s3:ListBucket', () => {
    const { actions, calls } = derive(entryPoints(root).runner)
    const expected = [...new Set([...actions, 's3:ListBucket'])].sort()
    const grants = granted(taskStatements)
    if (JSON.stringify(grants) !== JSON.stringify(expected))
      throw new Error(
        `task role grants ${grants.join(', ')}; the runner's code needs ${expected.join(', ')}\n` +
          `SDK calls found from src/runner/index.ts:\n  ${describeCalls(calls) || '(none)'}`
      )
    expect(grants).toEqual(expected)
  })

  it('may touch only runs/ of its bucket', () => {
    for (const s of taskStatements) {
      for (const a of asList(s.Action)) expect(a.startsWith('s3:')).toBe(true)
      if (asList(s.Action).includes('s3:ListBucket')) {
        expect(s.Resource).toBe(BUCKET_ARN)
        expect(s.Condition).toEqual({ StringLike: { 's3:prefix': 'runs/*' } })
      } else expect(asList(s.Resource)).toEqual([`${BUCKET_ARN}/runs/*`])
    }
  })
})

describe('the execution role', () => {
  it('only pulls images and writes perf-gate logs', () => {
    expect(granted(executionStatements)).toEqual(
      [
        'ecr:BatchCheckLayerAvailability',
        'ecr:BatchGetImage',
        'ecr:GetAuthorizationToken',
        'ecr:GetDownloadUrlForLayer',
        'logs:CreateLogStream',
        'logs:PutLogEvents'
      ].sort()
    )
    const logs = grantOf(executionStatements, 'logs:CreateLogStream')
    for (const r of asList(logs.Resource))
      expect(r).toMatch(/^arn:aws:logs:\*:123456789012:log-group:\/perf-gate\/\*/)
    expect(grantOf(executionStatements, 'ecr:BatchGetImage').Resource).toBe(
      `arn:aws:ecr:*:${ACCOUNT_ID}:repository/*`
    )
  })
})

describe("'*' resources", () => {
  it('appear only where AWS allows nothing narrower, each with a comment saying so', () => {
    const starStatements = [...actionStatements, ...taskStatements, ...executionStatements].filter(s =>
      asList(s.Resource).includes('*')
    )
    expect(starStatements.map(s => asList(s.Action).join(',')).sort()).toEqual([
      'ecr:GetAuthorizationToken',
      'ecs:ListTasks'
    ])
    for (const path of [accountPath, regionPath]) {
      const lines = readFileSync(path, 'utf8').split('\n')
      lines.forEach((line, i) => {
        if (!/^\s*(Resource:\s*|-\s*)['"]\*['"]\s*$/.test(line)) return
        if (!/Resource:/.test(line) && !/Resource:\s*$/.test(lines[i - 1] ?? '')) return
        // The comment block right above this statement ('- Sid:' / '- Effect:'), as one text.
        let start = i
        while (start > 0 && !/^\s*-\s+(Sid|Effect):/.test(lines[start])) start--
        const block: string[] = []
        for (let j = start - 1; j >= 0 && /^\s*#/.test(lines[j]); j--) block.unshift(lines[j])
        const comment = block.map(l => l.replace(/^\s*#\s?/, '')).join(' ')
        expect([`${path}:${i + 1}`, /nothing\s+narrower/i.test(comment)]).toEqual([`${path}:${i + 1}`, true])
      })
      const stars = lines.filter(l => /^\s*Resource:\s*['"]\*['"]\s*$/.test(l)).length
      if (path === accountPath) expect(stars).toBe(starStatements.length)
    }
  })

  it('are conditioned on the cluster where the action has one', () => {
    const s = grantOf(actionStatements, 'ecs:ListTasks')
    expect(Object.keys(s.Condition ?? {})).toEqual(['ArnEquals'])
  })
})

describe('every policy statement', () => {
  it('parses as IAM JSON: Effect, Action and Resource present', () => {
    const docs: Json[] = []
    for (const [id, r] of Object.entries(account.Resources)) {
      if (r.Type !== 'AWS::IAM::Role') continue
      const props = ev.properties(id)
      docs.push(props.AssumeRolePolicyDocument as Json)
      for (const p of asList(props.Policies as Json[]) as JsonObject[]) docs.push(p.PolicyDocument as Json)
    }
    for (const d of docs as JsonObject[]) {
      expect(d.Version).toBe('2012-10-17')
      for (const s of asList(d.Statement as Json[]) as unknown as Statement[]) {
        expect(['Allow', 'Deny']).toContain(s.Effect)
        expect(asList(s.Action).length).toBeGreaterThan(0)
      }
    }
  })
})
