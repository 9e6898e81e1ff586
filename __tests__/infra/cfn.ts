/**
 * A small CloudFormation toolkit for the infra-template tests (no AWS needed):
 *
 * - `loadTemplate`: parses a template with the `yaml` package and CloudFormation's short-form tags
 *   (`!Ref X` → `{ Ref: 'X' }`, `!Sub s` → `{ 'Fn::Sub': s }`, `!GetAtt A.B` → `{ 'Fn::GetAtt': ['A', 'B'] }`, …);
 * - `references`: every name a template refers to (Ref, GetAtt, Sub variables, conditions);
 * - `checkParameters`: a template's own parameter constraints (AllowedPattern as a full-match
 *   regular expression, AllowedValues, Min/MaxValue, Min/MaxLength) and its Rules;
 * - `Evaluator`: resolves intrinsic functions for given parameter values, so policies can be read
 *   as the strings IAM will see.
 */
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import type { CollectionTag, ScalarTag } from 'yaml'

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
export type JsonObject = { [key: string]: Json }

export interface Template {
  AWSTemplateFormatVersion?: string
  Description?: string
  Parameters?: Record<string, ParameterDef>
  Rules?: Record<string, { RuleCondition?: Json; Assertions: { Assert: Json; AssertDescription?: string }[] }>
  Conditions?: Record<string, Json>
  Resources: Record<string, ResourceDef>
  Outputs?: Record<string, { Value?: Json; Description?: string; Condition?: string; Export?: Json }>
  [key: string]: unknown
}

export interface ParameterDef {
  Type: string
  Default?: string | number
  AllowedPattern?: string
  AllowedValues?: (string | number)[]
  MinValue?: number
  MaxValue?: number
  MinLength?: number
  MaxLength?: number
  Description?: string
  ConstraintDescription?: string
  NoEcho?: boolean
}

export interface ResourceDef {
  Type: string
  Condition?: string
  DependsOn?: string | string[]
  Properties?: JsonObject
  DeletionPolicy?: string
  UpdateReplacePolicy?: string
  Metadata?: Json
}

/** Short-form tag → long-form key. */
const INTRINSICS: Record<string, string> = {
  Ref: 'Ref',
  Condition: 'Condition',
  Sub: 'Fn::Sub',
  GetAtt: 'Fn::GetAtt',
  Join: 'Fn::Join',
  Select: 'Fn::Select',
  Split: 'Fn::Split',
  If: 'Fn::If',
  Equals: 'Fn::Equals',
  Not: 'Fn::Not',
  And: 'Fn::And',
  Or: 'Fn::Or',
  FindInMap: 'Fn::FindInMap',
  GetAZs: 'Fn::GetAZs',
  ImportValue: 'Fn::ImportValue',
  Base64: 'Fn::Base64',
  Cidr: 'Fn::Cidr'
}

function scalarValue(name: string, value: string): Json {
  // `!GetAtt Resource.Attribute` is the dotted short form of ['Resource', 'Attribute'].
  if (name === 'GetAtt') {
    const dot = value.indexOf('.')
    return dot < 0 ? [value] : [value.slice(0, dot), value.slice(dot + 1)]
  }
  return value
}

/** The custom tags for `yaml`: each intrinsic as a scalar, a sequence and a mapping. */
export const CFN_TAGS: (ScalarTag | CollectionTag)[] = Object.entries(INTRINSICS).flatMap(([name, key]) => {
  const scalar: ScalarTag = { tag: `!${name}`, resolve: value => ({ [key]: scalarValue(name, value) }) }
  const seq: CollectionTag = {
    tag: `!${name}`,
    collection: 'seq',
    resolve: value => ({ [key]: value.toJSON() as Json })
  }
  const map: CollectionTag = {
    tag: `!${name}`,
    collection: 'map',
    resolve: value => ({ [key]: value.toJSON() as Json })
  }
  return [scalar, seq, map]
})

export function parseTemplate(text: string): Template {
  const doc = parse(text, { customTags: CFN_TAGS }) as Template
  if (!doc || typeof doc !== 'object' || !doc.Resources) throw new Error('not a CloudFormation template')
  return doc
}

