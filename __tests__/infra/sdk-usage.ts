/**
 * Which AWS SDK commands does the code call, and which IAM actions do they need?
 *
 * `sdkCallsFrom(entries)` follows the import graph of `src/` from the given entry points (static
 * imports, re-exports and `import('…')` with a literal; type-only imports are skipped, since they
 * load nothing) and collects, in every file it reaches, what that file takes from an
 * `@aws-sdk/client-*` package:
 *
 * - `XCommand` imported by name (also aliased, or destructured from `await import(…)`), or used as
 *   `ns.XCommand` through a namespace import → command X;
 * - `paginateX` → command X; a waiter (`waitUntilTasksStopped`, …) → the command it polls;
 * - an aggregated client (`new ECS()`, `new S3()`, …) → an error: its method calls cannot be
 *   derived, use commands.
 *
 * `iamActionsFor` maps each command to IAM actions with an explicit table; a command missing from
 * the table is reported, never guessed.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, relative, resolve } from 'node:path'
import ts from 'typescript'

export interface SdkCall {
  /** The client package suffix: `ecs`, `s3`, `cloudformation`, `sts`, … */
  client: string
  /** The operation: `RunTask`, `GetObject`, … */
  command: string
  /** How the code uses it: `RunTaskCommand`, `paginateListTasks`, `waitUntilTasksStopped`. */
  via: string
  file: string
}

export interface SdkUsage {
  calls: SdkCall[]
  /** Files reached from the entry points (relative to the repository root). */
  files: string[]
  /** Imports the derivation cannot interpret (aggregated clients, other @aws-sdk packages). */
  problems: string[]
}

/** Waiters: the command each one polls. */
const WAITERS: Record<string, Record<string, string>> = {
  ecs: {
    waitUntilTasksRunning: 'DescribeTasks',
    waitUntilTasksStopped: 'DescribeTasks',
    waitForTasksRunning: 'DescribeTasks',
    waitForTasksStopped: 'DescribeTasks',
    waitUntilServicesStable: 'DescribeServices',
    waitUntilServicesInactive: 'DescribeServices'
  },
  cloudformation: {
    waitUntilStackCreateComplete: 'DescribeStacks',
    waitUntilStackUpdateComplete: 'DescribeStacks',
    waitUntilStackExists: 'DescribeStacks'
  },
  s3: {
    waitUntilObjectExists: 'HeadObject',
    waitUntilObjectNotExists: 'HeadObject',
    waitUntilBucketExists: 'HeadBucket'
  }
}

/** Aggregated (v2-style) client classes: their methods hide the commands. */
const AGGREGATED = new Set(['ECS', 'S3', 'STS', 'CloudFormation', 'CloudWatchLogs', 'EC2', 'IAM', 'SSM'])

/** `@aws-sdk/*` packages that make no AWS call by themselves (types, credential helpers). */
const PASSIVE_PACKAGES = new Set(['@aws-sdk/types', '@aws-sdk/credential-providers'])

/**
 * Functions of @aws-sdk/credential-providers that make no call needing an identity permission
 * (web identity is governed by the role's trust policy; the others read local sources).
 */
const PASSIVE_CREDENTIAL_PROVIDERS = new Set([
  'fromWebToken',
  'fromTokenFile',
  'fromEnv',
  'fromIni',
  'fromNodeProviderChain',
  'fromContainerMetadata',
  'fromInstanceMetadata'
])

function clientOf(spec: string): string | undefined {
  const m = /^@aws-sdk\/client-([a-z0-9-]+)$/.exec(spec)
  return m ? m[1] : undefined
}

interface Binding {
  client: string
  /** The exported name, or '*' for a namespace. */
  name: string
}

