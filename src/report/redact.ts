/**
 * One redaction for every text that leaves the runner: the commit status, the comment, the check
 * run, the job summary, report.html, result.json, the report artifact and the failure message.
 *
 * It replaces, with `***`:
 * - known secret values: the values of environment variables whose names look like credentials
 *   (`INPUT_GITHUB-TOKEN`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `ACTIONS_RUNTIME_TOKEN`,
 *   `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, `PERF_GATE_ENV_API_KEY`, …) and every value registered with
 *   `registerSecret` (the OIDC token and the assumed AWS credentials of a Fargate run);
 * - secret-shaped strings: GitHub tokens (`ghp_…`, `ghs_…`, `github_pat_…`), AWS access key ids
 *   (`AKIA…`, `ASIA…`), JSON web tokens, `Bearer …` / `Basic …` credentials, the value in
 *   `NAME=value` / `"name": "value"` where the name looks like a credential, and private key blocks.
 *
 * Values shorter than 6 characters are not treated as secrets (they would blank out ordinary words).
 */
import { SECRET_NAME_RE } from '../model/index.js'

export const REDACTED = '***'
const MIN_SECRET_LENGTH = 6

const registered = new Set<string>()

/** Adds a value that must never leave the runner (e.g. a token obtained at run time). */
export function registerSecret(value: string | undefined | null): void {
  const v = value?.trim()
  if (v && v.length >= MIN_SECRET_LENGTH) registered.add(v)
}

/** Names of environment variables whose values are never published. */
const SECRET_ENV_NAMES = new Set([
  'INPUT_GITHUB-TOKEN',
  'INPUT_GITHUB_TOKEN',
  'GITHUB_TOKEN',
  'GH_TOKEN',
  'ACTIONS_RUNTIME_TOKEN',
  'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN'
])

/** The secret values known from an environment and the registry, longest first. */
export function knownSecrets(env: NodeJS.ProcessEnv = process.env): string[] {
  const out = new Set(registered)
  for (const [name, value] of Object.entries(env)) {
    if (!value || value.length < MIN_SECRET_LENGTH) continue
    if (SECRET_ENV_NAMES.has(name) || SECRET_NAME_RE.test(name)) out.add(value)
  }
  return [...out].sort((a, b) => b.length - a.length)
}

const SHAPES: [RegExp, string][] = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, REDACTED],
  [/\b(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{20,})/g, REDACTED],
  [/\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[A-Z0-9]{16}\b/g, REDACTED],
  [/\beyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*/g, REDACTED],
  [/\b(Bearer|Basic)(\s+)[A-Za-z0-9._~+/-]{12,}=*/gi, `$1$2${REDACTED}`],
  // NAME=value, NAME: value, "name": "value" where NAME looks like a credential.
  [
    /\b([A-Za-z0-9_.-]*(?:TOKEN|SECRET|PASSW(?:OR)?D|PASSPHRASE|PRIVATE_?KEY|CREDENTIALS?|API_?KEY|ACCESS_?KEY(?:_ID)?)[A-Za-z0-9_-]*)("?\s*[=:]\s*"?)([^\s"',;&]{4,})/gi,
    `$1$2${REDACTED}`
  ]
]

/** A text with every known secret value and secret-shaped string replaced by `***`. */
export function redactText(text: string, secrets: readonly string[] = knownSecrets()): string {
  if (!text) return text
  let out = text
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(REDACTED)
  for (const [re, by] of SHAPES) out = out.replace(re, by)
  return out
}

/**
 * A deep copy of a JSON-like value with every string (and object key) redacted. Encoded
 * histograms (`hist`) are left as they are: they are base64 counts, not text.
 */
export function redactDeep<T>(value: T, secrets: readonly string[] = knownSecrets()): T {
  const walk = (v: unknown, key: string | null): unknown => {
    if (typeof v === 'string') return key === 'hist' ? v : redactText(v, secrets)
    if (Array.isArray(v)) return v.map(x => walk(x, null))
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {}
      for (const [k, x] of Object.entries(v)) out[redactText(k, secrets)] = walk(x, k)
      return out
    }
    return v
  }
  return walk(value, null) as T
}