export function loadTemplate(path: string): Template {
  return parseTemplate(readFileSync(path, 'utf8'))
}

export const PSEUDO_PARAMETERS = [
  'AWS::AccountId',
  'AWS::NotificationARNs',
  'AWS::NoValue',
  'AWS::Partition',
  'AWS::Region',
  'AWS::StackId',
  'AWS::StackName',
  'AWS::URLSuffix'
]

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** The one key of an intrinsic function object (`{ 'Fn::Sub': … }`), else undefined. */
export function intrinsicKey(node: Json): string | undefined {
  if (!isObject(node)) return undefined
  const keys = Object.keys(node)
  if (keys.length !== 1) return undefined
  const k = keys[0]
  return k === 'Ref' || k === 'Condition' || k.startsWith('Fn::') ? k : undefined
}

/** `${Name}` / `${Name.Attr}` variables of a Fn::Sub string (`${!Literal}` excluded). */
export function subVariables(s: string): string[] {
  const out: string[] = []
  for (const m of s.matchAll(/\$\{([^}]*)\}/g)) if (!m[1].startsWith('!')) out.push(m[1].trim())
  return out
}

export interface Reference {
  kind: 'Ref' | 'GetAtt' | 'Sub' | 'Condition'
  name: string
  /** Attribute for GetAtt and `${X.Attr}`. */
  attribute?: string
  path: string
}

/**
 * Every reference in a template: Ref, Fn::GetAtt, Fn::Sub variables (minus the Sub's own
 * variable map), Fn::If / Condition names, resource Condition attributes and DependsOn.
 */