function commandFromName(
  client: string,
  name: string
): { command: string; via: string } | 'ignore' | 'problem' {
  if (name.endsWith('Command') && name.length > 'Command'.length)
    return { command: name.slice(0, -'Command'.length), via: name }
  if (/^paginate[A-Z]/.test(name)) return { command: name.slice('paginate'.length), via: name }
  if (/^wait(Until|For)[A-Z]/.test(name)) {
    const cmd = WAITERS[client]?.[name]
    return cmd ? { command: cmd, via: name } : 'problem'
  }
  if (AGGREGATED.has(name)) return 'problem'
  // Client classes, exceptions, enums and helpers make no call of their own.
  return 'ignore'
}

function resolveLocal(fromFile: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined
  const base = resolve(dirname(fromFile), spec)
  const candidates = [
    base.replace(/\.(m?js|cjs)$/, '.ts'),
    base.replace(/\.(m?js|cjs)$/, '.tsx'),
    `${base}.ts`,
    resolve(base, 'index.ts'),
    base
  ]
  return candidates.find(c => c.endsWith('.ts') && existsSync(c))
}

interface FileScan {
  calls: Omit<SdkCall, 'file'>[]
  imports: string[]
  problems: string[]
}

/** The SDK calls and the local (value) imports of one TypeScript source. */
export function scanSource(fileName: string, text: string): FileScan {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS)
  const calls: Omit<SdkCall, 'file'>[] = []
  const imports: string[] = []
  const problems: string[] = []
  const namespaces = new Map<string, string>() // local namespace → client

  const use = (b: Binding, where: string): void => {
    const r = commandFromName(b.client, b.name)
    if (r === 'ignore') return
    if (r === 'problem') {
      problems.push(
        `${where}: '${b.name}' from @aws-sdk/client-${b.client} cannot be mapped to commands ` +
          `(use XCommand classes, or add it to the waiter table in __tests__/infra/sdk-usage.ts)`
      )
      return
    }
    calls.push({ client: b.client, command: r.command, via: r.via })
  }

  const where = (node: ts.Node): string => {
    const { line } = sf.getLineAndCharacterOfPosition(node.getStart(sf))
    return `${fileName}:${line + 1}`
  }

  const otherAwsPackage = (spec: string, node: ts.Node, names: string[]): void => {
    if (!spec.startsWith('@aws-sdk/') || clientOf(spec)) return
    if (spec === '@aws-sdk/credential-providers') {
      for (const n of names)
        if (!PASSIVE_CREDENTIAL_PROVIDERS.has(n))
          problems.push(`${where(node)}: '${n}' from ${spec} may call AWS; map it in sdk-usage.ts`)
      return
    }
    if (!PASSIVE_PACKAGES.has(spec))
      problems.push(`${where(node)}: ${spec} is not mapped to IAM actions (see __tests__/infra/sdk-usage.ts)`)
  }

  const visit = (node: ts.Node): void => {
    // import … from '…'
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const spec = node.moduleSpecifier.text
      const clause = node.importClause
      const typeOnly = !!clause?.isTypeOnly
      const named =
        clause?.namedBindings && ts.isNamedImports(clause.namedBindings)
          ? clause.namedBindings.elements.filter(e => !e.isTypeOnly)
          : []
      const ns =
        clause?.namedBindings && ts.isNamespaceImport(clause.namedBindings) ? clause.namedBindings : null
      const loadsValues = !clause || (!typeOnly && (named.length > 0 || !!ns || !!clause.name))
      if (!typeOnly) {
        const client = clientOf(spec)
        if (client) {
          for (const e of named) use({ client, name: (e.propertyName ?? e.name).text }, where(e))
          if (clause?.name) use({ client, name: 'default' }, where(clause))
          if (ns) namespaces.set(ns.name.text, client)
        } else
          otherAwsPackage(
            spec,
            node,
            named.map(e => (e.propertyName ?? e.name).text)
          )
      }
      if (loadsValues && spec.startsWith('.')) imports.push(spec)
    }
    // export … from '…'
    if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const spec = node.moduleSpecifier.text
      const named =
        node.exportClause && ts.isNamedExports(node.exportClause)
          ? node.exportClause.elements.filter(e => !e.isTypeOnly)
          : []
      if (!node.isTypeOnly) {
        const client = clientOf(spec)
        if (client) for (const e of named) use({ client, name: (e.propertyName ?? e.name).text }, where(e))
        if (spec.startsWith('.') && (!node.exportClause || named.length)) imports.push(spec)
      }
    }
    // import('…')
    if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments.length >= 1 &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      const spec = node.arguments[0].text
      const client = clientOf(spec)
      if (spec.startsWith('.')) imports.push(spec)
      // const { A, B: C } = await import('@aws-sdk/client-x')  /  const m = await import(…)
      let parent: ts.Node = node.parent
      while (parent && (ts.isAwaitExpression(parent) || ts.isParenthesizedExpression(parent)))
        parent = parent.parent
      if (client && parent && ts.isVariableDeclaration(parent)) {
        if (ts.isObjectBindingPattern(parent.name)) {
          for (const el of parent.name.elements) {
            const prop = el.propertyName ?? el.name
            if (ts.isIdentifier(prop)) use({ client, name: prop.text }, where(el))
          }
        } else if (ts.isIdentifier(parent.name)) namespaces.set(parent.name.text, client)
      } else if (client && parent && ts.isPropertyAccessExpression(parent)) {
        use({ client, name: parent.name.text }, where(parent))
      } else if (!client) otherAwsPackage(spec, node, [])
    }
    // ns.XCommand through a namespace import (or a module bound from import()).
    if (
      ts.isPropertyAccessExpression(node) &&
      ts.isIdentifier(node.expression) &&
      namespaces.has(node.expression.text)
    )
      use({ client: namespaces.get(node.expression.text)!, name: node.name.text }, where(node))
    ts.forEachChild(node, visit)
  }
  // Namespace bindings are collected before their uses: scan twice (the first pass only binds).
  visit(sf)
  const bound = new Map(namespaces)
  calls.length = 0
  imports.length = 0
  problems.length = 0
  namespaces.clear()
  for (const [k, v] of bound) namespaces.set(k, v)
  visit(sf)
  return { calls, imports, problems }
}

