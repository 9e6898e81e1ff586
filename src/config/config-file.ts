/**
 * Finding, reading and validating the config file. Errors name the file and, for YAML syntax, the
 * line and column; for the schema, the field (`perf-gate.yml: scenarios.x.vus: expected ...`).
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { parseDocument } from 'yaml'
import type { z } from 'zod'
import { configSchema, type ConfigFile } from './schema.js'
import { ConfigError, DEFAULT_CONFIG_FILES } from './scenario.js'
import { show } from './values.js'
import { errorMessage } from '../util/index.js'

function lineCol(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset)
  const line = before.split('\n').length
  return { line, col: offset - before.lastIndexOf('\n') }
}

function issuePath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p)
  return out
}

function issueMessage(iss: z.core.$ZodIssue): string {
  if (iss.code === 'unrecognized_keys') {
    const keys = iss.keys.map(k => JSON.stringify(k)).join(', ')
    return `unknown field${iss.keys.length > 1 ? 's' : ''} ${keys}`
  }
  if (iss.message.startsWith('expected ')) return iss.message
  if (iss.code === 'invalid_type') {
    const what =
      iss.expected === 'object' ? 'a mapping' : iss.expected === 'array' ? 'a list' : `a ${iss.expected}`
    return `expected ${what}, got ${show(iss.input)}`
  }
  return iss.message
}

/** Parses and validates the text of a config file; `file` names it in errors. */
export function parseConfigText(text: string, file: string): ConfigFile {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true })
  if (doc.errors.length) {
    const e = doc.errors[0]
    const pos = e.linePos?.[0] ?? (typeof e.pos?.[0] === 'number' ? lineCol(text, e.pos[0]) : undefined)
    const where = pos ? ` (line ${pos.line}, column ${pos.col})` : ''
    const msg = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')
    throw new ConfigError(`${file}: invalid YAML${where}: ${msg}`)
  }
  const raw: unknown = doc.toJS() ?? {}
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ConfigError(`${file}: expected a mapping with "scenarios" at the top level`)
  const r = configSchema.safeParse(raw, { reportInput: true })
  if (!r.success) {
    const iss = r.error.issues[0]
    const path = issuePath(iss.path)
    throw new ConfigError(`${file}: ${path ? path + ': ' : ''}${issueMessage(iss)}`)
  }
  return r.data
}

/**
 * The text of a config file; `label` names it in errors, prefixed with `--config: ` when the path
 * came from that flag.
 */
export async function readConfigText(path: string, label: string, fromFlag: boolean): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a directory'
          : `cannot be read (${code ?? errorMessage(e)})`
    throw new ConfigError(`${fromFlag ? '--config: ' : ''}${label}: ${why}`)
  }
}

/** Reads and validates a config file; `label` names it in errors. */
export async function readConfigFile(path: string, label = path): Promise<ConfigFile> {
  return parseConfigText(await readConfigText(path, label, false), label)
}

/** Finds the config file to use, or null when there is none. */
export function findConfigFile(config: string | undefined, cwd: string): string | null {
  if (config !== undefined) return resolve(cwd, config)
  for (const name of DEFAULT_CONFIG_FILES) {
    const p = resolve(cwd, name)
    if (existsSync(p)) return p
  }
  return null
}

/** A path as the user would write it: relative to `cwd` when inside it. */
export function displayPath(p: string, cwd: string): string {
  const abs = resolve(p)
  const base = resolve(cwd)
  return abs.startsWith(base + '/') ? abs.slice(base.length + 1) : abs
}