export function references(template: Template): Reference[] {
  const out: Reference[] = []
  const walk = (node: Json | undefined, path: string, local: Set<string>): void => {
    if (Array.isArray(node)) {
      node.forEach((n, i) => walk(n, `${path}[${i}]`, local))
      return
    }
    if (!isObject(node)) return
    const key = intrinsicKey(node)
    const arg = key ? node[key] : undefined
    if (key === 'Ref' && typeof arg === 'string') {
      if (!local.has(arg)) out.push({ kind: 'Ref', name: arg, path })
      return
    }
    if (key === 'Condition' && typeof arg === 'string') {
      out.push({ kind: 'Condition', name: arg, path })
      return
    }
    if (key === 'Fn::GetAtt') {
      const parts = typeof arg === 'string' ? arg.split('.') : (arg as Json[])
      if (Array.isArray(parts) && typeof parts[0] === 'string')
        out.push({ kind: 'GetAtt', name: parts[0], attribute: String(parts[1] ?? ''), path })
      return
    }
    if (key === 'Fn::Sub') {
      const [str, vars] = typeof arg === 'string' ? [arg, {}] : ((arg as Json[]) ?? [])
      const own = new Set<string>([...local, ...(isObject(vars) ? Object.keys(vars) : [])])
      if (typeof str === 'string')
        for (const v of subVariables(str)) {
          const dot = v.indexOf('.')
          const name = dot < 0 || v.startsWith('AWS::') ? v : v.slice(0, dot)
          if (own.has(name)) continue
          out.push({ kind: 'Sub', name, attribute: dot < 0 ? undefined : v.slice(dot + 1), path })
        }
      if (isObject(vars)) for (const [k, v] of Object.entries(vars)) walk(v, `${path}.${k}`, local)
      return
    }
    if (key === 'Fn::If' && Array.isArray(arg)) {
      if (typeof arg[0] === 'string') out.push({ kind: 'Condition', name: arg[0], path })
      arg.slice(1).forEach((n, i) => walk(n, `${path}[${i + 1}]`, local))
      return
    }
    for (const [k, v] of Object.entries(node)) walk(v, `${path}.${k}`, local)
  }
  for (const section of ['Rules', 'Conditions', 'Resources', 'Outputs'] as const) {
    const s = template[section] as Record<string, Json> | undefined
    if (!s) continue
    for (const [name, body] of Object.entries(s)) {
      const path = `${section}.${name}`
      if (isObject(body)) {
        if (section !== 'Conditions' && typeof body.Condition === 'string')
          out.push({ kind: 'Condition', name: body.Condition, path: `${path}.Condition` })
        if (section === 'Resources') {
          const deps = body.DependsOn
          for (const d of Array.isArray(deps) ? deps : deps ? [deps] : [])
            out.push({ kind: 'Ref', name: String(d), path: `${path}.DependsOn` })
        }
        for (const [k, v] of Object.entries(body))
          if (!(section !== 'Conditions' && k === 'Condition') && k !== 'DependsOn')
            walk(v, `${path}.${k}`, new Set())
      } else walk(body, path, new Set())
    }
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Parameter values and constraints

export type ParamValue = string | string[]

function isListType(type: string): boolean {
  return type === 'CommaDelimitedList' || type.startsWith('List<')
}

/** The value CloudFormation would use: given, else the default; lists are split on commas. */
export function parameterValues(
  template: Template,
  given: Record<string, string | number | string[]>
): { values: Record<string, ParamValue>; missing: string[] } {
  const values: Record<string, ParamValue> = {}
  const missing: string[] = []
  for (const [name, def] of Object.entries(template.Parameters ?? {})) {
    const raw = name in given ? given[name] : def.Default
    if (raw === undefined) {
      missing.push(name)
      continue
    }
    if (isListType(def.Type))
      values[name] = Array.isArray(raw)
        ? raw.map(String)
        : String(raw)
            .split(',')
            .map(s => s.trim())
    else values[name] = Array.isArray(raw) ? raw.join(',') : String(raw)
  }
  return { values, missing }
}

/** Errors of one parameter value against its own constraints (empty when valid). */
export function parameterErrors(name: string, def: ParameterDef, value: ParamValue): string[] {
  const errors: string[] = []
  const items = Array.isArray(value) ? value : [value]
  for (const v of items) {
    if (def.AllowedPattern !== undefined && !new RegExp(`^(?:${def.AllowedPattern})$`).test(v))
      errors.push(`${name}: '${v}' does not match ${def.AllowedPattern}`)
    if (def.AllowedValues && !def.AllowedValues.map(String).includes(v))
      errors.push(`${name}: '${v}' is not one of ${def.AllowedValues.join(', ')}`)
    if (def.MinLength !== undefined && v.length < def.MinLength)
      errors.push(`${name}: shorter than ${def.MinLength}`)
    if (def.MaxLength !== undefined && v.length > def.MaxLength)
      errors.push(`${name}: longer than ${def.MaxLength}`)
    if (def.Type === 'Number' || def.Type === 'List<Number>') {
      const n = Number(v)
      if (v.trim() === '' || !Number.isFinite(n)) errors.push(`${name}: '${v}' is not a number`)
      else {
        if (def.MinValue !== undefined && n < def.MinValue) errors.push(`${name}: ${n} < ${def.MinValue}`)
        if (def.MaxValue !== undefined && n > def.MaxValue) errors.push(`${name}: ${n} > ${def.MaxValue}`)
      }
    }
  }
  return errors
}

/**
 * Validates parameter values the way CloudFormation does before it creates anything: required
 * parameters, each parameter's constraints, then the Rules' assertions. Empty when accepted.
 */
export function checkParameters(
  template: Template,
  given: Record<string, string | number | string[]>
): string[] {
  const unknown = Object.keys(given).filter(k => !(k in (template.Parameters ?? {})))
  if (unknown.length) return unknown.map(k => `${k}: not a parameter of this template`)
  const { values, missing } = parameterValues(template, given)
  const errors = missing.map(m => `${m}: required (no default)`)
  for (const [name, value] of Object.entries(values))
    errors.push(...parameterErrors(name, template.Parameters![name], value))
  if (errors.length) return errors
  const ev = new Evaluator(template, given)
  for (const [name, rule] of Object.entries(template.Rules ?? {})) {
    if (rule.RuleCondition !== undefined && ev.rule(rule.RuleCondition) !== true) continue
    for (const a of rule.Assertions)
      if (ev.rule(a.Assert) !== true)
        errors.push(`rule ${name}: ${a.AssertDescription ?? 'assertion failed'}`)
  }
  return errors
}

// ---------------------------------------------------------------------------------------------
// Evaluation of intrinsic functions

export interface EvalOptions {
  region?: string
  accountId?: string
  partition?: string
  stackName?: string
  /** Physical ids for `Ref Resource` / attributes for `GetAtt Resource.Attr` ('Resource.Attr'). */
  resources?: Record<string, string>
}

/** Marks a removed value (AWS::NoValue). */
export const NO_VALUE = Symbol('AWS::NoValue')
type Value = Json | typeof NO_VALUE

function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0)
}
function intToIp(n: number): string {
  return [24, 16, 8, 0].map(s => Math.floor(n / 2 ** s) % 256).join('.')
}