/** The SDK calls reachable from the entry points (absolute paths of .ts files). */
export function sdkCallsFrom(entries: string[], root: string): SdkUsage {
  const seen = new Set<string>()
  const queue = [...entries]
  const calls: SdkCall[] = []
  const problems: string[] = []
  for (const e of entries)
    if (!existsSync(e)) problems.push(`entry point ${relative(root, e)} does not exist`)
  while (queue.length) {
    const file = queue.shift()!
    if (seen.has(file) || !existsSync(file)) continue
    seen.add(file)
    const rel = relative(root, file)
    const scan = scanSource(rel, readFileSync(file, 'utf8'))
    for (const c of scan.calls) calls.push({ ...c, file: rel })
    problems.push(...scan.problems)
    for (const spec of scan.imports) {
      const target = resolveLocal(file, spec)
      if (target) queue.push(target)
      // A non-TypeScript file (JSON, text) holds no SDK call; anything else is a broken import.
      else if (!existsSync(resolve(dirname(file), spec)))
        problems.push(`${rel}: cannot resolve import '${spec}'`)
    }
  }
  return { calls, files: [...seen].map(f => relative(root, f)).sort(), problems }
}

/**
 * IAM actions per client and command. `[]` means the call needs no identity permission (STS web
 * identity is governed by the role's trust policy). Keep this table explicit: an unknown command
 * must fail the test rather than be guessed.
 */
