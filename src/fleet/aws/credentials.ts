/**
 * AWS credentials for the fleet.
 *
 * With `role-to-assume`: a GitHub OIDC token for the audience `sts.amazonaws.com`, then
 * AssumeRoleWithWebIdentity, retried with jitter. The secret parts are masked before anything else
 * happens with them, and they live only in memory (never in saved state). Without it: undefined,
 * so every client uses the default credential chain (e.g. after aws-actions/configure-aws-credentials).
 */
import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { awsMessage, withRetry } from './retry.js'
import type { Sleep } from '../../util/index.js'
import { withHttpLimits } from '../../util/aws-http.js'

export const OIDC_AUDIENCE = 'sts.amazonaws.com'
/** STS accepts 900 s to 12 h; the role's MaxSessionDuration may cap it lower. */
export const MIN_SESSION_S = 900
export const MAX_SESSION_S = 43200
const SESSION_NAME_RE = /^[\w+=,.@-]{2,64}$/

export interface AwsCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
  expiration?: Date
}

export class CredentialsError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'CredentialsError'
  }
}

/** A role session name from the repository and run: 2–64 characters of [\w+=,.@-]. */
export function sessionNameFor(repository: string, runId: string, attempt = '1'): string {
  const repo = repository.split('/').pop() ?? 'repo'
  const clean = (s: string) => s.replace(/[^\w+=,.@-]+/g, '-')
  const suffix = `-${clean(runId)}-${clean(attempt)}`
  const name = `perf-gate-${clean(repo)}`.slice(0, 64 - suffix.length) + suffix
  return SESSION_NAME_RE.test(name) ? name : `perf-gate-${clean(runId)}`.slice(0, 64)
}

/** A role ARN, or a role name turned into one in the given account. */
export function roleArnOf(role: string, accountId?: string): string {
  const r = role.trim()
  if (/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(r)) return r
  if (/^[\w+=,.@-]{1,64}$/.test(r) && accountId && /^\d{12}$/.test(accountId))
    return `arn:aws:iam::${accountId}:role/${r}`
  throw new CredentialsError(
    `input 'role-to-assume': expected a role ARN like arn:aws:iam::123456789012:role/perf-gate, got "${role}"`
  )
}

/** Session length for a run: the planned time plus a margin, within what STS accepts. */
export function sessionSeconds(plannedS: number): number {
  return Math.min(MAX_SESSION_S, Math.max(MIN_SESSION_S, Math.ceil(plannedS + 900)))
}

export interface AssumeRoleInput {
  roleArn: string
  sessionName: string
  durationS: number
  /** Region of the STS endpoint (STS credentials work in every commercial region). */
  region: string
}

export interface AssumeRoleDeps {
  /** `core.getIDToken`; fails when the job has no `id-token: write`. */
  getIdToken: (audience: string) => Promise<string>
  /** `core.setSecret`. */
  mask: (secret: string) => void
  sts?: STSClient
  sleep?: Sleep
  attempts?: number
  log?: (message: string) => void
}

function isDurationTooLong(e: unknown): boolean {
  return /DurationSeconds/i.test(awsMessage(e)) && /MaxSessionDuration|exceeds/i.test(awsMessage(e))
}

function isRetryableSts(e: unknown): boolean {
  const name = (e as { name?: string } | null)?.name ?? ''
  // An invalid or expired token, a bad role or a denied trust policy stay that way.
  if (
    [
      'AccessDenied',
      'AccessDeniedException',
      'InvalidIdentityToken',
      'ValidationError',
      'MalformedPolicyDocument',
      'ExpiredTokenException'
    ].includes(name)
  )
    return false
  return true
}

/** OIDC token → AssumeRoleWithWebIdentity → masked credentials. */
export async function assumeRoleWithOidc(
  input: AssumeRoleInput,
  deps: AssumeRoleDeps
): Promise<AwsCredentials> {
  if (!SESSION_NAME_RE.test(input.sessionName))
    throw new CredentialsError(
      `role session name "${input.sessionName}" must be 2-64 characters of [\\w+=,.@-]`
    )
  const retry = { attempts: deps.attempts ?? 6, sleep: deps.sleep, retryable: isRetryableSts }
  let token: string
  try {
    token = await withRetry(() => deps.getIdToken(OIDC_AUDIENCE), { ...retry, retryable: () => true })
  } catch (e) {
    throw new CredentialsError(
      `could not get a GitHub OIDC token (${awsMessage(e)}); the job needs 'permissions: id-token: write', and fork pull requests never get one`
    )
  }
  deps.mask(token)
  const sts = deps.sts ?? new STSClient(withHttpLimits({ region: input.region }))
  const call = (durationS: number) =>
    withRetry(
      () =>
        sts.send(
          new AssumeRoleWithWebIdentityCommand({
            RoleArn: input.roleArn,
            RoleSessionName: input.sessionName,
            WebIdentityToken: token,
            DurationSeconds: durationS
          })
        ),
      retry
    )
  let out
  try {
    try {
      out = await call(input.durationS)
    } catch (e) {
      if (!isDurationTooLong(e) || input.durationS <= 3600) throw e
      deps.log?.(`the role's MaxSessionDuration is below ${input.durationS} s; asking for 3600 s`)
      out = await call(3600)
    }
  } catch (e) {
    throw new CredentialsError(`could not assume ${input.roleArn} with OIDC: ${awsMessage(e)}`)
  }
  const c = out.Credentials
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken)
    throw new CredentialsError(`AssumeRoleWithWebIdentity for ${input.roleArn} returned no credentials`)
  deps.mask(c.AccessKeyId)
  deps.mask(c.SecretAccessKey)
  deps.mask(c.SessionToken)
  return {
    accessKeyId: c.AccessKeyId,
    secretAccessKey: c.SecretAccessKey,
    sessionToken: c.SessionToken,
    ...(c.Expiration ? { expiration: new Date(c.Expiration) } : {})
  }
}