export class Evaluator {
  readonly params: Record<string, ParamValue>
  readonly opts: Required<Omit<EvalOptions, 'resources'>> & { resources: Record<string, string> }
  private conditionCache = new Map<string, boolean>()

  constructor(
    readonly template: Template,
    given: Record<string, string | number | string[]> = {},
    opts: EvalOptions = {}
  ) {
    const { values, missing } = parameterValues(template, given)
    if (missing.length) throw new Error(`parameters without a value: ${missing.join(', ')}`)
    this.params = values
    this.opts = {
      region: opts.region ?? 'us-east-1',
      accountId: opts.accountId ?? '123456789012',
      partition: opts.partition ?? 'aws',
      stackName: opts.stackName ?? 'perf-gate',
      resources: opts.resources ?? {}
    }
  }

  pseudo(name: string): Value {
    switch (name) {
      case 'AWS::AccountId':
        return this.opts.accountId
      case 'AWS::Region':
        return this.opts.region
      case 'AWS::Partition':
        return this.opts.partition
      case 'AWS::StackName':
        return this.opts.stackName
      case 'AWS::StackId':
        return `arn:${this.opts.partition}:cloudformation:${this.opts.region}:${this.opts.accountId}:stack/${this.opts.stackName}/00000000-0000-0000-0000-000000000000`
      case 'AWS::URLSuffix':
        return 'amazonaws.com'
      case 'AWS::NoValue':
        return NO_VALUE
      case 'AWS::NotificationARNs':
        return []
      default:
        throw new Error(`unknown pseudo parameter ${name}`)
    }
  }

  ref(name: string): Value {
    if (name.startsWith('AWS::')) return this.pseudo(name)
    if (name in this.params) return this.params[name]
    if (name in this.template.Resources) {
      this.assertCreated(name)
      return this.opts.resources[name] ?? `${name}-physical-id`
    }
    throw new Error(`Ref to unknown ${name}`)
  }

  getAtt(name: string, attr: string): Value {
    if (!(name in this.template.Resources)) throw new Error(`GetAtt on unknown resource ${name}`)
    this.assertCreated(name)
    return this.opts.resources[`${name}.${attr}`] ?? `${name}.${attr}`
  }

  /** CloudFormation rejects a reference to a resource whose condition is false. */
  private assertCreated(name: string): void {
    const c = this.template.Resources[name].Condition
    if (!this.exists(c))
      throw new Error(`reference to ${name}, which is not created (condition ${c} is false)`)
  }

  condition(name: string): boolean {
    const cached = this.conditionCache.get(name)
    if (cached !== undefined) return cached
    const body = this.template.Conditions?.[name]
    if (body === undefined) throw new Error(`unknown condition ${name}`)
    const v = this.eval(body)
    if (typeof v !== 'boolean') throw new Error(`condition ${name} is not a boolean`)
    this.conditionCache.set(name, v)
    return v
  }

  /** Whether a resource (or output) with this Condition attribute exists. */
  exists(conditionName: string | undefined): boolean {
    return conditionName === undefined || this.condition(conditionName)
  }

