/**
 * The schema of perf-gate.yml: its scenarios, their fields and the allowed hosts. Each field is
 * checked by a value parser (`values.ts`), whose error text becomes the issue's message.
 */
import { z } from 'zod'
import { normalHost } from './allow-list.js'
import { GateLabelsError, parseGateLabels, type GateLabels } from './gate-labels.js'
import { MAX_VUS } from './limits.js'
import { parseProfileSpec, ProfileParamError, type ProfileSpec } from './profile.js'
import { MAX_TASKS } from './scenario.js'
import {
  durationValue,
  engineValue,
  fail,
  HTTP_METHODS,
  intValue,
  nonEmptyString,
  ok,
  parseRequestShorthand,
  parseThreshold,
  pathValue,
  show,
  urlValue,
  type Parsed
} from './values.js'

/** A schema field checked by a value parser. */
function field<T>(parse: (v: unknown) => Parsed<T>) {
  return z.unknown().transform((v, ctx): T => {
    const r = parse(v)
    if (r.ok) return r.value
    ctx.addIssue({ code: 'custom', message: r.error })
    return z.NEVER
  })
}

const stringMap = field<Record<string, string>>(v => {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    return fail(`expected a mapping of names to values, got ${show(v)}`)
  const out: Record<string, string> = {}
  for (const [k, x] of Object.entries(v)) {
    if (typeof x === 'string') out[k] = x
    else if (typeof x === 'number' || typeof x === 'boolean') out[k] = String(x)
    else return fail(`${k}: expected a string, number or boolean, got ${show(x)}`)
  }
  return ok(out)
})

const requestObject = z.strictObject({
  label: field(v => nonEmptyString(v)).optional(),
  method: field<string>(v =>
    typeof v === 'string' && HTTP_METHODS.includes(v.toUpperCase())
      ? ok(v.toUpperCase())
      : fail(`expected one of ${HTTP_METHODS.join(', ')}, got ${show(v)}`)
  ).optional(),
  path: field(pathValue),
  headers: stringMap.optional(),
  body: field<string>(v =>
    typeof v === 'string'
      ? ok(v)
      : typeof v === 'object' && v !== null
        ? ok(JSON.stringify(v))
        : fail(`expected a string or a mapping (sent as JSON), got ${show(v)}`)
  ).optional()
})

const requestItem = z.preprocess((v, ctx) => {
  if (typeof v !== 'string') return v
  const r = parseRequestShorthand(v)
  if (r.ok) return r.value
  ctx.addIssue({ code: 'custom', message: r.error })
  return z.NEVER
}, requestObject)

const stageSchema = z.strictObject({
  duration: field(v => durationValue(v, { positive: true })),
  target: field(v => intValue(v, 0, MAX_VUS))
})

/** `profile: NAME` or `profile: {name, ...parameters}`; errors name the parameter (`profile.steps`). */
const profileField = z.unknown().transform((v, ctx): ProfileSpec => {
  try {
    return parseProfileSpec(v)
  } catch (e) {
    if (!(e instanceof ProfileParamError)) throw e
    ctx.addIssue({ code: 'custom', message: e.detail, path: e.field ? [e.field] : [] })
    return z.NEVER
  }
})

const gateLabelsField = field<GateLabels>(v => {
  const entries = typeof v === 'string' ? [v] : Array.isArray(v) ? v : null
  if (!entries || entries.some(e => typeof e !== 'string'))
    return fail(`expected all, a share like 5%, or a list of label names, got ${show(v)}`)
  try {
    return ok(parseGateLabels(entries as string[]))
  } catch (e) {
    if (e instanceof GateLabelsError) return fail(e.message)
    throw e
  }
})

const listOf = <T extends z.ZodType>(item: T, what: string) =>
  z.array(item, { error: iss => `expected a list of ${what}, got ${show(iss.input)}` })

const scenarioSchema = z.strictObject({
  engine: field(engineValue).optional(),
  script: field(v => nonEmptyString(v, 'a file path')).optional(),
  target: field(urlValue).optional(),
  requests: listOf(requestItem, 'requests').optional(),
  vus: field(v => intValue(v, 1, MAX_VUS)).optional(),
  duration: field(v => durationValue(v, { positive: true })).optional(),
  'ramp-up': field(v => durationValue(v, { positive: false })).optional(),
  stages: listOf(stageSchema, 'stages ({duration, target})').optional(),
  tasks: field(v => intValue(v, 1, MAX_TASKS)).optional(),
  interval: field(v => durationValue(v, { positive: true })).optional(),
  thresholds: listOf(field(parseThreshold), 'threshold strings').optional(),
  env: stringMap.optional(),
  profile: profileField.optional(),
  'gate-labels': gateLabelsField.optional()
})
/** One scenario of the file, validated. */
export type ScenarioConfig = z.infer<typeof scenarioSchema>

/** A host of `allowed-hosts` (or `--allow-host`): a name or IP literal without scheme, port or path. */
export const hostValue = field<string>(v => {
  if (
    typeof v !== 'string' ||
    !/^(\[[0-9a-fA-F:.]+\]|[0-9a-fA-F:]*:[0-9a-fA-F:.]*|[A-Za-z0-9.-]+)$/.test(v.trim())
  )
    return fail(`expected a host name like api.staging.example.com (no scheme, port or path), got ${show(v)}`)
  return ok(normalHost(v.trim()))
})

/** The whole config file. */
export const configSchema = z.strictObject({
  scenarios: z
    .record(z.string(), scenarioSchema, {
      error: iss => `expected a mapping of scenario names, got ${show(iss.input)}`
    })
    .optional(),
  'allowed-hosts': listOf(hostValue, 'host names').optional(),
  /** Reserved for the gate settings, validated by the gate command. */
  gate: z.unknown().optional()
})
export type ConfigFile = z.infer<typeof configSchema>
