/**
 * infra-template/account.yml and region.yml: they parse with CloudFormation's tags, every
 * reference resolves, the parameters reject bad values by the template's own constraints, and the
 * resources say what docs/aws-setup.md promises (bucket, trust policy, task definition, network).
 */
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  Evaluator,
  PSEUDO_PARAMETERS,
  asList,
  checkParameters,
  iamLike,
  isObject,
  loadTemplate,
  parseTemplate,
  references,
  type Json,
  type JsonObject,
  type Statement,
  type Template
} from './cfn.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const accountPath = resolve(root, 'infra-template/account.yml')
const regionPath = resolve(root, 'infra-template/region.yml')
const account = loadTemplate(accountPath)
const region = loadTemplate(regionPath)

/** Resource types the templates may use (and their GetAtt attributes). */
const KNOWN_TYPES: Record<string, string[]> = {
  'AWS::IAM::OIDCProvider': ['Arn'],
  'AWS::IAM::Role': ['Arn', 'RoleId'],
  'AWS::S3::Bucket': ['Arn', 'DomainName', 'RegionalDomainName'],
  'AWS::S3::BucketPolicy': [],
  'AWS::ECS::Cluster': ['Arn'],
  'AWS::ECS::TaskDefinition': ['TaskDefinitionArn'],
  'AWS::Logs::LogGroup': ['Arn'],
  'AWS::EC2::SecurityGroup': ['GroupId', 'VpcId'],
  'AWS::EC2::VPC': ['VpcId', 'CidrBlock', 'DefaultSecurityGroup'],
  'AWS::EC2::InternetGateway': ['InternetGatewayId'],
  'AWS::EC2::VPCGatewayAttachment': [],
  'AWS::EC2::RouteTable': ['RouteTableId'],
  'AWS::EC2::Route': [],
  'AWS::EC2::Subnet': ['SubnetId', 'AvailabilityZone', 'VpcId'],
  'AWS::EC2::SubnetRouteTableAssociation': []
}

const ACCOUNT_PARAMS = { GitHubOrg: 'acme', GitHubRepo: 'shop' }
const REGION_PARAMS = {
  Image: 'ghcr.io/acme/perf-gate-runner:v1',
  ResultsBucket: 'perf-gate-results-1a2b',
  TaskRoleArn: 'arn:aws:iam::123456789012:role/perf-gate-RunnerTaskRole-ABC',
  ExecutionRoleArn: 'arn:aws:iam::123456789012:role/perf-gate-RunnerExecutionRole-DEF'
}