  private str(v: Value, what: string): string {
    if (typeof v === 'string') return v
    if (typeof v === 'number') return String(v)
    throw new Error(`${what}: expected a string, got ${JSON.stringify(v)}`)
  }

  private list(v: Value, what: string): Json[] {
    if (Array.isArray(v)) return v
    throw new Error(`${what}: expected a list, got ${JSON.stringify(v)}`)
  }

  sub(template: string, vars: Record<string, Value>): string {
    return template.replace(/\$\{([^}]*)\}/g, (whole, inner: string) => {
      if (inner.startsWith('!')) return '${' + inner.slice(1) + '}'
      const name = inner.trim()
      if (name in vars) return this.str(vars[name], `Sub variable ${name}`)
      if (name.startsWith('AWS::')) return this.str(this.pseudo(name), name)
      const dot = name.indexOf('.')
      if (dot > 0) return this.str(this.getAtt(name.slice(0, dot), name.slice(dot + 1)), name)
      const r = this.ref(name)
      return Array.isArray(r) ? r.join(',') : this.str(r, name)
    })
  }

  /** Evaluates a node; AWS::NoValue disappears from lists and objects. */
  eval(node: Json): Value {
    if (Array.isArray(node)) return node.map(n => this.eval(n)).filter((v): v is Json => v !== NO_VALUE)
    if (!isObject(node)) return node
    const key = intrinsicKey(node)
    if (!key) {
      const out: JsonObject = {}
      for (const [k, v] of Object.entries(node)) {
        const e = this.eval(v)
        if (e !== NO_VALUE) out[k] = e
      }
      return out
    }
    const arg = node[key]
    const args = (): Json[] => this.list(arg, key)
    switch (key) {
      case 'Ref':
        return this.ref(String(arg))
      case 'Condition':
        return this.condition(String(arg))
      case 'Fn::GetAtt': {
        const [name, attr] = typeof arg === 'string' ? arg.split('.') : args().map(String)
        return this.getAtt(name, attr)
      }
      case 'Fn::Sub': {
        if (typeof arg === 'string') return this.sub(arg, {})
        const [tpl, vars] = args()
        const resolved: Record<string, Value> = {}
        if (isObject(vars)) for (const [k, v] of Object.entries(vars)) resolved[k] = this.eval(v)
        return this.sub(String(tpl), resolved)
      }
      case 'Fn::Join': {
        const [delim, items] = args()
        if (typeof delim !== 'string') throw new Error('Fn::Join: the delimiter must be a literal string')
        return this.list(this.eval(items), 'Fn::Join')
          .map(i => this.str(i, 'Fn::Join item'))
          .join(delim)
      }
      case 'Fn::Split': {
        const [delim, s] = args()
        if (typeof delim !== 'string') throw new Error('Fn::Split: the delimiter must be a literal string')
        return this.str(this.eval(s), 'Fn::Split').split(delim)
      }
      case 'Fn::Select': {
        const [i, items] = args()
        const list = this.list(this.eval(items), 'Fn::Select')
        const idx = Number(this.eval(i))
        if (!(idx >= 0 && idx < list.length)) throw new Error(`Fn::Select: index ${idx} out of range`)
        return list[idx]
      }
      case 'Fn::If': {
        const [cond, a, b] = args()
        return this.condition(String(cond)) ? this.eval(a) : this.eval(b)
      }
      case 'Fn::Equals': {
        const [a, b] = args().map(x => this.eval(x))
        return JSON.stringify(a) === JSON.stringify(b) || String(a) === String(b)
      }
      case 'Fn::Not':
        return !this.bool(args()[0])
      case 'Fn::And':
        return args().every(x => this.bool(x))
      case 'Fn::Or':
        return args().some(x => this.bool(x))
      case 'Fn::GetAZs':
        return ['a', 'b', 'c'].map(z => `${this.opts.region}${z}`)
      case 'Fn::Cidr': {
        const [block, count, bits] = args().map(x => this.eval(x))
        const [ip, prefix] = this.str(block, 'Fn::Cidr').split('/')
        const size = 2 ** Number(bits)
        const base = ipToInt(ip)
        const n = Number(count)
        if (size * n > 2 ** (32 - Number(prefix))) throw new Error('Fn::Cidr: the block is too small')
        return Array.from({ length: n }, (_, i) => `${intToIp(base + i * size)}/${32 - Number(bits)}`)
      }
      case 'Fn::Base64':
        return Buffer.from(this.str(this.eval(arg), 'Fn::Base64')).toString('base64')
      default:
        throw new Error(`the test evaluator does not support ${key}`)
    }
  }

  private bool(node: Json): boolean {
    const v = this.eval(node)
    if (typeof v !== 'boolean') throw new Error(`expected a condition, got ${JSON.stringify(v)}`)
    return v
  }

  /** Evaluates a Rules condition or assertion (rule functions plus Ref). */
  rule(node: Json): boolean | Json {
    if (!isObject(node)) return node
    const key = intrinsicKey(node)
    if (!key) return node
    const arg = node[key]
    const args = (): Json[] => this.list(arg, key)
    const val = (n: Json): Json => {
      const v = this.rule(n)
      return typeof v === 'boolean' ? v : (v as Json)
    }
    switch (key) {
      case 'Ref': {
        const r = this.ref(String(arg))
        return r === NO_VALUE ? null : r
      }
      case 'Fn::Equals': {
        const [a, b] = args().map(val)
        return String(a) === String(b)
      }
      case 'Fn::Not':
        return this.rule(args()[0]) !== true
      case 'Fn::And':
        return args().every(x => this.rule(x) === true)
      case 'Fn::Or':
        return args().some(x => this.rule(x) === true)
      case 'Fn::Contains': {
        const [list, s] = args().map(val)
        return this.list(list, 'Fn::Contains').map(String).includes(String(s))
      }
      case 'Fn::EachMemberEquals': {
        const [list, s] = args().map(val)
        return this.list(list, 'Fn::EachMemberEquals').every(x => String(x) === String(s))
      }
      case 'Fn::EachMemberIn': {
        const [list, allowed] = args().map(val)
        const ok = this.list(allowed, 'Fn::EachMemberIn').map(String)
        return this.list(list, 'Fn::EachMemberIn').every(x => ok.includes(String(x)))
      }
      default:
        throw new Error(`the test evaluator does not support ${key} in Rules`)
    }
  }

  /** A resource's Properties, evaluated (throws when the resource does not exist). */
  properties(logicalId: string): JsonObject {
    const r = this.template.Resources[logicalId]
    if (!r) throw new Error(`no resource ${logicalId}`)
    if (!this.exists(r.Condition)) throw new Error(`resource ${logicalId} is not created (${r.Condition})`)
    return (this.eval(r.Properties ?? {}) as JsonObject) ?? {}
  }

  output(name: string): Json {
    const o = this.template.Outputs?.[name]
    if (!o || o.Value === undefined) throw new Error(`no output ${name}`)
    const v = this.eval(o.Value)
    if (v === NO_VALUE) throw new Error(`output ${name} has no value`)
    return v
  }
}

// ---------------------------------------------------------------------------------------------
// IAM policy helpers

export interface Statement {
  Sid?: string
  Effect: 'Allow' | 'Deny'
  Principal?: Json
  Action?: string | string[]
  NotAction?: string | string[]
  Resource?: string | string[]
  NotResource?: string | string[]
  Condition?: Record<string, Record<string, string | string[]>>
}

export function asList<T>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v]
}

/** IAM string wildcard match (`*` any run, `?` one character), case-sensitive. */
export function iamLike(pattern: string, value: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.')
  return new RegExp(`^${re}$`, 's').test(value)
}

/** The statements of every inline policy of an (evaluated) IAM role. */
export function roleStatements(props: JsonObject): Statement[] {
  const policies = asList(props.Policies as Json[] | undefined) as JsonObject[]
  return policies.flatMap(p =>
    asList((p.PolicyDocument as JsonObject).Statement as Json[])
  ) as unknown as Statement[]
}