export const IAM_ACTIONS: Record<string, Record<string, string[]>> = {
  ecs: {
    // RunTask passes tags (tag-on-create needs ecs:TagResource) and hands the task definition's
    // task and execution roles to ECS (iam:PassRole).
    RunTask: ['ecs:RunTask', 'ecs:TagResource', 'iam:PassRole'],
    DescribeTasks: ['ecs:DescribeTasks'],
    StopTask: ['ecs:StopTask'],
    ListTasks: ['ecs:ListTasks'],
    DescribeTaskDefinition: ['ecs:DescribeTaskDefinition'],
    DescribeClusters: ['ecs:DescribeClusters'],
    DescribeServices: ['ecs:DescribeServices'],
    TagResource: ['ecs:TagResource']
  },
  cloudformation: {
    DescribeStacks: ['cloudformation:DescribeStacks'],
    ListStackResources: ['cloudformation:ListStackResources'],
    DescribeStackResources: ['cloudformation:DescribeStackResources']
  },
  s3: {
    GetObject: ['s3:GetObject'],
    HeadObject: ['s3:GetObject'],
    PutObject: ['s3:PutObject'],
    CopyObject: ['s3:GetObject', 's3:PutObject'],
    DeleteObject: ['s3:DeleteObject'],
    DeleteObjects: ['s3:DeleteObject'],
    ListObjectsV2: ['s3:ListBucket'],
    ListObjects: ['s3:ListBucket'],
    HeadBucket: ['s3:ListBucket'],
    GetBucketLocation: ['s3:GetBucketLocation'],
    CreateMultipartUpload: ['s3:PutObject'],
    UploadPart: ['s3:PutObject'],
    CompleteMultipartUpload: ['s3:PutObject'],
    AbortMultipartUpload: ['s3:AbortMultipartUpload']
  },
  sts: {
    AssumeRoleWithWebIdentity: [],
    GetCallerIdentity: []
  },
  'cloudwatch-logs': {
    GetLogEvents: ['logs:GetLogEvents'],
    FilterLogEvents: ['logs:FilterLogEvents']
  },
  ec2: {
    DescribeSubnets: ['ec2:DescribeSubnets'],
    DescribeSecurityGroups: ['ec2:DescribeSecurityGroups']
  }
}

export function iamActionsFor(calls: SdkCall[]): { actions: Set<string>; unmapped: SdkCall[] } {
  const actions = new Set<string>()
  const unmapped: SdkCall[] = []
  for (const c of calls) {
    const mapped = IAM_ACTIONS[c.client]?.[c.command]
    if (!mapped) unmapped.push(c)
    else for (const a of mapped) actions.add(a)
  }
  return { actions, unmapped }
}

/**
 * The bundles and their sources: `action.yml` names the action's `main` and `post` files under
 * dist/, and scripts/package.mjs maps each dist/ folder to its src/ entry. The runner is the entry
 * bundled to dist/runner.
 */
export function entryPoints(root: string): { action: string[]; runner: string[] } {
  const pkg = readFileSync(resolve(root, 'scripts/package.mjs'), 'utf8')
  const bundles = [...pkg.matchAll(/\[\s*'(src\/[^']+\.ts)'\s*,\s*'(dist[^']*)'\s*\]/g)].map(m => ({
    src: m[1],
    out: m[2]
  }))
  if (!bundles.length) throw new Error('scripts/package.mjs: no [src, dist] ENTRIES found')
  const actionYml = readFileSync(resolve(root, 'action.yml'), 'utf8')
  const runs = [...actionYml.matchAll(/^\s+(main|post):\s*['"]?(dist\/[^'"\s]+)/gm)].map(m => m[2])
  if (!runs.length) throw new Error('action.yml: no runs.main / runs.post found')
  const srcFor = (distFile: string): string => {
    const b = bundles.find(x => `${x.out}/index.js` === distFile)
    if (!b) throw new Error(`scripts/package.mjs bundles nothing to ${distFile}`)
    return resolve(root, b.src)
  }
  const runner = bundles.find(b => b.out === 'dist/runner')
  if (!runner) throw new Error('scripts/package.mjs bundles no dist/runner')
  return { action: runs.map(srcFor), runner: [resolve(root, runner.src)] }
}