describe.each([
  ['account.yml', account],
  ['region.yml', region]
])('%s', (_name, t: Template) => {
  it('is a CloudFormation template with a description', () => {
    expect(t.AWSTemplateFormatVersion).toBe('2010-09-09')
    expect(typeof t.Description).toBe('string')
    expect(Object.keys(t.Resources).length).toBeGreaterThan(0)
  })

  it('uses only known resource types', () => {
    for (const [id, r] of Object.entries(t.Resources)) {
      expect([id, Object.keys(KNOWN_TYPES).includes(r.Type)]).toEqual([id, true])
    }
  })

  it('resolves every Ref, GetAtt, Sub variable and condition name', () => {
    const params = new Set(Object.keys(t.Parameters ?? {}))
    const resources = new Set(Object.keys(t.Resources))
    const conditions = new Set(Object.keys(t.Conditions ?? {}))
    const refs = references(t)
    expect(refs.length).toBeGreaterThan(10)
    const unresolved: string[] = []
    for (const r of refs) {
      const where = `${r.kind} ${r.name}${r.attribute ? '.' + r.attribute : ''} at ${r.path}`
      if (r.kind === 'Condition') {
        if (!conditions.has(r.name)) unresolved.push(where)
      } else if (r.kind === 'GetAtt' || (r.kind === 'Sub' && r.attribute !== undefined)) {
        const type = t.Resources[r.name]?.Type
        if (!type || !KNOWN_TYPES[type]?.includes(r.attribute ?? '')) unresolved.push(where)
      } else if (!params.has(r.name) && !resources.has(r.name) && !PSEUDO_PARAMETERS.includes(r.name))
        unresolved.push(where)
    }
    expect(unresolved).toEqual([])
  })

  it('gives every output a value, and uses every parameter and condition', () => {
    for (const [name, o] of Object.entries(t.Outputs ?? {}))
      expect([name, o.Value !== undefined]).toEqual([name, true])
    const used = new Set(references(t).map(r => r.name))
    for (const p of Object.keys(t.Parameters ?? {})) expect([p, used.has(p)]).toEqual([p, true])
    for (const c of Object.keys(t.Conditions ?? {})) expect([c, used.has(c)]).toEqual([c, true])
  })

  it.each([
    ['the default parameters', false],
    ['the other branch of every condition', true]
  ])('refers only to resources that exist, with %s', (_what, other) => {
    const given =
      t === account
        ? {
            ...ACCOUNT_PARAMS,
            ...(other
              ? {
                  ExistingOidcProviderArn:
                    'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com',
                  BucketName: 'acme-perf',
                  AllowedEnvironments: 'perf',
                  AllowPullRequests: 'false'
                }
              : {})
          }
        : { ...REGION_PARAMS, ...(other ? { VpcId: 'vpc-0123abcd', SubnetIds: 'subnet-1,subnet-2' } : {}) }
    expect(checkParameters(t, given)).toEqual([])
    const ev = new Evaluator(t, given)
    // Evaluating throws on a Ref or GetAtt to a resource whose condition is false.
    for (const [id, r] of Object.entries(t.Resources))
      if (ev.exists(r.Condition)) {
        ev.properties(id)
        for (const d of asList(r.DependsOn))
          expect([id, d, ev.exists(t.Resources[d]?.Condition)]).toEqual([id, d, true])
      }
    for (const name of Object.keys(t.Outputs ?? {})) expect(ev.output(name)).toBeDefined()
    for (const c of Object.keys(t.Conditions ?? {})) expect(typeof ev.condition(c)).toBe('boolean')
  })

  it('accepts its defaults (with the required parameters given)', () => {
    expect(checkParameters(t, t === account ? ACCOUNT_PARAMS : REGION_PARAMS)).toEqual([])
  })
})

describe('the YAML tags', () => {
  it('turn short forms into long-form intrinsics', () => {
    const t = parseTemplate(
      [
        'Resources:',
        '  X:',
        '    Type: AWS::S3::Bucket',
        '    Properties:',
        '      A: !Ref P',
        "      B: !Sub 'arn:${AWS::Partition}:s3:::${P}'",
        '      C: !Sub',
        "        - '${V}-x'",
        '        - V: !GetAtt Y.Arn',
        '      D: !GetAtt [Y, Arn]',
        "      E: !If [C1, !Join [',', [a, b]], !Ref AWS::NoValue]",
        "      F: !Select [0, !Split [',', !ImportValue Exported]]",
        '      G: !Select [1, !Cidr [!Ref P, 2, 8]]',
        '      H: !And [!Equals [a, b], !Not [!Condition C2], !Or [!Condition C1, !Condition C2]]',
        '      I: !FindInMap [M, K1, K2]',
        '      J: !Base64 plain',
        "      K: !GetAZs ''"
      ].join('\n')
    )
    expect(t.Resources.X.Properties).toEqual({
      A: { Ref: 'P' },
      B: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${P}' },
      C: { 'Fn::Sub': ['${V}-x', { V: { 'Fn::GetAtt': ['Y', 'Arn'] } }] },
      D: { 'Fn::GetAtt': ['Y', 'Arn'] },
      E: { 'Fn::If': ['C1', { 'Fn::Join': [',', ['a', 'b']] }, { Ref: 'AWS::NoValue' }] },
      F: { 'Fn::Select': [0, { 'Fn::Split': [',', { 'Fn::ImportValue': 'Exported' }] }] },
      G: { 'Fn::Select': [1, { 'Fn::Cidr': [{ Ref: 'P' }, 2, 8] }] },
      H: {
        'Fn::And': [
          { 'Fn::Equals': ['a', 'b'] },
          { 'Fn::Not': [{ Condition: 'C2' }] },
          { 'Fn::Or': [{ Condition: 'C1' }, { Condition: 'C2' }] }
        ]
      },
      I: { 'Fn::FindInMap': ['M', 'K1', 'K2'] },
      J: { 'Fn::Base64': 'plain' },
      K: { 'Fn::GetAZs': '' }
    })
  })

  it('let the reference check see Sub variables but not the Sub variable map or ${!literals}', () => {
    const t = parseTemplate(
      [
        'Resources:',
        '  X:',
        '    Type: T',
        '    Properties:',
        "      A: !Sub ['${V}${Y.Arn}${!Lit}${AWS::Region}', { V: !Ref P }]"
      ].join('\n')
    )
    expect(references(t).map(r => `${r.kind}:${r.name}${r.attribute ? '.' + r.attribute : ''}`)).toEqual([
      'Sub:Y.Arn',
      'Sub:AWS::Region',
      'Ref:P'
    ])
  })

  it('survive prettier: the files keep their short forms', () => {
    for (const p of [accountPath, regionPath]) {
      const text = readFileSync(p, 'utf8')
      expect(text).toMatch(/!Ref /)
      expect(text).toMatch(/!Sub /)
      expect(text).not.toMatch(/"Fn::Sub"/)
    }
  })
})

describe('parameter constraints', () => {
  const accountCases: [string, boolean, Record<string, string | number>][] = [
    ['an organization', true, { GitHubOrg: 'acme-inc' }],
    ['an organization with a space', false, { GitHubOrg: 'acme inc' }],
    ['an organization starting with a hyphen', false, { GitHubOrg: '-acme' }],
    ['an organization of 40 characters', false, { GitHubOrg: 'a'.repeat(40) }],
    ['a repository with dots', true, { GitHubRepo: 'shop.api_v2' }],
    ['a repository with a slash', false, { GitHubRepo: 'acme/shop' }],
    ['an empty repository', false, { GitHubRepo: '' }],
    ['RunRetentionDays 1', true, { RunRetentionDays: 1 }],
    ['RunRetentionDays 0', false, { RunRetentionDays: 0 }],
    ['RunRetentionDays "two"', false, { RunRetentionDays: 'two' }],
    ['AllowPullRequests false', true, { AllowPullRequests: 'false' }],
    ['AllowPullRequests yes', false, { AllowPullRequests: 'yes' }],
    [
      'an existing provider ARN',
      true,
      {
        ExistingOidcProviderArn: 'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com'
      }
    ],
    [
      'a provider ARN of another issuer',
      false,
      { ExistingOidcProviderArn: 'arn:aws:iam::123456789012:oidc-provider/example.com' }
    ],
    ['a bucket name', true, { BucketName: 'acme-perf-gate' }],
    ['a bucket name with capitals', false, { BucketName: 'Acme_Perf' }],
    ['a cluster name with a slash', false, { ClusterName: 'perf/gate' }]
  ]
  it.each(accountCases)('account.yml: %s → accepted: %s', (_what, ok, given) => {
    const errors = checkParameters(account, { ...ACCOUNT_PARAMS, ...given })
    expect(errors.length === 0).toBe(ok)
  })

  it('account.yml: GitHubOrg and GitHubRepo are required', () => {
    expect(checkParameters(account, {})).toEqual([
      'GitHubOrg: required (no default)',
      'GitHubRepo: required (no default)'
    ])
  })

  const regionCases: [string, boolean, Record<string, string | number>][] = [
    ['TaskCpu 300', false, { TaskCpu: '300' }],
    ['TaskCpu 4096 with 8192 MiB', true, { TaskCpu: '4096', TaskMemory: 8192 }],
    ['TaskCpu 16384 with 122880 MiB', true, { TaskCpu: '16384', TaskMemory: 122880 }],
    ['TaskCpu 256 with 4096 MiB (not a Fargate size)', false, { TaskCpu: '256', TaskMemory: 4096 }],
    ['TaskCpu 8192 with 18432 MiB (not a 4 GiB step)', false, { TaskCpu: '8192', TaskMemory: 18432 }],
    ['TaskMemory 256', false, { TaskCpu: '256', TaskMemory: 256 }],
    ['TaskMemory 131072', false, { TaskCpu: '16384', TaskMemory: 131072 }],
    ['a task role ARN without an account', false, { TaskRoleArn: 'arn:aws:iam::role/x' }],
    ['a task role ARN naming a user', false, { TaskRoleArn: 'arn:aws:iam::123456789012:user/x' }],
    [
      'an execution role ARN in GovCloud',
      true,
      { ExecutionRoleArn: 'arn:aws-us-gov:iam::123456789012:role/x' }
    ],
    ['an execution role name instead of an ARN', false, { ExecutionRoleArn: 'perf-gate-execution' }],
    ['an empty image', false, { Image: '' }],
    ['an image with a space', false, { Image: 'ghcr.io/acme/perf gate:v1' }],
    ['an image with an uppercase owner', false, { Image: 'ghcr.io/Acme/perf-gate-runner:v1' }],
    [
      'an ECR image by digest',
      true,
      { Image: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/perf-gate-runner@sha256:${'a'.repeat(64)}` }
    ],
    ['an image on Docker Hub', true, { Image: 'acme/perf-gate-runner:1.2.3' }],
    ['LogRetentionDays 10', false, { LogRetentionDays: 10 }],
    ['LogRetentionDays 30', true, { LogRetentionDays: 30 }],
    ['NofileLimit 100', false, { NofileLimit: 100 }],
    ['NofileLimit 1048576', true, { NofileLimit: 1048576 }],
    ['a /24 VPC', false, { VpcCidr: '10.0.0.0/24' }],
    ['a /18 VPC', true, { VpcCidr: '172.16.0.0/18' }],
    ['a VPC CIDR with an octet over 255', false, { VpcCidr: '10.300.0.0/16' }],
    ['a bucket name with capitals', false, { ResultsBucket: 'Perf_Gate' }],
    ['existing subnets without their VPC', false, { SubnetIds: 'subnet-0a,subnet-0b' }],
    ['existing subnets with their VPC', true, { SubnetIds: 'subnet-0a,subnet-0b', VpcId: 'vpc-0123abcd' }],
    ['a VPC without subnets', false, { VpcId: 'vpc-0123abcd' }],
    ['AssignPublicIp maybe', false, { AssignPublicIp: 'maybe' }]
  ]
  it.each(regionCases)('region.yml: %s → accepted: %s', (_what, ok, given) => {
    const errors = checkParameters(region, { ...REGION_PARAMS, ...given })
    expect([errors.length === 0, errors]).toEqual([ok, ok ? [] : expect.any(Array)])
  })

  it('region.yml: the account stack outputs and the image are required', () => {
    expect(checkParameters(region, {})).toEqual([
      'Image: required (no default)',
      'ResultsBucket: required (no default)',
      'TaskRoleArn: required (no default)',
      'ExecutionRoleArn: required (no default)'
    ])
  })

  it('region.yml: every Fargate CPU value has at least one valid memory size, and nothing else passes', () => {
    const cpus = region.Parameters!.TaskCpu.AllowedValues!.map(String)
    let valid = 0
    for (const cpu of cpus)
      for (let mem = 512; mem <= 122880; mem += 512) {
        const ok = checkParameters(region, { ...REGION_PARAMS, TaskCpu: cpu, TaskMemory: mem }).length === 0
        const c = Number(cpu)
        const expected =
          (c === 256 && [512, 1024, 2048].includes(mem)) ||
          (c === 512 && mem >= 1024 && mem <= 4096 && mem % 1024 === 0) ||
          (c === 1024 && mem >= 2048 && mem <= 8192 && mem % 1024 === 0) ||
          (c === 2048 && mem >= 4096 && mem <= 16384 && mem % 1024 === 0) ||
          (c === 4096 && mem >= 8192 && mem <= 30720 && mem % 1024 === 0) ||
          (c === 8192 && mem >= 16384 && mem <= 61440 && mem % 4096 === 0) ||
          (c === 16384 && mem >= 32768 && mem <= 122880 && mem % 8192 === 0)
        if (ok !== expected) throw new Error(`TaskCpu ${cpu} TaskMemory ${mem}: accepted ${ok}`)
        if (ok) valid++
      }
    expect(valid).toBe(3 + 4 + 7 + 13 + 23 + 12 + 12)
  })
})

describe('account.yml', () => {
  const ev = new Evaluator(account, ACCOUNT_PARAMS, {
    resources: {
      ResultsBucket: 'perf-gate-results-1a2b',
      'ResultsBucket.Arn': 'arn:aws:s3:::perf-gate-results-1a2b'
    }
  })

  it('has the outputs the docs and the regional stacks use', () => {
    expect(Object.keys(account.Outputs ?? {}).sort()).toEqual(
      [
        'ExecutionRoleArn',
        'OidcProviderArn',
        'ResultsBucket',
        'ResultsBucketRegion',
        'RoleArn',
        'TaskRoleArn'
      ].sort()
    )
    expect(ev.output('ResultsBucketRegion')).toBe('us-east-1')
    expect(ev.output('ResultsBucket')).toBe('perf-gate-results-1a2b')
  })

  describe('the results bucket', () => {
    const bucket = ev.properties('ResultsBucket')

    it('blocks public access, encrypts, versions, and survives the stack', () => {
      expect(bucket.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true
      })
      const sse = (bucket.BucketEncryption as JsonObject).ServerSideEncryptionConfiguration as JsonObject[]
      expect(['AES256', 'aws:kms']).toContain(
        (sse[0].ServerSideEncryptionByDefault as JsonObject).SSEAlgorithm
      )
      expect(bucket.VersioningConfiguration).toEqual({ Status: 'Enabled' })
      expect(account.Resources.ResultsBucket.DeletionPolicy).toBe('Retain')
      expect(bucket.BucketName).toBeUndefined()
      expect(
        new Evaluator(account, { ...ACCOUNT_PARAMS, BucketName: 'acme-perf' }).properties('ResultsBucket')
          .BucketName
      ).toBe('acme-perf')
    })

    it('expires runs/ (and its old versions) after RunRetentionDays and keeps baselines/', () => {
      const rules = (bucket.LifecycleConfiguration as JsonObject).Rules as JsonObject[]
      const prefixOf = (r: JsonObject): string =>
        String(r.Prefix ?? (isObject(r.Filter) ? (r.Filter.Prefix ?? '') : ''))
      const runs = rules.filter(r => prefixOf(r) === 'runs/')
      expect(runs).toHaveLength(1)
      expect(runs[0].Status).toBe('Enabled')
      expect(runs[0].ExpirationInDays).toBe('14')
      expect(runs[0].NoncurrentVersionExpiration).toEqual({ NoncurrentDays: 1 })
      expect(
        new Evaluator(account, { ...ACCOUNT_PARAMS, RunRetentionDays: 3 }).properties('ResultsBucket')
      ).toMatchObject({
        LifecycleConfiguration: { Rules: [expect.objectContaining({ ExpirationInDays: '3' })] }
      })
      // No rule reaches baselines/: none without a prefix, none whose prefix covers it.
      for (const r of rules) {
        const p = prefixOf(r)
        expect(p).not.toBe('')
        expect('baselines/'.startsWith(p) || p.startsWith('baselines')).toBe(false)
      }
    })

    it('has a policy denying every request that does not use TLS', () => {
      const policy = ev.properties('ResultsBucketPolicy')
      expect(policy.Bucket).toBe('perf-gate-results-1a2b')
      const statements = asList(
        (policy.PolicyDocument as JsonObject).Statement as Json[]
      ) as unknown as Statement[]
      const deny = statements.find(
        s => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] !== undefined
      )
      expect(deny).toBeDefined()
      expect(deny!.Condition!.Bool['aws:SecureTransport']).toBe('false')
      expect(deny!.Principal).toBe('*')
      expect(asList(deny!.Action)).toEqual(['s3:*'])
      expect(asList(deny!.Resource).sort()).toEqual(
        ['arn:aws:s3:::perf-gate-results-1a2b', 'arn:aws:s3:::perf-gate-results-1a2b/*'].sort()
      )
    })
  })

  describe('the trust policy of the action role', () => {
    type Claims = { aud: string; sub: string }
    /** IAM's evaluation of the trust statement's conditions for a token's claims. */
    function admits(s: Statement, claims: Claims): boolean {
      const value = (key: string): string | undefined =>
        key === 'token.actions.githubusercontent.com:aud'
          ? claims.aud
          : key === 'token.actions.githubusercontent.com:sub'
            ? claims.sub
            : undefined
      for (const [op, block] of Object.entries(s.Condition ?? {}))
        for (const [key, expected] of Object.entries(block)) {
          const v = value(key)
          const patterns = asList(expected)
          if (v === undefined) return false
          const like = patterns.some(p => iamLike(p, v))
          const equal = patterns.includes(v)
          if (op === 'StringEquals' && !equal) return false
          if ((op === 'StringLike' || op === 'ForAnyValue:StringLike') && !like) return false
          if (!['StringEquals', 'StringLike', 'ForAnyValue:StringLike'].includes(op))
            throw new Error(`unexpected operator ${op}`)
        }
      return true
    }
    const trust = (given: Record<string, string>): Statement => {
      const e = new Evaluator(account, { ...ACCOUNT_PARAMS, ...given })
      const doc = e.properties('PerfGateActionRole').AssumeRolePolicyDocument as JsonObject
      const st = asList(doc.Statement as Json[]) as unknown as Statement[]
      expect(st).toHaveLength(1)
      return st[0]
    }
    const aud = 'sts.amazonaws.com'

    it('trusts the GitHub OIDC provider for AssumeRoleWithWebIdentity only, with aud pinned', () => {
      const s = trust({})
      expect(s.Effect).toBe('Allow')
      expect(s.Action).toBe('sts:AssumeRoleWithWebIdentity')
      expect(s.Principal).toEqual({ Federated: 'GitHubOidcProvider-physical-id' })
      expect(s.Condition!.StringEquals).toEqual({ 'token.actions.githubusercontent.com:aud': aud })
      const existing = 'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com'
      const e2 = new Evaluator(account, { ...ACCOUNT_PARAMS, ExistingOidcProviderArn: existing })
      expect(e2.exists(account.Resources.GitHubOidcProvider.Condition)).toBe(false)
      expect(trust({ ExistingOidcProviderArn: existing }).Principal).toEqual({ Federated: existing })
      expect(e2.output('OidcProviderArn')).toBe(existing)
      const provider = ev.properties('GitHubOidcProvider')
      expect(provider.Url).toBe('https://token.actions.githubusercontent.com')
      expect(provider.ClientIdList).toEqual([aud])
      // Ignored by IAM for GitHub, but CloudFormation requires the property.
      for (const t of provider.ThumbprintList as string[]) expect(t).toMatch(/^[0-9a-f]{40}$/)
    })

    it('limits sub to the repository; no pattern is a bare *', () => {
      const s = trust({})
      const subs = Object.values(s.Condition!).flatMap(b =>
        asList(b['token.actions.githubusercontent.com:sub'])
      )
      expect(subs).toContain('repo:acme/shop:*')
      for (const p of subs) expect(p.replace(/[*:]/g, '')).not.toBe('')
      expect(asList(s.Condition!.StringLike['token.actions.githubusercontent.com:sub'])).toEqual([
        'repo:acme/shop:*'
      ])
    })

    it('admits the default ref and pull requests, and nothing else', () => {
      const s = trust({})
      expect(
        asList(s.Condition!['ForAnyValue:StringLike']['token.actions.githubusercontent.com:sub'])
      ).toEqual(['*:ref:refs/heads/main', '*:pull_request'])
      expect(admits(s, { aud, sub: 'repo:acme/shop:ref:refs/heads/main' })).toBe(true)
      expect(admits(s, { aud, sub: 'repo:acme/shop:pull_request' })).toBe(true)
      expect(admits(s, { aud, sub: 'repo:acme/shop:ref:refs/heads/feature' })).toBe(false)
      expect(admits(s, { aud, sub: 'repo:acme/shop:environment:prod' })).toBe(false)
      expect(admits(s, { aud, sub: 'repo:acme/shop-fork:pull_request' })).toBe(false)
      expect(admits(s, { aud, sub: 'repo:acme/shop-fork:ref:refs/heads/main' })).toBe(false)
      expect(admits(s, { aud, sub: 'repo:evil/shop:pull_request' })).toBe(false)
      expect(admits(s, { aud, sub: 'repo:evil/acme/shop:ref:refs/heads/main' })).toBe(false)
      expect(admits(s, { aud: 'https://github.com/acme', sub: 'repo:acme/shop:ref:refs/heads/main' })).toBe(
        false
      )
    })

    it('follows AllowedRefs, AllowedEnvironments and AllowPullRequests', () => {
      const s = trust({
        AllowedRefs: 'refs/heads/main,refs/tags/v*',
        AllowedEnvironments: 'perf,staging',
        AllowPullRequests: 'false'
      })
      expect(
        asList(s.Condition!['ForAnyValue:StringLike']['token.actions.githubusercontent.com:sub'])
      ).toEqual([
        '*:ref:refs/heads/main',
        '*:ref:refs/tags/v*',
        '*:environment:perf',
        '*:environment:staging'
      ])
      expect(admits(s, { aud, sub: 'repo:acme/shop:ref:refs/tags/v1.2.0' })).toBe(true)
      expect(admits(s, { aud, sub: 'repo:acme/shop:environment:perf' })).toBe(true)
      expect(admits(s, { aud, sub: 'repo:acme/shop:environment:production' })).toBe(false)
      expect(admits(s, { aud, sub: 'repo:acme/shop:pull_request' })).toBe(false)
      expect(admits(s, { aud, sub: 'repo:other/shop:environment:perf' })).toBe(false)
    })

    it('caps the session at 4 hours', () => {
      expect(ev.properties('PerfGateActionRole').MaxSessionDuration).toBe(14400)
    })
  })

  it('lets only ECS tasks of this account assume the task role', () => {
    const doc = ev.properties('RunnerTaskRole').AssumeRolePolicyDocument as JsonObject
    const [s] = asList(doc.Statement as Json[]) as unknown as Statement[]
    expect(s.Principal).toEqual({ Service: 'ecs-tasks.amazonaws.com' })
    expect(s.Action).toBe('sts:AssumeRole')
    expect(s.Condition!.StringEquals).toEqual({ 'aws:SourceAccount': '123456789012' })
    const exec = ev.properties('RunnerExecutionRole').AssumeRolePolicyDocument as JsonObject
    expect((asList(exec.Statement as Json[]) as unknown as Statement[])[0].Principal).toEqual({
      Service: 'ecs-tasks.amazonaws.com'
    })
  })
})

describe('region.yml', () => {
  const created = new Evaluator(region, REGION_PARAMS, { stackName: 'perf-gate-runner', region: 'eu-west-1' })
  const existing = new Evaluator(
    region,
    { ...REGION_PARAMS, VpcId: 'vpc-0123abcd', SubnetIds: 'subnet-0a,subnet-0b', AssignPublicIp: 'DISABLED' },
    { stackName: 'perf-gate-runner', region: 'eu-west-1' }
  )

  it('has the outputs the action reads, with values in both network modes', () => {
    expect(Object.keys(region.Outputs ?? {}).sort()).toEqual(
      [
        'AssignPublicIp',
        'ClusterName',
        'ContainerName',
        'LogGroup',
        'ResultsBucket',
        'SecurityGroups',
        'Subnets',
        'TaskDefinitionArn'
      ].sort()
    )
    expect(created.output('ContainerName')).toBe('runner')
    expect(created.output('Subnets')).toBe('PublicSubnetA-physical-id,PublicSubnetB-physical-id')
    expect(created.output('AssignPublicIp')).toBe('ENABLED')
    expect(created.output('SecurityGroups')).toBe('TaskSecurityGroup.GroupId')
    expect(created.output('ResultsBucket')).toBe(REGION_PARAMS.ResultsBucket)
    expect(existing.output('Subnets')).toBe('subnet-0a,subnet-0b')
    expect(existing.output('AssignPublicIp')).toBe('DISABLED')
  })

  it('runs a FARGATE / FARGATE_SPOT cluster named by the parameter', () => {
    const c = created.properties('Cluster')
    expect(c.ClusterName).toBe('perf-gate')
    expect(c.CapacityProviders).toEqual(['FARGATE', 'FARGATE_SPOT'])
    expect(c.DefaultCapacityProviderStrategy).toEqual([{ CapacityProvider: 'FARGATE', Weight: 1 }])
  })

  it('defines the runner task: Fargate, awsvpc, sizes, roles, one container named runner', () => {
    const td = created.properties('TaskDefinition')
    expect(td).toMatchObject({
      Family: 'perf-gate-runner',
      RequiresCompatibilities: ['FARGATE'],
      NetworkMode: 'awsvpc',
      Cpu: '1024',
      Memory: '2048',
      TaskRoleArn: REGION_PARAMS.TaskRoleArn,
      ExecutionRoleArn: REGION_PARAMS.ExecutionRoleArn,
      RuntimePlatform: { OperatingSystemFamily: 'LINUX', CpuArchitecture: 'X86_64' }
    })
    const containers = td.ContainerDefinitions as JsonObject[]
    expect(containers).toHaveLength(1)
    const c = containers[0]
    expect(c).toMatchObject({ Name: 'runner', Essential: true, Image: REGION_PARAMS.Image, StopTimeout: 30 })
    expect(c.Ulimits).toEqual([{ Name: 'nofile', SoftLimit: '65536', HardLimit: '65536' }])
    expect(c.Environment).toEqual([{ Name: 'PERF_GATE_BUCKET', Value: REGION_PARAMS.ResultsBucket }])
    expect(c.LogConfiguration).toMatchObject({
      LogDriver: 'awslogs',
      Options: {
        'awslogs-group': 'LogGroup-physical-id',
        'awslogs-region': 'eu-west-1',
        'awslogs-stream-prefix': 'perf-gate'
      }
    })
    expect(created.properties('LogGroup')).toEqual({
      LogGroupName: '/perf-gate/perf-gate-runner',
      RetentionInDays: '14'
    })
  })

  it('has an egress-only security group', () => {
    const sg = created.properties('TaskSecurityGroup')
    expect(sg.SecurityGroupIngress).toBeUndefined()
    expect(sg.SecurityGroupEgress).toEqual([
      expect.objectContaining({ IpProtocol: '-1', CidrIp: '0.0.0.0/0' })
    ])
    expect(Object.values(region.Resources).map(r => r.Type)).not.toContain('AWS::EC2::SecurityGroupIngress')
    expect(sg.VpcId).toBe('Vpc-physical-id')
    expect(existing.properties('TaskSecurityGroup').VpcId).toBe('vpc-0123abcd')
  })

  it('creates two public subnets in two zones with an internet route and no NAT gateway', () => {
    const types = Object.values(region.Resources).map(r => r.Type)
    expect(types).not.toContain('AWS::EC2::NatGateway')
    expect(types).not.toContain('AWS::EC2::EIP')
    expect(created.properties('Vpc').CidrBlock).toBe('10.42.0.0/16')
    const a = created.properties('PublicSubnetA')
    const b = created.properties('PublicSubnetB')
    expect(a.MapPublicIpOnLaunch).toBe(true)
    expect(b.MapPublicIpOnLaunch).toBe(true)
    expect(a.AvailabilityZone).not.toBe(b.AvailabilityZone)
    expect([a.CidrBlock, b.CidrBlock]).toEqual(['10.42.0.0/20', '10.42.16.0/20'])
    expect(created.properties('DefaultRoute')).toEqual({
      RouteTableId: 'PublicRouteTable-physical-id',
      DestinationCidrBlock: '0.0.0.0/0',
      GatewayId: 'InternetGateway-physical-id'
    })
    for (const assoc of ['PublicSubnetARouteTable', 'PublicSubnetBRouteTable'])
      expect(created.properties(assoc).RouteTableId).toBe('PublicRouteTable-physical-id')
    // The smallest VPC allowed still holds both subnets.
    const small = new Evaluator(region, { ...REGION_PARAMS, VpcCidr: '10.9.0.0/19' })
    expect([
      small.properties('PublicSubnetA').CidrBlock,
      small.properties('PublicSubnetB').CidrBlock
    ]).toEqual(['10.9.0.0/20', '10.9.16.0/20'])
  })

  it('creates no network when existing subnets are given', () => {
    for (const [id, r] of Object.entries(region.Resources))
      if (r.Type.startsWith('AWS::EC2::') && id !== 'TaskSecurityGroup')
        expect([id, existing.exists(r.Condition)]).toEqual([id, false])
  })

  it('uses the same names as the account stack by default', () => {
    for (const p of ['ClusterName', 'TaskDefinitionFamily'])
      expect(region.Parameters![p].Default).toBe(account.Parameters![p].Default)
    expect(account.Parameters!.RunnerStackName.Default).toBe('perf-gate-runner')
  })
})
